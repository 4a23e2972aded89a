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
import { Cause, Context, Effect, FiberHandle, Layer, Metric, Option, Predicate, Ref, Schedule, Schema, type Scope } from "effect"
import { type Checkpoint, type CheckpointConflict, CheckpointStore, type CheckpointStoreError } from "./CheckpointStore.ts"
import { EventStore, type EventStoreError, start as origin } from "./EventStore.ts"
import { CurrentGeneration } from "./internal/batch.ts"
import * as Runner from "./internal/runner.ts"
import { checkId, type InvalidInput, limits } from "./InvalidInput.ts"
import { type Held, Lease, type LeaseLost } from "./Lease.ts"
import * as Metrics from "./Metrics.ts"
import * as ParkedEvents from "./ParkedEvents.ts"
import * as StatusBoard from "./StatusBoard.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"
import { type TransactionError, Transactor } from "./Transactor.ts"

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
  /**
   * The document collections the processor writes, when it declares them (a projection's read
   * model): a blue-green rebuild builds a new generation of these while readers keep the old.
   */
  readonly documents?: ReadonlyArray<string> | undefined
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
 * What a processor's handlers can fail with.
 *
 * @category utility types
 * @since 0.1.0
 */
export type ErrorOf<P> = P extends Processor<infer E, any> ? E : never

/**
 * A failed attempt at a batch, with the event it failed on.
 *
 * @category models
 * @since 0.1.0
 */
export type Failure = Runner.Failure

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
  /**
   * What to do with an event that still fails after the retries. Default "halt". "park" records it
   * with its error in the `ParkedEvents` store (which must be provided), in the transaction that
   * moves the checkpoint past it, and goes on; see {@link replayParked}.
   */
  readonly onPoison?: "halt" | "skipAndRecord" | "park" | undefined
  /** How this instance is named on the `StatusBoard`. Default: the process id and a random tag. */
  readonly instance?: string | undefined
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
  /**
   * "held back": the processor has read all it can, but events of its types are committed behind
   * an older open transaction, which readers wait for (see the README: the readers' gate).
   */
  readonly state: "waiting for lease" | "catching up" | "live" | "held back" | "halted" | "rebuilding"
  /** The checkpoint: the last event handled. */
  readonly position: bigint
  readonly halted?: ProcessorHalted | undefined
}

/**
 * What a rebuild can fail with, besides the processor's own `reset`.
 *
 * @category errors
 * @since 0.1.0
 */
export type RebuildError = CheckpointStoreError | CheckpointConflict | TransactionError | InvalidInput | LeaseLost

/**
 * A running processor, whose handlers fail with `E`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle<E = unknown> {
  readonly name: string
  readonly status: Effect.Effect<Status>
  /**
   * How many events of the processor's types are committed after its checkpoint, counting those
   * behind an open transaction that readers cannot pass yet.
   */
  readonly lag: Effect.Effect<number, EventStoreError>
  /** Waits until the processor has handled every event appended before the call. */
  readonly whenCaughtUp: Effect.Effect<void, ProcessorHalted | EventStoreError>
  /** Resets the checkpoint and what the processor built, then replays the log. Others keep running. */
  readonly rebuild: Effect.Effect<void, E | RebuildError>
}

/**
 * The services a processor runs on.
 *
 * @category models
 * @since 0.1.0
 */
export type Requirements = EventStore | CheckpointStore | Transactor | Lease

/** This process, as the status board names it: its pid (where there is one) and a random tag. */
const defaultInstance = `${typeof process === "undefined" ? "pid ?" : `pid ${process.pid}`} ${crypto.randomUUID().slice(0, 8)}`

const defaultRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.upTo({ times: 5 })
)

/** What a running processor works with, gathered once when it starts. */
interface Runtime<E, R> {
  readonly processor: Processor<E, R>
  readonly options: Options | undefined
  readonly context: Context.Context<R>
  readonly store: EventStore["Service"]
  readonly checkpoints: CheckpointStore["Service"]
  readonly transactor: Transactor["Service"]
  readonly lease: Lease["Service"]
  readonly status: Ref.Ref<Status>
  readonly runner: Runner.Runner
  readonly metrics: ReturnType<typeof metricsOf>
  /** Where the processor reports for operators, if a `StatusBoard` is provided. */
  readonly board: StatusBoard.StatusBoard["Service"] | undefined
  readonly instance: string
  /** The lag last measured. */
  readonly lag: Ref.Ref<number>
}

