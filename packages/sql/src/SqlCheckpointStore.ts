/**
 * Processor checkpoints as rows, moved by compare-and-set. Inside a processor's transaction the
 * move commits with the batch's read-model writes, or neither does.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { CheckpointStore, EventStore } from "@facta/core"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new CheckpointStore.CheckpointStoreError({ message: `${what} failed: ${cause.message}`, cause })

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<CheckpointStore.CheckpointStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlCheckpointStore.make")(function*(
  options?: Tables.TableOptions & Retries.RetryOptions
) {
  // Every statement here is idempotent (upserts, deletes, a compare-and-set), so even one in doubt may run again.
  const { retry, sql, tables } = yield* open(options)
  const checkpoints = sql(tables.checkpoints)

  const read = (processor: string) =>
    sql<{ readonly position: string; readonly generation: number }>`SELECT position::text AS position, generation FROM ${checkpoints}
      WHERE processor = ${processor}`.pipe(
      Effect.map((rows): CheckpointStore.Checkpoint =>
        rows.length === 0 ? { position: EventStore.start, generation: 0 } : { position: BigInt(rows[0]!.position), generation: rows[0]!.generation }),
      retry,
      Effect.mapError(storeError(`Reading the checkpoint of "${processor}"`))
    )

  const set = Effect.fnUntraced(function*(processor: string, expected: bigint, next: bigint, generation?: number) {
    // The generation is checked in the statement that moves the checkpoint: a switch that
    // committed while the statement waited for the row is seen, and the move refused.
    const sameGeneration = generation === undefined ? sql`TRUE` : sql`${checkpoints}.generation = ${generation}`
    // A processor without a row is at the start of generation 0, so only that expectation may create it.
    const moved = expected === EventStore.start && (generation ?? 0) === 0
      ? sql`INSERT INTO ${checkpoints} (processor, position) VALUES (${processor}, ${next.toString()}::numeric)
          ON CONFLICT (processor) DO UPDATE SET position = excluded.position, updated_at = now()
          WHERE ${checkpoints}.position = 0 AND ${sameGeneration}
          RETURNING 1 AS moved`
      : sql`UPDATE ${checkpoints} SET position = ${next.toString()}::numeric, updated_at = now()
          WHERE processor = ${processor} AND position = ${expected.toString()}::numeric AND ${sameGeneration}
          RETURNING 1 AS moved`
    const rows = yield* Effect.mapError(retry(moved), storeError(`Moving the checkpoint of "${processor}"`))
    if (rows.length === 0) {
      const actual = yield* read(processor)
      return yield* new CheckpointStore.CheckpointConflict({
        processor,
        expected,
        actual: actual.position,
        ...(generation === undefined || generation === actual.generation ? {} : { expectedGeneration: generation, actualGeneration: actual.generation })
      })
    }
  })

  const replace = (processor: string, { generation, position }: CheckpointStore.Checkpoint) =>
    sql`INSERT INTO ${checkpoints} (processor, position, generation) VALUES (${processor}, ${position.toString()}::numeric, ${generation})
      ON CONFLICT (processor) DO UPDATE SET position = excluded.position, generation = excluded.generation, updated_at = now()`.pipe(
      Effect.asVoid,
      retry,
      Effect.mapError(storeError(`Replacing the checkpoint of "${processor}"`))
    )

  const remove = (processor: string) =>
    sql`DELETE FROM ${checkpoints} WHERE processor = ${processor}`.pipe(
      Effect.asVoid,
      retry,
      Effect.mapError(storeError(`Removing the checkpoint of "${processor}"`))
    )

  const list = sql<{ readonly processor: string; readonly position: string }>`SELECT processor, position::text AS position FROM ${checkpoints}
    ORDER BY processor COLLATE "C"`.pipe(
    Effect.map((rows) => rows.map((row) => ({ processor: row.processor, position: BigInt(row.position) }))),
    retry,
    Effect.mapError(storeError("Listing the checkpoints"))
  )

  return CheckpointStore.make({ list, get: (processor) => Effect.map(read(processor), (checkpoint) => checkpoint.position), read, set, replace, remove })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(CheckpointStore.CheckpointStore, make(options))
