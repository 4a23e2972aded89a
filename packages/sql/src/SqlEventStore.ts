/**
 * The event store on Postgres, through `effect/sql`: the same code serves a Postgres server and
 * embedded PGlite.
 *
 * Appends are one statement: it reads the stream's version, checks the expectation and inserts
 * the whole batch, so the check and the write are atomic; a unique (stream, version) index turns a
 * concurrent writer into a conflict.
 *
 * The global log has no gaps for readers. Sequence numbers are taken in one order and committed
 * in another, so a reader that moved past position p could later miss an event with a smaller
 * position that commits after it read. Each row therefore records its writer's transaction id
 * (`pg_current_xact_id()`), the log is ordered by (transaction id, position), and readers of the
 * log only read rows whose transaction id is below the oldest running transaction that may still
 * append (see `internal/readersGate`): every transaction below that line has finished appending,
 * and every later one gets a larger id. Reads by query wait for no one: they read as of their
 * snapshot, and a condition on their marker checks exactly what that snapshot did not see. The
 * position readers see is `transaction id << 64 | sequence`, a bigint that grows in log order.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, PubSub, type Queue, Schedule, type Scope } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { ClosedStreams, EventStore, InvalidInput, LiveClock, Transactor, type RecordedEvent } from "@facta/core"
import { type EncodedBatch, encodeBatch, type EventRow, sequenceOf, storeError, toPosition, toRecorded, toResult } from "./internal/eventRows.ts"
import * as Statements from "./internal/eventStatements.ts"
import * as GroupCommit from "./internal/groupCommit.ts"
import * as Reads from "./internal/readStatements.ts"
import { retrying } from "./internal/transient.ts"
import * as WakeUps from "./internal/wakeUps.ts"
import * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions, Retries.RetryOptions {
  /**
   * Listens to a LISTEN/NOTIFY channel; without it, subscribers poll. The queue failing (a lost
   * connection) is survived: the store polls and listens again.
   */
  readonly listen?: ((channel: string) => Effect.Effect<Queue.Dequeue<unknown, unknown>, SqlError.SqlError, Scope.Scope>) | undefined
  /** How often subscribers look for new events when no notification arrives. Default 500ms. */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * Group commit (on by default): plain appends made at the same moment outside a transaction
   * are written by one statement in one transaction, each with its own outcome. At most
   * `inFlight` (default 1) such statements run at once, of at most `maxAppends` appends (64) and
   * `maxEvents` events (1,000); appends wait for a slot at most `slowAfter` (20 ms: a statement
   * waiting for another transaction's lock does not hold the others up longer). `false` writes
   * each append with a statement of its own.
   */
  readonly groupCommit?: false | Partial<GroupCommit.Options> | undefined
  /**
   * Appends a single event outside a transaction by calling a SQL function rather than by sending
   * the append's statement. PGlite spends more on parsing and planning the statement than on
   * running it, so `Embedded` turns this on; on a server the statement is faster (default off).
   */
  readonly appendByFunction?: boolean | undefined
}

