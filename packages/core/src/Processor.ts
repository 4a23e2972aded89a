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
import { Cause, Context, Duration, Effect, FiberHandle, Layer, Metric, Option, Predicate, PubSub, Ref, Schedule, Schema, type Scope } from "effect"
import { type Checkpoint, type CheckpointConflict, CheckpointStore, type CheckpointStoreError } from "./CheckpointStore.ts"
import { checkReadOptions, EventStore, type EventStoreError, type Segment, start as origin } from "./EventStore.ts"
import { CurrentGeneration } from "./internal/batch.ts"
import * as Runner from "./internal/runner.ts"
import { checkId, type InvalidInput, limits } from "./InvalidInput.ts"
import { type Held, Lease, type LeaseLost } from "./Lease.ts"
import * as LiveClock from "./LiveClock.ts"
import * as Placement from "./Placement.ts"
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
  /**
   * Into how many segments the processor is split (default 1): each has its own checkpoint,
   * lease and status, and handles the events of the streams in it (see `EventStore.Segment`), so
   * the segments can run in different processes. A stream's events keep their order. Going from
   * 1 to N segments starts each from the old checkpoint; any other change needs a `rebuild`.
   *
   * The segments run at the same time, each in transactions of its own: split only a processor
   * whose handlers for different streams write different documents (one per stream, or per key
   * of the stream), since two segments writing one document would overwrite each other. So a
   * process manager, whose state spans streams, is not split.
   */
  readonly segments?: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export type Any = Processor<any, any>

/**
 * The processor is run with a number of segments its checkpoints were not made with (other than
 * a split of one into several, which is done by itself): its events could otherwise be handled
 * twice or not at all. Rebuild it (`Handle.rebuild`) with the new number, or run the old one.
 *
 * @category errors
 * @since 0.1.0
 */
export class SegmentsChanged extends Schema.TaggedError<SegmentsChanged>()("SegmentsChanged", {
  processor: Schema.String,
  segments: Schema.Number,
  found: Schema.Number
}) {
  override get message() {
    return `Processor "${this.processor}" runs in ${this.segments} segment(s), but its checkpoints are for ${this.found}: rebuild it to change its segments, or run it with ${this.found}`
  }
}

/**
 * The checkpoint, lease and status name of a segment: `<name>[<index>/<count>]`, or the
 * processor's own name when it is not split.
 *
 * @category utilities
 * @since 0.1.0
 */
export const segmentName = (name: string, segment: Segment): string =>
  segment.count === 1 ? name : `${name}[${segment.index}/${segment.count}]`

/**
 * Every segment of a processor, in order, with its name (one, the processor's own, when it is not
 * split).
 *
 * @category utilities
 * @since 0.1.0
 */
export const segmentsOf = (processor: { readonly name: string; readonly segments?: number | undefined }): ReadonlyArray<{
  readonly segment: Segment
  readonly name: string
}> => {
  const count = processor.segments ?? 1
  return Array.from({ length: count }, (_, index) => ({ segment: { index, count }, name: segmentName(processor.name, { index, count }) }))
}

/** The segment count of a checkpoint of processor `name`, or undefined if it is not one of its. */
const layoutOf = (name: string, checkpoint: string): number | undefined => {
  if (checkpoint === name) return 1
  if (!checkpoint.startsWith(`${name}[`)) return undefined
  const match = /^\[(\d+)\/(\d+)\]$/.exec(checkpoint.slice(name.length))
  return match === null ? undefined : Number(match[2])
}

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
  /**
   * How long a batch may run before it commits the events handled so far and leaves the rest to
   * the next: a slow handler (a reactor's outside call) then holds its transaction's connection
   * and row locks, and the readers' gate if it writes SQL of its own, for about this long at most.
   * (The batch's documents and appends are held until it commits, so they take no gate.)
   * Default 500 ms.
   */
  readonly maxBatchDuration?: Duration.Input | undefined
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
  /** The checkpoint: the last event handled (of a split processor, the lowest of its segments'). */
  readonly position: bigint
  readonly halted?: Halt | undefined
}

/**
 * Why a processor stopped and stays stopped until it is rebuilt.
 *
 * @category errors
 * @since 0.1.0
 */
export type Halt = ProcessorHalted | SegmentsChanged