/** The processor's metrics, tagged with its name once. */
const metricsOf = (processor: string) => ({
  eventsHandled: Metric.withAttributes(Metrics.processorEvents, { processor }),
  position: Metric.withAttributes(Metrics.processorPosition, { processor }),
  lag: Metric.withAttributes(Metrics.processorLag, { processor })
})

/** Updates the status; a change of state is reported to the status board at once. */
const setStatus = (running: Runtime<any, any>, patch: Partial<Status>) =>
  Ref.modify(running.status, (current) => {
    const next = { ...current, ...patch }
    return [next.state !== current.state || next.halted !== current.halted, next] as const
  }).pipe(Effect.flatMap((changed) => changed ? report(running) : Effect.void))

/**
 * Tells the status board how the processor is (`state` overrides its own, for "stopped"); a
 * board that fails is looked past (at debug level).
 */
const report = (running: Runtime<any, any>, state?: string): Effect.Effect<void> => {
  const board = running.board
  if (board === undefined) return Effect.void
  return Effect.all([Ref.get(running.status), Ref.get(running.lag)]).pipe(
    Effect.flatMap(([status, lag]) =>
      board.report({
        processor: running.processor.name,
        instance: running.instance,
        state: state ?? status.state,
        position: status.position,
        lag,
        lastError: status.halted?.message
      })
    ),
    Effect.catch((error) => Effect.logDebug("Could not report to the status board", error))
  )
}

// Events committed behind an open transaction count: readers wait for them, so they are lag.
const lagAfter = (running: Runtime<any, any>, position: bigint) =>
  running.store.countCommitted({ after: position, types: running.processor.types })

const committed = (running: Runtime<any, any>, events: number, checkpoint: Checkpoint) =>
  Effect.as(
    Effect.andThen(
      Metric.update(running.metrics.eventsHandled, events),
      Metric.update(running.metrics.position, running.store.gaugeOf(checkpoint.position))
    ),
    checkpoint
  )

/**
 * Acts on a batch's outcome and returns the new checkpoint: a conflict reads on from the one
 * another instance committed (or a blue-green switch put in place); a poison event halts the
 * processor, or with "skipAndRecord" is logged and passed, or with "park" is parked and passed,
 * after the events before it are committed.
 */
const settle = Effect.fnUntraced(function*<E, R>(
  running: Runtime<E, R>,
  held: Held,
  events: ReadonlyArray<RecordedEvent>,
  from: Checkpoint,
  outcome: Runner.Outcome
) {
  const { checkpoints, processor, transactor } = running
  switch (outcome._tag) {
    case "Committed":
      return yield* committed(running, events.length, { ...from, position: outcome.position })
    case "Conflict":
    case "RunAgain":
      return yield* checkpoints.read(processor.name)
    case "Poison": {
      const poison = events[outcome.index]!
      let checkpoint = from
      if (outcome.index > 0) {
        const before = yield* running.runner.attempt(events.slice(0, outcome.index), from, held)
        if (before._tag !== "Committed") return yield* checkpoints.read(processor.name)
        checkpoint = yield* committed(running, outcome.index, { ...from, position: before.position })
        yield* setStatus(running, { position: checkpoint.position })
      }
      const onPoison = running.options?.onPoison ?? "halt"
      if (onPoison === "halt") return yield* halted(processor.name, poison, outcome.cause)
      const parked = onPoison === "park" ? yield* parkedEvents : undefined
      yield* Effect.logError(`Processor "${processor.name}" ${parked === undefined ? "skipped" : "parked"} event "${poison.type}" (id ${poison.id})`, outcome.cause).pipe(
        Effect.annotateLogs({ processor: processor.name, eventId: poison.id, streamId: poison.streamId, version: poison.version })
      )
      const park = parked === undefined ? Effect.void : parked.park(processor.name, poison, Cause.pretty(outcome.cause))
      yield* transactor.withTransaction(Effect.andThen(
        park,
        Effect.andThen(held.fence, checkpoints.set(processor.name, checkpoint.position, poison.position, checkpoint.generation))
      ))
      return { ...checkpoint, position: poison.position }
    }
  }
})

