/**
 * Handles commands for an aggregate as one Effect program:
 * `decode -> load -> fold -> decide -> append -> inline handlers`. The events are appended with
 * the aggregate's `tags`, when it has them.
 *
 * The append expects the version that was read, so a concurrent writer makes it fail with
 * {@link WrongExpectedVersion}; the whole cycle (load, decide, append) then runs again on the
 * fresh state, as a retry `Schedule` allows. A command pinned to the version its caller saw
 * (`expectedVersion`) is decided on that version or not at all, and never runs again. A rejected
 * command or a failed append stores nothing.
 *
 * @since 0.1.0
 */
import { Effect, Schedule, Schema } from "effect"
import * as Aggregate from "./Aggregate.ts"
import { closedBy, isMarkerType, type StreamClosed } from "./ClosedStreams.ts"
import {
  EventStore,
  type EventStoreError,
  ExpectedVersion,
  type StreamDataPage,
  isExpected,
  WrongExpectedVersion
} from "./EventStore.ts"
import { InvalidInput } from "./InvalidInput.ts"
import type { KeyStore } from "./KeyStore.ts"
import type { RetryTransaction } from "./Transactor.ts"
import * as LiveClock from "./LiveClock.ts"
import { commandCounter, commandType, outcomeOf } from "./internal/commandOutcomes.ts"
import { defaultTransientRetry, isInDoubt, isPinned, isTransient, retryConflicts } from "./internal/commandRetries.ts"
import * as FoldRead from "./internal/foldRead.ts"
import * as Snapshotting from "./internal/snapshotting.ts"
import {
  EventDecodeError,
  type EventData,
  EventEncodeError,
  type EventMetadata,
  type RecordedEvent,
  type Tagged
} from "./RecordedEvent.ts"
import * as SnapshotStore from "./SnapshotStore.ts"
import { decoder, type ValidationError } from "./ValidationError.ts"

/**
 * What a handled command produced: the stored events, the state after them and the stream's
 * version. A command that decides no events returns the current state and version.
 *
 * @category models
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
 * @category models
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
 * @category models
 * @since 0.1.0
 */
export type InlineHandler<Event, State, E = never, R = never> = (
  result: CommandResult<Event, State>
) => Effect.Effect<void, E, R>

/**
 * @category models
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
  /**
   * Snapshot the state by this policy, with the aggregate's state Schema (or `schema`). Needs a
   * `SnapshotStore` in context; without one, streams are folded from their first event.
   */
  readonly snapshot?: (SnapshotStore.Policy<State> & { readonly schema?: Schema.Codec<State, unknown> | undefined }) | undefined
  /**
   * How often to run a command with a `commandId` again after a transient store failure (see
   * `EventStore.Transient`): the id makes it safe even when the first attempt's outcome is in
   * doubt. Default: up to 12 retries, exponential from 50 ms, at most 2 s apart.
   */
  readonly transientRetry?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface HandleOptions {
  /**
   * Stored with every event the command produces. A `correlationId` is made when none is given,
   * so all events of one command share one.
   */
  readonly metadata?: EventMetadata | undefined
  /**
   * Makes the command idempotent on its stream: its events record the id, and handling a command
   * with the same id on the same stream again appends nothing and returns the first result (its
   * events, the state and version just after them), whether or not the first caller learnt of it.
   * Inline handlers do not run again. With an id, a failure in doubt (a connection lost during
   * the commit) is retried too.
   */
  readonly commandId?: string | undefined
  /**
   * What the caller saw of the stream (an HTTP `If-Match`): a version `n` decides the command
   * only if the stream is at exactly `n` when it is loaded, and appends only if it still is, in
   * the same atomic step. Otherwise the command fails with `WrongExpectedVersion` (the stream, `n`
   * and the actual version) and is not run again: a decision on what the caller saw cannot be
   * made again on something newer. `"noStream"` is `0` (create only, refused once the stream
   * has events); `"streamExists"` refuses a command on a stream without events, and conflicts
   * are retried as usual; `"any"`, the default, checks nothing.
   *
   * With a `commandId`, a command already handled returns its first result whatever the
   * stream's version now: a caller trying a request again after its first answer was lost finds
   * the version moved on by its own first attempt. A concurrent handling of the same command
   * that loses the race looks for it once more, and answers its result too.
   */
  readonly expectedVersion?: ExpectedVersion | undefined
}

