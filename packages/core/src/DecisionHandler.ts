/**
 * Runs decisions against the event store, as `CommandHandler` runs aggregates: reads the events
 * matching the decision's queries for a command, folds its projections, decides, and appends the
 * decided events on the condition that nothing matching the queries was committed since the
 * read, retrying the whole cycle when something was.
 *
 * @since 0.1.0
 */
import { Effect, Predicate, Schedule } from "effect"
import type { Decision, StateOf, States } from "./Decision.ts"
import { fold, queryOf } from "./Decision.ts"
import {
  type AppendConditionFailed,
  type ConsistencyMarker,
  defaultBatchSize,
  EventStore,
  type EventStoreError,
  type WrongExpectedVersion
} from "./EventStore.ts"
import type { RetryTransaction } from "./Transactor.ts"
import type { StreamClosed } from "./ClosedStreams.ts"
import type * as EventQuery from "./EventQuery.ts"
import type { InvalidInput } from "./InvalidInput.ts"
import type { KeyStore } from "./KeyStore.ts"
import * as LiveClock from "./LiveClock.ts"
import type { EventDecodeError, EventEncodeError, EventMetadata, RecordedEvent, Tagged } from "./RecordedEvent.ts"
import { decoder, type ValidationError } from "./ValidationError.ts"

/**
 * What handling a decision can fail with, besides its domain errors: the store's refusals (a
 * condition still broken after the retries), its failures, and events that do not decode.
 *
 * @category errors
 * @since 0.1.0
 */
export type HandleError =
  | AppendConditionFailed
  | WrongExpectedVersion
  | StreamClosed
  | RetryTransaction
  | EventStoreError
  | EventDecodeError
  | EventEncodeError
  | InvalidInput

/**
 * @category models
 * @since 0.1.0
 */
export interface Decided<Event, State> {
  readonly events: ReadonlyArray<RecordedEvent<Event>>
  /** The projections' states the decision was made on. */
  readonly state: State
  /** How many times the cycle ran (1 when nothing interfered). */
  readonly attempts: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Handler<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError, K extends KeyStore = never> {
  readonly decision: Decision<Command, Event, P, DomainError, K>
  /** How the cycle is retried when its condition breaks: what a handler made of a variant of the decision keeps. */
  readonly retry: Schedule.Schedule<unknown, unknown>
  /** Validates `input` as a command, then decides it. */
  readonly handle: (input: unknown, metadata?: EventMetadata) => Effect.Effect<Decided<Event, States<P>>, ValidationError | DomainError | HandleError, EventStore | K>
  /** Decides a command already typed. */
  readonly execute: (command: Command, metadata?: EventMetadata) => Effect.Effect<Decided<Event, States<P>>, DomainError | HandleError, EventStore | K>
}

/**
 * The default retry when the condition breaks: up to 10 retries, exponential from 5 ms, with jitter.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("5 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 10 })
)

const isConflict = (error: unknown) => Predicate.isTagged(error, "AppendConditionFailed")

/** Items of any type read only the types the decision can decode; the others are not its business. */
const knownOnly = (query: EventQuery.EventQuery, known: ReadonlySet<string> | undefined): EventQuery.EventQuery =>
  known === undefined ? query : {
    items: query.items.map((item) => item.types === undefined || item.types.length === 0 ? { ...item, types: [...known] } : item)
  }

/**
 * Builds the handler: read by the decision's query, fold, decide, append on the condition.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError, K extends KeyStore = never>(
  decision: Decision<Command, Event, P, DomainError, K>,
  options?: { readonly retry?: Schedule.Schedule<unknown, unknown> | undefined }
): Handler<Command, Event, P, DomainError, K> => {
  const decodeCommand = decoder(decision.command, `command of ${decision.name}`)
  // Its delays are infrastructure time: on the live clock, even under a test's clock.
  const given = options?.retry ?? defaultRetry
  const retry = LiveClock.schedule(given)
  const cycle = Effect.fnUntraced(function*(command: Command, metadata: EventMetadata) {
    const store = yield* EventStore
    const projections = decision.state(command)
    const query = knownOnly(queryOf(projections), decision.events.knownTypes)
    const read: Array<RecordedEvent<Event>> = []
    // The pages of one read, as of its first page's moment: what the condition starts from.
    let after: ConsistencyMarker | undefined
    while (true) {
      const page = yield* store.readQueryPage(query, { after })
      read.push(...yield* decision.events.decodeMany(page.events))
      after = page.marker
      if (page.events.length < defaultBatchSize) break
    }
    const state = fold(projections, read)
    const decided = yield* decision.decide(command, state)
    if (decided.length === 0) return { events: [], state }
    const encoded = yield* decision.events.encodeMany(decided, metadata)
    const unsaved = encoded.map((event, index) => ({ ...event, tags: decision.tags(decided[index]!) }))
    const appended = yield* store.appendIf(decision.streamId(command), unsaved, { failIfEventsMatch: query, after })
    return { events: appended.events.map((recorded, index) => ({ ...recorded, data: decided[index]! })), state }
  })

  const execute = (command: Command, metadata?: EventMetadata) =>
    Effect.suspend(() => {
      let attempts = 0
      const withCorrelation: EventMetadata = { ...metadata, correlationId: metadata?.correlationId ?? crypto.randomUUID() }
      return Effect.suspend(() => (attempts++, cycle(command, withCorrelation))).pipe(
        Effect.retry({ schedule: retry, while: isConflict }),
        Effect.map((result) => ({ ...result, attempts })),
        Effect.withSpan("Decision.execute", { attributes: { decision: decision.name } }, { captureStackTrace: false })
      )
    })

  return {
    decision,
    retry: given,
    execute,
    handle: (input, metadata) => Effect.flatMap(decodeCommand(input), (command) => execute(command, metadata))
  }
}
