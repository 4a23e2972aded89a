/**
 * Read-side transactions as database transactions: everything run on the same `SqlClient` inside
 * `withTransaction` (documents, checkpoints, your own tables, appends) commits or rolls back
 * together. Nested transactions become savepoints.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { Transactor } from "@facta/core"

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.map(SqlClient.SqlClient, (sql) =>
  Transactor.Transactor.of({
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sql.withTransaction(effect).pipe(
        Effect.mapError((error) =>
          SqlError.isSqlError(error)
            ? new Transactor.TransactionError({ message: `Transaction failed: ${error.message}`, cause: error })
            : error as E
        )
      )
  }))

/**
 * A new layer on each call: the transactor belongs to the `SqlClient` it is built with, so it
 * must not be shared (memoized) between layers over different databases.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = () => Layer.effect(Transactor.Transactor, make)
