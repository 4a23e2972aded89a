/**
 * Processor leases on a Postgres server: a row per lease with its owner, an epoch and an expiry
 * kept by the database's clock. The holder renews it every `renewInterval`; a lease not renewed
 * for `leaseDuration` may be taken by a waiting instance (which tries every `retryInterval`), and
 * every take raises the epoch.
 *
 * - Fencing: before a batch commits, its transaction checks the epoch and takes a share lock on
 *   the row (`SELECT ... FOR SHARE`), so a takeover either committed before (the check fails and
 *   the batch rolls back) or waits until the batch has committed. An owner that was frozen or cut
 *   off, and replaced, commits nothing afterwards.
 * - Doubt: the holder counts the lease's time from before it sent each renewal, on its own
 *   monotonic clock, so it believes the lease lapsed no later than the database does. Once that
 *   time has passed without a renewal it fails `lost` and starts no batch or handler.
 * - No session is held: takes, renewals and the fence run on pooled connections, and a holder
 *   whose process dies stops renewing, so its lease lapses after `leaseDuration`. Stopping
 *   releases the lease at once.
 *
 * Takeover after a holder dies or freezes: within `leaseDuration` plus `retryInterval` (6 s with
 * the defaults).
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Layer, Ref, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { Lease } from "@facta/core"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions {
  /** How long a lease lasts unless renewed. Default 5 s. */
  readonly leaseDuration?: Duration.Input | undefined
  /** How often the holder renews its lease. Default: a third of `leaseDuration`. */
  readonly renewInterval?: Duration.Input | undefined
  /** How often a waiting instance tries to take the lease. Default 1 s. */
  readonly retryInterval?: Duration.Input | undefined
}

