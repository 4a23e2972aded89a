/**
 * The event store: streams of events guarded by optimistic versions, and one global log that
 * readers follow from a position.
 *
 * Implementations supply a few primitives (append, a page of a stream, a page of the log, and a
 * change signal) to {@link make}, which builds the reading streams once for all of them, so every
 * store pages, catches up and goes live the same way.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Option, Schema, type Scope, Stream, Tracer } from "effect"
import type { StreamClosed } from "./ClosedStreams.ts"
import { describe as describeQuery, type EventQuery } from "./EventQuery.ts"
import * as Checks from "./internal/eventChecks.ts"
import * as FoldRead from "./internal/foldRead.ts"
import { checkId, InvalidInput, limits } from "./InvalidInput.ts"
import * as Metrics from "./Metrics.ts"
import type { EventData, RecordedEvent, UnsavedEvent } from "./RecordedEvent.ts"
import type { RetryTransaction } from "./Transactor.ts"

/**
 * What the writer believes about the stream:
 * - `"any"`: no check;
 * - `"noStream"`: the stream has no events yet;
 * - `"streamExists"`: the stream has at least one event;
 * - a number `n`: the stream's last version is exactly `n` (`0` means no stream).
 *
 * @category models
 * @since 0.1.0
 */
export type ExpectedVersion = "any" | "noStream" | "streamExists" | number

/**
 * @category schemas
 * @since 0.1.0
 */
export const ExpectedVersion: Schema.Codec<ExpectedVersion> = Schema.Union([
  Schema.Literals(["any", "noStream", "streamExists"]),
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
])

/**
 * The stream's actual version contradicts the writer's expectation; nothing was written.
 *
 * @category errors
 * @since 0.1.0
 */
export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: Schema.String,
  expected: ExpectedVersion,
  actual: Schema.Int
}) {
  override get message() {
    const expected = typeof this.expected === "number" ? `version ${this.expected}` : this.expected
    return `Stream "${this.streamId}": expected ${expected}, actual version ${this.actual}`
  }
}

/**
 * The store failed (connection lost, bad data handed to it, ...); nothing of the failed call was
 * written.
 *
 * @category errors
 * @since 0.1.0
 */
export class EventStoreError extends Schema.TaggedError<EventStoreError>()("EventStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
  /**
   * Set when the failure may pass by itself (see {@link Transient}); absent when trying again
   * cannot help.
   */
  transient: Schema.optional(Schema.Literals(["notSent", "rolledBack", "inDoubt"]))
}) {}

/**
 * The transient failures a store reports, and what they mean for trying again:
 *
 * - `"notSent"`: no connection could be made (refused, reset, too many clients, the server starting
 *   up); nothing reached the database. Always safe to try again.
 * - `"rolledBack"`: the database refused the statement for now (deadlock, serialization failure,
 *   lock timeout) and wrote nothing. Safe to try again.
 * - `"inDoubt"`: the connection was lost while the statement ran. A read may be tried again; a
 *   write may or may not have committed, so trying again could apply it twice, unless it is
 *   idempotent (a command with a `commandId`).
 *
 * @category models
 * @since 0.1.0
 */
export type Transient = NonNullable<EventStoreError["transient"]>

/**
 * @category models
 * @since 0.1.0
 */
export interface AppendOptions {
  readonly expectedVersion?: ExpectedVersion | undefined
}

/**
 * What a read by query saw (see {@link EventStore}'s `readQueryPage`): every event committed
 * before the read began, and no other. As the `after` of an append condition, the condition
 * holds while no matching event the read did not see has been committed; as the `after` of the
 * next page, that page belongs to the same read.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsistencyMarker {
  /** Where the read's next page starts; where a condition starts, on a store without snapshots. */
  readonly position: bigint
  /** On SQL, the snapshot the read was made in (`pg_snapshot` text): opaque, the store's own. */
  readonly snapshot?: string | undefined
}

/**
 * What `appendIf` appends on: no event matching `failIfEventsMatch` committed after `after` (none
 * at all without `after`). `after` is the `marker` of the query read the decision was made on
 * (exact: the condition breaks on a matching event that read did not see, and on no other), or a
 * position: then on the events after it in log order.
 *
 * @category models
 * @since 0.1.0
 */
export interface AppendCondition {
  readonly failIfEventsMatch: EventQuery
  readonly after?: bigint | ConsistencyMarker | undefined
}

