/**
 * Leases as in-process locks: instances in one process take turns. A holder cannot be frozen
 * apart from its process, so it never loses the lock while its scope is open.
 */
import { Effect, Semaphore } from "effect"
import { type Held, Lease, LeaseLost } from "../../Lease.ts"

export const make: Effect.Effect<Lease["Service"]> = Effect.sync(() => {
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
