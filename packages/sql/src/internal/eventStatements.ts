/**
 * The statements of the SQL event store, apart from its service wiring: the append, reads of a
 * stream and of the log below the readers' gate, counts and the head. See `SqlEventStore` for
 * the log order and the gate.
 */
import { EventStore, type RecordedEvent } from "@facta/core"
import { Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"
import {
  type AppendRow,
  type EncodedBatch,
  type EventRow,
  type HorizonRow,
  sequenceBits,
  sequenceMask,
  toPosition,
  toRecorded
} from "./eventRows.ts"

/** The events table, and the fragments that do not depend on a statement's values, built once. */
export interface Log {
  readonly sql: SqlClient.SqlClient
  readonly events: Statement.Identifier
  /** The columns of an `EventRow`, as every read of events selects them. */
  readonly eventColumns: Statement.Fragment
  readonly fromNoStream: Statement.Fragment
  readonly always: Statement.Fragment
  readonly streamExists: Statement.Fragment
}

export const makeLog = (sql: SqlClient.SqlClient, table: string): Log => ({
  sql,
  events: sql(table),
  eventColumns: sql`position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at`,
  fromNoStream: sql`(SELECT 0 AS version)`,
  always: sql`true`,
  streamExists: sql`current.version > 0`
})

// The unique index is on (stream_key, version): versions are numbered per key, so the version
// lookups need no recheck of the id, and stay index-only scans.
export const actualVersion = ({ events, sql }: Log, streamId: string) =>
  Effect.map(
    sql<{ readonly version: bigint | string | number }>`SELECT coalesce(max(version), 0) AS version FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid`,
    (rows) => Number(rows[0]?.version ?? 0)
  )

const insertMany = ({ events, sql }: Log, streamId: string, json: string, from: Statement.Fragment, condition: Statement.Fragment) =>
  sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
    SELECT ${streamId}, current.version + e.ordinality, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata'
    FROM ${from} AS current, jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS e
    WHERE ${condition}
    ORDER BY e.ordinality
    RETURNING position, transaction_id::text AS transaction, version, recorded_at`

/** One event needs no JSON array to unpack: its values are parameters of their own. */
const insertOne = ({ events, sql }: Log, streamId: string, batch: EncodedBatch, from: Statement.Fragment, condition: Statement.Fragment) =>
  sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
    SELECT ${streamId}, current.version + 1, ${batch.encoded[0]!.id}::uuid, ${batch.encoded[0]!.type}, ${batch.data}::jsonb, ${batch.metadata}::jsonb
    FROM ${from} AS current
    WHERE ${condition}
    RETURNING position, transaction_id::text AS transaction, version, recorded_at`

/**
 * The log is ordered by transaction id. A transaction that wrote before it appends (a
 * processor's batch) may have an older id than an event of the stream that another transaction
 * committed since: appended, its event would come before that one in the log. Such an append is
 * refused; the transaction runs again with a newer id.
 */
export const inLogOrder = ({ events, sql }: Log, streamId: string) =>
  sql`coalesce((SELECT transaction_id FROM ${events} WHERE stream_key = md5(${streamId})::uuid ORDER BY version DESC LIMIT 1), '0'::xid8)
    <= pg_current_xact_id()`

/**
 * One statement per append; no rows back means the expectation (or, in a transaction, the log
 * order) refused it. An exact expectation needs no read of the stream's version: the versions it
 * implies are inserted, and the unique index refuses them if the stream moved on (for a version
 * n > 0, an index probe checks that version n exists). "any" and "streamExists" read the current
 * version in the same statement.
 */
export const append = (log: Log, streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion, inTransaction: boolean) => {
  const { events, sql } = log
  const write = (from: Statement.Fragment, condition: Statement.Fragment) => {
    const guarded = inTransaction ? sql`${condition} AND ${inLogOrder(log, streamId)}` : condition
    return batch.encoded.length === 1 ? insertOne(log, streamId, batch, from, guarded) : insertMany(log, streamId, batch.json, from, guarded)
  }
  const exact = expected === "noStream" ? 0 : typeof expected === "number" ? expected : undefined
  if (exact === 0) return write(log.fromNoStream, log.always)
  if (exact !== undefined) {
    return write(
      sql`(SELECT ${exact}::bigint AS version)`,
      sql`EXISTS (SELECT 1 FROM ${events} WHERE stream_key = md5(${streamId})::uuid AND version = ${exact})`
    )
  }
  const current = sql`(SELECT coalesce(max(version), 0) AS version FROM ${events} WHERE stream_key = md5(${streamId})::uuid)`
  return write(current, expected === "streamExists" ? log.streamExists : log.always)
}

// Versions are contiguous, so a page is a bounded range of the (stream_key, version) index.
export const readStreamPage = (
  { eventColumns, events, sql }: Log,
  streamId: string,
  from: number,
  limit: number
): Effect.Effect<Array<RecordedEvent.RecordedEvent>, SqlError.SqlError> =>
  Effect.map(
    sql<EventRow>`SELECT ${eventColumns}
      FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid AND version BETWEEN ${from} AND ${from + limit - 1} AND stream_id = ${streamId}
      ORDER BY version`,
    (rows) => rows.map(toRecorded)
  )

/** A page of streams by id, each with its version and the position of its last event. */
export const listStreams = (
  { events, sql }: Log,
  prefix: string,
  after: string | undefined,
  limit: number
): Effect.Effect<Array<EventStore.StreamInfo>, SqlError.SqlError> =>
  Effect.map(
    sql<{ readonly stream_id: string; readonly version: bigint | string | number; readonly transaction: string; readonly position: bigint | string | number }>`
      SELECT DISTINCT ON (stream_id COLLATE "C") stream_id, version, transaction_id::text AS transaction, position FROM ${events}
      WHERE starts_with(stream_id, ${prefix}) ${after === undefined ? sql`` : sql`AND stream_id COLLATE "C" > ${after}`}
      ORDER BY stream_id COLLATE "C", version DESC
      LIMIT ${limit}`,
    (rows) => rows.map((row) => ({ streamId: row.stream_id, version: Number(row.version), position: toPosition(row.transaction, row.position) }))
  )

/** The events of a stream that one command produced, by the `commandId` of their metadata. */
export const readCommand = (
  { eventColumns, events, sql }: Log,
  streamId: string,
  commandId: string
): Effect.Effect<Array<RecordedEvent.RecordedEvent>, SqlError.SqlError> =>
  Effect.map(
    sql<EventRow>`SELECT ${eventColumns}
      FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid AND stream_id = ${streamId} AND metadata->>'commandId' = ${commandId}
      ORDER BY version`,
    (rows) => rows.map(toRecorded)
  )

const ofTypes = ({ sql }: Log, types: ReadonlyArray<string>) => types.length === 0 ? sql`false` : sql.in("type", types)

/** The log after a position, in (transaction id, sequence) order. */
const afterPosition = ({ sql }: Log, after: bigint) =>
  sql`(transaction_id, position) > (${(after >> sequenceBits).toString()}::text::xid8, ${(after & sequenceMask).toString()}::bigint)`

const byPosition = (a: { readonly position: bigint }, b: { readonly position: bigint }) =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : 0

/**
 * A page of all types: a page that is not full has read everything visible, so the next read
 * starts after its last event.
 */
const readAllTypesPage = (log: Log, after: bigint, limit: number) =>
  Effect.map(
    log.sql<EventRow>`SELECT ${log.eventColumns}
      FROM ${log.events}
      WHERE ${afterPosition(log, after)}
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, position LIMIT ${limit}`,
    (rows): EventStore.LogPage => {
      const page = rows.map(toRecorded)
      return { events: page, next: page.length === 0 ? after : page[page.length - 1]!.position }
    }
  )

/**
 * A page of some types is read up to the horizon: the last event below the readers' gate, taken
 * in the same statement (the same snapshot). A page that is not full has then read everything up
 * to it, and the next read starts there, past the events of other types.
 */
const readTypesPage = (log: Log, after: bigint, types: ReadonlyArray<string>, limit: number) =>
  Effect.map(
    log.sql<HorizonRow & Partial<EventRow>>`WITH horizon AS MATERIALIZED (
        SELECT transaction_id, position FROM ${log.events}
        WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id DESC, position DESC LIMIT 1
      )
      SELECT horizon.transaction_id::text AS horizon_transaction, horizon.position AS horizon_position,
        page.position, page.transaction, page.stream_id, page.version, page.event_id, page.type, page.data, page.metadata, page.recorded_at
      FROM horizon LEFT JOIN LATERAL (
        SELECT ${log.eventColumns}
        FROM ${log.events}
        WHERE ${afterPosition(log, after)}
          AND (transaction_id, position) <= (horizon.transaction_id, horizon.position)
          AND ${ofTypes(log, types)}
        ORDER BY transaction_id, position LIMIT ${limit}
      ) AS page ON true`,
    (rows): EventStore.LogPage => {
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
    }
  )

export const readAllPage = (log: Log, after: bigint, types: ReadonlyArray<string> | undefined, limit: number) =>
  types === undefined ? readAllTypesPage(log, after, limit) : readTypesPage(log, after, types, limit)

export const count = (log: Log, after: bigint, types: ReadonlyArray<string> | undefined) =>
  Effect.map(
    log.sql<{ readonly count: bigint | string | number }>`SELECT count(*) AS count FROM ${log.events}
      WHERE ${afterPosition(log, after)}
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ${types === undefined ? log.sql`` : log.sql`AND ${ofTypes(log, types)}`}`,
    (rows) => Number(rows[0]?.count ?? 0)
  )

// Without the readers' gate: the last committed event, even behind an open transaction.
export const head = (log: Log, types: ReadonlyArray<string> | undefined) =>
  Effect.map(
    log.sql<{ readonly transaction: string; readonly position: bigint | string | number }>`
      SELECT transaction_id::text AS transaction, position FROM ${log.events}
      ${types === undefined ? log.sql`` : log.sql`WHERE ${ofTypes(log, types)}`}
      ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    (rows) => rows.length === 0 ? EventStore.start : toPosition(rows[0]!.transaction, rows[0]!.position)
  )
