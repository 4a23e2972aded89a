/**
 * The readers' gate on a Postgres server: readers of the event log read below the oldest
 * transaction still running that may append events (see `SqlEventStore`): one that holds a
 * transaction id and has appended, or said it might (a processor's batch, anything run by the
 * `Transactor`). Such a transaction, left open, holds every reader back; other transactions do
 * not. `holders` says which backends hold it; `watchdog` logs a warning
 * when one has held it too long.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule, type Scope } from "effect"
import { LiveClock } from "@facta/core"
import { SqlClient, type SqlError } from "effect/sql"
import * as ReadersGate from "./internal/readersGate.ts"
import * as Tables from "./Tables.ts"

/**
 * A backend whose open transaction holds the gate.
 *
 * @category models
 * @since 0.1.0
 */
export interface Holder {
  readonly pid: number
  /** Its transaction id. */
  readonly transaction: string
  /** How long its transaction has been open. */
  readonly ageSeconds: number
  /** `active`, `idle in transaction`, ... */
  readonly state: string | null
  /** The start of its current (or last) query. */
  readonly query: string | null
  readonly application: string | null
  readonly database: string | null
}

/**
 * The backends whose transactions hold a transaction id and may append to the events table (of
 * `tables`, the default names without), oldest first: the first holds the readers' gate. (This
 * session's own transaction is left out.)
 *
 * @category inspection
 * @since 0.1.0
 */
export const holders = (
  tables?: Tables.TableOptions
): Effect.Effect<ReadonlyArray<Holder>, SqlError.SqlError | Tables.InvalidTableOptions, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const names = yield* Tables.make(tables)
    const [lockClass, lockObject] = ReadersGate.appendingLock(names)
    return yield* sql<Holder>`SELECT a.pid, a.backend_xid::text AS transaction, extract(epoch FROM now() - a.xact_start)::float8 AS "ageSeconds",
        a.state, left(a.query, 80) AS query, a.application_name AS application, a.datname AS database
      FROM pg_stat_activity AS a
      WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid() AND a.pid IN (
        SELECT l.pid FROM pg_locks AS l
        WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND (
          (l.locktype = 'relation' AND l.mode = 'RowExclusiveLock' AND l.relation = to_regclass(${names.events}))
          OR (l.locktype = 'advisory' AND l.classid = ${lockClass}::oid AND l.objid = ${lockObject}::oid AND l.objsubid = 2))
      )
      ORDER BY age(a.backend_xid) DESC LIMIT 10`
  })

/**
 * @category models
 * @since 0.1.0
 */
export interface WatchdogOptions extends Tables.TableOptions {
  /** Warn about a transaction that has held the gate this long. Default 10 seconds. */
  readonly threshold?: Duration.Input | undefined
  /** How often to look. Default every 5 seconds. */
  readonly interval?: Duration.Input | undefined
}

/**
 * Looks at the gate now and then for as long as the scope lives, and logs a warning, once per
 * transaction, naming the backend that has held it longer than the threshold. A failure to look
 * is logged at debug level and looked past.
 *
 * @category running
 * @since 0.1.0
 */
export const watchdog = (options?: WatchdogOptions): Effect.Effect<void, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const threshold = Duration.toSeconds(Duration.fromInputUnsafe(options?.threshold ?? "10 seconds"))
    const warned = new Set<string>()
    const look = Effect.gen(function*() {
      const [oldest] = yield* holders(options)
      if (oldest === undefined || oldest.ageSeconds < threshold || warned.has(`${oldest.pid}:${oldest.transaction}`)) return
      warned.add(`${oldest.pid}:${oldest.transaction}`)
      yield* Effect.logWarning(
        `Transaction ${oldest.transaction} of backend ${oldest.pid} (${oldest.application || "no application name"}, database ${oldest.database ?? "?"}, ${oldest.state ?? "unknown state"}) ` +
          `has been open ${oldest.ageSeconds.toFixed(1)} s: readers of the event log wait for it to end. Its query: ${oldest.query ?? ""}`
      ).pipe(Effect.annotateLogs({ pid: oldest.pid, transaction: oldest.transaction, application: oldest.application ?? "" }))
    }).pipe(Effect.catchCause((cause) => Effect.logDebug("Could not look at the readers' gate", cause)))
    yield* look.pipe(Effect.repeat(Schedule.spaced(options?.interval ?? "5 seconds")), LiveClock.provide, Effect.forkScoped)
  })