/**
 * The stream holds an event of a type the aggregate does not know: it belongs to another
 * aggregate (or was written around this one). Nothing is decided on it. Streams belong to one
 * aggregate; derive stream ids with a category the id cannot escape (see the README).
 *
 * @category errors
 * @since 0.1.0
 */
export class ForeignEvent extends Schema.TaggedError<ForeignEvent>()("ForeignEvent", {
  aggregate: Schema.String,
  streamId: Schema.String,
  version: Schema.Number,
  type: Schema.String
}) {
  override get message() {
    return `Stream "${this.streamId}" holds an event of type "${this.type}" (version ${this.version}) that aggregate "${this.aggregate}" does not know: a stream belongs to one aggregate`
  }
}

/**
 * Why a command was not handled, besides a domain error or a handler's error.
 *
 * @category models
 * @since 0.1.0
 */
export type HandleError =
  | WrongExpectedVersion
  | StreamClosed
  | RetryTransaction
  | EventStoreError
  | EventDecodeError
  | EventEncodeError
  | InvalidInput
  | ForeignEvent

/**
 * `R` is what the inline handlers need; `K` what the aggregate's events need (the `KeyStore`
 * when they have personal fields).
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandHandler<Command, Event extends Tagged, State, DomainError, E = never, R = never, K extends KeyStore = never> {
  readonly aggregate: Aggregate.Aggregate<Command, Event, State, DomainError, K>
  /** Validates unknown input with the command Schema, then {@link execute}s it. */
  readonly handle: (
    streamId: string,
    input: unknown,
    options?: HandleOptions
  ) => Effect.Effect<CommandResult<Event, State>, ValidationError | DomainError | HandleError | E, EventStore | R | K>
  /** Handles a command that is already typed. */
  readonly execute: (
    streamId: string,
    command: Command,
    options?: HandleOptions
  ) => Effect.Effect<CommandResult<Event, State>, DomainError | HandleError | E, EventStore | R | K>
  /** Reads and folds a stream. */
  readonly load: (streamId: string) => Effect.Effect<Loaded<State>, EventStoreError | EventDecodeError | InvalidInput | ForeignEvent, EventStore | K>
}

/**
 * The default conflict retry: up to 5 retries, exponential from 10ms, with jitter.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("10 millis").pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 5 })
)

/**
 * How many events a load reads at once: a stream up to this long is one round trip. A round trip
 * costs more than folding hundreds of events, and the events of a page are folded before the next
 * is read, so this also bounds what a load holds at once.
 *
 * @category constants
 * @since 0.1.0
 */
export const loadBatchSize = 10_000

const isExpectedVersion = Schema.is(ExpectedVersion)

/** A caller's expected version that is none (`NaN` from a careless parse of an `If-Match`, say). */
const notAVersion = (aggregate: string, streamId: string, expected: unknown) =>
  new InvalidInput({
    subject: `expected version of a command of ${aggregate} on stream ${JSON.stringify(streamId)}`,
    path: "$",
    reason: `${typeof expected === "string" ? JSON.stringify(expected) : String(expected)} is not a version (an integer from 0), "noStream", "streamExists" or "any"`
  })

/**
 * A page without the markers of a closed stream (see `ClosedStreams`): they are the store's, not
 * the aggregate's, and an append after them is refused as a closed stream.
 */
const withoutMarkers = <E extends EventData>(page: ReadonlyArray<E>) => page.some((event) => isMarkerType(event.type)) ? page.filter((event) => !isMarkerType(event.type)) : page

/** The first event of the page that the aggregate does not know, as the error it is. */
const foreignEventIn = (aggregate: Aggregate.Aggregate<any, any, any, any, any>, streamId: string, page: ReadonlyArray<EventData>) => {
  const known = aggregate.events.knownTypes
  const event = known === undefined ? undefined : page.find((event) => !known.has(event.type))
  return event === undefined ? undefined : new ForeignEvent({ aggregate: aggregate.name, streamId, version: event.version, type: event.type })
}

type FoldReadOf = (streamId: string, from: number, limit: number) => Effect.Effect<StreamDataPage, EventStoreError | InvalidInput>

/** A page of the stream as a fold reads it: by the store's own fold read where it has one (see `internal/foldRead`). */
const readStreamData = (store: EventStore["Service"], streamId: string, from: number, limit: number) => {
  const read = FoldRead.readOf<FoldReadOf>(store)
  return read !== undefined
    ? read(streamId, from, limit)
    : Effect.map(store.readStreamPage(streamId, { from, batchSize: limit }), (events): StreamDataPage => ({ events, end: events.length < limit }))
}

