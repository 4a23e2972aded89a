/**
 * The runtime of the read side. A processor (a projection, a reactor or a process manager) follows
 * the global log from its checkpoint: it reads a batch of the event types it handles, runs its
 * handlers and moves its checkpoint in one transaction, then reads on, and waits for appends when
 * it has caught up.
 *
 * - Exactly once into the same store: the batch's writes and the checkpoint move commit together,
 *   and the move is compare-and-set, so a batch another instance already committed rolls back.
 * - One instance at a time: a processor runs only while it holds its `Lease`.
 * - Failures: a failed batch is retried by a `Schedule`; when the retries run out, the events
 *   before the failing one are committed and the processor halts with an error naming the event.
 *   It never skips an event silently ("skipAndRecord" skips it with an error log, on request).
 * - Interrupting a processor rolls back the batch in flight.
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Exit, FiberHandle, Layer, Metric, Option, Predicate, Ref, Schedule, Schema, type Scope } from "effect"
import { CheckpointConflict, CheckpointStore } from "./CheckpointStore.ts"
import { EventStore, EventStoreError, start } from "./EventStore.ts"
import { CurrentBatch, makeBatch } from "./internal/batch.ts"
import { Lease } from "./Lease.ts"
import * as Metrics from "./Metrics.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import { TransactionError, Transactor } from "./Transactor.ts"

/**
 * What `Projection.make`, `Reactor.make` and `ProcessManager.make` build.
 *
 * @category models
 * @since 0.1.0
 */
export interface Processor<E = unknown, R = never> {
  readonly name: string
  readonly kind: "projection" | "reactor" | "process manager"
  /** The event types the processor handles; the store filters by them. */
  readonly types: ReadonlyArray<string>
  /** Handles one stored event, inside the batch's transaction. */
  readonly handle: (event: RecordedEvent) => Effect.Effect<void, E, R>
  /** Clears what the processor built, before a rebuild replays the log. */
  readonly reset: Effect.Effect<void, E, R>
}

/**
 * @category models
 * @since 0.1.0
 */
export type Any = Processor<any, any>

/**
 * The services a processor's handlers need.
 *
 * @category utility types
 * @since 0.1.0
 */
export type ContextOf<P> = P extends Processor<any, infer R> ? R : never

/**
 * @category models
 * @since 0.1.0
 */
export interface Failure {
  readonly processor: string
  readonly event: RecordedEvent
  readonly attempt: number
  readonly cause: Cause.Cause<unknown>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Events per batch (and per transaction). Default 500. */
  readonly batchSize?: number | undefined
  /** When to try a failed batch again. Default: 5 retries, exponential from 100ms, capped at 5s. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /** Called after every failed attempt, with the event that failed. */
  readonly onError?: ((failure: Failure) => Effect.Effect<void>) | undefined
  /** What to do with an event that still fails after the retries. Default "halt". */
  readonly onPoison?: "halt" | "skipAndRecord" | undefined
}

/**
 * The processor stopped on an event it cannot handle; its checkpoint stays before that event.
 *
 * @category errors
 * @since 0.1.0
 */
export class ProcessorHalted extends Schema.TaggedError<ProcessorHalted>()("ProcessorHalted", {
  processor: Schema.String,
  eventId: Schema.String,
  streamId: Schema.String,
  version: Schema.Number,
  type: Schema.String,
  position: Schema.BigInt,
  detail: Schema.String
}) {
  override get message() {
    return `Processor "${this.processor}" halted on event "${this.type}" (id ${this.eventId}) at version ${this.version} of stream "${this.streamId}": ${this.detail}`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Status {
  readonly name: string
  readonly state: "waiting for lease" | "catching up" | "live" | "halted" | "rebuilding"
  /** The checkpoint: the last event handled. */
  readonly position: bigint
  readonly halted?: ProcessorHalted | undefined
}

/**
 * A running processor.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle {
  readonly name: string
  readonly status: Effect.Effect<Status>
  /** How many events of the processor's types are after its checkpoint. */
  readonly lag: Effect.Effect<number, EventStoreError>
  /** Waits until the processor has handled every event appended before the call. */
  readonly whenCaughtUp: Effect.Effect<void, ProcessorHalted | EventStoreError>
  /** Resets the checkpoint and what the processor built, then replays the log. Others keep running. */
  readonly rebuild: Effect.Effect<void, unknown>
}

/**
 * The services a processor runs on.
 *
 * @category models
 * @since 0.1.0
 */
export type Requirements = EventStore | CheckpointStore | Transactor | Lease

const defaultRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.upTo({ times: 5 })
)

