/**
 * The SQL event store's append and the statements that call the conditions' checks, and the
 * events table's fragments its reads share (`readStatements`). See `SqlEventStore` for the log
 * order and the gate.
 */
import { ClosedStreams, type EventQuery, EventStore } from "@facta/core"
import { Effect } from "effect"
import { SqlClient, type SqlError, type Statement } from "effect/sql"
import type * as Tables from "../Tables.ts"
import { type AppendRow, type EncodedBatch, sequenceBits, sequenceMask } from "./eventRows.ts"
import type { SqlFunction } from "./sqlFunctions.ts"

/** The events table, and the fragments that do not depend on a statement's values, built once. */
export interface Log {
  readonly sql: SqlClient.SqlClient
  /** The events table's name, qualified. */
  readonly table: string
  readonly events: Statement.Identifier
  /** The readers' gate: a log read reads below this transaction id (see `readersGate`). */
  readonly gate: Statement.Fragment
  /** The columns of an `EventRow`, as every read of events selects them. */
  readonly eventColumns: Statement.Fragment
  /** The stream takes events: its last event (`current.last_type`) is no marker of a closed stream. */
  readonly open: Statement.Fragment
  /** The function that appends one event outside a transaction, when the store calls it (see `callAppendOne`). */
  readonly appendOne: Statement.Identifier | undefined
}

export const makeLog = (sql: SqlClient.SqlClient, table: string, options?: { readonly appendByFunction?: boolean | undefined }): Log => ({
  sql,
  table,
  events: sql(table),
  appendOne: options?.appendByFunction === true ? sql(appendOneFunction(table)) : undefined,
  // A subquery, so that it is computed once per statement.
  gate: sql`(SELECT ${sql(`${table}_gate`)}())`,
  eventColumns: sql`position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at, tags`,
  open: sql`(current.last_type IS NULL OR current.last_type NOT IN (${ClosedStreams.archivedType}, ${ClosedStreams.deletedType}))`
})

/**
 * A stream's last event: its version (0 for none) and type (null for none), by one probe of the
 * (stream_key, version) index. A stream's last event never leaves the live log (see
 * `SqlStreamLifecycle`), so this is its version even after its older events moved.
 */
export const lastEvent = ({ events, sql }: Log, streamId: string) =>
  sql`(SELECT coalesce(l.version, 0) AS version, l.type AS last_type FROM (SELECT 1) AS one LEFT JOIN LATERAL (
    SELECT version, type FROM ${events} WHERE stream_key = md5(${streamId})::uuid ORDER BY version DESC LIMIT 1
  ) AS l ON true)`

/** A Postgres array literal of strings, as one parameter (`${textArray(tags)}::text[]`). */
export const textArray = (values: ReadonlyArray<string>) => `{${values.map((value) => `"${value.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`

/** A position as the two values the log is ordered by: transaction id, sequence. */
export const logOrderValues = (sql: SqlClient.SqlClient, position: bigint) =>
  sql`${(position >> sequenceBits).toString()}::text::xid8, ${(position & sequenceMask).toString()}::bigint`

/** The guards column, written on the first event of a conditional append (see `internal/migrations`). */
const guardsColumn = (sql: SqlClient.SqlClient, guards: string | undefined) => guards === undefined ? sql`` : sql`, guards`

const insertMany = ({ events, sql }: Log, streamId: string, json: string, from: Statement.Fragment, condition: Statement.Fragment, guards?: string) =>
  sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, tags${guardsColumn(sql, guards)})
    SELECT ${streamId}, current.version + e.ordinality, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata',
      ARRAY(SELECT jsonb_array_elements_text(coalesce(e.value->'tags', '[]'::jsonb)))
      ${guards === undefined ? sql`` : sql`, CASE WHEN e.ordinality = 1 THEN ${guards}::text[] ELSE '{}'::text[] END`}
    FROM ${from} AS current, jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS e
    WHERE ${condition}
    ORDER BY e.ordinality
    RETURNING position, transaction_id::text AS transaction, version, recorded_at`

/** One event needs no JSON array to unpack: its values are parameters of their own. */
const insertOne = ({ events, sql }: Log, streamId: string, batch: EncodedBatch, from: Statement.Fragment, condition: Statement.Fragment, guards?: string) =>
  sql<AppendRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, tags${guardsColumn(sql, guards)})
    SELECT ${streamId}, current.version + 1, ${batch.encoded[0]!.id}::uuid, ${batch.encoded[0]!.type}, ${batch.data}::jsonb, ${batch.metadata}::jsonb,
      ${textArray(batch.encoded[0]!.tags ?? [])}::text[]${guards === undefined ? sql`` : sql`, ${guards}::text[]`}
    FROM ${from} AS current
    WHERE ${condition}
    RETURNING position, transaction_id::text AS transaction, version, recorded_at`