/**
 * The result a command with this id had, from its recorded events: the state is folded from the
 * stream's start up to its last event (a repeated command is rare; its cost does not matter).
 */
const repeated = Effect.fnUntraced(function*<Command, Event extends Tagged, State, DomainError, K extends KeyStore>(
  aggregate: Aggregate.Aggregate<Command, Event, State, DomainError, K>,
  streamId: string,
  recorded: ReadonlyArray<RecordedEvent>
) {
  const store = yield* EventStore
  const version = recorded[recorded.length - 1]!.version
  let state = aggregate.initialState
  // A page starts at the stream's first event from `from` on: its older events may have moved.
  for (let from = 1; from <= version;) {
    const { end, events: read } = yield* readStreamData(store, streamId, from, loadBatchSize)
    const page = withoutMarkers(read).filter((event) => event.version <= version)
    for (const event of yield* aggregate.events.decodeData(page)) state = aggregate.evolve(state, event)
    if (end || read.length === 0) break
    from = read[read.length - 1]!.version + 1
  }
  const events = yield* aggregate.events.decodeMany(recorded)
  return { streamId, events, state, version } satisfies CommandResult<Event, State>
})

/** Folds the stream from its latest usable snapshot, a page at a time (nearly every stream is one page). */
const loadStream = <Command, Event extends Tagged, State, DomainError, K extends KeyStore>(
  aggregate: Aggregate.Aggregate<Command, Event, State, DomainError, K>,
  snapshots: Snapshotting.Snapshotting<State>,
  streamId: string
) =>
  Effect.gen(function*() {
    const start = yield* snapshots.start(streamId)
    let state = start.state
    let version = start.version
    // Why the stream takes no more events, when its last event is the marker of a closed stream.
    let closed: StreamClosed | undefined
    const store = yield* EventStore
    while (true) {
      const { end, events: page } = yield* readStreamData(store, streamId, version + 1, loadBatchSize)
      if (page.length > 0) closed = closedBy(streamId, page[page.length - 1])
      const domain = withoutMarkers(page)
      const foreign = foreignEventIn(aggregate, streamId, domain)
      if (foreign !== undefined) return yield* foreign
      for (const event of yield* aggregate.events.decodeData(domain)) state = aggregate.evolve(state, event)
      // The stored version, even when an upcaster turned the last event into none.
      if (page.length > 0) version = page[page.length - 1]!.version
      if (end) break
    }
    return { start, state, version, closed }
  }).pipe(Effect.withSpan("CommandHandler.load", { attributes: { aggregate: aggregate.name, streamId } }, { captureStackTrace: false }))

