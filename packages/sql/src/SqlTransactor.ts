/**
 * Read-side transactions as database transactions: everything run on the same `SqlClient` inside
 * `withTransaction` (documents, checkpoints, your own tables, appends) commits or rolls back
 * together. Nested transactions become savepoints.
 *
 * On a server they are bounded, so a frozen or stuck process cannot hold one (and with it the
 * readers' gate and its row locks) for long: Postgres ends the session of a transaction left idle
 * for `idleInTransactionTimeout`, and cancels a statement running longer than `statementTimeout`.
 * And each says at its start that it may append events, so that it may write anything before it
 * appends (readers wait for it once it holds a transaction id; see `internal/readersGate`).
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Layer, Option } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { Transactor } from "@facta/core"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * How long a transaction may wait between its statements (a handler's outside call, a frozen
   * process) before Postgres ends it. `false`: no bound. Default 10 s on a server.
   */
  readonly idleInTransactionTimeout?: Duration.Input | false | undefined
  /** How long one statement in a transaction may run. `false`: no bound. Default 60 s on a server. */
  readonly statementTimeout?: Duration.Input | false | undefined
}

/** The driver's message says little ("Query failed"); the server's says why. */
const transactionError = (error: SqlError.SqlError) => {
  const server = (error.reason.cause as { readonly message?: unknown } | undefined)?.message
  const why = typeof server === "string" && server !== "" ? `: ${server}` : ""
  return new Transactor.TransactionError({ message: `Transaction failed: ${error.message}${why}`, cause: error })
}

/** A bound in milliseconds, or undefined for none. */
const millisOf = (input: Duration.Input | false | undefined, fallback: Duration.Input) =>
  input === false ? undefined : Duration.toMillis(input ?? fallback)

/**
 * Transactions on the `SqlClient` in context; bounded, and announced as appenders to the events
 * table of `tables`, when `bounds` are given (on PGlite, one session, there is nothing to bound and
 * no reader to keep waiting).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (bounds?: Options, tables?: Tables.TableOptions) => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const events = bounds === undefined ? undefined : (yield* Tables.make(tables)).events
  const idle = bounds === undefined ? undefined : millisOf(bounds.idleInTransactionTimeout, "10 seconds")
  const statement = bounds === undefined ? undefined : millisOf(bounds.statementTimeout, "60 seconds")
  // Local to the transaction: the pooled connection goes back unchanged.
  const settings = [
    ...(idle === undefined ? [] : [sql`set_config('idle_in_transaction_session_timeout', ${String(Math.ceil(idle))}, true)`]),
    ...(statement === undefined ? [] : [sql`set_config('statement_timeout', ${String(Math.ceil(statement))}, true)`])
  ]
  const bound = events === undefined ? Effect.void : Effect.asVoid(sql`SELECT ${sql.csv([...settings, sql`${sql(`${events}_appending`)}()`])}`)
  return Transactor.Transactor.of({
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sql.withTransaction(Effect.andThen(bound, effect)).pipe(
        Effect.catchCause((cause): Effect.Effect<never, E | Transactor.TransactionError> => {
          const error = Cause.findErrorOption(cause)
          if (Option.isSome(error)) {
            return Effect.fail(SqlError.isSqlError(error.value) ? transactionError(error.value) : error.value as E)
          }
          // A connection that died in the transaction cannot roll back, and effect/sql makes that
          // a defect; but nothing was committed (COMMIT is only sent on success): a typed failure.
          const dies = cause.reasons.filter(Cause.isDieReason)
          if (!Cause.hasInterrupts(cause) && dies.length > 0 && dies.every((reason) => SqlError.isSqlError(reason.defect))) {
            return Effect.fail(transactionError(dies[0]!.defect as SqlError.SqlError))
          }
          return Effect.failCause(cause as Cause.Cause<never>)
        })
      )
  })
})

/**
 * A new layer on each call: the transactor belongs to the `SqlClient` it is built with, so it
 * must not be shared (memoized) between layers over different databases.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (bounds?: Options, tables?: Tables.TableOptions) => Layer.effect(Transactor.Transactor, make(bounds, tables))
