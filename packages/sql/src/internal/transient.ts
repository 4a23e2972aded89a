/**
 * Transient failures of the SQL stores: which `SqlError`s may pass by themselves, and retrying
 * them by a `Schedule` where that cannot apply a write twice. See `EventStore.Transient`.
 */
import { type EventStore, LiveClock } from "@facta/core"
import { Context, Effect, Schedule } from "effect"
import type { SqlClient, SqlError } from "effect/sql"

/** What a failure means for trying again, or undefined when trying again cannot help. */
export const transientOf = (error: SqlError.SqlError): EventStore.Transient | undefined => {
  const reason = error.reason
  if (reason._tag === "AuthenticationError" || reason._tag === "AuthorizationError") return undefined
  // Refused, reset, too many clients (53300), the server starting up (57P03): nothing was sent.
  if (reason.operation === "connect") return "notSent"
  if (reason._tag === "DeadlockError" || reason._tag === "SerializationError" || reason._tag === "LockTimeoutError") return "rolledBack"
  if (reason._tag === "ConnectionError") return "inDoubt"
  // The server shutting down under a running statement (57P01, 57P02).
  const code = (reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" && code.startsWith("57P") ? "inDoubt" : undefined
}

/**
 * Retries `effect` while it fails with a transient failure that `safe` allows, outside a
 * transaction only: inside one, the statement cannot be tried alone (a failure aborts the whole
 * transaction), and the transaction's owner tries it again.
 */
export const retrying = (
  sql: SqlClient.SqlClient,
  schedule: Schedule.Schedule<unknown, unknown>,
  safe: (transient: EventStore.Transient) => boolean = () => true
) => {
  // Its delays are infrastructure time: on the live clock, even under a test's clock.
  const live = LiveClock.schedule(schedule)
  const retryable = (error: SqlError.SqlError) => {
    const transient = transientOf(error)
    return transient !== undefined && safe(transient)
  }
  return <A, R>(effect: Effect.Effect<A, SqlError.SqlError, R>): Effect.Effect<A, SqlError.SqlError, R> =>
    Effect.withFiber((fiber) =>
      Context.getOrUndefined(fiber.context, sql.transactionService) !== undefined
        ? effect
        : Effect.retry(effect, { while: retryable, schedule: live })
    )
}