/**
 * Builds the command handler of an aggregate.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Command, Event extends Tagged, State, DomainError, E = never, R = never, K extends KeyStore = never>(
  aggregate: Aggregate.Aggregate<Command, Event, State, DomainError, K>,
  options?: Options<Event, State, E, R>
): CommandHandler<Command, Event, State, DomainError, E, R, K> => {
  const decodeCommand = decoder(aggregate.command, `command of ${aggregate.name}`)
  // Their delays are infrastructure time: on the live clock, even under a test's clock.
  const retry = LiveClock.schedule(options?.retry ?? defaultRetry)
  const transientRetry = LiveClock.schedule(options?.transientRetry ?? defaultTransientRetry)
  const handlers = options?.handlers ?? []
  const snapshots = Snapshotting.make(aggregate, options?.snapshot)
  const countCommand = commandCounter(aggregate.name)
  const tagsOf = aggregate.tags

  const loadFrom = (streamId: string) => loadStream(aggregate, snapshots, streamId)
  const load = (streamId: string) => Effect.map(loadFrom(streamId), ({ state, version }): Loaded<State> => ({ state, version }))

  /** load -> decide -> append -> fold; the snapshot follows in the background when due. */
  const cycle = Effect.fnUntraced(function*(
    streamId: string,
    command: Command,
    metadata: EventMetadata,
    expected: ExpectedVersion,
    doubt: { inDoubt: boolean }
  ) {
    const { closed, start, state, version } = yield* loadFrom(streamId)
    // After the load: whatever it saw, this read sees too. A command committed later is after
    // `version`, and the append below conflicts with it.
    if (metadata.commandId !== undefined) {
      const handled = yield* EventStore.use((store) => store.readCommand(streamId, metadata.commandId!))
      if (handled.length > 0) return { ...yield* repeated(aggregate, streamId, handled), repeated: true }
    }
    // A closed stream takes no events: nothing is decided on it (a deleted one folds to nothing).
    if (closed !== undefined) return yield* closed
    // Returned rather than failed: the conflict retry must not run a refused command again.
    if (!isExpected(expected, version)) return new WrongExpectedVersion({ streamId, expected, actual: version })
    const decided = yield* aggregate.decide(command, state)
    if (decided.length === 0) return { streamId, events: [], state, version, repeated: false }
    const encoded = yield* aggregate.events.encodeMany(decided, metadata)
    const unsaved = tagsOf === undefined ? encoded : encoded.map((event, index) => ({ ...event, tags: tagsOf(decided[index]!, streamId) }))
    // What was decided on `version` holds only at `version`; a pinned expectation is named as given.
    const expectedVersion = isPinned(expected) ? expected : version
    const appended = yield* EventStore.use((store) => store.append(streamId, unsaved, { expectedVersion })).pipe(
      // Only a connection lost during the commit may have written; a conflict or a refusal did not.
      Effect.tapError((error) =>
        Effect.sync(() => {
          if (isInDoubt(error)) doubt.inDoubt = true
        })
      )
    )
    const next = Aggregate.fold(aggregate, decided, state)
    yield* snapshots.saveIfDue(streamId, start, next, version, appended.version)
    return {
      streamId,
      events: appended.events.map((recorded, index) => ({ ...recorded, data: decided[index]! })),
      state: next,
      version: appended.version,
      repeated: false
    }
  })

  /** The cycle, retried on conflicts, then the inline handlers; counted and traced. */
  const execute = (streamId: string, command: Command, handleOptions?: HandleOptions) =>
    Effect.suspend(() => {
      const commandId = handleOptions?.commandId
      const expected = handleOptions?.expectedVersion ?? "any"
      if (!isExpectedVersion(expected)) return Effect.andThen(countCommand("invalid"), Effect.fail(notAVersion(aggregate.name, streamId, expected)))
      const metadata: EventMetadata = {
        ...handleOptions?.metadata,
        correlationId: handleOptions?.metadata?.correlationId ?? crypto.randomUUID(),
        ...(commandId === undefined ? {} : { commandId })
      }
      let attempts = 0
      let appended = false
      // A repeated command found after this call's own append failed in doubt is this call's: its
      // inline handlers run. Found otherwise (after a conflict, say), another call handled it.
      const doubt = { inDoubt: false }
      const once = Effect.suspend(() => (attempts++, cycle(streamId, command, metadata, expected, doubt)))
      // A pinned command runs again after a conflict only to find a concurrent handling of the
      // same command id: the version has moved on, so that run answers its result or refuses.
      const attempt = !isPinned(expected)
        ? retryConflicts(once, retry)
        : commandId === undefined
        ? once
        : retryConflicts(once, Schedule.recurs(1))
      return (commandId === undefined ? attempt : Effect.retry(attempt, { while: isTransient, schedule: transientRetry })).pipe(
        Effect.flatMap((outcome) => outcome instanceof WrongExpectedVersion ? Effect.fail(outcome) : Effect.succeed(outcome)),
        Effect.map(({ repeated, ...result }) => {
          appended = result.events.length > 0
          return { result, repeated: repeated && !doubt.inDoubt }
        }),
        Effect.tap(({ repeated, result }) =>
          Effect.annotateCurrentSpan({ version: result.version, events: result.events.length, retries: attempts - 1, repeated })),
        Effect.tap(({ repeated, result }) =>
          result.events.length === 0 || repeated ? Effect.void : Effect.forEach(handlers, (handler) => handler(result), { discard: true })),
        Effect.map(({ result }) => result),
        Effect.tap(() => countCommand("handled")),
        Effect.tapError((error) =>
          Effect.andThen(Effect.annotateCurrentSpan({ retries: attempts - 1 }), countCommand(outcomeOf(error, appended)))
        ),
        Effect.withSpan("CommandHandler.execute", {
          attributes: { aggregate: aggregate.name, streamId, command: commandType(command), correlationId: metadata.correlationId }
        }, { captureStackTrace: false })
      )
    })

  const handle = (streamId: string, input: unknown, handleOptions?: HandleOptions) =>
    decodeCommand(input).pipe(
      Effect.tapError(() => countCommand("invalid")),
      Effect.flatMap((command) => execute(streamId, command, handleOptions))
    )

  return { aggregate, handle, execute, load }
}
