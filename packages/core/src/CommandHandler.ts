/**
 * Handles commands for an aggregate as one Effect program:
 * `decode -> load -> fold -> decide -> append -> inline handlers`.
 *
 * The append expects the version that was read, so a concurrent writer makes it fail with
 * {@link WrongExpectedVersion}; the whole cycle (load, decide, append) then runs again on the
 * fresh state, as a retry `Schedule` allows. A rejected command or a failed append stores nothing.
 *
 * @since 0.1.0
 */
import { Effect, Schedule, Stream } from "effect"
import * as Aggregate from "./Aggregate.ts"
import { EventStore, type EventStoreError, WrongExpectedVersion } from "./EventStore.ts"
import type { EventDecodeError, EventEncodeError, EventMetadata, RecordedEvent, Tagged } from "./RecordedEvent.ts"
import { decoder, type ValidationError } from "./ValidationError.ts"

/**
 * What a handled command produced: the stored events, the state after them and the stream's
 * version. A command that decides no events returns the current state and version.
 *
 * @since 0.1.0
 */
export interface CommandResult<Event, State> {
  readonly streamId: string
  readonly events: ReadonlyArray<RecordedEvent<Event>>
  readonly state: State
  readonly version: number
}

/**
 * A stream's state as folded from its events.
 *
 * @since 0.1.0
 */
export interface Loaded<State> {
  readonly state: State
  readonly version: number
}

/**
 * Runs after each successful append with what the command produced (an "event handler" in the
 * sense of a same-process, synchronous follow-up). Its failure is the command's failure.
 *
 * @since 0.1.0
 */
export type InlineHandler<Event, State, E = never, R = never> = (
  result: CommandResult<Event, State>
) => Effect.Effect<void, E, R>

/**
 * @since 0.1.0
 */
export interface Options<Event, State, E, R> {
  /**
   * How often and when to run the cycle again after a version conflict (the schedule sees only
   * {@link WrongExpectedVersion} errors). Default: up to 5 retries, exponential from 10ms with
   * jitter.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  readonly handlers?: ReadonlyArray<InlineHandler<Event, State, E, R>> | undefined
}

/**
 * @since 0.1.0
 */
export interface HandleOptions {
  /**
   * Stored with every event the command produces. A `correlationId` is made when none is given,
   * so all events of one command share one.
   */
  readonly metadata?: EventMetadata | undefined
}

/**
 * Why a command was not handled, besides a domain error or a handler's error.
 *
 * @since 0.1.0
 */
export type HandleError = WrongExpectedVersion | EventStoreError | EventDecodeError | EventEncodeError

/**
 * @since 0.1.0
 */
export interface CommandHandler<Command, Event extends Tagged, State, DomainError, E = never, R = never> {
  readonly aggregate: Aggregate.Aggregate<Command, Event, State, DomainError>
  /** Validates unknown input with the command Schema, then {@link execute}s it. */
  readonly handle: (
    streamId: string,
    input: unknown,
    options?: HandleOptions
  ) => Effect.Effect<CommandResult<Event, State>, ValidationError | DomainError | HandleError | E, EventStore | R>
  /** Handles a command that is already typed. */
  readonly execute: (
    streamId: string,
    command: Command,
    options?: HandleOptions
  ) => Effect.Effect<CommandResult<Event, State>, DomainError | HandleError | E, EventStore | R>
  /** Reads and folds a stream. */
  readonly load: (streamId: string) => Effect.Effect<Loaded<State>, EventStoreError | EventDecodeError, EventStore>
}

/**
 * The default conflict retry: up to 5 retries, exponential from 10ms, with jitter.
 *
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("10 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 5 })
)

/**
 * Builds the command handler of an aggregate.
 *
 * @since 0.1.0
 */
export const make = <Command, Event extends Tagged, State, DomainError, E = never, R = never>(
  aggregate: Aggregate.Aggregate<Command, Event, State, DomainError>,
  options?: Options<Event, State, E, R>
): CommandHandler<Command, Event, State, DomainError, E, R> => {
  const decodeCommand = decoder(aggregate.command, `command of ${aggregate.name}`)
  const retry = options?.retry ?? defaultRetry
  const handlers = options?.handlers ?? []

  const load = (streamId: string) =>
    EventStore.use((store) =>
      store.readStream(streamId).pipe(
        Stream.mapEffect(aggregate.events.decode),
        Stream.runFold(
          (): Loaded<State> => ({ state: aggregate.initialState, version: 0 }),
          (loaded, event) => ({ state: aggregate.evolve(loaded.state, event.data), version: event.version })
        )
      )
    ).pipe(Effect.withSpan("CommandHandler.load", { attributes: { aggregate: aggregate.name, streamId } }))

  const cycle = (streamId: string, command: Command, metadata: EventMetadata) =>
    Effect.gen(function*() {
      const { state, version } = yield* load(streamId)
      const decided = yield* aggregate.decide(command, state)
      if (decided.length === 0) return { streamId, events: [], state, version } satisfies CommandResult<Event, State>
      const unsaved = yield* Effect.forEach(decided, (event) => aggregate.events.encode(event, metadata))
      const store = yield* EventStore
      const appended = yield* store.append(streamId, unsaved, { expectedVersion: version })
      return {
        streamId,
        events: appended.events.map((recorded, index) => ({ ...recorded, data: decided[index]! })),
        state: Aggregate.fold(aggregate, decided, state),
        version: appended.version
      } satisfies CommandResult<Event, State>
    })

  const execute = (streamId: string, command: Command, handleOptions?: HandleOptions) => {
    const metadata: EventMetadata = {
      ...handleOptions?.metadata,
      correlationId: handleOptions?.metadata?.correlationId ?? crypto.randomUUID()
    }
    return cycle(streamId, command, metadata).pipe(
      Effect.retry({ schedule: retry, while: (error) => error instanceof WrongExpectedVersion }),
      Effect.tap((result) => result.events.length === 0 ? Effect.void : Effect.forEach(handlers, (handler) => handler(result), { discard: true })),
      Effect.withSpan("CommandHandler.execute", { attributes: { aggregate: aggregate.name, streamId } })
    )
  }

  const handle = (streamId: string, input: unknown, handleOptions?: HandleOptions) =>
    Effect.flatMap(decodeCommand(input), (command) => execute(streamId, command, handleOptions))

  return { aggregate, handle, execute, load }
}
