/** The handle of a running processor: its status, lag, waits and rebuild. */
import { Effect, FiberHandle, PubSub, Ref } from "effect"
import { start as origin } from "../../EventStore.ts"
import * as LiveClock from "../../LiveClock.ts"
import { CurrentGeneration } from "../generation.ts"
import { supervise } from "./follow.ts"
import type { Handle } from "./model.ts"
import { lagAfter, type RunningSegment } from "./runningSegment.ts"
import { checkpointsByCount } from "./segments.ts"
import { setStatus, summary } from "./status.ts"

/** Which segments run in this process, and whether a rebuild holds them back. */
export interface SegmentsHere {
  readonly running: Set<number>
  rebuilding: boolean
}

/** The handle of a running processor, whose segments' supervised runs live in `fibers`. */
export const handleOf = <E, R>(
  segments: ReadonlyArray<RunningSegment<E, R>>,
  fibers: ReadonlyArray<FiberHandle.FiberHandle<void, never>>,
  here: SegmentsHere
): Handle<E> => {
  const { checkpoints, lease, processor, store, transactor } = segments[0]!
  const statuses = Effect.forEach(segments, (running) => Ref.get(running.status))
  // Waits for the head of the log as committed now, not as readers may see it: an event behind
  // another open transaction counts, and is waited for. A segment another instance holds is
  // followed by its checkpoint.
  // The stored checkpoint, not the status: a blue-green switch may have moved it back to where
  // the new generation stands, and a segment held elsewhere has no status here.
  const positionOf = (running: RunningSegment<E, R>) => checkpoints.get(running.name).pipe(Effect.catchTag("InvalidInput", Effect.die))
  const segmentCaughtUp = (running: RunningSegment<E, R>) =>
    Effect.gen(function*() {
      const target = yield* store.head({ types: processor.types, segment: running.segment }).pipe(Effect.catchTag("InvalidInput", Effect.die))
      while (true) {
        const current = yield* Ref.get(running.status)
        if (current.halted !== undefined) return yield* current.halted
        if (current.state !== "rebuilding" && (yield* positionOf(running)) >= target) return
        yield* Effect.sleep("10 millis")
      }
    })
  // Holds every segment's lease, so no instance runs the processor while it is reset.
  const rebuild = Effect.gen(function*() {
    here.rebuilding = true
    yield* Effect.forEach(fibers, FiberHandle.clear, { discard: true })
    yield* Effect.forEach(segments, (running) => setStatus(running, { state: "rebuilding", halted: undefined }), { discard: true })
    const first = segments[0]!
    yield* Effect.scoped(Effect.gen(function*() {
      const leases = yield* Effect.forEach(segments, (running) => lease.acquire(running.name))
      const { generation } = yield* checkpoints.read(first.name)
      const others = [...(yield* checkpointsByCount(first))].filter(([count]) => count !== first.segment.count).flatMap(([, names]) => names)
      yield* transactor.withTransaction(Effect.gen(function*() {
        yield* processor.reset
        for (const running of segments) yield* checkpoints.replace(running.name, { position: origin, generation })
        // Checkpoints of another number of segments go: the rebuild is how that number changes.
        for (const name of others) yield* checkpoints.remove(name)
        for (const held of leases) yield* held.fence
      }).pipe(Effect.provideService(CurrentGeneration, generation)))
    })).pipe(Effect.provideContext(first.context))
    here.rebuilding = false
    for (let i = 0; i < segments.length; i++) {
      yield* setStatus(segments[i]!, { position: origin, ...(here.running.has(i) ? {} : { state: "waiting for lease" }) })
      if (here.running.has(i)) yield* FiberHandle.run(fibers[i]!, supervise(segments[i]!))
    }
  }).pipe(Effect.ensuring(Effect.sync(() => void (here.rebuilding = false))))
  // Subscribed before the statuses are looked at, so a halt in between is not missed.
  const whenHalted = Effect.scoped(Effect.gen(function*() {
    const halts = yield* PubSub.subscribe(segments[0]!.halts)
    const already = (yield* statuses).find((status) => status.halted !== undefined)?.halted
    return already ?? (yield* PubSub.take(halts))
  }))
  return {
    name: processor.name,
    whenHalted,
    status: segments.length === 1 ? Ref.get(segments[0]!.status) : Effect.map(statuses, (all) => summary(processor.name, all)),
    segments: statuses,
    lag: Effect.map(
      Effect.forEach(segments, (running) =>
        Effect.flatMap(positionOf(running), (position) => lagAfter(running, position))),
      (lags) => lags.reduce((sum, lag) => sum + lag, 0)
    ),
    whenCaughtUp: LiveClock.provide(Effect.forEach(segments, segmentCaughtUp, { discard: true })),
    rebuild: LiveClock.provide(rebuild)
  }
}