/** Names the holder in the lease row, for operators: this process and one take of the lease. */
const ownerLabel = () => `${typeof process === "undefined" ? "pid ?" : `pid ${process.pid}`} ${crypto.randomUUID()}`

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fn("SqlLease.make")(function*(options?: Options) {
  const sql = yield* SqlClient.SqlClient
  const leases = sql((yield* Tables.make(options)).leases)
  const duration = Duration.toMillis(options?.leaseDuration ?? "5 seconds")
  const renewInterval = Duration.fromInputUnsafe(options?.renewInterval ?? Duration.millis(duration / 3))
  const retryInterval = Duration.fromInputUnsafe(options?.retryInterval ?? "1 second")
  const lasting = `${Math.ceil(duration)} milliseconds`

  return Lease.Lease.of({
    acquire: (name, acquireOptions) =>
      Effect.gen(function*() {
        // Effect's monotonic clock: it only moves forward, and keeps moving while the process is
        // stopped; a test clock moves it in tests.
        const clock = yield* Effect.clockWith(Effect.succeed)
        const monotonicMillis = () => Number(clock.monotonicTimeNanosUnsafe() / 1_000_000n)
        const owner = ownerLabel()
        const lostBecause = (reason: string) => new Lease.LeaseLost({ name, reason })
        // Registered before the first try: a take whose answer never arrived is released too.
        yield* Effect.addFinalizer(() =>
          sql`UPDATE ${leases} SET expires_at = '-infinity' WHERE name = ${name} AND owner = ${owner}`.pipe(
            Effect.timeout("2 seconds"),
            Effect.ignore
          ))
        yield* sql`INSERT INTO ${leases} (name) VALUES (${name}) ON CONFLICT DO NOTHING`
        // A lapsed lease, unless a fence holds it (a batch of the last owner is committing): then
        // it is skipped, not waited for, and tried again.
        const take = Effect.gen(function*() {
          const sentAt = monotonicMillis()
          const rows = yield* sql<{ readonly epoch: string }>`WITH lapsed AS (
              SELECT name FROM ${leases} WHERE name = ${name} AND expires_at < clock_timestamp() FOR UPDATE SKIP LOCKED
            )
            UPDATE ${leases} AS l SET owner = ${owner}, epoch = l.epoch + 1,
              expires_at = clock_timestamp() + ${lasting}::interval, taken_at = now()
            FROM lapsed WHERE l.name = lapsed.name
            RETURNING l.epoch::text AS epoch`
          return rows.length === 0 ? undefined : { epoch: Number(rows[0]!.epoch), sentAt }
        })
        const eligible = acquireOptions?.eligible ?? Effect.succeed(true)
        const taken = yield* Effect.flatMap(eligible, (yes) => yes ? take : Effect.succeed(undefined)).pipe(
          Effect.flatMap((taken) => taken === undefined ? Effect.fail("busy" as const) : Effect.succeed(taken)),
          Effect.tapError((error) => error === "busy" ? Effect.void : Effect.logDebug(`Could not try the lease "${name}"`, error)),
          Effect.retry(Schedule.spaced(retryInterval)),
          // The schedule never ends: the wait does, by interruption.
          Effect.orDie
        )
        const { epoch } = taken
        // Until when this holder is sure of the lease: the database counts from later.
        const deadline = yield* Ref.make(taken.sentAt + duration)
        const lost = yield* Deferred.make<never, Lease.LeaseLost>()
        const unsure = Effect.flatMap(Ref.get(deadline), (until) =>
          monotonicMillis() < until ? Effect.void : Effect.fail(lostBecause(`not renewed within ${lasting}`)))
        const renew = Effect.gen(function*() {
          yield* unsure
          const sentAt = monotonicMillis()
          const remaining = (yield* Ref.get(deadline)) - sentAt
          const rows = yield* sql`UPDATE ${leases} SET expires_at = clock_timestamp() + ${lasting}::interval
            WHERE name = ${name} AND epoch = ${epoch} RETURNING 1`.pipe(
            Effect.timeout(Duration.millis(Math.max(remaining, 1))),
            // Not renewed this time: the next try may be, if the lease has not lapsed meanwhile.
            Effect.tapError((error) => Effect.logWarning(`Could not renew the lease "${name}"`, error)),
            Effect.option
          )
          if (rows._tag === "None") return
          if (rows.value.length === 0) return yield* lostBecause(`another owner took it (epoch ${epoch} is no longer current)`)
          yield* Ref.set(deadline, sentAt + duration)
        })
        yield* Effect.sleep(renewInterval).pipe(
          Effect.andThen(renew),
          Effect.forever,
          Effect.catch((error) => Deferred.fail(lost, error)),
          Effect.forkScoped
        )
        // Fails as soon as the deadline passes, even while a renewal hangs.
        yield* Effect.suspend(() => Effect.flatMap(Ref.get(deadline), (until) => Effect.sleep(Duration.millis(Math.max(until - monotonicMillis(), 0))))).pipe(
          Effect.andThen(unsure),
          Effect.forever,
          Effect.catch((error) => Deferred.fail(lost, error)),
          Effect.forkScoped
        )
        const fence = sql`SELECT 1 FROM ${leases} WHERE name = ${name} AND epoch = ${epoch} FOR SHARE`.pipe(
          Effect.mapError((error) => lostBecause(`could not check it: ${error.message}`)),
          Effect.flatMap((rows) => rows.length === 0 ? Effect.fail(lostBecause(`another owner took it (epoch ${epoch} is no longer current)`)) : Effect.void)
        )
        return { name, epoch, lost: Deferred.await(lost), check: unsure, fence } satisfies Lease.Held
      }).pipe(
        // The lease table cannot be reached even to wait: the holder to be is unsure from the start.
        Effect.catchTag("SqlError", (error) =>
          Effect.succeed(failedHeld(name, new Lease.LeaseLost({ name, reason: error.message }))))
      ),
    countHeld: (prefix) =>
      sql<{ readonly held: string }>`SELECT count(*)::text AS held FROM ${leases}
        WHERE starts_with(name, ${prefix}) AND expires_at > clock_timestamp()`.pipe(
        Effect.map((rows) => Number(rows[0]?.held ?? 0)),
        Effect.mapError((error) => new Lease.LeaseLost({ name: `${prefix}*`, reason: `could not count the leases held: ${error.message}` }))
      )
  })
})

/** A lease that could not be taken: everything fails with why, and the processor starts over. */
const failedHeld = (name: string, error: Lease.LeaseLost): Lease.Held => ({
  name,
  epoch: 0,
  lost: Effect.fail(error),
  check: Effect.fail(error),
  fence: Effect.fail(error)
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options) => Layer.effect(Lease.Lease, make(options))
