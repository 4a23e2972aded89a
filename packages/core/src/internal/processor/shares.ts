/**
 * Where the segments of a processor run without a cluster: shared among the live instances by
 * their leases, each taking up to its fair share.
 */
import { Effect, FiberHandle, Ref, Schedule } from "effect"
import type { Lease } from "../../Lease.ts"
import { supervise } from "./follow.ts"
import type { LeaseShares, RunningSegment } from "./runningSegment.ts"


export const leaseSharesOf = Effect.fnUntraced(function*(name: string, count: number, lease: Lease["Service"]) {
  const group = `${name}~`
  yield* lease.acquire(`${group}${crypto.randomUUID()}`)
  const holding = new Set<number>()
  const fairShare = Effect.map(lease.countHeld(group), (members) => Math.ceil(count / Math.max(members, 1)))
  const eligible = fairShare.pipe(
    Effect.map((fair) => holding.size < fair),
    // Unable to count: take what is free rather than leave it unprocessed.
    Effect.catch((error) => Effect.as(Effect.logDebug(`Cannot place the segments of "${name}"`, error), true))
  )
  return { holding, eligible, fairShare } satisfies LeaseShares
})

/**
 * Every few seconds, an instance holding more than its fair share (another one has joined) lets
 * the excess segments go: they stop, releasing their leases, and wait until it is their turn.
 */
export const rebalance = (shares: LeaseShares, segments: ReadonlyArray<RunningSegment<any, any>>, fibers: ReadonlyArray<FiberHandle.FiberHandle<void, never>>) =>
  Effect.gen(function*() {
    const fair = yield* shares.fairShare
    const held = [...shares.holding].sort((a, b) => b - a)
    for (const index of held.slice(0, Math.max(held.length - fair, 0))) {
      const running = segments[index]!
      if ((yield* Ref.get(running.status)).state === "rebuilding") continue
      shares.holding.delete(index)
      yield* Effect.logDebug(`Processor "${running.name}" leaves its segment to another instance (share ${fair})`)
      yield* FiberHandle.run(fibers[index]!, supervise(running))
    }
  }).pipe(
    Effect.catch((error) => Effect.logDebug("Could not rebalance the segments", error)),
    Effect.repeat(Schedule.spaced("2 seconds")),
    Effect.forkScoped
  )
