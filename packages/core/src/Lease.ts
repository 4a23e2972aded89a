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
 * In memory the lease is a lock in the process. On a Postgres server it is a row that expires
 * unless the holder renews it (see `SqlLease`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, Semaphore, type Scope } from "effect"

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

/**
 * Leases as in-process locks: instances in one process take turns. A holder cannot be frozen
 * apart from its process, so it never loses the lock while its scope is open.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<Lease["Service"]> = Effect.sync(() => {
  const locks = new Map<string, { readonly lock: Semaphore.Semaphore; epoch: number; held: boolean }>()
  const entryOf = (name: string) => {
    let entry = locks.get(name)
    if (entry === undefined) {
      entry = { lock: Semaphore.makeUnsafe(1), epoch: 0, held: false }
      locks.set(name, entry)
    }
    return entry
  }
  const take = (name: string) => {
    const entry = entryOf(name)
    return Effect.gen(function*() {
      // The wait stays interruptible, so a waiting instance can be stopped.
      yield* Semaphore.takeScoped(entry.lock, 1)
      entry.held = true
      yield* Effect.addFinalizer(() => Effect.sync(() => void (entry.held = false)))
      const epoch = ++entry.epoch
      const fence = Effect.suspend(() =>
        entry.epoch === epoch ? Effect.void : Effect.fail(new LeaseLost({ name, reason: `taken over at epoch ${entry.epoch}` }))
      )
      return { name, epoch, lost: Effect.never, check: fence, fence } satisfies Held
    })
  }
  return Lease.of({
    // Every instance is in this process: which one holds a lease makes no difference to the load,
    // so `eligible` is not asked.
    acquire: (name) => take(name),
    countHeld: (prefix) => Effect.sync(() => [...locks].filter(([name, entry]) => entry.held && name.startsWith(prefix)).length)
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Lease> = Layer.effect(Lease, makeMemory)