/** The batch must run again, as soon as it can; not a failure of its events. */
const isRetryTransaction = (error: unknown) => Predicate.isTagged(error, "RetryTransaction")

const isConflict = (error: unknown) =>
  error instanceof CheckpointConflict ||
  (error instanceof TransactionError && error.cause instanceof CheckpointConflict) ||
  isRetryTransaction(error)

/**
 * Starts a processor in the current scope and returns its handle. Closing the scope stops it,
 * rolling back the batch in flight.
 *
 * @category running
 * @since 0.1.0
 */
export const start_ = <E, R>(processor: Processor<E, R>, options?: Options) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const checkpoints = yield* CheckpointStore
    const transactor = yield* Transactor
    const lease = yield* Lease
    const context = yield* Effect.context<R>()
    const name = processor.name
    const batchSize = options?.batchSize ?? 500
    const retry = options?.retry ?? defaultRetry
    const status = yield* Ref.make<Status>({ name, state: "waiting for lease", position: start })
    /** The next batch is one event: the last one had to run again (see processBatch). */
    let narrow = false
    const setStatus = (patch: Partial<Status>) => Ref.update(status, (current) => ({ ...current, ...patch }))

    const lagAfter = (position: bigint) => store.count({ after: position, types: processor.types })

    // The processor's metrics, tagged with its name once.
    const eventsHandled = Metric.withAttributes(Metrics.processorEvents, { processor: name })
    const positionGauge = Metric.withAttributes(Metrics.processorPosition, { processor: name })
    const lagGauge = Metric.withAttributes(Metrics.processorLag, { processor: name })


    /**
     * Handles `events` and moves the checkpoint from `from` to the last of them, in one
     * transaction. Buffered, the documents the handlers write are written together at the end
     * (see `ProjectionStore.documents`); unbuffered, each write goes to the store as it is made,
     * so a failing write fails on its own event. `progress` says where a failure happened.
     */
    const commit = (
      events: ReadonlyArray<RecordedEvent>,
      from: bigint,
      progress: { index: number; flushFailed: boolean },
      buffered = true
    ) =>
      Effect.suspend(() => {
        const batch = makeBatch()
        const handleAll = Effect.gen(function*() {
          for (let i = 0; i < events.length; i++) {
            batch.index = i
            yield* processor.handle(events[i]!)
          }
          for (const pending of batch.pending.values()) yield* pending.flush
          batch.open = false
          batch.index = events.length
          yield* checkpoints.set(name, from, events[events.length - 1]!.position)
        })
        return transactor.withTransaction(
          buffered ? Effect.provideService(handleAll, CurrentBatch, batch) : handleAll
        ).pipe(
          Effect.onExit(() =>
            Effect.sync(() => {
              batch.open = false
              progress.index = batch.index
              progress.flushFailed = batch.flushFailed
            })
          ),
          Effect.provideContext(context)
        )
      })

    const halt = (event: RecordedEvent, cause: Cause.Cause<unknown>) =>
      new ProcessorHalted({
        processor: name,
        eventId: event.id,
        streamId: event.streamId,
        version: event.version,
        type: event.type,
        position: event.position,
        detail: Cause.pretty(cause)
      })

    /** Commits a batch, retrying; returns the new checkpoint. */
    const processBatch = (batch: ReadonlyArray<RecordedEvent>, from: bigint): Effect.Effect<bigint, ProcessorHalted | unknown> =>
      Effect.gen(function*() {
        const reached = { index: 0, flushFailed: false }
        const attempts = yield* Ref.make(0)
        const exit = yield* commit(batch, from, reached).pipe(
          Effect.withSpan("Processor.batch", {
            attributes: {
              processor: name,
              from: from.toString(),
              to: batch[batch.length - 1]!.position.toString(),
              events: batch.length
            }
          }, { captureStackTrace: false }),
          Effect.catchDefect((defect) => Effect.fail(defect)),
          Effect.tapError((error) =>
            Effect.gen(function*() {
              const attempt = yield* Ref.updateAndGet(attempts, (n) => n + 1)
              const index = Math.min(reached.index, batch.length - 1)
              if (options?.onError !== undefined && !isConflict(error)) {
                yield* options.onError({ processor: name, event: batch[index]!, attempt, cause: Cause.fail(error) })
              }
            })
          ),
          Effect.retry({ schedule: retry, while: (error) => !isConflict(error) }),
          Effect.exit
        )
        const committed = Effect.gen(function*() {
          narrow = false
          const position = batch[batch.length - 1]!.position
          yield* Metric.update(eventsHandled, batch.length)
          yield* Metric.update(positionGauge, store.gaugeOf(position))
          return position
        })
        if (Exit.isSuccess(exit)) return yield* committed
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
        // Another instance moved the checkpoint: what it committed stands; go on from there. Or
        // an append came too late for the batch's transaction: run again at once, with a batch of
        // one event, so that transaction is short.
        const squashed = Cause.squash(exit.cause)
        if (isConflict(squashed)) {
          if (isRetryTransaction(squashed)) narrow = true
          return yield* checkpoints.get(name)
        }
        let cause = exit.cause
        let index = Math.min(reached.index, batch.length - 1)
        if (reached.flushFailed) {
          // The batch's buffered document writes failed together. Replayed unbuffered, the batch
          // fails on the event whose write fails (or commits, if the failure has passed).
          const replay = { index: 0, flushFailed: false }
          const exit = yield* commit(batch, from, replay, false).pipe(Effect.catchDefect((defect) => Effect.fail(defect)), Effect.exit)
          if (Exit.isSuccess(exit)) return yield* committed
          if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
          if (isConflict(Cause.squash(exit.cause))) return yield* checkpoints.get(name)
          cause = exit.cause
          index = Math.min(replay.index, batch.length - 1)
        }
        const poison = batch[index]!
        let position = from
        if (index > 0) {
          yield* commit(batch.slice(0, index), from, { index: 0, flushFailed: false })
          position = batch[index - 1]!.position
          yield* setStatus({ position })
        }
        if (options?.onPoison === "skipAndRecord") {
          yield* Effect.logError(`Processor "${name}" skipped event "${poison.type}" (id ${poison.id})`, cause).pipe(
            Effect.annotateLogs({ processor: name, eventId: poison.id, streamId: poison.streamId, version: poison.version })
          )
          yield* transactor.withTransaction(checkpoints.set(name, position, poison.position))
          return poison.position
        }
        return yield* halt(poison, cause)
      })

    const runOnce = Effect.scoped(Effect.gen(function*() {
      yield* setStatus({ state: "waiting for lease" })
      const lost = yield* lease.acquire(name)
      const waitForChange = yield* store.listen
      let position = yield* checkpoints.get(name)
      yield* setStatus({ state: "catching up", position })
      // Measures the lag now and then while catching up.
      yield* Ref.get(status).pipe(
        Effect.flatMap((current) =>
          current.state === "catching up"
            ? Effect.flatMap(lagAfter(current.position), (lag) => Metric.update(lagGauge, lag))
            : Effect.void
        ),
        Effect.ignore,
        Effect.repeat(Schedule.spaced("5 seconds")),
        Effect.forkScoped
      )
      // The checkpoint moves with handled events only; `scanned` also moves past events of other
      // types, so they are read once per run rather than once per wake-up.
      let scanned = position
      const loop = Effect.gen(function*() {
        while (true) {
          const page = yield* store.readPage({ after: scanned, types: processor.types, batchSize: narrow ? 1 : batchSize })
          if (page.events.length === 0) {
            scanned = page.next
            yield* Metric.update(lagGauge, 0)
            yield* setStatus({ state: "live", position })
            yield* waitForChange
            continue
          }
          yield* setStatus({ state: "catching up" })
          const last = page.events[page.events.length - 1]!.position
          position = yield* processBatch(page.events, position)
          // After a conflict or a skipped event, read on from the checkpoint.
          scanned = position === last ? page.next : position
          yield* setStatus({ position })
        }
      })
      return yield* Effect.raceFirst(loop, lost)
    }))

    // Halting keeps the processor stopped (until a rebuild); anything else (a lost lease, the
    // store failing) starts it again after a pause.
    const supervised: Effect.Effect<void> = runOnce.pipe(
      Effect.catch((error) =>
        error instanceof ProcessorHalted
          ? Effect.andThen(
            Effect.logError(error.message).pipe(Effect.annotateLogs({ processor: name })),
            setStatus({ state: "halted", halted: error })
          )
          : Effect.logWarning(`Processor "${name}" stopped; restarting`, error).pipe(
            Effect.andThen(setStatus({ state: "waiting for lease" })),
            Effect.andThen(Effect.sleep("1 second")),
            Effect.andThen(Effect.suspend(() => supervised))
          )
      ),
      Effect.asVoid
    )

    const fiber = yield* FiberHandle.make<void, never>()
    yield* FiberHandle.run(fiber, supervised)

    // Waits for the head of the log as committed now, not as readers may see it: an event behind
    // another open transaction counts, and is waited for.
    const whenCaughtUp = Effect.gen(function*() {
      const target = yield* store.head({ types: processor.types })
      while (true) {
        const current = yield* Ref.get(status)
        if (current.halted !== undefined) return yield* current.halted
        if (current.state !== "rebuilding" && current.position >= target) return
        yield* Effect.sleep("10 millis")
      }
    })

    const rebuild = Effect.gen(function*() {
      yield* FiberHandle.clear(fiber)
      yield* setStatus({ state: "rebuilding", halted: undefined })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* lease.acquire(name)
        yield* transactor.withTransaction(Effect.gen(function*() {
          yield* processor.reset
          yield* checkpoints.set(name, yield* checkpoints.get(name), start)
        }))
      })).pipe(Effect.provideContext(context))
      yield* setStatus({ position: start })
      yield* FiberHandle.run(fiber, supervised)
    })

    return {
      name,
      status: Ref.get(status),
      lag: Effect.flatMap(Ref.get(status), (current) => lagAfter(current.position)),
      whenCaughtUp,
      rebuild
    } satisfies Handle
  })

