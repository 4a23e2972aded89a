/**
 * The SQL event store's reads: a stream, the streams, a command's events, the log below the
 * readers' gate (by types, segment or query), counts and the head. The append and the events
 * table's fragments are in `eventStatements`.
 */
import { type EventQuery, EventStore, type RecordedEvent } from "@facta/core"
import { Effect } from "effect"
import type { SqlError, Statement } from "effect/sql"
import { type EventRow, type HorizonRow, toPosition, toRecordedRows } from "./eventRows.ts"
import { type Log, logOrderValues, textArray } from "./eventStatements.ts"

/**
 * With every item tagged, one tag of each: the index of tagged events then narrows a search to
 * the events that carry one. Undefined when some item has no tag.
 */
const someTagsOf = (query: EventQuery.EventQuery) =>
  query.items.every((item) => item.tags !== undefined && item.tags.length > 0) ? query.items.map((item) => item.tags![0]!) : undefined

/** Events matching a query: any of its items. */
const matchingQuery = ({ sql }: Log, query: EventQuery.EventQuery) =>
  query.items.length === 0 ? sql`false` : sql.or(query.items.map((item) => {
    const types = item.types === undefined || item.types.length === 0 ? sql`true` : sql.in("type", item.types)
    const tags = item.tags === undefined || item.tags.length === 0 ? sql`true` : sql`tags @> ${textArray(item.tags)}::text[] AND tags <> '{}'`
    return sql`(${types} AND ${tags})`
  }))

/**
 * Up to `limit` rows of a stream from version `from` on, in version order. A stream's older events
 * may have moved to the archive: a page starts at its first version from `from` on.
 */
const streamRows = ({ events, sql }: Log, streamId: string, from: number, limit: number) =>
  sql`FROM ${events}
    WHERE stream_key = md5(${streamId})::uuid AND version >= ${from} AND stream_id = ${streamId}
    ORDER BY version LIMIT ${limit}`

export const readStreamPage = (log: Log, streamId: string, from: number, limit: number): Effect.Effect<Array<RecordedEvent.RecordedEvent>, SqlError.SqlError> =>
  Effect.map(log.sql<EventRow>`SELECT ${log.eventColumns} ${streamRows(log, streamId, from, limit)}`, toRecordedRows)

/**
 * A page of a stream as a fold reads it: version, type and data, by the same index. One row more
 * than the page tells whether the stream goes on.
 */
export const readStreamData = (log: Log, streamId: string, from: number, limit: number): Effect.Effect<EventStore.StreamDataPage, SqlError.SqlError> =>
  Effect.map(
    log.sql<{ readonly version: bigint | string | number; readonly type: string; readonly data: unknown }>`SELECT version, type, data
      ${streamRows(log, streamId, from, limit + 1)}`,
    (rows) => {
      const length = Math.min(rows.length, limit)
      const page = new Array<RecordedEvent.EventData>(length)
      for (let index = 0; index < length; index++) {
        const row = rows[index]!
        page[index] = { streamId, version: Number(row.version), type: row.type, data: row.data }
      }
      return { events: page, end: rows.length <= limit }
    }
  )

/**
 * A stream's version, 0 for none: the last of its (stream_key, version) index, read by an
 * index-only scan (the unique index makes a key one stream's).
 */
export const streamVersion = ({ events, sql }: Log, streamId: string): Effect.Effect<number, SqlError.SqlError> =>
  Effect.map(
    sql<{ readonly version: bigint | string | number }>`SELECT coalesce(max(version), 0) AS version FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid`,
    (rows) => Number(rows[0]?.version ?? 0)
  )

/** A stream's last event, its version and type; undefined for no stream. */
export const lastEventOf = ({ events, sql }: Log, streamId: string): Effect.Effect<{ readonly version: number; readonly type: string } | undefined, SqlError.SqlError> =>
  Effect.map(
    sql<{ readonly version: bigint | string | number; readonly type: string }>`SELECT version, type FROM ${events}
      WHERE stream_key = md5(${streamId})::uuid ORDER BY version DESC LIMIT 1`,
    (rows) => rows[0] === undefined ? undefined : { version: Number(rows[0].version), type: rows[0].type }
  )

/** A page of streams by id, each with its version and the position of its last event. */
export const listStreams = (
  { events, sql }: Log,
  prefix: string,
  after: string | undefined,
  limit: number
): Effect.Effect<Array<EventStore.StreamInfo>, SqlError.SqlError> => {
  // A skip scan of the stream ids' index: each step finds the next id, then its stream's last
  // event by the stream's own index, so a page costs one probe per stream listed, not a read of
  // every event of the streams. Ids with the prefix are contiguous in byte order: the first one
  // without it ends the walk. Ids too long for that index (see migration 15) are few and are
  // merged in from their own.
  const after_ = after === undefined ? sql`` : sql`AND stream_id COLLATE "C" > ${after}`
  const short = sql`octet_length(stream_id) <= 2000`
  return Effect.map(
    sql<{ readonly stream_id: string; readonly version: bigint | string | number; readonly transaction: string; readonly position: bigint | string | number }>`
      WITH RECURSIVE ids (stream_id) AS (
        (SELECT stream_id FROM ${events} WHERE ${short} AND stream_id COLLATE "C" >= ${prefix} ${after_}
          ORDER BY stream_id COLLATE "C" LIMIT 1)
        UNION ALL
        SELECT (SELECT stream_id FROM ${events} WHERE ${short} AND stream_id COLLATE "C" > ids.stream_id COLLATE "C"
          ORDER BY stream_id COLLATE "C" LIMIT 1)
        FROM ids WHERE starts_with(ids.stream_id, ${prefix})
      ),
      listed (stream_id) AS (
        (SELECT stream_id FROM ids WHERE starts_with(stream_id, ${prefix}) LIMIT ${limit})
        UNION ALL
        SELECT DISTINCT stream_id FROM ${events}
        WHERE octet_length(stream_id) > 2000 AND starts_with(stream_id, ${prefix}) ${after_}
      )
      SELECT listed.stream_id, last.version, last.transaction_id::text AS transaction, last.position
      FROM listed, LATERAL (
        SELECT version, transaction_id, position FROM ${events} AS e
        WHERE e.stream_key = md5(listed.stream_id)::uuid ORDER BY e.version DESC LIMIT 1
      ) AS last
      ORDER BY listed.stream_id COLLATE "C"
      LIMIT ${limit}`,
    (rows) => rows.map((row) => ({ streamId: row.stream_id, version: Number(row.version), position: toPosition(row.transaction, row.position) }))
  )
}

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
    toRecordedRows
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
      const page = toRecordedRows(rows)
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
      const page = rows[0]?.event_id == null ? [] : toRecordedRows(rows as ReadonlyArray<EventRow>)
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
      const page = rows[0]?.event_id == null ? [] : toRecordedRows(rows as ReadonlyArray<EventRow>)
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
