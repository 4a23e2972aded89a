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
 * (`pg_current_xact_id()`), the log is ordered by (transaction id, position), and readers only
 * read rows whose transaction id is below the oldest transaction still running
 * (`pg_snapshot_xmin(pg_current_snapshot())`): every transaction below that line has finished,
 * and every later one gets a larger id. The cost: a reader waits for the oldest open transaction
 * that holds a transaction id, in any table of the database, to end. The position readers see is
 * `transaction id << 64 | sequence`, a bigint that grows in log order.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, PubSub, Queue, Schedule, type Scope } from "effect"
import { DateTime } from "effect"
import { SqlClient, type SqlError, type Statement } from "effect/sql"
import { EventStore, RecordedEvent } from "@facta/core"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions {
  /**
   * Listens to a LISTEN/NOTIFY channel; without it, subscribers poll. The queue failing (a lost
   * connection) is survived: the store polls and listens again.
   */
  readonly listen?: ((channel: string) => Effect.Effect<Queue.Dequeue<unknown, unknown>, SqlError.SqlError, Scope.Scope>) | undefined
  /** How often subscribers look for new events when no notification arrives. Default 500ms. */
  readonly pollInterval?: Duration.Input | undefined
}

interface EventRow {
  readonly position: bigint | string | number
  readonly transaction: string
  readonly stream_id: string
  readonly version: bigint | string | number
  readonly event_id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  readonly recorded_at: Date | string
}

interface HorizonRow {
  readonly horizon_transaction: string
  readonly horizon_position: bigint | string | number
}

interface AppendRow {
  readonly position: bigint | string | number
  readonly transaction: string
  readonly version: bigint | string | number
  readonly recorded_at: Date | string
}

const sequenceBits = 64n
const sequenceMask = (1n << sequenceBits) - 1n

const toPosition = (transactionId: string, sequence: bigint | string | number) =>
  (BigInt(transactionId) << sequenceBits) | BigInt(sequence)

/** The sequence part of a position: a number that grows with the log, for gauges. */
const sequenceOf = (position: bigint) => Number(position & sequenceMask)

const toDateTime = (value: Date | string) => DateTime.fromDateUnsafe(value instanceof Date ? value : new Date(value))

const toRecorded = (row: EventRow): RecordedEvent.RecordedEvent => ({
  id: row.event_id,
  streamId: row.stream_id,
  version: Number(row.version),
  position: toPosition(row.transaction, row.position),
  type: row.type,
  data: row.data,
  metadata: (row.metadata ?? {}) as RecordedEvent.EventMetadata,
  recordedAt: toDateTime(row.recorded_at)
})

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new EventStore.EventStoreError({ message: `${what} failed: ${cause.message}`, cause })

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface EncodedEvent {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: RecordedEvent.EventMetadata
}

/**
 * A batch ready to send: one event as its own JSON values, more as one JSON array. Encoding runs
 * before anything is sent, so bad ids and data that is not JSON fail the append up front.
 */
interface EncodedBatch {
  readonly encoded: ReadonlyArray<EncodedEvent>
  /** The JSON array of the whole batch; empty for a single event, which needs none. */
  readonly json: string
  /** A single event's data and metadata as JSON; empty for a batch. */
  readonly data: string
  readonly metadata: string
}

const encodeEvent = (event: RecordedEvent.UnsavedEvent): EncodedEvent => {
  // Only ids from the caller need checking.
  if (event.id != null && !uuid.test(event.id)) throw new Error(`event id "${event.id}" is not a UUID`)
  return { id: event.id ?? crypto.randomUUID(), type: event.type, data: event.data ?? null, metadata: event.metadata ?? {} }
}

