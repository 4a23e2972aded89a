/**
 * At most one running instance per processor: before a processor reads anything it takes the
 * lease named after it, and holds it until it stops. Another instance waits, and takes over when
 * the holder stops or dies.
 *
 * In memory the lease is a lock in the process. On a Postgres server it is a session advisory lock
 * held by a dedicated connection: when the holder's process or connection dies, Postgres releases
 * it and a waiting instance gets it on its next try.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, Semaphore, type Scope } from "effect"

/**
 * The holder lost its lease (its connection died); it must stop, since another instance may now
 * run.
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
 * @category services
 * @since 0.1.0
 */
export class Lease extends Context.Service<Lease, {
  /**
   * Waits until this instance holds the lease `name`, and holds it until the scope closes. The
   * returned effect never succeeds: it fails when the lease is lost.
   */
  readonly acquire: (name: string) => Effect.Effect<Effect.Effect<never, LeaseLost>, never, Scope.Scope>
}>()("@facta/core/Lease") {}

/**
 * Leases as in-process locks: instances in one process take turns.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<Lease["Service"]> = Effect.sync(() => {
  const locks = new Map<string, Semaphore.Semaphore>()
  const lockOf = (name: string) => {
    let lock = locks.get(name)
    if (lock === undefined) {
      lock = Semaphore.makeUnsafe(1)
      locks.set(name, lock)
    }
    return lock
  }
  return Lease.of({
    acquire: (name) =>
      // The wait stays interruptible, so a waiting instance can be stopped.
      Effect.as(Semaphore.takeScoped(lockOf(name), 1), Effect.never)
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Lease> = Layer.effect(Lease, makeMemory)
