/**
 * At most one running owner per processor: before a processor reads anything it takes the lease
 * named after it, and holds it until it stops. Another instance waits, and takes over when the
 * holder stops, dies, or stops renewing.
 *
 * Every take raises the lease's epoch. A holder checks, in the transaction of each batch before it
 * commits, that the epoch is still its own ({@link Held.fence}); so an owner that was frozen, or
 * cut off from the database, and has been replaced cannot commit anything afterwards, not even
 * one batch. It also stops starting batches and handlers as soon as it is unsure it still holds
 * the lease ({@link Held.check}).
 *
 * In memory (`InMemory.lease`) the lease is a lock in the process. On a Postgres server it is a
 * row that expires unless the holder renews it (see `SqlLease`).
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema, type Scope } from "effect"

/**
 * The holder lost its lease, or can no longer be sure it holds it (it could not renew it in
 * time, or another owner took it): it must stop, since another instance may now run.
 *
 * @category errors
 * @since 0.1.0
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Lost the lease "${this.name}": ${this.reason}`
  }
}

/**
 * A lease this instance holds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Held {
  readonly name: string
  /** Raised by every take: the owner with the highest epoch is the only one whose commits count. */
  readonly epoch: number
  /** Fails when the lease is lost or the holder is unsure it still holds it; never succeeds. */
  readonly lost: Effect.Effect<never, LeaseLost>
  /**
   * Fails at once unless the holder is sure it still holds the lease. Checked before each batch
   * and each handler, so a holder that could not renew in time starts nothing more.
   */
  readonly check: Effect.Effect<void, LeaseLost>
  /**
   * Run inside a transaction, just before it commits: fails if another owner has taken the lease
   * since (a higher epoch), and keeps any takeover waiting until the transaction has ended. So a
   * transaction that passes it commits while this holder still owns the lease, or not at all.
   */
  readonly fence: Effect.Effect<void, LeaseLost>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface AcquireOptions {
  /**
   * Asked before each try: while it says no, this instance waits without taking the lease even
   * when it is free (a process that already holds its share of a processor's segments).
   */
  readonly eligible?: Effect.Effect<boolean> | undefined
}

/**
 * @category services
 * @since 0.1.0
 */
export class Lease extends Context.Service<Lease, {
  /** Waits until this instance holds the lease `name`, and holds it until the scope closes. */
  readonly acquire: (name: string, options?: AcquireOptions) => Effect.Effect<Held, never, Scope.Scope>
  /**
   * How many leases whose names start with `prefix` are held now, by anyone: the live members
   * of a group whose instances each hold a lease of their own.
   */
  readonly countHeld: (prefix: string) => Effect.Effect<number, LeaseLost>
}>()("@facta/core/Lease") {}
