/**
 * The stream lifecycle on Postgres (see `StreamLifecycle`): markers written like appends, and
 * events moved from the events table to the archive table (`<prefix>events_archive`) by a
 * `DELETE ... RETURNING` feeding an `INSERT`, in one statement.
 *
 * An archive or a delete is one transaction: the marker, then (a delete, a cold archive) the
 * stream's other events moved, then (a delete) its snapshot removed. The marker takes the next
 * version through the unique index, so an append racing it either commits first (and the marker
 * lands after it, when the transaction runs again) or is refused. Appends check the stream's last
 * event in their own statement: after the marker, none lands. Truncation and retention move a
 * batch per transaction, never a stream's last event, so a stream's version, and the refusal of
 * a version already given, stay.
 *
 * Readers of the log read after a position, and events only ever move out of it: no reader is
 * sent back, and a checkpoint at a moved event's position still reads on from there. A moving
 * transaction holds the readers' gate (it writes the events table) while it runs: batches keep
 * that short.
 *
 * @since 0.1.0
 */
import { DateTime, Effect, Layer, Schedule } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { ClosedStreams, type EventStore, StreamLifecycle } from "@facta/core"
import { storeError } from "./internal/eventRows.ts"
import { makeLog } from "./internal/eventStatements.ts"
import * as Statements from "./internal/lifecycleStatements.ts"
import { lastEventOf } from "./internal/readStatements.ts"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

/** A marker that lost its version to an append tries again at once, with the next one. */
const raceRetry = Schedule.recurs(50)

/**
 * Builds the lifecycle on the ambient `SqlClient`. The tables must exist (see `Migrations`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<StreamLifecycle.StreamLifecycle["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn(
  "SqlStreamLifecycle.make"
)(function*(options?: Tables.TableOptions & Retries.RetryOptions) {
  // Reads, and writes that surely wrote nothing, run again after a transient failure.
  const { retry, sql, tables } = yield* open(options, (transient) => transient !== "inDoubt")
  const log: Statements.Lifecycle = { ...makeLog(sql, tables.events), archive: tables.archive }

  const close = (streamId: string, kind: "archive" | "delete", closeOptions: { readonly reason: string | undefined; readonly cold: boolean }) => {
    const once = sql.withTransaction(Effect.gen(function*() {
      // Said before the marker is written, as an append in a transaction does (see `readersGate`).
      yield* sql`SELECT ${sql(`${tables.events}_appending`)}()`
      const marker = yield* Statements.writeMarker(log, streamId, kind, closeOptions.reason)
      if (marker === undefined) {
        const last = yield* lastEventOf(log, streamId)
        return ClosedStreams.closedBy(streamId, last) ?? new ClosedStreams.StreamArchived({ streamId, version: last?.version ?? 0 })
      }
      const moved = closeOptions.cold ? yield* Statements.moveBefore(log, streamId, marker.version) : 0
      if (kind === "delete") yield* Statements.removeSnapshot(log, tables.snapshots, streamId)
      // Delivered when the transaction commits: subscribers read the marker.
      yield* sql`SELECT pg_notify(${tables.channel}, '')`
      return { streamId, marker, moved }
    }))
    return once.pipe(
      Effect.retry({ while: (error: SqlError.SqlError) => error.reason._tag === "UniqueViolation", schedule: raceRetry }),
      retry,
      Effect.mapError(storeError(`${kind === "archive" ? "Archiving" : "Deleting"} stream "${streamId}"`)),
      Effect.flatMap((outcome): Effect.Effect<StreamLifecycle.Closed, ClosedStreams.StreamClosed> => "marker" in outcome ? Effect.succeed(outcome) : Effect.fail(outcome))
    )
  }

  const reading = <A>(what: string, effect: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, EventStore.EventStoreError> =>
    effect.pipe(retry, Effect.mapError(storeError(what)))

  return StreamLifecycle.make({
    close,
    truncate: (streamId, before, limit) => reading(`Truncating stream "${streamId}"`, Statements.truncate(log, streamId, before, limit)),
    plan: (category, cutoff, maxCount) =>
      reading(
        `Planning retention of category "${category}"`,
        Statements.plan(log, category, cutoff === undefined ? undefined : DateTime.formatIso(cutoff), maxCount)
      ),
    readArchivedPage: (streamId, from, limit) => reading(`Reading the archive of stream "${streamId}"`, Statements.readArchivedPage(log, streamId, from, limit))
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(StreamLifecycle.StreamLifecycle, make(options))