/**
 * How processors running together are: healthy while none of them is halted.
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  readonly healthy: boolean
  /** Each processor's status (of a split one, the summary of its segments). */
  readonly processors: ReadonlyArray<Status>
  /** Why each halted processor halted. */
  readonly halted: ReadonlyArray<Halt>
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
   * How many events of the processor's types are committed after its checkpoint (after each
   * segment's), counting those behind an open transaction that readers cannot pass yet.
   */
  readonly lag: Effect.Effect<number, EventStoreError | CheckpointStoreError>
  /**
   * Waits until the processor has handled every event appended before the call, in every
   * segment: those this instance does not hold are followed by their checkpoints.
   */
  readonly whenCaughtUp: Effect.Effect<void, ProcessorHalted | SegmentsChanged | EventStoreError | CheckpointStoreError>
  /** The status of each segment, in order (one for a processor that is not split). */
  readonly segments: Effect.Effect<ReadonlyArray<Status>>
  /**
   * Waits until the processor (any of its segments here) halts, and returns why: at once if it
   * is halted already. A rebuild clears the halt.
   */
  readonly whenHalted: Effect.Effect<Halt>
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

/** How long an idle processor waits for a wake-up before it looks at its checkpoint again. */
const idleRecheck = Duration.seconds(1)

/** This process, as the status board names it: its pid (where there is one) and a random tag. */
const defaultInstance = `${typeof process === "undefined" ? "pid ?" : `pid ${process.pid}`} ${crypto.randomUUID().slice(0, 8)}`

const defaultRetry = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")]).pipe(
  Schedule.upTo({ times: 5 })
)

/** What a running processor works with, gathered once when it starts. */
interface Runtime<E, R> {
  readonly processor: Processor<E, R>
  /** The segment this runtime follows, and the name of its checkpoint, lease and status. */
  readonly segment: Segment
  readonly name: string
  /** Of a processor in segments shared by leases: which this instance holds, and whether it may take one more. */
  readonly shares: LeaseShares | undefined
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
  /** Told of every halt of the processor's segments in this process. */
  readonly halts: PubSub.PubSub<Halt>
}

/** The processor's metrics, tagged with its name once. */
const metricsOf = (processor: string) => ({
  eventsHandled: Metric.withAttributes(Metrics.processorEvents, { processor }),
  position: Metric.withAttributes(Metrics.processorPosition, { processor }),
  lag: Metric.withAttributes(Metrics.processorLag, { processor }),
  halted: Metric.withAttributes(Metrics.processorHalted, { processor })
})

