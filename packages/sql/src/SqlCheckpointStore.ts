/**
 * Processor checkpoints as rows, moved by compare-and-set. Inside a processor's transaction the
 * move commits with the batch's read-model writes, or neither does.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { CheckpointStore, EventStore } from "@facta/core"
import { defaultSchedule, retrying } from "./internal/transient.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new CheckpointStore.CheckpointStoreError({ message: `${what} failed: ${cause.message}`, cause })

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Tables.RetryOptions
) => Effect.Effect<CheckpointStore.CheckpointStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlCheckpointStore.make")(function*(
  options?: Tables.TableOptions & Tables.RetryOptions
) {
  const sql = yield* SqlClient.SqlClient
  // Every statement here is idempotent (upserts, deletes, a compare-and-set), so even one in doubt may run again.
  const retry = retrying(sql, options?.retry ?? defaultSchedule)
  const checkpoints = sql((yield* Tables.make(options)).checkpoints)

  const get = (processor: string) =>
    sql<{ readonly position: string }>`SELECT position::text AS position FROM ${checkpoints} WHERE processor = ${processor}`.pipe(
      Effect.map((rows) => rows.length === 0 ? EventStore.start : BigInt(rows[0]!.position)),
      retry,
      Effect.mapError(storeError(`Reading the checkpoint of "${processor}"`))
    )

  const set = Effect.fnUntraced(function*(processor: string, expected: bigint, next: bigint) {
    // A processor without a row is at the start, so only an expectation of the start may create it.
    const moved = expected === EventStore.start
      ? sql`INSERT INTO ${checkpoints} (processor, position) VALUES (${processor}, ${next.toString()}::numeric)
          ON CONFLICT (processor) DO UPDATE SET position = excluded.position, updated_at = now()
          WHERE ${checkpoints}.position = 0
          RETURNING 1 AS moved`
      : sql`UPDATE ${checkpoints} SET position = ${next.toString()}::numeric, updated_at = now()
          WHERE processor = ${processor} AND position = ${expected.toString()}::numeric
          RETURNING 1 AS moved`
    const rows = yield* Effect.mapError(retry(moved), storeError(`Moving the checkpoint of "${processor}"`))
    if (rows.length === 0) {
      return yield* new CheckpointStore.CheckpointConflict({ processor, expected, actual: yield* get(processor) })
    }
  })

  const list = sql<{ readonly processor: string; readonly position: string }>`SELECT processor, position::text AS position FROM ${checkpoints}
    ORDER BY processor COLLATE "C"`.pipe(
    Effect.map((rows) => rows.map((row) => ({ processor: row.processor, position: BigInt(row.position) }))),
    retry,
    Effect.mapError(storeError("Listing the checkpoints"))
  )

  return CheckpointStore.make({ list, get, set })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Tables.RetryOptions) => Layer.effect(CheckpointStore.CheckpointStore, make(options))
