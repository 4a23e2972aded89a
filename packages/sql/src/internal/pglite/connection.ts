/**
 * The one session of a PGlite database as an `effect/sql` connection: statements through PGlite's
 * extended protocol with `@effect/sql-pg`'s parameter types, and the commit that notices an
 * aborted transaction.
 */
import type { PGlite, Results } from "@electric-sql/pglite"
import * as Effect from "effect/Effect"
import type { Connection } from "effect/sql/SqlConnection"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import * as Stream from "effect/Stream"
import { toSqlError } from "./errors.ts"
import { bindParameter } from "./values.ts"

type TransformRows = (<A extends object>(row: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

export class PgliteConnection implements Connection {
  readonly pglite: PGlite

  constructor(pglite: PGlite) {
    this.pglite = pglite
  }

  /**
   * One statement through PGlite's extended protocol. Uninterruptible: PGlite
   * cannot cancel a statement, and the session must not be handed to the next
   * fiber while one is still running.
   */
  run(
    sql: string,
    params: ReadonlyArray<unknown>,
    rowMode: "object" | "array"
  ): Effect.Effect<Results<Record<string, unknown>>, SqlError> {
    return Effect.uninterruptible(Effect.tryPromise({
      try: () => {
        const paramTypes: Array<number> = new Array(params.length)
        const values: Array<unknown> = new Array(params.length)
        for (let index = 0; index < params.length; index++) {
          const bound = bindParameter(params[index])
          paramTypes[index] = bound.oid
          values[index] = bound.value
        }
        return this.pglite.query<Record<string, unknown>>(sql, values, { rowMode, paramTypes })
      },
      catch: (cause) => toSqlError(cause, "Query failed", "query")
    }))
  }

  rows(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    const rows = Effect.map(this.run(sql, params, "object"), (result) => result.rows)
    return transformRows ? Effect.map(rows, transformRows) : rows
  }

  execute(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return this.rows(sql, params, transformRows)
  }
  executeRaw(sql: string, params: ReadonlyArray<unknown>) {
    return this.run(sql, params, "object")
  }
  /** PGlite has no cursor API here: the stream is the fully fetched result. */
  executeStream(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return Stream.fromArrayEffect(this.rows(sql, params, transformRows))
  }
  executeValues(sql: string, params: ReadonlyArray<unknown>) {
    return Effect.map(this.run(sql, params, "array"), (result) => result.rows as unknown as ReadonlyArray<ReadonlyArray<unknown>>)
  }
  executeValuesUnprepared(sql: string, params: ReadonlyArray<unknown>) {
    return this.executeValues(sql, params)
  }
  executeUnprepared(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return this.rows(sql, params, transformRows)
  }
}

/** As in `@effect/sql-pg`: Postgres answers `ROLLBACK` to `COMMIT` in an aborted transaction. */
export const commit = (conn: Connection): Effect.Effect<void, SqlError> =>
  Effect.flatMap(
    conn.executeRaw("COMMIT", []) as Effect.Effect<Results, SqlError>,
    (result) =>
      result.command === "ROLLBACK"
        ? Effect.fail(
          new SqlError({
            reason: new UnknownError({
              cause: new Error("COMMIT rolled back an aborted transaction"),
              message: "PgliteClient: COMMIT rolled back an aborted transaction",
              operation: "commit"
            })
          })
        )
        : Effect.void
  )