/** The store "park" needs; without one, parking is a defect of the application's wiring. */
const parkedEvents = Effect.flatMap(Effect.serviceOption(ParkedEvents.ParkedEvents), (found) =>
  Option.isSome(found)
    ? Effect.succeed(found.value)
    : Effect.die(new Error("onPoison \"park\" needs a ParkedEvents store: provide ParkedEvents.layerMemory or the SQL stores")))

const halted = (processor: string, event: RecordedEvent, cause: Cause.Cause<unknown>) =>
  new ProcessorHalted({
    processor,
    eventId: event.id,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    position: event.position,
    detail: Cause.pretty(cause)
  })

/** Measures the lag now and then while catching up, for as long as the scope lives. */
const sampleLag = (running: Runtime<any, any>) =>
  Ref.get(running.status).pipe(
    Effect.flatMap((current) =>
      current.state === "catching up"
        ? Effect.flatMap(lagAfter(running, current.position), (lag) =>
          Effect.andThen(Ref.set(running.lag, lag), Metric.update(running.metrics.lag, lag)))
        : Effect.void
    ),
    Effect.ignore,
    // The status board hears from a running processor at least this often.
    Effect.andThen(Effect.suspend(() => report(running))),
    Effect.repeat(Schedule.spaced("5 seconds")),
    Effect.forkScoped
  )

/**
 * Follows the log while the lease is held: reads a page after the checkpoint, runs it as a batch,
 * settles the outcome, and waits for appends once caught up. Ends only by failing.
 */
const follow = <E, R>(running: Runtime<E, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const { checkpoints, lease, processor, store } = running
    const batchSize = running.options?.batchSize ?? 500
    yield* setStatus(running, { state: "waiting for lease" })
    const held = yield* lease.acquire(processor.name)
    const waitForChange = yield* store.listen
    let checkpoint = yield* checkpoints.read(processor.name)
    yield* setStatus(running, { state: "catching up", position: checkpoint.position })
    yield* sampleLag(running)
    // The checkpoint moves with handled events only; `scanned` also moves past events of other
    // types, so they are read once per run rather than once per wake-up. `narrow`: the last batch
    // had to run again, so the next one is one event and its transaction short.
    let scanned = checkpoint.position
    let narrow = false
    const loop = Effect.gen(function*() {
      while (true) {
        const page = yield* store.readPage({ after: scanned, types: processor.types, batchSize: narrow ? 1 : batchSize })
        if (page.events.length === 0) {
          scanned = page.next
          // Caught up with what readers can see; events committed behind an open transaction
          // are lag all the same, and the processor is held back, not live.
          const held = yield* store.countCommitted({ after: scanned, types: processor.types })
          yield* Metric.update(running.metrics.lag, held)
          yield* Ref.set(running.lag, held)
          yield* setStatus(running, { state: held > 0 ? "held back" : "live", position: checkpoint.position })
          yield* waitForChange
          continue
        }
        yield* held.check
        yield* setStatus(running, { state: "catching up" })
        const outcome = yield* running.runner.run(page.events, checkpoint, held)
        if (outcome._tag !== "Conflict") narrow = outcome._tag === "RunAgain"
        checkpoint = yield* settle(running, held, page.events, checkpoint, outcome)
        // After a conflict or a skipped event, read on from the checkpoint.
        scanned = outcome._tag === "Committed" ? page.next : checkpoint.position
        yield* setStatus(running, { position: checkpoint.position })
      }
    })
    return yield* Effect.raceFirst(loop, held.lost)
  }))

/**
 * Keeps the processor following the log. Halting keeps it stopped (until a rebuild); anything
 * else (a lost lease, the store failing) starts it again after a pause.
 */
