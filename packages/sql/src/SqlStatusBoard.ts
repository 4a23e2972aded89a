/**
 * The processors' status board on Postgres: a row per processor and instance, replaced by each
 * report, so operators in other processes see who runs what.
 *
 * @since 0.1.0
 */
import { StatusBoard } from "@facta/core"
import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { toDateTime } from "./internal/eventRows.ts"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new StatusBoard.StatusBoardError({ message: `${what} failed: ${cause.message}`, cause })

interface StatusRow {
  readonly processor: string
  readonly instance: string
  readonly state: string
  readonly position: string
  readonly lag: bigint | string | number
  readonly last_error: string | null
  readonly updated_at: Date | string
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<StatusBoard.StatusBoard["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlStatusBoard.make")(function*(
  options?: Tables.TableOptions & Retries.RetryOptions
) {
  const { retry, sql, tables } = yield* open(options)
  const table = sql(tables.processorStatus)
  return StatusBoard.StatusBoard.of({
    report: (report) =>
      sql`INSERT INTO ${table} (processor, instance, state, position, lag, last_error)
        VALUES (${report.processor}, ${report.instance}, ${report.state}, ${report.position.toString()}::numeric, ${report.lag}, ${report.lastError ?? null})
        ON CONFLICT (processor, instance) DO UPDATE SET state = excluded.state, position = excluded.position, lag = excluded.lag,
          last_error = excluded.last_error, updated_at = now()`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Reporting the status of "${report.processor}"`))
      ),
    list: sql<StatusRow>`SELECT processor, instance, state, position::text AS position, lag, last_error, updated_at FROM ${table}
      ORDER BY processor COLLATE "C", instance COLLATE "C"`.pipe(
      Effect.map((rows) =>
        rows.map((row): StatusBoard.Entry => ({
          processor: row.processor,
          instance: row.instance,
          state: row.state,
          position: BigInt(row.position),
          lag: Number(row.lag),
          lastError: row.last_error ?? undefined,
          updatedAt: toDateTime(row.updated_at)
        }))
      ),
      retry,
      Effect.mapError(storeError("Reading the status board"))
    )
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(StatusBoard.StatusBoard, make(options))
