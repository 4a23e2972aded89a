/** Starts the runs of a processor's segments, here or where a placement puts them. */
import { type Context, Duration, Effect, FiberHandle, Metric, Option, PubSub, Ref, Schedule, type Scope } from "effect"
import { CheckpointStore } from "../../CheckpointStore.ts"
import { EventStore, start as origin } from "../../EventStore.ts"
import { Lease } from "../../Lease.ts"
import * as LiveClock from "../../LiveClock.ts"
import * as Placement from "../../Placement.ts"
import * as StatusBoard from "../../StatusBoard.ts"
import { Transactor } from "../../Transactor.ts"
import { supervise } from "./follow.ts"
import { handleOf, type SegmentsHere } from "./handle.ts"
import { type Halt, type Handle, type Options, type Processor, type Requirements, segmentsOf, type Status } from "./model.ts"
import * as Runner from "./runner.ts"
import { metricsOf, type RunningSegment } from "./runningSegment.ts"
import { leaseSharesOf, rebalance } from "./shares.ts"
import { report, setStatus } from "./status.ts"

/** This process, as the status board names it: its pid (where there is one) and a random tag. */
const defaultInstance = `${typeof process === "undefined" ? "pid ?" : `pid ${process.pid}`} ${crypto.randomUUID().slice(0, 8)}`

const defaultRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.upTo({ times: 5 })
)

/** Starts the segments' runs of a processor whose handlers run in `context`. */
export const launch = Effect.fnUntraced(function*<E, R>(
  processor: Processor<E, R>,
  options: Options | undefined,
  context: Context.Context<R>
): Effect.fn.Return<Handle<E>, never, Scope.Scope | Requirements> {
  const count = processor.segments ?? 1
  const checkpoints = yield* CheckpointStore
  const transactor = yield* Transactor
  const store = yield* EventStore
  const lease = yield* Lease
  const board = Option.getOrUndefined(yield* Effect.serviceOption(StatusBoard.StatusBoard))
  const placed = Option.getOrUndefined(yield* Effect.serviceOption(Placement.Placement))
  // Without a placement, processes share the segments by their leases.
  const shares = count === 1 || placed !== undefined ? undefined : yield* leaseSharesOf(processor.name, count, lease)
  const maxBatchDuration = Duration.fromInputUnsafe(options?.maxBatchDuration ?? "500 millis")
  const segments: Array<RunningSegment<E, R>> = []
  const halts = yield* PubSub.unbounded<Halt>()
  for (const { name, segment } of segmentsOf(processor)) {
    segments.push({
      processor,
      segment,
      name,
      shares,
      options,
      context,
      store,
      checkpoints,
      transactor,
      lease,
      status: yield* Ref.make<Status>({ name, state: "waiting for lease", position: origin }),
      runner: Runner.make({
        store,
        processor: { name, handle: processor.handle, open: processor.open },
        context,
        checkpoints,
        transactor,
        retry: options?.retry ?? defaultRetry,
        onError: options?.onError,
        maxBatchDuration
      }),
      metrics: metricsOf(name),
      board,
      instance: options?.instance ?? defaultInstance,
      lag: yield* Ref.make(0),
      halts
    })
  }
  for (const running of segments) yield* Metric.update(running.metrics.halted, 0)
  // Registered first, so they run last: once the processor has stopped, the board says so.
  for (const running of segments) yield* Effect.addFinalizer(() => report(running, "stopped"))
  const fibers: Array<FiberHandle.FiberHandle<void, never>> = []
  // The segments running in this process: all of them, unless a placement puts them elsewhere.
  const here: SegmentsHere = { running: new Set(), rebuilding: false }
  for (const [index, running] of segments.entries()) {
    const fiber = yield* FiberHandle.make<void, never>()
    fibers.push(fiber)
    if (placed === undefined) {
      here.running.add(index)
      yield* FiberHandle.run(fiber, supervise(running))
      continue
    }
    yield* placed.place(
      running.name,
      LiveClock.provide(Effect.acquireRelease(
        // Placed while a rebuild holds the leases: it starts the segment when it is done.
        Effect.andThen(Effect.sync(() => here.running.add(index)), Effect.suspend(() => here.rebuilding ? Effect.void : FiberHandle.run(fiber, supervise(running)))),
        () =>
          Effect.sync(() => here.running.delete(index)).pipe(
            Effect.andThen(FiberHandle.clear(fiber)),
            Effect.andThen(setStatus(running, { state: "waiting for lease" }))
          )
      ).pipe(Effect.andThen(Effect.never)))
    )
  }
  if (shares !== undefined) yield* rebalance(shares, segments, fibers)
  return handleOf(segments, fibers, here)
})