const supervise = (running: Runtime<any, any>): Effect.Effect<void> =>
  follow(running).pipe(
    Effect.catch((error) =>
      Predicate.isTagged(error, "ProcessorHalted")
        ? Effect.andThen(
          Effect.logError(error.message).pipe(Effect.annotateLogs({ processor: running.processor.name })),
          setStatus(running, { state: "halted", halted: error })
        )
        : Effect.logWarning(`Processor "${running.processor.name}" stopped; restarting`, error).pipe(
          Effect.andThen(setStatus(running, { state: "waiting for lease" })),
          Effect.andThen(Effect.sleep("1 second")),
          Effect.andThen(Effect.suspend(() => supervise(running)))
        )
    ),
    Effect.asVoid
  )

/** The handle of a running processor, whose supervised run lives in `fiber`. */
const handleOf = <E, R>(running: Runtime<E, R>, fiber: FiberHandle.FiberHandle<void, never>): Handle<E> => {
  const { checkpoints, lease, processor, status, store, transactor } = running
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
    yield* setStatus(running, { state: "rebuilding", halted: undefined })
    yield* Effect.scoped(Effect.gen(function*() {
      const held = yield* lease.acquire(processor.name)
      const { generation } = yield* checkpoints.read(processor.name)
      yield* transactor.withTransaction(Effect.gen(function*() {
        yield* processor.reset
        yield* held.fence
        yield* checkpoints.replace(processor.name, { position: origin, generation })
      }).pipe(Effect.provideService(CurrentGeneration, generation)))
    })).pipe(Effect.provideContext(running.context))
    yield* setStatus(running, { position: origin })
    yield* FiberHandle.run(fiber, supervise(running))
  })
  return {
    name: processor.name,
    status: Ref.get(status),
    lag: Effect.flatMap(Ref.get(status), (current) => lagAfter(running, current.position)),
    whenCaughtUp,
    rebuild
  }
}

/**
 * Starts a processor in the current scope and returns its handle. Closing the scope stops it,
 * rolling back the batch in flight.
 *
 * @category running
 * @since 0.1.0
 */
export const start = Effect.fn("Processor.start")(function*<E, R>(
  processor: Processor<E, R>,
  options?: Options
): Effect.fn.Return<Handle<E>, never, Scope.Scope | Requirements | R> {
  // A processor's name is code, not input: a name no checkpoint store can keep is a defect.
  const invalidName = checkId("processor name", processor.name, limits.keyLength)
  if (invalidName !== undefined) return yield* Effect.die(invalidName)
  const context = yield* Effect.context<R>()
  const checkpoints = yield* CheckpointStore
  const transactor = yield* Transactor
  const running: Runtime<E, R> = {
    processor,
    options,
    context,
    store: yield* EventStore,
    checkpoints,
    transactor,
    lease: yield* Lease,
    status: yield* Ref.make<Status>({ name: processor.name, state: "waiting for lease", position: origin }),
    runner: Runner.make({ processor, context, checkpoints, transactor, retry: options?.retry ?? defaultRetry, onError: options?.onError }),
    metrics: metricsOf(processor.name),
    board: Option.getOrUndefined(yield* Effect.serviceOption(StatusBoard.StatusBoard)),
    instance: options?.instance ?? defaultInstance,
    lag: yield* Ref.make(0)
  }
  // Registered first, so it runs last: once the processor has stopped, the board says so.
  yield* Effect.addFinalizer(() => report(running, "stopped"))
  const fiber = yield* FiberHandle.make<void, never>()
  yield* FiberHandle.run(fiber, supervise(running))
  return handleOf(running, fiber)
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
  /** Waits until every processor has caught up. */
  readonly whenCaughtUp: Effect.Effect<void, ProcessorHalted | EventStoreError | CheckpointStoreError>
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
 * Runs the processors for as long as the layer lives; they stop, rolling back the batches in
 * flight, when it is released.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const P extends ReadonlyArray<Any>>(processors: P, options?: Options) =>
  Layer.effect(Processors, startAll(processors, options))

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
    const held = yield* (yield* Lease).acquire(processor.name)
    // Into the generation the processor writes, as its batches do.
    const { generation } = yield* (yield* CheckpointStore).read(processor.name)
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