/**
 * The log is ordered by transaction id. A transaction that wrote before it appends (a
 * processor's batch) may have an older id than an event of the stream that another transaction
 * committed since: appended, its event would come before that one in the log. Such an append is
 * refused; the transaction runs again with a newer id. Without an id yet, the transaction gets
 * one newer than any (taking one here would make the append's own check, see `readersGate`, take
 * it for an id taken before the append).
 */
export const inLogOrder = ({ events, sql }: Log, streamId: string) =>
  sql`coalesce((SELECT transaction_id FROM ${events} WHERE stream_key = md5(${streamId})::uuid ORDER BY version DESC LIMIT 1), '0'::xid8)
    <= coalesce(pg_current_xact_id_if_assigned(), '18446744073709551615'::xid8)`

/**
 * One statement per append; no rows back means the expectation, a closed stream (or, in a
 * transaction, the log order) refused it. Every expectation is checked against the stream's last
 * event, read in the same statement, and the next versions are inserted: the unique index
 * refuses them if another append (or an archive's marker) took one meanwhile. An exact version
 * is compared with the last one, not looked up: a stream's older events may have moved to the
 * archive, and the version after a moved one must still be refused.
 */
export const append = (
  log: Log,
  streamId: string,
  batch: EncodedBatch,
  expected: EventStore.ExpectedVersion,
  inTransaction: boolean,
  appendCondition: EventStore.AppendCondition | undefined
) => {
  const { sql } = log
  const write = (from: Statement.Fragment, condition: Statement.Fragment) => {
    const ordered = inTransaction ? sql`${condition} AND ${inLogOrder(log, streamId)}` : condition
    const insert = (guarded: Statement.Fragment, guards?: string) =>
      batch.encoded.length === 1 ? insertOne(log, streamId, batch, from, guarded, guards) : insertMany(log, streamId, batch.json, from, guarded, guards)
    if (appendCondition === undefined) {
      return insert(
        inTransaction
          ? sql`${ordered} AND ${lockedInOrder(log, batch)}`
          : batch.lockKeys.length === 0
          ? ordered
          : sql`${ordered} AND ${sharedLocks(log, batch.lockKeys)}`
      )
    }
    // The check raises a broken condition (see `conditionOutcome`); evaluated once, as an InitPlan.
    const keys = conditionKeys(appendCondition.failIfEventsMatch)
    const check = !inTransaction && appendCondition.failIfEventsMatch.items.length === 1 && !keys.lockTable
      ? checkOneItem(log, batch, appendCondition, keys.exclusive[0]!)
      : checkCondition(log, batch, appendCondition, keys, inTransaction)
    return insert(sql`${ordered} AND (SELECT ${check})`, textArray(keys.guards))
  }
  if (log.appendOne !== undefined && !inTransaction && appendCondition === undefined && batch.encoded.length === 1) {
    return callAppendOne(log, log.appendOne, streamId, batch, expected)
  }
  const exact = expected === "noStream" ? 0 : typeof expected === "number" ? expected : undefined
  const current = lastEvent(log, streamId)
  if (exact !== undefined) return write(current, sql`current.version = ${exact} AND ${log.open}`)
  return write(current, expected === "streamExists" ? sql`current.version > 0 AND ${log.open}` : log.open)
}

/** An expectation as the appending function reads it: -1 any, -2 the stream exists, else the version. */
export const expectationOf = (expected: EventStore.ExpectedVersion) =>
  expected === "any" ? -1 : expected === "streamExists" ? -2 : expected === "noStream" ? 0 : expected

const appendOneFunction = (table: string) => `${table}_append_one`

/**
 * One event appended outside a transaction by a SQL function: the plain append's checks and
 * insert, its expectation a number (see {@link expectationOf}). PGlite spends more on parsing and
 * planning the append's statement than on running it, and less than half as much on calling the
 * function; on a server the statement is the faster (see `SqlEventStore.Options.appendByFunction`).
 */
