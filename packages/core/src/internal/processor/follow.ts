/**
 * The loop of a running segment: follows the log while its lease is held, runs each page as a
 * batch, acts on the outcome, and waits for appends once caught up; supervised, it starts again
 * after a failure, and stays stopped after a halt.
 */
import { Cause, Duration, Effect, Metric, Option, Predicate, Ref } from "effect"
import type { Checkpoint } from "../../CheckpointStore.ts"
import type { Held } from "../../Lease.ts"
import * as ParkedEvents from "../../ParkedEvents.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import { type Halt, ProcessorHalted } from "./model.ts"
import type * as Runner from "./runner.ts"
import { committed, lagAfter, type RunningSegment } from "./runningSegment.ts"
import { ensureSegments } from "./segments.ts"
import { sampleLag, setStatus } from "./status.ts"

/** How long an idle processor waits for a wake-up before it looks at its checkpoint again. */
const idleRecheck = Duration.seconds(1)

/**
 * Acts on a batch's outcome and returns the new checkpoint: a conflict reads on from the one
 * another instance committed (or a blue-green switch put in place); a poison event halts the
 * processor, or with "skipAndRecord" is logged and passed, or with "park" is parked and passed,
 * after the events before it are committed.
 */
const checkpointAfter = Effect.fnUntraced(function*<E, R>(
  running: RunningSegment<E, R>,
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
    : Effect.die(new Error("onPoison \"park\" needs a ParkedEvents store: provide InMemory.parkedEvents or the SQL stores")))

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

/**
 * Follows the log while the lease is held: reads a page after the checkpoint, runs it as a batch,
 * settles the outcome, and waits for appends once caught up. Ends only by failing.
 */
export const follow = <E, R>(running: RunningSegment<E, R>) =>
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
        checkpoint = yield* checkpointAfter(running, held, page.events, checkpoint, outcome)
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
export const supervise = (running: RunningSegment<any, any>): Effect.Effect<void> =>
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
