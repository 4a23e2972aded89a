/**
 * The runtime of the read side. A processor (a projection, a reactor or a process manager) follows
 * the global log from its checkpoint: it reads a batch of the event types it handles, runs its
 * handlers and moves its checkpoint in one transaction, then reads on, and waits for appends when
 * it has caught up.
 *
 * - Exactly once into the same store: the batch's writes and the checkpoint move commit together,
 *   and the move is compare-and-set, so a batch another instance already committed rolls back.
 * - One owner at a time: a processor runs only while it holds its `Lease`, and a batch commits
 *   only if the lease's epoch is still the one it was taken at, so an owner that was replaced
 *   (frozen, cut off) commits nothing more.
 * - Failures: a failed batch is retried by a `Schedule`; when the retries run out, the events
 *   before the failing one are committed and the processor halts with an error naming the event.
 *   It never skips an event silently ("skipAndRecord" skips it with an error log, on request).
 * - Interrupting a processor rolls back the batch in flight.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, type Scope } from "effect"
import { CheckpointStore, type CheckpointStoreError } from "./CheckpointStore.ts"
import { checkReadOptions, EventStore, type EventStoreError } from "./EventStore.ts"
import { CurrentGeneration } from "./internal/generation.ts"
import { launch } from "./internal/processor/launch.ts"
import type { Any, ContextOf, ErrorOf, Halt, Handle, Health, Options, Processor, Requirements } from "./internal/processor/model.ts"
import { segmentName, segmentsOf } from "./internal/processor/model.ts"
import { checkId, limits } from "./InvalidInput.ts"
import { Lease } from "./Lease.ts"
import * as LiveClock from "./LiveClock.ts"
import * as ParkedEvents from "./ParkedEvents.ts"
import { Transactor } from "./Transactor.ts"

export {
  type Any,
  type ContextOf,
  type ErrorOf,
  type Failure,
  type Halt,
  type Handle,
  type Health,
  type Options,
  type Processor,
  ProcessorHalted,
  type RebuildError,
  type Requirements,
  SegmentsChanged,
  segmentName,
  segmentsOf,
  type Status
} from "./internal/processor/model.ts"

/**
 * Starts a processor in the current scope and returns its handle: one run per segment, each
 * taking its segment's lease. With a `Placement` in context (Effect Cluster's), a segment runs
 * only while the placement puts it in this process; without one, the processes share the
 * segments by their leases. Closing the scope stops it, rolling back the batches in flight.
 *
 * @category running
 * @since 0.1.0
 */
export const start = Effect.fn("Processor.start")(function*<E, R>(
  processor: Processor<E, R>,
  options?: Options
): Effect.fn.Return<Handle<E>, never, Scope.Scope | Requirements | R> {
  // A processor's name, segments, event types and batch size are code, not input: ones no store
  // can keep or read by are a defect, found here rather than on every read.
  const count = processor.segments ?? 1
  if (!Number.isInteger(count) || count < 1 || count > limits.segments) {
    return yield* Effect.die(new Error(`Processor "${processor.name}": segments must be an integer from 1 to ${limits.segments}, not ${count}`))
  }
  const invalidName = checkId("processor name", segmentName(processor.name, { index: count - 1, count }), limits.keyLength)
  if (invalidName !== undefined) return yield* Effect.die(invalidName)
  const invalidReads = checkReadOptions(`processor ${JSON.stringify(processor.name)}`, { types: processor.types, batchSize: options?.batchSize })
  if (invalidReads !== undefined) return yield* Effect.die(invalidReads)
  // The handlers run in the caller's context, with its clock; the runtime runs on the live one.
  const context = yield* Effect.context<R>()
  return yield* LiveClock.provide(launch(processor, options, context))
})

/**
 * Processors running together, whose handlers fail with `E`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Running<E = unknown> {
  readonly handles: ReadonlyArray<Handle<E>>
  readonly get: (name: string) => Option.Option<Handle<E>>
  /**
   * Waits until every processor has handled every event appended before the call, and every
   * event the processors appended meanwhile (a process manager's commands, a reactor's events),
   * and so on until none of them has anything more to do: the processors have settled. Fails
   * with the halt of a processor that halts meanwhile.
   */
  readonly whenCaughtUp: Effect.Effect<void, Halt | EventStoreError | CheckpointStoreError>
  /** How the processors are now; `healthy` while none is halted (a readiness check). */
  readonly health: Effect.Effect<Health>
  /** Waits until any of the processors halts, and returns why (at once if one is halted). */
  readonly whenHalted: Effect.Effect<Halt>
}

/**
 * Processors running together in one scope.
 *
 * @category services
 * @since 0.1.0
 */
export class Processors extends Context.Service<Processors, Running>()("@facta/core/Processors") {}

/**
 * Starts the processors in the current scope.
 *
 * @category running
 * @since 0.1.0
 */
