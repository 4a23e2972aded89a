/**
 * The tables and indexes Facta needs, as `effect/sql` Migrator migrations, and its SQL functions
 * (created or replaced when their definitions change; see `internal/sqlFunctions`). Running them
 * is idempotent and safe from several processes at once (the Migrator locks its table). The store
 * layers run them on start; {@link run} is there for people who migrate separately.
 *
 * A migration that has been released is frozen (a test keeps each one's SQL): the schema changes
 * by a new migration, and a function's body by its definition.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import * as Steps from "./internal/migrations.ts"
import * as SqlFunctions from "./internal/sqlFunctions.ts"
import * as Tables from "./Tables.ts"

/**
 * Creates the schema when needed and applies the pending migrations.
 *
 * @category utilities
 * @since 0.1.0
 */
export const run = Effect.fn("Migrations.run")(function*(options?: Tables.TableOptions) {
  const tables = yield* Tables.make(options)
  const sql = yield* SqlClient.SqlClient
  if (tables.schema !== undefined) yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(tables.schema)}`
  const completed = yield* Migrator.make({})({
    table: tables.migrations,
    loader: Migrator.fromRecord(Steps.steps(tables))
  })
  yield* SqlFunctions.apply(tables.functions, yield* Steps.sqlFunctions(tables))
  return completed
})

/**
 * Applies the migrations when the layer is built.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions) => Layer.effectDiscard(run(options))