/**
 * Processors running together in one scope.
 *
 * @category services
 * @since 0.1.0
 */
export class Processors extends Context.Service<Processors, {
  readonly handles: ReadonlyArray<Handle>
  readonly get: (name: string) => Option.Option<Handle>
  /** Waits until every processor has caught up. */
  readonly whenCaughtUp: Effect.Effect<void, ProcessorHalted | EventStoreError>
}>()("@facta/core/Processors") {}

/**
 * Starts the processors in the current scope.
 *
 * @category running
 * @since 0.1.0
 */
export const startAll = <const P extends ReadonlyArray<Any>>(
  processors: P,
  options?: Options
): Effect.Effect<Processors["Service"], never, Scope.Scope | Requirements | ContextOf<P[number]>> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const handles = yield* Effect.forEach(processors, (processor) =>
      start_(processor as Processor<unknown, ContextOf<P[number]>>, options))
    return Processors.of({
      handles,
      get: (name) => Option.fromUndefinedOr(handles.find((handle) => handle.name === name)),
      // Processors feed each other (a process manager's commands make events a projection
      // reads): wait until a pass over all of them leaves the log as it found it.
      whenCaughtUp: Effect.gen(function*() {
        while (true) {
          const before = yield* store.head()
          yield* Effect.forEach(handles, (handle) => handle.whenCaughtUp, { discard: true })
          if ((yield* store.head()) === before) return
        }
      })
    })
  })

/**
 * Runs the processors for as long as the layer lives; they stop, rolling back the batches in
 * flight, when it is released.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const P extends ReadonlyArray<Any>>(processors: P, options?: Options) =>
  Layer.effect(Processors, startAll(processors, options))

/**
 * Starts a processor in the current scope and returns its handle: {@link start_}, under its
 * public name.
 *
 * @category running
 * @since 0.1.0
 */
export {
  start_ as start
}
