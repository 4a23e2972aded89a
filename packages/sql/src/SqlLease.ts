/**
 * Processor leases on a Postgres server: a session advisory lock, taken by a connection reserved
 * for as long as the processor runs. When the holder's process dies or its connection drops,
 * Postgres releases the lock, and a waiting instance takes it on its next try (every
 * `retryInterval`). The holder checks its connection every `heartbeatInterval` and stops when it
 * is gone, since another instance may then hold the lock.
 *
 * Behind a transaction-pooling proxy (PgBouncer in transaction mode) session locks do not hold:
 * point the application, or at least its processors, at Postgres directly or at a session pool.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { Lease } from "@facta/core"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions {
  /** How often a waiting instance tries to take the lock. Default 1s. */
  readonly retryInterval?: Duration.Input | undefined
  /** How often the holder checks its connection. Default 2s. */
  readonly heartbeatInterval?: Duration.Input | undefined
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fn("SqlLease.make")(function*(options?: Options) {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* Tables.make(options)
  const retryInterval = Duration.fromInputUnsafe(options?.retryInterval ?? "1 second")
  const heartbeatInterval = Duration.fromInputUnsafe(options?.heartbeatInterval ?? "2 seconds")
  return Lease.Lease.of({
    acquire: (name) =>
      Effect.gen(function*() {
        // Namespaced by the events table, so applications sharing a database do not collide.
        const key = `facta:${tables.events}:${name}`
        const connection = yield* sql.reserve
        // Registered before the first try: if the processor is interrupted while a try is in
        // flight, the lock it may have taken is still released before the connection goes
        // back to the pool (the session is ours alone, so all its advisory locks are this one).
        yield* Effect.addFinalizer(() => Effect.ignore(connection.execute("SELECT pg_advisory_unlock_all()", [], undefined)))
        const tryLock = connection.execute("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked", [key], undefined).pipe(
          Effect.map((rows) => rows[0]?.locked === true)
        )
        yield* tryLock.pipe(
          Effect.flatMap((locked) => locked ? Effect.void : Effect.fail("busy" as const)),
          Effect.retry(Schedule.spaced(retryInterval)),
          Effect.orDie
        )
        const lost = yield* Deferred.make<never, Lease.LeaseLost>()
        // Asks whether this session still holds an advisory lock: a connection that was
        // re-established is a new session without it.
        const stillHeld = connection.execute(
          "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()) AS held",
          [],
          undefined
        ).pipe(
          Effect.mapError((error) => error.message),
          Effect.flatMap((rows) => rows[0]?.held === true ? Effect.void : Effect.fail("the lock is no longer held")),
        )
        yield* stillHeld.pipe(
          Effect.repeat(Schedule.spaced(heartbeatInterval)),
          Effect.catch((reason) => Deferred.fail(lost, new Lease.LeaseLost({ name, reason }))),
          Effect.forkScoped
        )
        return Deferred.await(lost)
      }).pipe(
        // A connection that cannot be had is a lost lease too: the processor restarts and waits.
        Effect.catch((error) => Effect.succeed(Effect.fail(new Lease.LeaseLost({ name, reason: error.message }))))
      )
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options) => Layer.effect(Lease.Lease, make(options))
