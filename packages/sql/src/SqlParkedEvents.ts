/**
 * Parked events on Postgres: a row per parked event, written in the transaction of the batch
 * that passes it, and an audit table of what became of each.
 *
 * @since 0.1.0
 */
import { ParkedEvents } from "@facta/core"
import { DateTime, Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { type EventRow, sequenceBits, sequenceMask, toDateTime, toRecorded } from "./internal/eventRows.ts"
import { textArray } from "./internal/eventStatements.ts"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new ParkedEvents.ParkedEventsError({ message: `${what} failed: ${cause.message}`, cause })

/** A parked event's row: the event's columns, as the events table has them, and why it was parked. */
interface ParkedRow extends EventRow {
  readonly processor: string
  readonly error: string
  readonly parked_at: Date | string
}

const toParked = (row: ParkedRow): ParkedEvents.Parked => ({
  processor: row.processor,
  event: toRecorded(row),
  error: row.error,
  parkedAt: toDateTime(row.parked_at)
})

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<ParkedEvents.ParkedEvents["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlParkedEvents.make")(function*(
  options?: Tables.TableOptions & Retries.RetryOptions
) {
  const { retry, sql, tables } = yield* open(options)
  const [parked, audit] = [sql(tables.parked), sql(tables.parkedAudit)]
  const record = (processor: string, eventId: string, outcome: string) =>
    sql`INSERT INTO ${audit} (processor, event_id, outcome) VALUES (${processor}, ${eventId}::uuid, ${outcome})`
  return ParkedEvents.ParkedEvents.of({
    park: (processor, event, error) =>
      sql.withTransaction(Effect.andThen(
        sql`INSERT INTO ${parked} (processor, event_id, transaction_id, position, stream_id, version, type, data, metadata, recorded_at, error, tags)
          VALUES (${processor}, ${event.id}::uuid, ${(event.position >> sequenceBits).toString()}::text::xid8, ${(event.position & sequenceMask).toString()}::bigint,
            ${event.streamId}, ${event.version}, ${event.type}, ${JSON.stringify(event.data ?? null)}::jsonb, ${JSON.stringify(event.metadata)}::jsonb,
            ${DateTime.formatIso(event.recordedAt)}::timestamptz, ${error}, ${textArray(event.tags ?? [])}::text[])
          ON CONFLICT (processor, event_id) DO UPDATE SET error = excluded.error, parked_at = now()`,
        record(processor, event.id, "parked")
      )).pipe(Effect.asVoid, Effect.mapError(storeError(`Parking event ${event.id} of "${processor}"`))),
    list: (processor) =>
      sql<ParkedRow>`SELECT processor, event_id::text AS event_id, transaction_id::text AS transaction, position, stream_id, version, type, data,
          metadata, recorded_at, error, parked_at, tags
        FROM ${parked} ${processor === undefined ? sql`` : sql`WHERE processor = ${processor}`}
        ORDER BY transaction_id, position`.pipe(
        Effect.map((rows) => rows.map(toParked)),
        retry,
        Effect.mapError(storeError("Listing parked events"))
      ),
    remove: (processor, eventId, outcome) =>
      sql.withTransaction(Effect.gen(function*() {
        const removed = yield* sql`DELETE FROM ${parked} WHERE processor = ${processor} AND event_id = ${eventId}::uuid RETURNING 1 AS removed`
        if (removed.length > 0) yield* record(processor, eventId, outcome)
        return removed.length > 0
      })).pipe(Effect.mapError(storeError(`Removing parked event ${eventId} of "${processor}"`))),
    audit: (processor) =>
      sql<{ readonly processor: string; readonly event_id: string; readonly outcome: "parked" | "replayed" | "dropped"; readonly at: Date | string }>`
        SELECT processor, event_id::text AS event_id, outcome, at FROM ${audit}
        ${processor === undefined ? sql`` : sql`WHERE processor = ${processor}`} ORDER BY id`.pipe(
        Effect.map((rows) => rows.map((row) => ({ processor: row.processor, eventId: row.event_id, outcome: row.outcome, at: toDateTime(row.at) }))),
        retry,
        Effect.mapError(storeError("Reading the parked events' audit"))
      )
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(ParkedEvents.ParkedEvents, make(options))