const callAppendOne = (log: Log, fn: Statement.Identifier, streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion) => {
  const { sql } = log
  const event = batch.encoded[0]!
  return sql<AppendRow>`SELECT * FROM ${fn}(${streamId}::text, ${expectationOf(expected)}::bigint, ${event.id}::uuid, ${event.type}::text,
    ${batch.data}::jsonb, ${batch.metadata}::jsonb, ${textArray(event.tags ?? [])}::text[], ${textArray(batch.lockKeys)}::text[])`
}

/** The appending function (see `callAppendOne`), a SQL function like the others (see `sqlFunctions`). */
export const functions = Effect.fnUntraced(function*(tables: Tables.Tables): Effect.fn.Return<ReadonlyArray<SqlFunction>, never, SqlClient.SqlClient> {
  const sql = yield* SqlClient.SqlClient
  const events = sql(tables.events)
  const closed = [ClosedStreams.archivedType, ClosedStreams.deletedType].map((type) => `'${type.replace(/'/g, "''")}'`).join(", ")
  // Its statements' plans are kept for the session (PL/pgSQL), and it reads the stream's last
  // event in a statement of its own: the unique (stream, version) index still refuses a version
  // another append or a closed stream's marker took since, as it does the one statement.
  const definition = sql`CREATE OR REPLACE FUNCTION ${sql(appendOneFunction(tables.events))}(
      p_stream text, p_expected bigint, p_id uuid, p_type text, p_data jsonb, p_metadata jsonb, p_tags text[], p_lock_keys text[])
    RETURNS TABLE ("position" bigint, "transaction" text, "version" bigint, "recorded_at" timestamptz) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      last_version bigint;
      last_type text;
    BEGIN
      IF cardinality(p_lock_keys) > 0 THEN
        PERFORM pg_advisory_xact_lock_shared(k.key)
        FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(p_lock_keys) AS key) AS k
        ORDER BY k.key;
      END IF;
      SELECT x.version, x.type INTO last_version, last_type FROM ${events} AS x
      WHERE x.stream_key = md5(p_stream)::uuid ORDER BY x.version DESC LIMIT 1;
      last_version := coalesce(last_version, 0);
      IF NOT (p_expected = -1 OR (p_expected = -2 AND last_version > 0) OR last_version = p_expected)
        OR coalesce(last_type IN (${sql.literal(closed)}), false) THEN
        RETURN;
      END IF;
      RETURN QUERY INSERT INTO ${events} AS e (stream_id, version, event_id, type, data, metadata, tags)
        VALUES (p_stream, last_version + 1, p_id, p_type, p_data, p_metadata, p_tags)
        RETURNING e.position, e.transaction_id::text, e.version, e.recorded_at;
    END $$`
  return [{ name: appendOneFunction(tables.events), definition }]
})

/** The first event that broke an append's condition, as the check raises it. */
export interface ConflictRow {
  readonly event_id: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly transaction: string
  readonly position: number | string
}

/**
 * An append of tagged events takes a shared lock on each tag for the rest of its transaction, in
 * one order; a conditional append takes one tag of each item of its query exclusively. Shared
 * locks do not wait for each other, so only appends a condition is about wait, and appends of
 * untagged events take none.
 */
export const sharedLocks = ({ sql }: Log, keys: ReadonlyArray<string>) =>
  sql`(SELECT count(*) FROM (
      SELECT pg_advisory_xact_lock_shared(k.key) FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(${textArray(keys)}::text[]) AS key) AS k
      ORDER BY k.key
    ) AS locked) >= 0`

/**
 * Inside a transaction, the shared locks are taken by a function that then checks, with a
 * snapshot of its own, that no conditional append on the keys committed with a newer transaction
 * id (see `conditionChecks`): false refuses the append, and the transaction runs again. `*` stands for
 * conditions on every event.
 */
const lockedInOrder = ({ sql, table }: Log, batch: EncodedBatch) =>
  sql`${sql(`${table}_lock_tags`)}(${textArray(batch.lockKeys)}::text[], ${textArray(batch.checkKeys)}::text[], ${textArray(batch.tags)}::text[])`

/** Whether an append in a transaction was refused for a newer conditional append on its keys. */
export const behindCondition = ({ sql, table }: Log, batch: EncodedBatch) =>
  sql`${sql(`${table}_behind`)}(${textArray(batch.checkKeys)}::text[], ${textArray(batch.tags)}::text[])`