const encodeBatch = (events: ReadonlyArray<RecordedEvent.UnsavedEvent>): EncodedBatch | EventStore.EventStoreError => {
  try {
    if (events.length === 1) {
      const event = encodeEvent(events[0]!)
      return { encoded: [event], json: "", data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) }
    }
    const encoded = events.map(encodeEvent)
    return { encoded, json: JSON.stringify(encoded), data: "", metadata: "" }
  } catch (cause) {
    return new EventStore.EventStoreError({
      message: `Events cannot be stored: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  }
}

/** "any" and "streamExists" appends that lost a race for a version try again at once. */
const raceRetry = Schedule.exponential("1 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 100 }))

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

/** Transient failures (a dropped connection) are retried for a while before they surface. */
const retryTransient = <A>(effect: Effect.Effect<A, SqlError.SqlError>) =>
  Effect.retry(effect, {
    while: (error: SqlError.SqlError) => error.isRetryable,
    schedule: Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("2 seconds")]).pipe(Schedule.upTo({ times: 12 }))
  })

/**
 * Builds the store on the ambient `SqlClient`. The tables must exist (see `Migrations`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* Tables.make(options)
    const events = sql(tables.events)
    const pollInterval = Duration.fromInputUnsafe(options?.pollInterval ?? "500 millis")

    // One listener per store feeds every subscriber; appends from this process wake them at once.
    const changes = yield* PubSub.sliding<void>(1)
    yield* Effect.addFinalizer(() => PubSub.shutdown(changes))

    // Other processes learn of appends through NOTIFY. A notifying commit takes a lock that
    // serialises all notifying commits in the cluster, so appends do not notify themselves: after
    // them, one fiber sends at most one notification per few milliseconds. (Appends inside a
    // transaction notify within it, delivered when it commits.) While an offer waits in the
    // outbox, later appends have nothing to add and skip it.
    const notify = sql`SELECT pg_notify(${tables.channel}, '')`
    const outbox = yield* Queue.sliding<void>(1)
    let pending = false
    const announce = () => {
      if (pending) return
      pending = true
      Queue.offerUnsafe(outbox, undefined)
    }
    yield* Queue.take(outbox).pipe(
      Effect.andThen(Effect.sync(() => {
        pending = false
      })),
      Effect.andThen(notify),
      Effect.andThen(Effect.sleep("5 millis")),
      Effect.catchCause((cause) => Effect.logWarning("Could not announce appends; subscribers elsewhere will poll", cause)),
      Effect.forever,
      Effect.forkScoped
    )
    const listen = options?.listen
    if (listen !== undefined) {
      yield* Effect.scoped(Effect.gen(function*() {
        const queue = yield* listen(tables.channel)
        while (true) {
          yield* Queue.take(queue)
          yield* PubSub.publish(changes, undefined)
        }
      })).pipe(
        Effect.catchCause((cause) => Effect.logWarning("Event notifications lost; polling until listening again", cause)),
        Effect.andThen(Effect.sleep("1 second")),
        Effect.forever,
        Effect.forkScoped
      )
    }

    // The unique index is on (stream_key, version): versions are numbered per key, so the
    // version lookups need no recheck of the id, and stay index-only scans.
    const actualVersion = (streamId: string) =>
      Effect.map(
        sql<{ readonly version: bigint | string | number }>`SELECT coalesce(max(version), 0) AS version FROM ${events}
          WHERE stream_key = md5(${streamId})::uuid`,
        (rows) => Number(rows[0]?.version ?? 0)
      )

    const insert = (streamId: string, json: string, from: Statement.Fragment, condition: Statement.Fragment) =>
      sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
        SELECT ${streamId}, current.version + e.ordinality, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata'
        FROM ${from} AS current, jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS e
        WHERE ${condition}
        ORDER BY e.ordinality
        RETURNING position, transaction_id::text AS transaction, version, recorded_at`

    /**
     * One statement per append. An exact expectation needs no read of the stream's version: the
     * versions it implies are inserted, and the unique index refuses them if the stream moved on
     * (for a version n > 0, an index probe checks that version n exists). "any" and
     * "streamExists" read the current version in the same statement.
     */
    /** One event needs no JSON array to unpack: its values are parameters of their own. */
    const insertOne = (streamId: string, batch: EncodedBatch, from: Statement.Fragment, condition: Statement.Fragment) =>
      sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
        SELECT ${streamId}, current.version + 1, ${batch.encoded[0]!.id}::uuid, ${batch.encoded[0]!.type}, ${batch.data}::jsonb, ${batch.metadata}::jsonb
        FROM ${from} AS current
        WHERE ${condition}
        RETURNING position, transaction_id::text AS transaction, version, recorded_at`

    // The fragments that do not depend on the append are built once.
    const fromNoStream = sql`(SELECT 0 AS version)`
    const always = sql`true`
    const streamExists = sql`current.version > 0`

    /**
     * The log is ordered by transaction id. A transaction that wrote before it appends (a
     * processor's batch) may have an older id than an event of the stream that another
     * transaction committed since: appended, its event would come before that one in the log.
     * Such an append is refused; the transaction runs again with a newer id.
     */
    const inLogOrder = (streamId: string) =>
      sql`coalesce((SELECT transaction_id FROM ${events} WHERE stream_key = md5(${streamId})::uuid ORDER BY version DESC LIMIT 1), '0'::xid8)
        <= pg_current_xact_id()`

    const appendOnce = (streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion, inTransaction: boolean) => {
      const write = (from: Statement.Fragment, condition: Statement.Fragment) => {
        const guarded = inTransaction ? sql`${condition} AND ${inLogOrder(streamId)}` : condition
        return batch.encoded.length === 1 ? insertOne(streamId, batch, from, guarded) : insert(streamId, batch.json, from, guarded)
      }
      const exact = expected === "noStream" ? 0 : typeof expected === "number" ? expected : undefined
      if (exact === 0) return write(fromNoStream, always)
      if (exact !== undefined) {
        return write(
          sql`(SELECT ${exact}::bigint AS version)`,
          sql`EXISTS (SELECT 1 FROM ${events} WHERE stream_key = md5(${streamId})::uuid AND version = ${exact})`
        )
      }
      const current = sql`(SELECT coalesce(max(version), 0) AS version FROM ${events} WHERE stream_key = md5(${streamId})::uuid)`
      return write(current, expected === "streamExists" ? streamExists : always)
    }

    const wrongVersion = (streamId: string, expected: EventStore.ExpectedVersion) =>
      Effect.flatMap(actualVersion(streamId), (actual) => Effect.fail(new EventStore.WrongExpectedVersion({ streamId, expected, actual })))

    /** Why an append inside a transaction wrote nothing: out of log order, or the wrong version. */
    const refusedInTransaction = (streamId: string, expected: EventStore.ExpectedVersion) =>
      Effect.flatMap(sql<{ readonly in_order: boolean }>`SELECT ${inLogOrder(streamId)} AS in_order`, (rows): Effect.Effect<never, EventStore.WrongExpectedVersion | EventStore.RetryTransaction | SqlError.SqlError> =>
        rows[0]?.in_order === false ? Effect.fail(new EventStore.RetryTransaction({ streamId })) : wrongVersion(streamId, expected))

    const toResult = (streamId: string, encoded: ReadonlyArray<EncodedEvent>, rows: ReadonlyArray<AppendRow>): EventStore.AppendResult => {
      const recorded = new Array<RecordedEvent.RecordedEvent>(rows.length)
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!
        const event = encoded[index]!
        recorded[index] = {
          id: event.id,
          streamId,
          version: Number(row.version),
          position: toPosition(row.transaction, row.position),
          type: event.type,
          data: event.data,
          metadata: event.metadata,
          recordedAt: toDateTime(row.recorded_at)
        }
      }
      return { streamId, version: recorded[recorded.length - 1]!.version, events: recorded }
    }

    const checkOnly = (streamId: string, expected: EventStore.ExpectedVersion) =>
      Effect.flatMap(
        Effect.mapError(actualVersion(streamId), storeError(`Reading stream "${streamId}"`)),
        (actual): Effect.Effect<EventStore.AppendResult, EventStore.WrongExpectedVersion> =>
          EventStore.isExpected(expected, actual)
            ? Effect.succeed({ streamId, version: actual, events: [] })
            : Effect.fail(new EventStore.WrongExpectedVersion({ streamId, expected, actual }))
      )

    // Local subscribers are woken at once; other processes by the outbox, or by Postgres when
    // the transaction commits. A full `changes` means a wake-up is pending for some subscriber;
    // the sliding publish then makes sure every subscriber gets one.
    const appended = (result: EventStore.AppendResult, inTransaction: boolean) => {
      if (!inTransaction) announce()
      return PubSub.publishUnsafe(changes, undefined) ? Effect.succeed(result) : Effect.as(PubSub.publish(changes, undefined), result)
    }

    const append = (
      streamId: string,
      unsaved: ReadonlyArray<RecordedEvent.UnsavedEvent>,
      appendOptions?: EventStore.AppendOptions
    ): Effect.Effect<EventStore.AppendResult, EventStore.WrongExpectedVersion | EventStore.RetryTransaction | EventStore.EventStoreError> => {
      const expected = appendOptions?.expectedVersion ?? "any"
      if (unsaved.length === 0) return checkOnly(streamId, expected)
      return Effect.withFiber((fiber) => {
        const batch = encodeBatch(unsaved)
        if (batch instanceof EventStore.EventStoreError) return Effect.fail(batch)
        // Inside a transaction (a processor's batch), a unique violation would abort it: a
        // savepoint keeps the conflict to this statement. The notification is sent by Postgres
        // when that transaction commits.
        const inTransaction = Context.getOrUndefined(fiber.context, sql.transactionService) !== undefined
        const statement = inTransaction
          ? sql.withTransaction(Effect.tap(appendOnce(streamId, batch, expected, true), () => notify))
          : appendOnce(streamId, batch, expected, false)
        const attempt = Effect.matchEffect(statement, {
          // A concurrent writer took one of the versions: a conflict for an exact expectation;
          // "any" and "streamExists" try again with the new version.
          onFailure: (error) => error.reason._tag === "UniqueViolation" ? wrongVersion(streamId, expected) : Effect.fail(error),
          onSuccess: (rows): Effect.Effect<EventStore.AppendResult, EventStore.WrongExpectedVersion | EventStore.RetryTransaction | EventStore.EventStoreError | SqlError.SqlError> =>
            rows.length > 0
              ? Effect.succeed(toResult(streamId, batch.encoded, rows))
              : inTransaction
              ? refusedInTransaction(streamId, expected)
              : wrongVersion(streamId, expected)
        })
        const toStoreError = (error: EventStore.WrongExpectedVersion | EventStore.RetryTransaction | EventStore.EventStoreError | SqlError.SqlError) =>
          error._tag === "SqlError" ? storeError(`Append to "${streamId}"`)(error) : error
        const retryable = (error: EventStore.WrongExpectedVersion | EventStore.RetryTransaction | EventStore.EventStoreError | SqlError.SqlError) =>
          (expected === "any" || expected === "streamExists") && error._tag === "WrongExpectedVersion" &&
          EventStore.isExpected(expected, error.actual)
        return Effect.matchEffect(attempt, {
          onFailure: (error) =>
            retryable(error)
              ? Effect.flatMap(Effect.mapError(retryRace(error, attempt, retryable), toStoreError), (result) => appended(result, inTransaction))
              : Effect.fail(toStoreError(error)),
          onSuccess: (result) => appended(result, inTransaction)
        })
      })
    }

    // Versions are contiguous, so a page is a bounded range of the (stream_key, version) index.
    const readStreamPage = (streamId: string, from: number, limit: number) =>
      sql<EventRow>`SELECT position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at
        FROM ${events}
        WHERE stream_key = md5(${streamId})::uuid AND version BETWEEN ${from} AND ${from + limit - 1} AND stream_id = ${streamId}
        ORDER BY version`.pipe(
        Effect.map((rows) => rows.map(toRecorded)),
        retryTransient,
        Effect.mapError(storeError(`Reading stream "${streamId}"`))
      )

    const ofTypes = (types: ReadonlyArray<string>) => types.length === 0 ? sql`false` : sql.in("type", types)
    const typeFilter = (types: ReadonlyArray<string> | undefined) => types === undefined ? sql`` : sql`AND ${ofTypes(types)}`
    /** The log after a position, in (transaction id, sequence) order. */
    const afterPosition = (after: bigint) =>
      sql`(transaction_id, position) > (${(after >> sequenceBits).toString()}::text::xid8, ${(after & sequenceMask).toString()}::bigint)`

    const byPosition = (a: RecordedEvent.RecordedEvent, b: RecordedEvent.RecordedEvent) => a.position < b.position ? -1 : a.position > b.position ? 1 : 0

    /**
     * A page of all types: a page that is not full has read everything visible, so the next read
     * starts after its last event.
     */
    const readAllTypesPage = (after: bigint, limit: number) =>
      sql<EventRow>`SELECT position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at
        FROM ${events}
        WHERE ${afterPosition(after)}
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position LIMIT ${limit}`.pipe(
        Effect.map((rows): EventStore.LogPage => {
          const page = rows.map(toRecorded)
          return { events: page, next: page.length === 0 ? after : page[page.length - 1]!.position }
        })
      )

    /**
     * A page of some types is read up to the horizon: the last event below the readers' gate,
     * taken in the same statement (the same snapshot). A page that is not full has then read
     * everything up to it, and the next read starts there, past the events of other types.
     */
    const readTypesPage = (after: bigint, types: ReadonlyArray<string>, limit: number) =>
      sql<HorizonRow & Partial<EventRow>>`WITH horizon AS MATERIALIZED (
          SELECT transaction_id, position FROM ${events}
          WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY transaction_id DESC, position DESC LIMIT 1
        )
        SELECT horizon.transaction_id::text AS horizon_transaction, horizon.position AS horizon_position,
          page.position, page.transaction, page.stream_id, page.version, page.event_id, page.type, page.data, page.metadata, page.recorded_at
        FROM horizon LEFT JOIN LATERAL (
          SELECT position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at
          FROM ${events}
          WHERE ${afterPosition(after)}
            AND (transaction_id, position) <= (horizon.transaction_id, horizon.position)
            AND ${ofTypes(types)}
          ORDER BY transaction_id, position LIMIT ${limit}
        ) AS page ON true`.pipe(
        Effect.map((rows): EventStore.LogPage => {
          const page = rows[0]?.event_id == null ? [] : rows.map((row) => toRecorded(row as EventRow))
          // Ordered by the lateral read; an outer ORDER BY would cost a sort of the whole page.
          for (let i = 1; i < page.length; i++) {
            if (page[i - 1]!.position > page[i]!.position) {
              page.sort(byPosition)
              break
            }
          }
          const horizon = rows.length === 0 ? EventStore.start : toPosition(rows[0]!.horizon_transaction, rows[0]!.horizon_position)
          return { events: page, next: page.length === limit ? page[limit - 1]!.position : horizon > after ? horizon : after }
        })
      )

    const readAllPage = (after: bigint, types: ReadonlyArray<string> | undefined, limit: number) =>
      (types === undefined ? readAllTypesPage(after, limit) : readTypesPage(after, types, limit)).pipe(
        retryTransient,
        Effect.mapError(storeError("Reading the log"))
      )

    const count = (after: bigint, types: ReadonlyArray<string> | undefined) =>
      sql<{ readonly count: bigint | string | number }>`SELECT count(*) AS count FROM ${events}
        WHERE ${afterPosition(after)}
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          ${typeFilter(types)}`.pipe(
        Effect.map((rows) => Number(rows[0]?.count ?? 0)),
        retryTransient,
        Effect.mapError(storeError("Counting the log"))
      )

    const listenForChanges = Effect.map(PubSub.subscribe(changes), (subscription) =>
      PubSub.takeAll(subscription).pipe(Effect.timeoutOption(pollInterval), Effect.asVoid))

    // Without the readers' gate: the last committed event, even behind an open transaction.
    const head = (headOptions?: { readonly types?: ReadonlyArray<string> | undefined }) => {
      const types = headOptions?.types
      return sql<{ readonly transaction: string; readonly position: bigint | string | number }>`
        SELECT transaction_id::text AS transaction, position FROM ${events}
        ${types === undefined ? sql`` : sql`WHERE ${ofTypes(types)}`}
        ORDER BY transaction_id DESC, position DESC LIMIT 1`.pipe(
        Effect.map((rows) => rows.length === 0 ? EventStore.start : toPosition(rows[0]!.transaction, rows[0]!.position)),
        retryTransient,
        Effect.mapError(storeError("Reading the head of the log"))
      )
    }

    return EventStore.make({ append, readStreamPage, readAllPage, count, listen: listenForChanges, head, gaugeOf: sequenceOf })
  })

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options) => Layer.effect(EventStore.EventStore, make(options))
