/**
 * The stream lifecycle's statements (see `SqlStreamLifecycle`): a marker written at the end of a
 * stream, events moved from the live log to the archive table, retention's plan, and reads of the
 * archive.
 */
import { ClosedStreams, type RecordedEvent, type StreamLifecycle } from "@facta/core"
import { Effect } from "effect"
import type { SqlError, Statement } from "effect/sql"
import { type EventRow, toRecorded, toRecordedRows } from "./eventRows.ts"
import { lastEvent, type Log } from "./eventStatements.ts"

/** The live log and the archive its events move to. */
export interface Lifecycle extends Log {
  readonly archive: string
}

/**
 * Writes the marker of an archive or a delete after the stream's last event, if the stream takes
 * it: an open stream takes either, an archived one only the tombstone. Its version is taken by the
 * unique index like any append's, so an append racing it either lands before it or is refused.
 * No row back: the stream was closed already.
 */
export const writeMarker = (log: Lifecycle, streamId: string, kind: "archive" | "delete", reason: string | undefined) => {
  const { events, sql } = log
  const type = kind === "archive" ? ClosedStreams.archivedType : ClosedStreams.deletedType
  const takes = kind === "archive"
    ? log.open
    : sql`(current.last_type IS NULL OR current.last_type <> ${ClosedStreams.deletedType})`
  return Effect.map(
    sql<EventRow>`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
      SELECT ${streamId}, current.version + 1, ${crypto.randomUUID()}::uuid, ${type},
        jsonb_build_object('lastVersion', current.version) || ${JSON.stringify(reason === undefined ? {} : { reason })}::jsonb, '{}'::jsonb
      FROM ${lastEvent(log, streamId)} AS current
      WHERE ${takes}
      RETURNING ${log.eventColumns}`,
    (rows) => rows.length === 0 ? undefined : toRecorded(rows[0]!)
  )
}

/** Moves the rows of the versions `versions` selects (a subquery) to the archive; answers how many moved. */
const moveWhere = ({ archive, events, sql }: Lifecycle, streamId: string, versions: Statement.Fragment) =>
  Effect.map(
    sql<{ readonly moved: bigint | string | number }>`WITH moved AS (
        DELETE FROM ${events} WHERE stream_key = md5(${streamId})::uuid AND version IN (${versions})
        RETURNING stream_key, version, stream_id, position, transaction_id, event_id, type, data, metadata, recorded_at, tags
      ), archived AS (
        INSERT INTO ${sql(archive)} (stream_key, version, stream_id, position, transaction_id, event_id, type, data, metadata, recorded_at, tags)
        SELECT stream_key, version, stream_id, position, transaction_id, event_id, type, data, metadata, recorded_at, tags FROM moved
        RETURNING 1
      )
      SELECT count(*) AS moved FROM archived`,
    (rows) => Number(rows[0]?.moved ?? 0)
  )

/** Moves every event of the stream before its marker at `markerVersion` (a delete, a cold archive). */
export const moveBefore = (log: Lifecycle, streamId: string, markerVersion: number) =>
  moveWhere(log, streamId, log.sql`SELECT version FROM ${log.events} WHERE stream_key = md5(${streamId})::uuid AND version < ${markerVersion}`)

/**
 * Moves at most `limit` of the stream's events before `before`, oldest first, never its last: the
 * last keeps the stream's version, so that no version is given twice.
 */
export const truncate = (log: Lifecycle, streamId: string, before: number, limit: number) =>
  moveWhere(log, streamId, log.sql`SELECT version FROM ${log.events}
    WHERE stream_key = md5(${streamId})::uuid AND version < ${before}
      AND version < (SELECT max(version) FROM ${log.events} WHERE stream_key = md5(${streamId})::uuid)
    ORDER BY version LIMIT ${limit}`)

/** Removes the stream's snapshot (a deleted stream's). */
export const removeSnapshot = ({ sql }: Lifecycle, snapshots: string, streamId: string) =>
  sql`DELETE FROM ${sql(snapshots)} WHERE stream_key = md5(${streamId})::uuid`

/**
 * The streams of a category with events to move (see `StreamLifecycle.Primitives`), by one scan
 * of the category's events: each stream's last version, and its first recorded at or after the
 * cutoff; then how many of its events lie before the truncation, by its index.
 */
export const plan = (
  log: Lifecycle,
  category: string,
  cutoff: string | undefined,
  maxCount: number | undefined
): Effect.Effect<Array<StreamLifecycle.Truncation>, SqlError.SqlError> => {
  const { events, sql } = log
  const young = cutoff === undefined ? sql`NULL::bigint` : sql`min(version) FILTER (WHERE recorded_at >= ${cutoff}::timestamptz)`
  const byAge = cutoff === undefined ? sql`0` : sql`coalesce(s.young, s.last)`
  const byCount = maxCount === undefined ? sql`0` : sql`s.last - ${maxCount} + 1`
  return Effect.map(
    sql<{ readonly stream_id: string; readonly before: bigint | string | number; readonly events: bigint | string | number }>`WITH streams AS (
        SELECT stream_key, min(stream_id) AS stream_id, max(version) AS last, ${young} AS young
        FROM ${events} WHERE starts_with(stream_id, ${`${category}-`})
        GROUP BY stream_key
      ), truncations AS (
        SELECT s.stream_key, s.stream_id, least(greatest(${byAge}, ${byCount}), s.last) AS before FROM streams AS s
      )
      SELECT t.stream_id, t.before, c.events FROM truncations AS t
      CROSS JOIN LATERAL (
        SELECT count(*) AS events FROM ${events} AS e WHERE e.stream_key = t.stream_key AND e.version < t.before
      ) AS c
      WHERE c.events > 0
      ORDER BY t.stream_id COLLATE "C"`,
    (rows) => rows.map((row) => ({ streamId: row.stream_id, before: Number(row.before), events: Number(row.events) }))
  )
}

/** Up to `limit` of the stream's archived events from version `from` on. */
export const readArchivedPage = (
  { archive, sql }: Lifecycle,
  streamId: string,
  from: number,
  limit: number
): Effect.Effect<Array<RecordedEvent.RecordedEvent>, SqlError.SqlError> =>
  Effect.map(
    sql<EventRow>`SELECT position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at, tags
      FROM ${sql(archive)}
      WHERE stream_key = md5(${streamId})::uuid AND version >= ${from}
      ORDER BY version LIMIT ${limit}`,
    toRecordedRows
  )