/** Updates the status; a change of state is reported to the status board at once. */
const setStatus = (running: Runtime<any, any>, patch: Partial<Status>) =>
  Ref.modify(running.status, (current) => {
    const next = { ...current, ...patch }
    return [{ changed: next.state !== current.state || next.halted !== current.halted, halt: next.halted !== current.halted ? next.halted : undefined, cleared: current.halted !== undefined && next.halted === undefined }, next] as const
  }).pipe(Effect.flatMap(({ changed, cleared, halt }) =>
    Effect.all([
      halt === undefined ? Effect.void : Effect.andThen(Metric.update(running.metrics.halted, 1), PubSub.publish(running.halts, halt)),
      cleared ? Metric.update(running.metrics.halted, 0) : Effect.void,
      changed ? report(running) : Effect.void
    ], { discard: true })
  ))

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
        processor: running.name,
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
// The processor's types were checked when it started (see `start`): a refusal is a defect.
const lagAfter = (running: Runtime<any, any>, position: bigint) =>
  running.store.countCommitted({ after: position, types: running.processor.types, segment: running.segment }).pipe(
    Effect.catchTag("InvalidInput", Effect.die)
  )

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
  const { checkpoints, name, processor, transactor } = running
  switch (outcome._tag) {
    case "Committed":
      return yield* committed(running, outcome.handled, { ...from, position: outcome.position })
    case "Conflict":
    case "RunAgain":
      return yield* checkpoints.read(name)
    case "Poison": {
      const poison = events[outcome.index]!
      let checkpoint = from
      if (outcome.index > 0) {
        const before = yield* running.runner.attempt(events.slice(0, outcome.index), from, held)
        if (before._tag !== "Committed") return yield* checkpoints.read(name)
        checkpoint = yield* committed(running, before.handled, { ...from, position: before.position })
        yield* setStatus(running, { position: checkpoint.position })
        // They ran out of time before the poison event: read on to it.
        if (before.handled < outcome.index) return checkpoint
      }
      const onPoison = running.options?.onPoison ?? "halt"
      if (onPoison === "halt") return yield* halted(name, poison, outcome.cause)
      const parked = onPoison === "park" ? yield* parkedEvents : undefined
      yield* Effect.logError(`Processor "${processor.name}" ${parked === undefined ? "skipped" : "parked"} event "${poison.type}" (id ${poison.id})`, outcome.cause).pipe(
        Effect.annotateLogs({ processor: processor.name, eventId: poison.id, streamId: poison.streamId, version: poison.version })
      )
      const park = parked === undefined ? Effect.void : parked.park(processor.name, poison, Cause.pretty(outcome.cause))
      yield* transactor.withTransaction(Effect.andThen(
        park,
        Effect.andThen(held.fence, checkpoints.set(name, checkpoint.position, poison.position, checkpoint.generation))
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

/** This processor's checkpoints, by the number of segments they were made for. */
const layouts = (running: Runtime<any, any>) =>
  Effect.map(running.checkpoints.list, (all) => {
    const found = new Map<number, Array<string>>()
    for (const { processor } of all) {
      const count = layoutOf(running.processor.name, processor)
      if (count !== undefined) found.set(count, [...(found.get(count) ?? []), processor])
    }
    return found
  })

/**
 * Makes sure the checkpoints are those of the processor's segments. When it has none yet but the
 * unsplit processor has one, splits that: under the unsplit processor's lease (so no instance of
 * it runs), in one transaction, every segment starts from its checkpoint, which goes. Checkpoints
 * for any other number of segments: `SegmentsChanged`, since reading on could handle events twice
 * or never.
 */
const ensureSegments = Effect.fnUntraced(function*(running: Runtime<any, any>) {
  const { checkpoints, lease, processor, segment, transactor } = running
  const changed = (found: number) => new SegmentsChanged({ processor: processor.name, segments: segment.count, found })
  const refusal = (found: Map<number, Array<string>>) => {
    const other = [...found.keys()].find((count) => count !== segment.count)
    if (other === undefined) return undefined
    return found.has(segment.count) || other !== 1 || segment.count === 1 ? changed(other) : "split" as const
  }
  const first = refusal(yield* layouts(running))
  if (first === undefined) return
  if (first !== "split") return yield* first
  yield* Effect.scoped(Effect.gen(function*() {
    const unsplit = yield* lease.acquire(processor.name)
    const now = refusal(yield* layouts(running))
    // Split meanwhile by another instance.
    if (now === undefined) return
    if (now !== "split") return yield* now
    const from = yield* checkpoints.read(processor.name)
    yield* transactor.withTransaction(Effect.gen(function*() {
      for (const { name } of segmentsOf(processor)) yield* checkpoints.replace(name, from)
      yield* checkpoints.remove(processor.name)
      yield* unsplit.fence
    }))
    yield* Effect.logInfo(`Processor "${processor.name}" split into ${segment.count} segments, each from position ${from.position}`)
  }))
})

/**
 * Follows the log while the lease is held: reads a page after the checkpoint, runs it as a batch,
 * settles the outcome, and waits for appends once caught up. Ends only by failing.
 */
const follow = <E, R>(running: Runtime<E, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const { checkpoints, lease, name, processor, segment, store } = running
    const batchSize = running.options?.batchSize ?? 500
    yield* setStatus(running, { state: "waiting for lease" })
    const held = yield* lease.acquire(name, running.shares === undefined ? undefined : { eligible: running.shares.eligible })
    if (running.shares !== undefined) {
      const { holding } = running.shares
      holding.add(segment.index)
      yield* Effect.addFinalizer(() => Effect.sync(() => void holding.delete(segment.index)))
    }
    yield* ensureSegments(running)
    const waitForChange = yield* store.listen
    let checkpoint = yield* checkpoints.read(name)
    yield* setStatus(running, { state: "catching up", position: checkpoint.position })
    yield* sampleLag(running)
    // The checkpoint moves with handled events only; `scanned` also moves past events of other
    // types, so they are read once per run rather than once per wake-up. `narrow`: the last batch
    // had to run again, so the next one is one event and its transaction short.
    let scanned = checkpoint.position
    let narrow = false
    const loop = Effect.gen(function*() {
      while (true) {
        const page = yield* store.readPage({ after: scanned, types: processor.types, segment, batchSize: narrow ? 1 : batchSize }).pipe(
          Effect.catchTag("InvalidInput", Effect.die)
        )
        if (page.events.length === 0) {
          scanned = page.next
          // Caught up with what readers can see; events committed behind an open transaction
          // are lag all the same, and the processor is held back, not live.
          const behind = yield* lagAfter(running, scanned)
          yield* Metric.update(running.metrics.lag, behind)
          yield* Ref.set(running.lag, behind)
          yield* setStatus(running, { state: behind > 0 ? "held back" : "live", position: checkpoint.position })
          // A blue-green switch moves an idle processor's checkpoint to the new generation's
          // position: read on from there, or the events between would never reach it. The switch
          // may come with no append to wake the processor (or from another process), so it looks
          // at least every second.
          yield* Effect.timeoutOption(waitForChange, idleRecheck)
          const stored = yield* checkpoints.read(name)
          if (stored.generation !== checkpoint.generation) {
            checkpoint = stored
            scanned = stored.position
            yield* setStatus(running, { position: checkpoint.position })
          }
          continue
        }
        yield* held.check
        yield* setStatus(running, { state: "catching up" })
        const outcome = yield* running.runner.run(page.events, checkpoint, held)
        if (outcome._tag !== "Conflict") narrow = outcome._tag === "RunAgain"
        // The checkpoint moved under us: if it went to other segments, stop here.
        if (outcome._tag === "Conflict") yield* ensureSegments(running)
        checkpoint = yield* settle(running, held, page.events, checkpoint, outcome)
        // After a conflict, a skipped event or a batch cut short, read on from the checkpoint.
        scanned = outcome._tag === "Committed" && outcome.handled === page.events.length ? page.next : checkpoint.position
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
      Predicate.isTagged(error, "ProcessorHalted") || Predicate.isTagged(error, "SegmentsChanged")
        ? Effect.andThen(
          Effect.logError(error.message).pipe(Effect.annotateLogs({ processor: running.name })),
          setStatus(running, { state: "halted", halted: error as Halt })
        )
        : Effect.logWarning(`Processor "${running.name}" stopped; restarting`, error).pipe(
          Effect.andThen(setStatus(running, { state: "waiting for lease" })),
          Effect.andThen(Effect.sleep("1 second")),
          Effect.andThen(Effect.suspend(() => supervise(running)))
        )
    ),
    Effect.asVoid
  )

/**
 * Where the segments of a processor run, without a cluster: every instance holds a lease of its
 * own in the processor's group (`<name>~<random>`), so each can count the live instances and take
 * segments only up to its fair share, the segment count divided by the instances, rounded up.
 */
interface LeaseShares {
  readonly holding: Set<number>
  readonly eligible: Effect.Effect<boolean>
  readonly fairShare: Effect.Effect<number, LeaseLost>
}

const leaseSharesOf = Effect.fnUntraced(function*(name: string, count: number, lease: Lease["Service"]) {
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
const rebalance = (shares: LeaseShares, runtimes: ReadonlyArray<Runtime<any, any>>, fibers: ReadonlyArray<FiberHandle.FiberHandle<void, never>>) =>
  Effect.gen(function*() {
    const fair = yield* shares.fairShare
    const held = [...shares.holding].sort((a, b) => b - a)
    for (const index of held.slice(0, Math.max(held.length - fair, 0))) {
      const running = runtimes[index]!
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

/** Which segments run in this process, and whether a rebuild holds them back. */
interface Local {
  readonly here: Set<number>
  rebuilding: boolean
}

/** How a split processor is, from its segments: the most pressing state, the lowest position. */
const summary = (name: string, segments: ReadonlyArray<Status>): Status => {
  const order: ReadonlyArray<Status["state"]> = ["halted", "rebuilding", "held back", "catching up", "live", "waiting for lease"]
  const held = segments.filter((status) => status.state !== "waiting for lease")
  const state = order.find((state) => held.some((status) => status.state === state)) ?? "waiting for lease"
  const halted = segments.find((status) => status.halted !== undefined)?.halted
  const position = segments.reduce((lowest, status) => status.position < lowest ? status.position : lowest, segments[0]!.position)
  return { name, state, position, ...(halted === undefined ? {} : { halted }) }
}

/** The handle of a running processor, whose segments' supervised runs live in `fibers`. */
const handleOf = <E, R>(
  runtimes: ReadonlyArray<Runtime<E, R>>,
  fibers: ReadonlyArray<FiberHandle.FiberHandle<void, never>>,
  local: Local
): Handle<E> => {
  const { checkpoints, lease, processor, store, transactor } = runtimes[0]!
  const statuses = Effect.forEach(runtimes, (running) => Ref.get(running.status))
  // Waits for the head of the log as committed now, not as readers may see it: an event behind
  // another open transaction counts, and is waited for. A segment another instance holds is
  // followed by its checkpoint.
  // The stored checkpoint, not the status: a blue-green switch may have moved it back to where
  // the new generation stands, and a segment held elsewhere has no status here.
  const positionOf = (running: Runtime<E, R>) => checkpoints.get(running.name).pipe(Effect.catchTag("InvalidInput", Effect.die))
  const segmentCaughtUp = (running: Runtime<E, R>) =>
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
    local.rebuilding = true
    yield* Effect.forEach(fibers, FiberHandle.clear, { discard: true })
    yield* Effect.forEach(runtimes, (running) => setStatus(running, { state: "rebuilding", halted: undefined }), { discard: true })
    const first = runtimes[0]!
    yield* Effect.scoped(Effect.gen(function*() {
      const leases = yield* Effect.forEach(runtimes, (running) => lease.acquire(running.name))
      const { generation } = yield* checkpoints.read(first.name)
      const others = [...(yield* layouts(first))].filter(([count]) => count !== first.segment.count).flatMap(([, names]) => names)
      yield* transactor.withTransaction(Effect.gen(function*() {
        yield* processor.reset
        for (const running of runtimes) yield* checkpoints.replace(running.name, { position: origin, generation })
        // Checkpoints of another number of segments go: the rebuild is how that number changes.
        for (const name of others) yield* checkpoints.remove(name)
        for (const held of leases) yield* held.fence
      }).pipe(Effect.provideService(CurrentGeneration, generation)))
    })).pipe(Effect.provideContext(first.context))
    local.rebuilding = false
    for (let i = 0; i < runtimes.length; i++) {
      yield* setStatus(runtimes[i]!, { position: origin, ...(local.here.has(i) ? {} : { state: "waiting for lease" }) })
      if (local.here.has(i)) yield* FiberHandle.run(fibers[i]!, supervise(runtimes[i]!))
    }
  }).pipe(Effect.ensuring(Effect.sync(() => void (local.rebuilding = false))))
  // Subscribed before the statuses are looked at, so a halt in between is not missed.
  const whenHalted = Effect.scoped(Effect.gen(function*() {
    const halts = yield* PubSub.subscribe(runtimes[0]!.halts)
    const already = (yield* statuses).find((status) => status.halted !== undefined)?.halted
    return already ?? (yield* PubSub.take(halts))
  }))
  return {
    name: processor.name,
    whenHalted,
    status: runtimes.length === 1 ? Ref.get(runtimes[0]!.status) : Effect.map(statuses, (all) => summary(processor.name, all)),
    segments: statuses,
    lag: Effect.map(
      Effect.forEach(runtimes, (running) =>
        Effect.flatMap(positionOf(running), (position) => lagAfter(running, position))),
      (lags) => lags.reduce((sum, lag) => sum + lag, 0)
    ),
    whenCaughtUp: LiveClock.provide(Effect.forEach(runtimes, segmentCaughtUp, { discard: true })),
    rebuild: LiveClock.provide(rebuild)
  }
}

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

/** Starts the segments' runs of a processor whose handlers run in `context`. */
const launch = Effect.fnUntraced(function*<E, R>(
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
  const runtimes: Array<Runtime<E, R>> = []
  const halts = yield* PubSub.unbounded<Halt>()
  for (const { name, segment } of segmentsOf(processor)) {
    runtimes.push({
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
        processor: { name, handle: processor.handle },
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
  for (const running of runtimes) yield* Metric.update(running.metrics.halted, 0)
  // Registered first, so they run last: once the processor has stopped, the board says so.
  for (const running of runtimes) yield* Effect.addFinalizer(() => report(running, "stopped"))
  const fibers: Array<FiberHandle.FiberHandle<void, never>> = []
  // The segments running in this process: all of them, unless a placement puts them elsewhere.
  const local: Local = { here: new Set(), rebuilding: false }
  for (const [index, running] of runtimes.entries()) {
    const fiber = yield* FiberHandle.make<void, never>()
    fibers.push(fiber)
    if (placed === undefined) {
      local.here.add(index)
      yield* FiberHandle.run(fiber, supervise(running))
      continue
    }
    yield* placed.place(
      running.name,
      LiveClock.provide(Effect.acquireRelease(
        // Placed while a rebuild holds the leases: it starts the segment when it is done.
        Effect.andThen(Effect.sync(() => local.here.add(index)), Effect.suspend(() => local.rebuilding ? Effect.void : FiberHandle.run(fiber, supervise(running)))),
        () =>
          Effect.sync(() => local.here.delete(index)).pipe(
            Effect.andThen(FiberHandle.clear(fiber)),
            Effect.andThen(setStatus(running, { state: "waiting for lease" }))
          )
      ).pipe(Effect.andThen(Effect.never)))
    )
  }
  if (shares !== undefined) yield* rebalance(shares, runtimes, fibers)
  return handleOf(runtimes, fibers, local)
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