/**
 * Where a condition or a read by query starts: the position of `after`, or {@link start}.
 *
 * @category utilities
 * @since 0.1.0
 */
export const positionOf = (after: bigint | ConsistencyMarker | undefined): bigint =>
  after === undefined ? start : typeof after === "bigint" ? after : after.position

/**
 * An event matching the append's condition was committed after the position it named; nothing
 * was written.
 *
 * @category errors
 * @since 0.1.0
 */
export class AppendConditionFailed extends Schema.TaggedError<AppendConditionFailed>()("AppendConditionFailed", {
  streamId: Schema.String,
  /** The condition's query, described. */
  query: Schema.String,
  after: Schema.optional(Schema.BigInt),
  /** The first conflicting event. */
  eventId: Schema.String,
  eventStreamId: Schema.String,
  eventVersion: Schema.Number,
  eventType: Schema.String,
  eventPosition: Schema.BigInt
}) {
  override get message() {
    return `Append to "${this.streamId}" refused: event "${this.eventType}" (id ${this.eventId}) at version ${this.eventVersion} ` +
      `of stream "${this.eventStreamId}" matches ${this.query} and was committed ` +
      `${this.after === undefined ? "before the append" : `after position ${this.after}`}`
  }
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const conditionFailed = (
  streamId: string,
  condition: AppendCondition,
  event: Pick<RecordedEvent, "id" | "streamId" | "version" | "type" | "position">
): AppendConditionFailed =>
  new AppendConditionFailed({
    streamId,
    query: describeQuery(condition.failIfEventsMatch),
    ...(condition.after === undefined ? {} : { after: positionOf(condition.after) }),
    eventId: event.id,
    eventStreamId: event.streamId,
    eventVersion: event.version,
    eventType: event.type,
    eventPosition: event.position
  })

/**
 * @category models
 * @since 0.1.0
 */
export interface ReadQueryOptions {
  /**
   * Read after this position (exclusive), from the start by default; or, with the `marker` of a
   * full page, the next page of the same read.
   */
  readonly after?: bigint | ConsistencyMarker | undefined
  readonly batchSize?: number | undefined
}

/**
 * The stream's version after the append, and the events as stored (with their versions and
 * positions).
 *
 * @category models
 * @since 0.1.0
 */
export interface AppendResult {
  readonly streamId: string
  readonly version: number
  readonly events: ReadonlyArray<RecordedEvent>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ReadStreamOptions {
  /** The first version to read (default 1). */
  readonly from?: number | undefined
  readonly batchSize?: number | undefined
}

/**
 * A page of a stream as a fold reads it: up to `limit` events from a version on, each with its
 * version, type and data only, and whether the stream ends with them (known from the same read,
 * so a stream whose length is a multiple of the page takes no empty read to end).
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamDataPage {
  readonly events: ReadonlyArray<EventData>
  /** No event of the stream follows the page's. */
  readonly end: boolean
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ReadAllOptions {
  /** Read events after this position (default {@link start}: the whole log). */
  readonly after?: bigint | undefined
  /** Only these event types; filtered by the store, not after reading. */
  readonly types?: ReadonlyArray<string> | undefined
  /** Only the events of the streams in this segment (see {@link Segment}). */
  readonly segment?: Segment | undefined
  readonly batchSize?: number | undefined
}

/**
 * One of `count` parts of the log, by a stable hash of the stream id: every stream, and so every
 * event, is in exactly one segment, and a stream's events keep their order in it. A processor
 * split into segments reads each with a reader of its own.
 *
 * @category models
 * @since 0.1.0
 */
export interface Segment {
  /** From 0 to `count - 1`. */
  readonly index: number
  readonly count: number
}

/** Head options: of some types, in a segment. */
export interface HeadOptions {
  readonly types?: ReadonlyArray<string> | undefined
  readonly segment?: Segment | undefined
}

/**
 * A page of the global log.
 *
 * @category models
 * @since 0.1.0
 */
export interface LogPage {
  readonly events: ReadonlyArray<RecordedEvent>
  /**
   * Where the next page starts. For a full page, the last event's position; otherwise how far the
   * store read, past events of other types, so a reader of rare types does not read them again.
   */
  readonly next: bigint
}

/**
 * A page of a read by query.
 *
 * @category models
 * @since 0.1.0
 */
export interface QueryPage extends LogPage {
  /** What the read saw: the `after` of a condition decided on it, or of the read's next page. */
  readonly marker: ConsistencyMarker
}

/**
 * A stream, as an operator lists it.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamInfo {
  readonly streamId: string
  /** The stream's version: its number of events. */
  readonly version: number
  /** The position of its last event. */
  readonly position: bigint
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ListStreamsOptions {
  /** Only streams whose id starts with this. */
  readonly prefix?: string | undefined
  /** Only streams whose id sorts after this one (the `next` of the previous page). */
  readonly after?: string | undefined
  /** Streams per page. Default 100. */
  readonly limit?: number | undefined
}

/**
 * A page of streams, ordered by id; `next` is where the next page starts, when there may be one.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamsPage {
  readonly streams: ReadonlyArray<StreamInfo>
  readonly next: string | undefined
}

/**
 * The position before the first event of every log.
 *
 * @category constants
 * @since 0.1.0
 */
export const start = 0n

/**
 * @category constants
 * @since 0.1.0
 */
export const defaultBatchSize = 500

/**
 * @category services
 * @since 0.1.0
 */
export class EventStore extends Context.Service<EventStore, {
  /**
   * Appends events to a stream atomically, if the stream's version matches `expectedVersion`
   * (default `"any"`). Appending no events only checks the expectation. A closed stream (see
   * `StreamLifecycle`) refuses every append with `StreamArchived` or `StreamDeleted`.
   */
  readonly append: (
    streamId: string,
    events: ReadonlyArray<UnsavedEvent>,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, WrongExpectedVersion | StreamClosed | RetryTransaction | EventStoreError | InvalidInput>
  /**
   * Appends as `append` does, if also no event matching the condition's query was committed
   * after its position: both are checked, and the events written, in one atomic step. Appends
   * whose queries and events share no tag or type do not wait for each other.
   */
  readonly appendIf: (
    streamId: string,
    events: ReadonlyArray<UnsavedEvent>,
    condition: AppendCondition,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, AppendConditionFailed | WrongExpectedVersion | StreamClosed | RetryTransaction | EventStoreError | InvalidInput>
  /** The events of one stream in version order. */
  readonly readStream: (streamId: string, options?: ReadStreamOptions) => Stream.Stream<RecordedEvent, EventStoreError | InvalidInput>
  /**
   * One page of a stream: at most `batchSize` events from version `from` on. A page shorter than
   * `batchSize` is the stream's end.
   */
  readonly readStreamPage: (
    streamId: string,
    options?: ReadStreamOptions
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError | InvalidInput>
  /**
   * The stream's version: the version of its last event (0 for none), as the current transaction
   * sees it. Events moved out of the live log (see `StreamLifecycle`) do not lower it.
   */
  readonly streamVersion: (streamId: string) => Effect.Effect<number, EventStoreError | InvalidInput>
  /**
   * The events of the stream that the command with this id produced (their metadata's
   * `commandId`), in version order; none if it has not been handled on this stream.
   */
  readonly readCommand: (streamId: string, commandId: string) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError | InvalidInput>
  /** The committed streams, a page at a time, ordered by id (by UTF-8 bytes on SQL). For operators. */
  readonly listStreams: (options?: ListStreamsOptions) => Effect.Effect<StreamsPage, EventStoreError | InvalidInput>
  /** The global log from a position up to its current end, in batches. */
  readonly readAll: (options?: ReadAllOptions) => Stream.Stream<RecordedEvent, EventStoreError | InvalidInput>
  /** One page of the global log after a position: at most `batchSize` events, and where to read on. */
  readonly readPage: (options?: ReadAllOptions) => Effect.Effect<LogPage, EventStoreError | InvalidInput>
  /**
   * The events matching a query, in log order, as of one moment: every matching event committed
   * before the read began (the first page's, for the pages of one read), so a read made after an
   * append returned sees it. The page's `marker` is the `after` of an append condition decided on
   * it, and of the read's next page. `next` is a position no event can come before any more
   * (for a full page, its last event's): events of the page may lie after it.
   */
  readonly readQueryPage: (query: EventQuery, options?: ReadQueryOptions) => Effect.Effect<QueryPage, EventStoreError | InvalidInput>
  /** The events matching a query, in log order, as of one moment (see `readQueryPage`). */
  readonly readQuery: (query: EventQuery, options?: ReadQueryOptions) => Stream.Stream<RecordedEvent, EventStoreError | InvalidInput>
  /** How many events (of these types) readers can read after a position now. */
  readonly count: (options?: Omit<ReadAllOptions, "batchSize">) => Effect.Effect<number, EventStoreError | InvalidInput>
  /**
   * How many events (of these types) are committed after a position, counting those readers
   * cannot pass yet because an older transaction is still open (on SQL, behind the readers'
   * gate). More than `count` gives means readers are held back.
   */
  readonly countCommitted: (options?: Omit<ReadAllOptions, "batchSize">) => Effect.Effect<number, EventStoreError | InvalidInput>
  /** The global log from a position, then every event committed later, each exactly once. Never ends. */
  readonly subscribe: (options?: ReadAllOptions) => Stream.Stream<RecordedEvent, EventStoreError | InvalidInput>
  /**
   * Starts listening for appends. The effect it returns waits until the log may have changed
   * since listening started or since it last returned: a wake-up, to read again after.
   */
  readonly listen: Effect.Effect<Effect.Effect<void, EventStoreError>, EventStoreError, Scope.Scope>
  /**
   * The position of the last committed event (of these types), even one readers cannot pass yet
   * because an older transaction is still open; {@link start} for an empty log. A reader that
   * has reached it has seen everything committed before the call.
   */
  readonly head: (options?: HeadOptions) => Effect.Effect<bigint, EventStoreError | InvalidInput>
  /**
   * A number for gauges and dashboards that grows with the position. Positions are opaque
   * `bigint`s that may not fit a number; the store knows how to read one.
   */
  readonly gaugeOf: (position: bigint) => number
}>()("@facta/core/EventStore") {}

/**
 * What a store implementation provides to {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Primitives {
  /** Appends; with a condition, only if it holds (see {@link EventStore}'s `appendIf`). */
  readonly append: (
    streamId: string,
    events: ReadonlyArray<UnsavedEvent>,
    options: AppendOptions | undefined,
    condition: AppendCondition | undefined
  ) => Effect.Effect<AppendResult, AppendConditionFailed | WrongExpectedVersion | StreamClosed | RetryTransaction | EventStoreError | InvalidInput>
  /** Up to `limit` events of a stream, from version `from` on. */
  readonly readStreamPage: (
    streamId: string,
    from: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  /**
   * `readStreamPage` without each event's envelope (see {@link StreamDataPage}). A command
   * handler's load reads a stream this way when the store can read less for it (a SQL store
   * leaves the other columns unread); `readStreamPage` when absent.
   */
  readonly readStreamData?: ((streamId: string, from: number, limit: number) => Effect.Effect<StreamDataPage, EventStoreError>) | undefined
  /** Up to `limit` streams after `after` whose ids start with `prefix`, ordered by id. */
  readonly listStreams: (prefix: string, after: string | undefined, limit: number) => Effect.Effect<ReadonlyArray<StreamInfo>, EventStoreError>
  /** The stream's version (0 for none) as the current transaction sees it; by `listStreams` when absent. */
  readonly streamVersion?: ((streamId: string) => Effect.Effect<number, EventStoreError>) | undefined
  /** See {@link EventStore}'s `readCommand`. */
  readonly readCommand: (streamId: string, commandId: string) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  /**
   * Up to `limit` events of the log after `after`, in log order, and where to read on (see
   * {@link LogPage}). An event must only be returned, and `next` only move past a position, once
   * no event can appear before it any more: readers move past what they are given.
   */
  readonly readAllPage: (
    after: bigint,
    types: ReadonlyArray<string> | undefined,
    limit: number,
    segment?: Segment | undefined
  ) => Effect.Effect<LogPage, EventStoreError>
  /**
   * Up to `limit` events that match the query after `after`, in log order, as of one moment: the
   * read's own, or the one `snapshot` names (from a marker this store gave).
   */
  readonly readQueryPage: (
    query: EventQuery,
    after: bigint,
    limit: number,
    snapshot: string | undefined
  ) => Effect.Effect<QueryPage, EventStoreError | InvalidInput>
  /** How many events of these types `readAllPage` would give after `after`, in all. */
  readonly count: (after: bigint, types: ReadonlyArray<string> | undefined, segment?: Segment | undefined) => Effect.Effect<number, EventStoreError>
  /** As `count`, counting committed events readers cannot pass yet; `count` when absent (no gate). */
  readonly countCommitted?:
    | ((after: bigint, types: ReadonlyArray<string> | undefined, segment?: Segment | undefined) => Effect.Effect<number, EventStoreError>)
    | undefined
  /**
   * Starts listening for appends. The effect it returns waits until the log may have changed
   * since listening started or since it last returned.
   */
  readonly listen: EventStore["Service"]["listen"]
  readonly head: EventStore["Service"]["head"]
  /** See {@link EventStore}'s `gaugeOf`; `Number(position)` when absent. */
  readonly gaugeOf?: ((position: bigint) => number) | undefined
}

const lastOf = <A>(items: ReadonlyArray<A>): A => items[items.length - 1]!

/**
 * Checks the options of a read (see `InvalidInput` for what every store accepts): `after`, `from`,
 * `batchSize`, `types` and `segment`, those that are given. `name` is what they are to the
 * caller, for the error: "read options" for the store's reads. With `markers`, `after` may be a
 * {@link ConsistencyMarker} (a read by query).
 *
 * @category validation
 * @since 0.1.0
 */
export const checkReadOptions: (name: string, options: unknown, markers?: boolean) => InvalidInput | undefined = Checks.checkReadOptions

/**
 * Builds an {@link EventStore} from a store's primitives.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (primitives: Primitives): EventStore["Service"] => {
  const readStream = (streamId: string, options?: ReadStreamOptions) => {
    const limit = options?.batchSize ?? defaultBatchSize
    const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReadOptions("read options", options)
    if (invalid !== undefined) return Stream.fail(invalid)
    return Stream.paginate(options?.from ?? 1, (from) =>
      Effect.map(primitives.readStreamPage(streamId, from, limit), (page) =>
        [page, page.length < limit ? Option.none() : Option.some(lastOf(page).version + 1)] as const))
  }

  const readPage = (options?: ReadAllOptions) => {
    const invalid = checkReadOptions("read options", options)
    if (invalid !== undefined) return Effect.fail(invalid)
    return primitives.readAllPage(options?.after ?? start, options?.types, options?.batchSize ?? defaultBatchSize, options?.segment)
  }

  const readAll = (options?: ReadAllOptions) => {
    const limit = options?.batchSize ?? defaultBatchSize
    const invalid = checkReadOptions("read options", options)
    if (invalid !== undefined) return Stream.fail(invalid)
    return Stream.paginate(options?.after ?? start, (after) =>
      Effect.map(primitives.readAllPage(after, options?.types, limit, options?.segment), (page) =>
        [page.events, page.events.length < limit ? Option.none() : Option.some(page.next)] as const))
  }

  const subscribe = (options?: ReadAllOptions) => {
    const limit = options?.batchSize ?? defaultBatchSize
    const invalid = checkReadOptions("read options", options)
    if (invalid !== undefined) return Stream.fail(invalid)
    return Stream.unwrap(Effect.map(primitives.listen, (waitForChange) =>
      // Listening starts before the first read, so an append that lands after any read wakes us.
      Stream.paginate({ after: options?.after ?? start, caughtUp: false }, (cursor) =>
        Effect.gen(function*() {
          if (cursor.caughtUp) yield* waitForChange
          const page = yield* primitives.readAllPage(cursor.after, options?.types, limit, options?.segment)
          return [page.events, Option.some({ after: page.next, caughtUp: page.events.length < limit })] as const
        }))))
  }

  // Every append passes here: the metrics are updated in place rather than as effects of their
  // own, and the span is only made when a tracing backend is installed to see it.
  const appendWith = (streamId: string, events: ReadonlyArray<UnsavedEvent>, condition: AppendCondition | undefined, options?: AppendOptions) =>
    Effect.withFiber((fiber): ReturnType<EventStore["Service"]["appendIf"]> => {
      const invalid = Checks.checkAppend(streamId, events) ?? (condition === undefined ? undefined : Checks.checkCondition(condition))
      if (invalid !== undefined) return Effect.fail(invalid)
      const clock = fiber.getRef(Clock.Clock)
      const began = clock.monotonicTimeNanosUnsafe()
      const appended = Effect.map(primitives.append(streamId, events, options, condition), (result) => {
        Metrics.appendDuration.updateUnsafe(Duration.nanos(clock.monotonicTimeNanosUnsafe() - began), fiber.context)
        Metrics.eventsAppended.updateUnsafe(result.events.length, fiber.context)
        return result
      })
      if (fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer) return appended
      return Effect.withSpan(appended, "EventStore.append", {
        attributes: { streamId, events: events.length, expectedVersion: String(options?.expectedVersion ?? "any") },
        captureStackTrace: false
      })
    })

  /** The stream's stored version (0 for none). */
  const versionOf = primitives.streamVersion ?? ((streamId: string) =>
    Effect.map(primitives.listStreams(streamId, undefined, 1), (streams) => streams[0]?.streamId === streamId ? streams[0].version : 0))

  const readQueryPage = (query: EventQuery, after: bigint | ConsistencyMarker | undefined, limit: number) =>
    primitives.readQueryPage(query, positionOf(after), limit, typeof after === "object" ? after.snapshot : undefined)

  // Every page after the first is read as of the first one's moment.
  const readQuery = (query: EventQuery, options?: ReadQueryOptions) => {
    const limit = options?.batchSize ?? defaultBatchSize
    const invalid = Checks.checkQuery("query", "$", query) ?? checkReadOptions("read options", options, true)
    if (invalid !== undefined) return Stream.fail(invalid)
    return Stream.paginate(options?.after, (after) =>
      Effect.map(readQueryPage(query, after, limit), (page) =>
        [page.events, page.events.length < limit ? Option.none() : Option.some(page.marker)] as const))
  }

  const readStreamPage: EventStore["Service"]["readStreamPage"] = (streamId, options) => {
    const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReadOptions("read options", options)
    return invalid !== undefined ? Effect.fail(invalid) : primitives.readStreamPage(streamId, options?.from ?? 1, options?.batchSize ?? defaultBatchSize)
  }

  type CheckedRead = (streamId: string, from: number, limit: number) => Effect.Effect<StreamDataPage, EventStoreError | InvalidInput>
  const readStreamData = primitives.readStreamData
  const foldRead: FoldRead.FoldRead<CheckedRead> | undefined = readStreamData === undefined ? undefined : {
    readStreamPage,
    readStreamData: (streamId, from, limit) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReadOptions("read options", { from, batchSize: limit })
      return invalid !== undefined ? Effect.fail(invalid) : readStreamData(streamId, from, limit)
    }
  }

  return EventStore.of({
    ...(foldRead === undefined ? {} : { [FoldRead.key]: foldRead }),
    // Without a condition there is nothing to refuse it for.
    append: (streamId, events, options) =>
      appendWith(streamId, events, undefined, options) as ReturnType<EventStore["Service"]["append"]>,
    appendIf: appendWith,
    readQuery,
    readQueryPage: (query, options) => {
      const invalid = Checks.checkQuery("query", "$", query) ?? checkReadOptions("read options", options, true)
      return invalid !== undefined ? Effect.fail(invalid) : readQueryPage(query, options?.after, options?.batchSize ?? defaultBatchSize)
    },
    readStream,
    readStreamPage,
    streamVersion: (streamId) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength)
      return invalid !== undefined ? Effect.fail(invalid) : versionOf(streamId)
    },
    readCommand: (streamId, commandId) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkId("command id", commandId, limits.keyLength)
      return invalid !== undefined ? Effect.fail(invalid) : primitives.readCommand(streamId, commandId)
    },
    listStreams: (options) => {
      const limit = options?.limit ?? 100
      const invalid = Checks.checkListOptions(options)
      if (invalid !== undefined) return Effect.fail(invalid)
      return Effect.map(primitives.listStreams(options?.prefix ?? "", options?.after, limit), (streams) => ({
        streams,
        next: streams.length === limit ? streams[limit - 1]!.streamId : undefined
      }))
    },
    readAll,
    readPage,
    count: (options) => {
      const invalid = checkReadOptions("read options", options)
      return invalid !== undefined ? Effect.fail(invalid) : primitives.count(options?.after ?? start, options?.types, options?.segment)
    },
    countCommitted: (options) => {
      const invalid = checkReadOptions("read options", options)
      if (invalid !== undefined) return Effect.fail(invalid)
      return (primitives.countCommitted ?? primitives.count)(options?.after ?? start, options?.types, options?.segment)
    },
    subscribe,
    listen: primitives.listen,
    head: (options) => {
      const invalid = checkReadOptions("read options", options)
      return invalid !== undefined ? Effect.fail(invalid) : primitives.head(options)
    },
    gaugeOf: primitives.gaugeOf ?? Number
  })
}

/**
 * Checks an expectation against a stream's current version (0 for no stream).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isExpected = (expected: ExpectedVersion, actual: number): boolean => {
  switch (expected) {
    case "any":
      return true
    case "noStream":
      return actual === 0
    case "streamExists":
      return actual > 0
    default:
      return actual === expected
  }
}
