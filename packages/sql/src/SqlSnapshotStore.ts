/**
 * Snapshots as one JSON row per stream, replaced by a newer snapshot or one of another schema
 * version.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { SnapshotStore } from "@facta/core"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new SnapshotStore.SnapshotStoreError({ message: `${what} failed: ${cause.message}`, cause })

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<SnapshotStore.SnapshotStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlSnapshotStore.make")(function*(
  options?: Tables.TableOptions & Retries.RetryOptions
) {
  // Every statement here is idempotent (upserts, deletes, a compare-and-set), so even one in doubt may run again.
  const { retry, sql, tables } = yield* open(options)
  const snapshots = sql(tables.snapshots)
  return SnapshotStore.make({
    load: (streamId) =>
      sql<{ readonly schema_version: number; readonly version: bigint | string | number; readonly state: unknown }>`
        SELECT schema_version, version, state FROM ${snapshots}
        WHERE stream_key = md5(${streamId})::uuid AND stream_id = ${streamId}`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromUndefinedOr(rows[0]), (row) => ({
            streamId,
            schemaVersion: Number(row.schema_version),
            version: Number(row.version),
            state: row.state
          }))
        ),
        retry,
        Effect.mapError(storeError(`Loading the snapshot of "${streamId}"`))
      ),
    save: (snapshot) =>
      Effect.try({
        try: () => JSON.stringify(snapshot.state ?? null),
        catch: (cause) => new SnapshotStore.SnapshotStoreError({ message: `Snapshot of "${snapshot.streamId}" is not JSON`, cause })
      }).pipe(Effect.flatMap((state) =>
        sql`INSERT INTO ${snapshots} (stream_id, schema_version, version, state)
          VALUES (${snapshot.streamId}, ${snapshot.schemaVersion}, ${snapshot.version}, ${state}::jsonb)
          ON CONFLICT (stream_key) DO UPDATE
            SET schema_version = excluded.schema_version, version = excluded.version, state = excluded.state, taken_at = now()
            WHERE ${snapshots}.schema_version <> excluded.schema_version OR ${snapshots}.version < excluded.version`.pipe(
          Effect.asVoid,
          retry,
        Effect.mapError(storeError(`Saving the snapshot of "${snapshot.streamId}"`))
        )
      )),
    delete: (streamId) =>
      sql`DELETE FROM ${snapshots} WHERE stream_key = md5(${streamId})::uuid AND stream_id = ${streamId}`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Deleting the snapshot of "${streamId}"`))
      )
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(SnapshotStore.SnapshotStore, make(options))
