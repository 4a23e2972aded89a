/**
 * Decisions over a consistency boundary defined by a query rather than a stream: the write-side
 * counterpart of an `Aggregate` for rules that span entities ("a course takes at most 30
 * students and a student at most 5 courses").
 *
 * A decision names small projections of the log, each a query (built from the command: its
 * tags), an initial state and an `evolve`; `decide` sees their states together. The handler
 * reads the events matching all the queries, folds each projection over the events its own query
 * matches, decides, and appends the new events on the condition that nothing matching the
 * queries was committed since the read (`EventStore.appendIf`), retrying the whole cycle when
 * something was.
 *
 * ```ts
 * const subscribe = Decision.make({
 *   name: "subscribe",
 *   command: Subscribe,
 *   event: CourseEvent,
 *   state: (command) => ({ course: courseCapacity(command.courseId), student: studentLoad(command.studentId) }),
 *   decide: (command, { course, student }) => ...,
 *   tags: (event) => [`course:${event.courseId}`, `student:${event.studentId}`],
 *   streamId: (command) => `subscription-${command.courseId}-${command.studentId}`
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Predicate, Schedule, type Schema } from "effect"
import {
  type AppendConditionFailed,
  type ConsistencyMarker,
  defaultBatchSize,
  EventStore,
  type EventStoreError,
  type RetryTransaction,
  type WrongExpectedVersion
} from "./EventStore.ts"
import * as EventQuery from "./EventQuery.ts"
import type { InvalidInput } from "./InvalidInput.ts"
import * as LiveClock from "./LiveClock.ts"
import {
  codec,
  type EventCodec,
  type EventDecodeError,
  type EventEncodeError,
  type EventMetadata,
  type RecordedEvent,
  type Tagged,
  type Upcasters
} from "./RecordedEvent.ts"
import { decoder, type ValidationError } from "./ValidationError.ts"

/**
 * One projection a decision reads: the events its query matches, folded from `initial`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StateOf<S, Event> {
  readonly query: EventQuery.EventQuery
  readonly initial: S
  readonly evolve: (state: S, event: Event) => S
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const projection = <S, Event>(definition: StateOf<S, Event>): StateOf<S, Event> => definition

/** The states of a record of projections. */
type States<P extends Record<string, StateOf<any, any>>> = { readonly [K in keyof P]: P[K]["initial"] }

/**
 * @category models
 * @since 0.1.0
 */
export interface Definition<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError> {
  readonly name: string
  /** Validates the command: `handle` decodes unknown input with it. */
  readonly command: Schema.Codec<Command, any>
  /** Encodes the events decided and decodes those read. */
  readonly event: Schema.Codec<Event, any>
  /** The projections to read for this command (their queries use its ids). */
  readonly state: (command: Command) => P
  readonly decide: (command: Command, state: States<P>) => Effect.Effect<ReadonlyArray<Event>, DomainError>
  /** The tags a decided event is stored with: the ids other decisions will query it by. */
  readonly tags: (event: Event) => ReadonlyArray<string>
  /** The stream the decided events are appended to. */
  readonly streamId: (command: Command) => string
  readonly upcasters?: Upcasters | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Decision<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError>
  extends Definition<Command, Event, P, DomainError>
{
  readonly events: EventCodec<Event>
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = <Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError = never>(
  definition: Definition<Command, Event, P, DomainError>
): Decision<Command, Event, P, DomainError> => ({ ...definition, events: codec(definition.event, definition.upcasters) })

/**
 * The query of all the decision's projections for a command: what its condition is about.
 *
 * @category utilities
 * @since 0.1.0
 */
export const queryOf = (projections: Record<string, StateOf<any, any>>): EventQuery.EventQuery =>
  Object.values(projections).reduce((query, projection) => EventQuery.or(query, projection.query), EventQuery.make())

/**
 * Folds each projection over the events its query matches.
 *
 * @category utilities
 * @since 0.1.0
 */
export const fold = <Event, P extends Record<string, StateOf<any, Event>>>(
  projections: P,
  events: ReadonlyArray<{ readonly type: string; readonly tags?: ReadonlyArray<string> | undefined; readonly data: Event }>
): States<P> => {
  const states: Record<string, unknown> = {}
  for (const [key, projection] of Object.entries(projections)) {
    let state = projection.initial
    for (const event of events) if (EventQuery.matches(projection.query, event)) state = projection.evolve(state, event.data)
    states[key] = state
  }
  return states as States<P>
}

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
export interface Handler<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError> {
  readonly decision: Decision<Command, Event, P, DomainError>
  /** Validates `input` as a command, then decides it. */
  readonly handle: (input: unknown, metadata?: EventMetadata) => Effect.Effect<Decided<Event, States<P>>, ValidationError | DomainError | HandleError, EventStore>
  /** Decides a command already typed. */
  readonly execute: (command: Command, metadata?: EventMetadata) => Effect.Effect<Decided<Event, States<P>>, DomainError | HandleError, EventStore>
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
export const handler = <Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError>(
  decision: Decision<Command, Event, P, DomainError>,
  options?: { readonly retry?: Schedule.Schedule<unknown, unknown> | undefined }
): Handler<Command, Event, P, DomainError> => {
  const decodeCommand = decoder(decision.command, `command of ${decision.name}`)
  // Its delays are infrastructure time: on the live clock, even under a test's clock.
  const retry = LiveClock.schedule(options?.retry ?? defaultRetry)
  const cycle = Effect.fnUntraced(function*(command: Command, metadata: EventMetadata) {
    const store = yield* EventStore
    const projections = decision.state(command)
    const query = knownOnly(queryOf(projections), decision.events.knownTypes)
    const read: Array<RecordedEvent<Event>> = []
    // The pages of one read, as of its first page's moment: what the condition starts from.
    let after: ConsistencyMarker | undefined
    while (true) {
      const page = yield* store.readQueryPage(query, { after })
      for (const event of page.events) read.push(...yield* decision.events.decodeAll(event))
      after = page.marker
      if (page.events.length < defaultBatchSize) break
    }
    const state = fold(projections, read)
    const decided = yield* decision.decide(command, state)
    if (decided.length === 0) return { events: [], state }
    const unsaved = yield* Effect.forEach(decided, (event) =>
      Effect.map(decision.events.encode(event, metadata), (encoded) => ({ ...encoded, tags: decision.tags(event) })))
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
    execute,
    handle: (input, metadata) => Effect.flatMap(decodeCommand(input), (command) => execute(command, metadata))
  }
}