export const startAll = <const P extends ReadonlyArray<Any>>(
  processors: P,
  options?: Options
): Effect.Effect<Running<ErrorOf<P[number]>>, never, Scope.Scope | Requirements | ContextOf<P[number]>> =>
  Effect.gen(function*() {
    const checkpoints = yield* CheckpointStore
    const handles = yield* Effect.forEach(processors, (processor) =>
      start(processor as Processor<ErrorOf<P[number]>, ContextOf<P[number]>>, options))
    const names = new Set(handles.map((handle) => handle.name))
    // The processors' committed checkpoints: a processor's appends commit with its checkpoint.
    const moved = Effect.map(checkpoints.list, (all) =>
      all.filter(({ processor }) => names.has(processor)).map(({ position, processor }) => `${processor}@${position}`).join("\n"))
    return {
      handles,
      get: (name) => Option.fromUndefinedOr(handles.find((handle) => handle.name === name)),
      health: Effect.map(Effect.forEach(handles, (handle) => handle.status), (processors) => {
        const halted = processors.flatMap((status) => status.halted === undefined ? [] : [status.halted])
        return { healthy: halted.length === 0, processors, halted }
      }),
      whenHalted: handles.length === 0 ? Effect.never : Effect.raceAll(handles.map((handle) => handle.whenHalted)),
      // Processors feed each other (a process manager's commands make events a projection
      // reads): wait until a pass over all of them in which none of them committed. The head of
      // the log cannot tell: a batch's appends may come before it in the log (a transaction's
      // id is older than a commit made meanwhile), and so leave the head where it was.
      whenCaughtUp: Effect.gen(function*() {
        while (true) {
          const before = yield* moved
          yield* Effect.forEach(handles, (handle) => handle.whenCaughtUp, { discard: true })
          if ((yield* moved) === before) return
        }
      })
    }
  })

/**
 * Runs the processors until one of them halts, and fails with why, stopping the others: an app
 * whose main effect this is (or races it, as `Effect.raceFirst(server, Processor.run(...))`)
 * fails when a processor halts rather than go on serving stale read models.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <const P extends ReadonlyArray<Any>>(
  processors: P,
  options?: Options
): Effect.Effect<never, Halt, Requirements | ContextOf<P[number]>> =>
  Effect.scoped(Effect.flatMap(startAll(processors, options), (running) => Effect.flatMap(running.whenHalted, Effect.fail)))

/**
 * Runs the processors for as long as the layer lives; they stop, rolling back the batches in
 * flight, when it is released. The app reads their health from the `Processors` service
 * (`health`, `whenHalted`); to fail the app when one halts, run them with {@link run} instead.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const P extends ReadonlyArray<Any>>(processors: P, options?: Options) =>
  Layer.effect(Processors, startAll(processors, options))

/**
 * Whether the processor has handled every event of its types up to and including `position`, in
 * every segment: what a reader who saw a command append its events at `position` waits for before
 * reading the processor's read model ("read your writes"). It reads only the store and the
 * checkpoints, so it answers for a processor that runs in another process too.
 *
 * Exact, not by the log's head: every event is in one segment, and a segment whose checkpoint is
 * before `position` has handled it only when none of the processor's events lies between the two.
 * An event still behind an older open transaction counts as not handled, as readers cannot pass it.
 *
 * @category running
 * @since 0.1.0
 */
export const hasHandled = (
  processor: { readonly name: string; readonly types: ReadonlyArray<string>; readonly segments?: number | undefined },
  position: bigint
): Effect.Effect<boolean, EventStoreError | CheckpointStoreError, EventStore | CheckpointStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const checkpoints = yield* CheckpointStore
    for (const { name, segment } of segmentsOf(processor)) {
      // A processor's name and types are code, not input (see `start`): a refusal is a defect.
      const checkpoint = yield* checkpoints.get(name).pipe(Effect.catchTag("InvalidInput", Effect.die))
      if (checkpoint >= position) continue
      // The first of its events after the checkpoint that readers can read, and how far they can read.
      const next = yield* store.readPage({ after: checkpoint, types: processor.types, segment, batchSize: 1 }).pipe(
        Effect.catchTag("InvalidInput", Effect.die)
      )
      const first = next.events[0]
      if (first === undefined ? next.next < position : first.position <= position) return false
    }
    return true
  })

/**
 * Handles a processor's parked events again, after the cause is fixed: each in a transaction of
 * its own that, when the handler succeeds, also removes it from the parked events with an audit
 * record. One that fails again stays parked, and the error is returned. It takes the processor's
 * lease first, so it waits while a running instance holds it. Returns how many were replayed.
 *
 * @category running
 * @since 0.1.0
 */
export const replayParked = <E, R>(processor: Processor<E, R>, eventId?: string) =>
  Effect.scoped(Effect.gen(function*() {
    const parked = yield* ParkedEvents.ParkedEvents
    const transactor = yield* Transactor
    // Every segment's lease: the events may be of any segment.
    const segments = segmentsOf(processor)
    const lease = yield* Lease
    const leases = yield* Effect.forEach(segments, ({ name }) => lease.acquire(name))
    const held = { check: Effect.forEach(leases, (held) => held.check, { discard: true }), fence: Effect.forEach(leases, (held) => held.fence, { discard: true }) }
    // Into the generation the processor writes, as its batches do.
    const { generation } = yield* (yield* CheckpointStore).read(segments[0]!.name)
    const events = (yield* parked.list(processor.name)).filter((entry) => eventId === undefined || entry.event.id === eventId)
    for (const { event } of events) {
      yield* held.check
      yield* transactor.withTransaction(Effect.andThen(
        Effect.andThen(processor.handle(event), parked.remove(processor.name, event.id, "replayed")),
        held.fence
      )).pipe(
        Effect.provideService(CurrentGeneration, generation)
      )
    }
    return events.length
  }))