/**
 * What a failed conditional append raised: the first conflicting event (FC001), or "retry" for
 * an append behind a newer conditional append (FC002); undefined for any other failure.
 */
export const conditionOutcome = (error: SqlError.SqlError): ConflictRow | "retry" | undefined => {
  const cause = error.reason.cause as { readonly code?: unknown; readonly detail?: unknown } | undefined
  if (cause?.code === "FC002") return "retry"
  if (cause?.code !== "FC001" || typeof cause.detail !== "string") return undefined
  return JSON.parse(cause.detail) as ConflictRow
}

/** The tag a condition locks for an item; none for an item of types only, or of every event. */
const firstTag = (item: EventQuery.QueryItem): string | undefined => item.tags?.[0]

/** Whether a condition locks the events table against appends (see `conditionKeys`). */
export const locksTable = (query: EventQuery.EventQuery) => query.items.some((item) => firstTag(item) === undefined)

/**
 * The table lock of a condition that has an item without tags, taken before its insert: the
 * insert holds the table's row-exclusive lock until the transaction ends, and two appends that
 * each held it while asking for this one would wait for each other. The check then finds it
 * taken.
 */
export const tableLock = ({ events, sql }: Log) => sql`LOCK TABLE ${events} IN EXCLUSIVE MODE`

/**
 * What a condition locks: one tag of each item with tags, exclusively (an event that matches
 * carries them all); for an item without tags, the table against appends (taken first: see
 * `tableLock`). Those first tags are its `guards`, written on its first event for older
 * transactions to check; `heads` are the keys of the untagged items, which it records in the
 * heads table.
 */
const conditionKeys = (query: EventQuery.EventQuery) => {
  const guards = new Set<string>()
  const heads = new Set<string>()
  let lockTable = false
  for (const item of query.items) {
    const tag = firstTag(item)
    if (tag !== undefined) {
      guards.add(tag)
    } else {
      lockTable = true
      if (item.types !== undefined && item.types.length > 0) for (const type of item.types) heads.add(`type:${type}`)
      else heads.add("*")
    }
  }
  return { guards: [...guards], exclusive: [...guards].map((tag) => `tag:${tag}`), heads: [...heads], lockTable }
}

/** The condition's start: a position, and the snapshot of the read it was decided on, if any. */
const conditionStart = ({ sql }: Log, after: EventStore.AppendCondition["after"]) =>
  typeof after === "object" && after.snapshot !== undefined
    ? sql`${logOrderValues(sql, EventStore.start)}, ${after.snapshot}::pg_snapshot`
    : sql`${logOrderValues(sql, EventStore.positionOf(after))}, NULL::pg_snapshot`

const checkCondition = (
  log: Log,
  batch: EncodedBatch,
  condition: EventStore.AppendCondition,
  { exclusive, heads, lockTable }: ReturnType<typeof conditionKeys>,
  inTransaction: boolean
) => {
  const { sql } = log
  const [first, ...items] = condition.failIfEventsMatch.items
  const firstItem = first === undefined ? sql`NULL::text[], NULL::text[]` : sql`${textArray(first.types ?? [])}::text[], ${textArray(first.tags ?? [])}::text[]`
  return sql`${sql(`${log.table}_check`)}(${textArray(exclusive)}::text[], ${textArray(batch.lockKeys)}::text[], ${lockTable},
    ${textArray(heads)}::text[], ${textArray(inTransaction ? batch.checkKeys : [])}::text[], ${textArray(inTransaction ? batch.tags : [])}::text[],
    ${firstItem}, ${textArray(items.map((item) => textArray(item.types ?? [])))}::text[], ${textArray(items.map((item) => textArray(item.tags ?? [])))}::text[],
    ${conditionStart(log, condition.after)})`
}

/**
 * A query of one item with tags, outside a transaction: the check made for it (see `conditionChecks`),
 * with the events' other tags as shared keys.
 */
const checkOneItem = (log: Log, batch: EncodedBatch, condition: EventStore.AppendCondition, exclusive: string) => {
  const { sql } = log
  const item = condition.failIfEventsMatch.items[0]!
  const shared = batch.lockKeys.filter((key) => key !== exclusive)
  return sql`${sql(`${log.table}_check_item`)}(${exclusive}, ${textArray(shared)}::text[],
    ${textArray(item.types ?? [])}::text[], ${textArray(item.tags ?? [])}::text[],
    ${conditionStart(log, condition.after)})`
}