/** "any" and "streamExists" appends that lost a race for a version try again at once. */
const raceRetry = LiveClock.schedule(Schedule.exponential("1 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 100 })))

/**
 * `Effect.retry(attempt, ...)` for an attempt that has just failed with `error`: the retries are
 * only set up once needed, and the schedule still sees that first failure.
 */
const retryRace = <A, E>(error: E, attempt: Effect.Effect<A, E>, retryable: (error: E) => boolean): Effect.Effect<A, E> => {
  let replay = true
  return Effect.retry(
    Effect.suspend(() => {
      if (!replay) return attempt
      replay = false
      return Effect.fail(error)
    }),
    { while: retryable, schedule: raceRetry }
  )
}

type AppendError =
  | EventStore.WrongExpectedVersion
  | ClosedStreams.StreamClosed
  | EventStore.AppendConditionFailed
  | Transactor.RetryTransaction
  | EventStore.EventStoreError
  | InvalidInput.InvalidInput

/** A `pg_snapshot` as text: `xmin:xmax:` and the running ids, comma-separated. */
const snapshotText = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/

/** A marker's snapshot that is not one this store gives, refused before it reaches SQL. */
const invalidSnapshot = (after: EventStore.AppendCondition["after"]): InvalidInput.InvalidInput | undefined => {
  if (typeof after !== "object" || after === null || after.snapshot === undefined) return undefined
  return typeof after.snapshot === "string" && after.snapshot.length <= 100_000 && snapshotText.test(after.snapshot)
    ? undefined
    : new InvalidInput.InvalidInput({ subject: "consistency marker", path: "$.snapshot", reason: "is not a snapshot this store gave" })
}

/**
 * Appends with the statement of `Statements.append`, and turns what it returns into the store's
 * answer: the recorded events, a conflict (after retrying a lost race for "any" and
 * "streamExists"), or, inside a transaction, a request to run the transaction again.
 */
const appender = (log: Statements.Log, wakeUps: WakeUps.WakeUps, schedule: Schedule.Schedule<unknown, unknown>, grouped: GroupCommit.Write) => {
  const { sql } = log
  // An append in doubt may have committed: only one that surely wrote nothing runs again.
  const retry = retrying(sql, schedule, (transient) => transient !== "inDoubt")
  /** Why the statement wrote nothing: the stream is closed, or at another version. */
  const wrongVersion = (streamId: string, expected: EventStore.ExpectedVersion) =>
    Effect.flatMap(Reads.lastEventOf(log, streamId), (last) =>
      Effect.fail(ClosedStreams.closedBy(streamId, last) ?? new EventStore.WrongExpectedVersion({ streamId, expected, actual: last?.version ?? 0 })))

  /**
   * Why an append inside a transaction wrote nothing: out of log order (behind a newer append to
   * its stream, or a newer conditional append on its keys), or the wrong version.
   */
  const refusedInTransaction = (streamId: string, expected: EventStore.ExpectedVersion, batch: EncodedBatch) =>
    Effect.flatMap(
      sql<{ readonly in_order: boolean }>`SELECT ${Statements.inLogOrder(log, streamId)} AND NOT ${Statements.behindCondition(log, batch)} AS in_order`,
      (rows): Effect.Effect<never, AppendError | SqlError.SqlError> =>
        rows[0]?.in_order === false ? Effect.fail(new Transactor.RetryTransaction({ streamId })) : wrongVersion(streamId, expected)
    )

  const checkOnly = (streamId: string, expected: EventStore.ExpectedVersion) =>
    Effect.flatMap(
      Effect.mapError(Reads.lastEventOf(log, streamId), storeError(`Reading stream "${streamId}"`)),
      (last): Effect.Effect<EventStore.AppendResult, EventStore.WrongExpectedVersion | ClosedStreams.StreamClosed> => {
        const closed = ClosedStreams.closedBy(streamId, last)
        const actual = last?.version ?? 0
        if (closed !== undefined) return Effect.fail(closed)
        return EventStore.isExpected(expected, actual)
          ? Effect.succeed({ streamId, version: actual, events: [] })
          : Effect.fail(new EventStore.WrongExpectedVersion({ streamId, expected, actual }))
      }
    )

  // Local subscribers are woken at once; other processes by the outbox, or by Postgres when the
  // transaction commits. A full `changes` means a wake-up is pending for some subscriber; the
  // sliding publish then makes sure every subscriber gets one.
  const appended = (result: EventStore.AppendResult, inTransaction: boolean) => {
    if (!inTransaction) wakeUps.announce()
    return PubSub.publishUnsafe(wakeUps.changes, undefined) ? Effect.succeed(result) : Effect.as(PubSub.publish(wakeUps.changes, undefined), result)
  }

  /**
   * What an append's checks raised: a run again (an append in a transaction too old to append, see
   * `internal/readersGate`), or the event that broke its condition.
   */
  const conditionFailure = (streamId: string, condition: EventStore.AppendCondition | undefined, error: SqlError.SqlError) => {
    const conflict = Statements.conditionOutcome(error)
    if (conflict === undefined) return undefined
    if (conflict === "retry") return new Transactor.RetryTransaction({ streamId })
    if (condition === undefined) return undefined
    return EventStore.conditionFailed(streamId, condition, {
      id: conflict.event_id,
      streamId: conflict.stream_id,
      version: Number(conflict.version),
      type: conflict.type,
      position: toPosition(conflict.transaction, conflict.position)
    })
  }

  return (
    streamId: string,
    unsaved: ReadonlyArray<RecordedEvent.UnsavedEvent>,
    appendOptions: EventStore.AppendOptions | undefined,
    condition: EventStore.AppendCondition | undefined
  ): Effect.Effect<EventStore.AppendResult, AppendError> => {
    const expected = appendOptions?.expectedVersion ?? "any"
    const invalid = condition === undefined ? undefined : invalidSnapshot(condition.after)
    if (invalid !== undefined) return Effect.fail(invalid)
    if (unsaved.length === 0) return checkOnly(streamId, expected)
    return Effect.withFiber((fiber) => {
      const batch = encodeBatch(unsaved)
      if (batch instanceof EventStore.EventStoreError) return Effect.fail(batch)
      // Inside a transaction (a processor's batch), a unique violation would abort it: a
      // savepoint keeps the conflict to this statement. The notification is sent by Postgres
      // when that transaction commits.
      const inTransaction = Context.getOrUndefined(fiber.context, sql.transactionService) !== undefined
      // A condition that locks the table takes that lock before its insert (see
      // `Statements.tableLock`). Outside a transaction it runs in one of its own, which has no
      // transaction id until the insert: the insert is checked as one outside a transaction. A
      // transaction that appended before already holds the insert's lock, so two of them can
      // still deadlock; Postgres then fails one, and its owner runs it again.
      const locksTable = condition !== undefined && Statements.locksTable(condition.failIfEventsMatch)
      const write = (checkedInTransaction: boolean) => {
        const insert = Statements.append(log, streamId, batch, expected, checkedInTransaction, condition)
        return locksTable ? Effect.andThen(Statements.tableLock(log), insert) : insert
      }
      const statement = inTransaction
        ? sql.withTransaction(Effect.tap(write(true), () => wakeUps.notify))
        : retry(locksTable ? sql.withTransaction(write(false)) : condition === undefined ? grouped(streamId, batch, expected) : write(false))
      const attempt = Effect.matchEffect(statement, {
        // A concurrent writer took one of the versions: a conflict for an exact expectation;
        // "any" and "streamExists" try again with the new version.
        onFailure: (error): Effect.Effect<never, AppendError | SqlError.SqlError> => {
          if (error.reason._tag === "UniqueViolation") return wrongVersion(streamId, expected)
          const failure = conditionFailure(streamId, condition, error)
          return failure === undefined ? Effect.fail(error) : Effect.fail(failure)
        },
        onSuccess: (rows): Effect.Effect<EventStore.AppendResult, AppendError | SqlError.SqlError> =>
          rows.length > 0
            ? Effect.succeed(toResult(streamId, batch.encoded, rows))
            : inTransaction
            ? refusedInTransaction(streamId, expected, batch)
            : wrongVersion(streamId, expected)
      })
      const toStoreError = (error: AppendError | SqlError.SqlError) => error._tag === "SqlError" ? storeError(`Append to "${streamId}"`)(error) : error
      const retryable = (error: AppendError | SqlError.SqlError) =>
        (expected === "any" || expected === "streamExists") && error._tag === "WrongExpectedVersion" && EventStore.isExpected(expected, error.actual)
      return Effect.matchEffect(attempt, {
        onFailure: (error) =>
          retryable(error)
            ? Effect.flatMap(Effect.mapError(retryRace(error, attempt, retryable), toStoreError), (result) => appended(result, inTransaction))
            : Effect.fail(toStoreError(error)),
        onSuccess: (result) => appended(result, inTransaction)
      })
    })
  }
}

/**
 * Builds the store on the ambient `SqlClient`. The tables must exist (see `Migrations`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Options
) => Effect.Effect<EventStore.EventStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient | Scope.Scope> = Effect.fn("SqlEventStore.make")(function*(
  options?: Options
) {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* Tables.make(options)
  const log = Statements.makeLog(sql, tables.events, { appendByFunction: options?.appendByFunction })
  const pollInterval = Duration.fromInputUnsafe(options?.pollInterval ?? "500 millis")
  // The store's own fibers (announcing appends, listening) wait on the live clock.
  const wakeUps = yield* LiveClock.provide(WakeUps.make(sql, tables.channel, options?.listen))
  const schedule = options?.retry ?? Retries.defaultSchedule
  const grouped = options?.groupCommit === false
    ? (streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion) => Statements.append(log, streamId, batch, expected, false, undefined)
    : yield* LiveClock.provide(GroupCommit.make(log, { ...GroupCommit.defaults, ...options?.groupCommit }))
  const retry = retrying(sql, schedule)
  const reading = <A>(what: string, read: Effect.Effect<A, SqlError.SqlError>) => read.pipe(retry, Effect.mapError(storeError(what)))
  return EventStore.make({
    append: appender(log, wakeUps, schedule, grouped),
    readStreamPage: (streamId, from, limit) => reading(`Reading stream "${streamId}"`, Reads.readStreamPage(log, streamId, from, limit)),
    readStreamData: (streamId, from, limit) => reading(`Reading stream "${streamId}"`, Reads.readStreamData(log, streamId, from, limit)),
    listStreams: (prefix, after, limit) => reading("Listing streams", Reads.listStreams(log, prefix, after, limit)),
    streamVersion: (streamId) => reading(`Reading the version of stream "${streamId}"`, Reads.streamVersion(log, streamId)),
    readCommand: (streamId, commandId) =>
      reading(`Reading command "${commandId}" of stream "${streamId}"`, Reads.readCommand(log, streamId, commandId)),
    readAllPage: (after, types, limit, segment) => reading("Reading the log", Reads.readAllPage(log, after, types, limit, segment)),
    readQueryPage: (query, after, limit, snapshot) => {
      const invalid = invalidSnapshot({ position: after, snapshot })
      return invalid !== undefined
        ? Effect.fail(invalid)
        : reading("Reading the log by a query", Reads.readQueryPage(log, query, after, limit, snapshot))
    },
    count: (after, types, segment) => reading("Counting the log", Reads.count(log, after, types, true, segment)),
    countCommitted: (after, types, segment) => reading("Counting the log", Reads.count(log, after, types, false, segment)),
    listen: Effect.map(PubSub.subscribe(wakeUps.changes), (subscription) =>
      PubSub.takeAll(subscription).pipe(Effect.timeoutOption(pollInterval), Effect.asVoid, LiveClock.provide)),
    head: (headOptions) => reading("Reading the head of the log", Reads.head(log, headOptions)),
    gaugeOf: sequenceOf
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options) => Layer.effect(EventStore.EventStore, make(options))

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The committed event with this id, or `undefined` (an id that is no UUID names no event): for
 * an operator following an event's `causationId` or `correlationId` to the event it names. The
 * events table has no index on event ids, so this reads the table: an operator's look-up, not
 * something for a request path.
 *
 * @category inspection
 * @since 0.1.0
 */
export const readEvent = (
  eventId: string,
  options?: Tables.TableOptions
): Effect.Effect<RecordedEvent.RecordedEvent | undefined, EventStore.EventStoreError | Tables.InvalidTableOptions, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    if (!uuidPattern.test(eventId)) return undefined
    const sql = yield* SqlClient.SqlClient
    const tables = yield* Tables.make(options)
    const log = Statements.makeLog(sql, tables.events)
    const rows = yield* sql<EventRow>`SELECT ${log.eventColumns} FROM ${log.events} WHERE event_id = ${eventId}::uuid LIMIT 1`.pipe(
      Effect.mapError(storeError(`Reading event ${eventId}`))
    )
    return rows[0] === undefined ? undefined : toRecorded(rows[0])
  })
