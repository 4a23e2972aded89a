/**
 * The statements of the SQL event store, apart from its service wiring: the append, reads of a
 * stream and of the log below the readers' gate, counts and the head. See `SqlEventStore` for
 * the log order and the gate.
 */
import { type EventQuery, EventStore, type RecordedEvent } from "@facta/core"
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
  /** The events table's name, qualified. */
  readonly table: string
  readonly events: Statement.Identifier
  /** The readers' gate: a log read reads below this transaction id (see `readersGate`). */
  readonly gate: Statement.Fragment
  /** The columns of an `EventRow`, as every read of events selects them. */
  readonly eventColumns: Statement.Fragment
  readonly fromNoStream: Statement.Fragment
  readonly always: Statement.Fragment
  readonly streamExists: Statement.Fragment
}

export const makeLog = (sql: SqlClient.SqlClient, table: string): Log => ({
  sql,
  table,
  events: sql(table),
  // A subquery, so that it is computed once per statement.
  gate: sql`(SELECT ${sql(`${table}_gate`)}())`,
  eventColumns: sql`position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at, tags`,
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

/** A Postgres array literal of strings, as one parameter (`${textArray(tags)}::text[]`). */
export const textArray = (values: ReadonlyArray<string>) => `{${values.map((value) => `"${value.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`

/** The guards column, written on the first event of a conditional append (see `Migrations`). */
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
 * One statement per append; no rows back means the expectation (or, in a transaction, the log
 * order) refused it. An exact expectation needs no read of the stream's version: the versions it
 * implies are inserted, and the unique index refuses them if the stream moved on (for a version
 * n > 0, an index probe checks that version n exists). "any" and "streamExists" read the current
 * version in the same statement.
 */
export const append = (
  log: Log,
  streamId: string,
  batch: EncodedBatch,
  expected: EventStore.ExpectedVersion,
  inTransaction: boolean,
  appendCondition: EventStore.AppendCondition | undefined
) => {
  const { events, sql } = log
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
const sharedLocks = ({ sql }: Log, keys: ReadonlyArray<string>) =>
  sql`(SELECT count(*) FROM (
      SELECT pg_advisory_xact_lock_shared(k.key) FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(${textArray(keys)}::text[]) AS key) AS k
      ORDER BY k.key
    ) AS locked) >= 0`

/**
 * Inside a transaction, the shared locks are taken by a function that then checks, with a
 * snapshot of its own, that no conditional append on the keys committed with a newer transaction
 * id (see `Migrations`): false refuses the append, and the transaction runs again. `*` stands for
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

/**
 * With every item tagged, one tag of each: the index of tagged events then narrows a search to
 * the events that carry one. Undefined when some item has no tag.
 */
const someTagsOf = (query: EventQuery.EventQuery) =>
  query.items.every((item) => item.tags !== undefined && item.tags.length > 0) ? query.items.map((item) => item.tags![0]!) : undefined

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
 * A query of one item with tags, outside a transaction: the check made for it (see `Migrations`),
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

/** Events matching a query: any of its items. */
const matchingQuery = ({ sql }: Log, query: EventQuery.EventQuery) =>
  query.items.length === 0 ? sql`false` : sql.or(query.items.map((item) => {
    const types = item.types === undefined || item.types.length === 0 ? sql`true` : sql.in("type", item.types)
    const tags = item.tags === undefined || item.tags.length === 0 ? sql`true` : sql`tags @> ${textArray(item.tags)}::text[] AND tags <> '{}'`
    return sql`(${types} AND ${tags})`
  }))

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

/** A stream's version, 0 for none: the last of its (stream_key, version) index. */
export const streamVersion = ({ events, sql }: Log, streamId: string): Effect.Effect<number, SqlError.SqlError> =>
  Effect.map(
    sql<{ readonly version: bigint | string | number }>`SELECT coalesce(max(version), 0) AS version FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid AND stream_id = ${streamId}`,
    (rows) => Number(rows[0]?.version ?? 0)
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

/**
 * The events of a segment: the first 32 bits of the stream id's md5 (its stream key, stored),
 * modulo the count. md5 is the same on every Postgres, so a stream never changes segment.
 */
const inSegment = ({ sql }: Log, segment: EventStore.Segment) =>
  sql`(('x' || left(stream_key::text, 8))::bit(32)::bigint % ${segment.count}) = ${segment.index}`

/** What a reader of these types, in this segment, wants; undefined for everything. */
const wantedBy = (log: Log, types: ReadonlyArray<string> | undefined, segment: EventStore.Segment | undefined) => {
  const bySegment = segment === undefined || segment.count === 1 ? undefined : inSegment(log, segment)
  if (types === undefined) return bySegment
  return bySegment === undefined ? ofTypes(log, types) : log.sql`${ofTypes(log, types)} AND ${bySegment}`
}

/** A position as the two values the log is ordered by: transaction id, sequence. */
const logOrderValues = (sql: SqlClient.SqlClient, position: bigint) =>
  sql`${(position >> sequenceBits).toString()}::text::xid8, ${(position & sequenceMask).toString()}::bigint`

/** The log after a position, in (transaction id, sequence) order. */
const afterPosition = (log: Log, after: bigint) => log.sql`(transaction_id, position) > (${logOrderValues(log.sql, after)})`

const byPosition = (a: { readonly position: bigint }, b: { readonly position: bigint }) =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : 0

/** A page ordered by its lateral read; an outer ORDER BY would cost a sort of the whole page. */
const inOrder = (page: Array<RecordedEvent.RecordedEvent>) => {
  for (let i = 1; i < page.length; i++) {
    if (page[i - 1]!.position > page[i]!.position) return page.sort(byPosition)
  }
  return page
}

/**
 * A page of all types: a page that is not full has read everything visible, so the next read
 * starts after its last event.
 */
const readAllTypesPage = (log: Log, after: bigint, limit: number) =>
  Effect.map(
    log.sql<EventRow>`SELECT ${log.eventColumns}
      FROM ${log.events}
      WHERE ${afterPosition(log, after)}
        AND transaction_id < ${log.gate}
      ORDER BY transaction_id, position LIMIT ${limit}`,
    (rows): EventStore.LogPage => {
      const page = rows.map(toRecorded)
      return { events: page, next: page.length === 0 ? after : page[page.length - 1]!.position }
    }
  )


/**
 * A page of the events matching a query, as of one moment: the statement's snapshot, or the
 * snapshot of the read's first page (`snapshot`), in which case only what it saw is read. No gate:
 * the read sees every event committed before it. Its `next`, for a page that is not full, is the
 * last event below the snapshot's oldest running transaction, a position no event can come before
 * any more. When every item has a tag, the tagged events are found by the tags index first: a tag
 * is selective, and a scan of the log in order would pass over every other event.
 */
export const readQueryPage = (
  log: Log,
  query: EventQuery.EventQuery,
  after: bigint,
  limit: number,
  snapshot: string | undefined
): Effect.Effect<EventStore.QueryPage, SqlError.SqlError> => {
  const someTags = someTagsOf(query)
  const { sql } = log
  const source: Statement.Fragment | Statement.Identifier = someTags === undefined ? log.events : sql`(
    SELECT * FROM ${log.events} WHERE tags && ${textArray(someTags)}::text[] AND tags <> '{}' AND ${afterPosition(log, after)}
    OFFSET 0
  )`
  return Effect.map(
    sql<HorizonRow & Partial<EventRow> & { readonly snapshot: string }>`WITH read AS MATERIALIZED (
        SELECT ${snapshot === undefined ? sql`pg_current_snapshot()` : sql`${snapshot}::pg_snapshot`} AS snapshot
      ), horizon AS MATERIALIZED (
        SELECT transaction_id, position FROM ${log.events}
        WHERE transaction_id < (SELECT pg_snapshot_xmin(snapshot) FROM read)
        ORDER BY transaction_id DESC, position DESC LIMIT 1
      )
      SELECT read.snapshot::text AS snapshot, horizon.transaction_id::text AS horizon_transaction, horizon.position AS horizon_position,
        page.position, page.transaction, page.stream_id, page.version, page.event_id, page.type, page.data, page.metadata, page.recorded_at,
        page.tags
      FROM read LEFT JOIN horizon ON true LEFT JOIN LATERAL (
        SELECT ${log.eventColumns}
        FROM ${source} AS e
        WHERE ${afterPosition(log, after)} AND ${matchingQuery(log, query)}
          ${snapshot === undefined ? sql`` : sql`AND pg_visible_in_snapshot(transaction_id, read.snapshot)`}
        ORDER BY transaction_id, position LIMIT ${limit}
      ) AS page ON true`,
    (rows): EventStore.QueryPage => {
      const page = rows[0]?.event_id == null ? [] : rows.map((row) => toRecorded(row as EventRow))
      const first = rows[0]
      const horizon = first?.horizon_transaction == null ? EventStore.start : toPosition(first.horizon_transaction, first.horizon_position)
      const next = page.length === limit ? page[limit - 1]!.position : horizon > after ? horizon : after
      return { events: inOrder(page), next, marker: { position: next, snapshot: first?.snapshot ?? snapshot } }
    }
  )
}

/**
 * A page of some events (of some types, in a segment) is read up to the horizon: the last event
 * below the readers' gate, taken in the same statement (the same snapshot). A page that is not
 * full has then read everything up to it, and the next read starts there, past the other events.
 */
const readPageWhere = (log: Log, after: bigint, wanted: Statement.Fragment, limit: number, source: Statement.Fragment | Statement.Identifier = log.events) =>
  Effect.map(
    log.sql<HorizonRow & Partial<EventRow>>`WITH horizon AS MATERIALIZED (
        SELECT transaction_id, position FROM ${log.events}
        WHERE transaction_id < ${log.gate}
        ORDER BY transaction_id DESC, position DESC LIMIT 1
      )
      SELECT horizon.transaction_id::text AS horizon_transaction, horizon.position AS horizon_position,
        page.position, page.transaction, page.stream_id, page.version, page.event_id, page.type, page.data, page.metadata, page.recorded_at,
        page.tags
      FROM horizon LEFT JOIN LATERAL (
        SELECT ${log.eventColumns}
        FROM ${source} AS e
        WHERE ${afterPosition(log, after)}
          AND (transaction_id, position) <= (horizon.transaction_id, horizon.position)
          AND ${wanted}
        ORDER BY transaction_id, position LIMIT ${limit}
      ) AS page ON true`,
    (rows): EventStore.LogPage => {
      const page = rows[0]?.event_id == null ? [] : rows.map((row) => toRecorded(row as EventRow))
      const horizon = rows.length === 0 ? EventStore.start : toPosition(rows[0]!.horizon_transaction, rows[0]!.horizon_position)
      return { events: inOrder(page), next: page.length === limit ? page[limit - 1]!.position : horizon > after ? horizon : after }
    }
  )

export const readAllPage = (
  log: Log,
  after: bigint,
  types: ReadonlyArray<string> | undefined,
  limit: number,
  segment?: EventStore.Segment | undefined
) => {
  const wanted = wantedBy(log, types, segment)
  return wanted === undefined ? readAllTypesPage(log, after, limit) : readPageWhere(log, after, wanted, limit)
}

export const count = (
  log: Log,
  after: bigint,
  types: ReadonlyArray<string> | undefined,
  gated = true,
  segment?: EventStore.Segment | undefined
) => {
  const wanted = wantedBy(log, types, segment)
  return Effect.map(
    log.sql<{ readonly count: bigint | string | number }>`SELECT count(*) AS count FROM ${log.events}
      WHERE ${afterPosition(log, after)}
        ${gated ? log.sql`AND transaction_id < ${log.gate}` : log.sql``}
        ${wanted === undefined ? log.sql`` : log.sql`AND ${wanted}`}`,
    (rows) => Number(rows[0]?.count ?? 0)
  )
}

// Without the readers' gate: the last committed event, even behind an open transaction.
export const head = (log: Log, options: EventStore.HeadOptions | undefined) => {
  const wanted = wantedBy(log, options?.types, options?.segment)
  return Effect.map(
    log.sql<{ readonly transaction: string; readonly position: bigint | string | number }>`
      SELECT transaction_id::text AS transaction, position FROM ${log.events}
      ${wanted === undefined ? log.sql`` : log.sql`WHERE ${wanted}`}
      ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    (rows) => rows.length === 0 ? EventStore.start : toPosition(rows[0]!.transaction, rows[0]!.position)
  )
}
