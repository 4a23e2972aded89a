/**
 * The batch runner of a processor: handles a batch of events and moves the checkpoint in one
 * transaction, retries a failure by the processor's schedule, and says what came of it as an
 * {@link Outcome}. What to do next (read on, read from the checkpoint, halt) is the caller's.
 */
import { Cause, type Context, Data, Duration, Effect, Exit, Option, Predicate, type Schedule } from "effect"
import type { Checkpoint, CheckpointStore } from "../../CheckpointStore.ts"
import type { Held, LeaseLost } from "../../Lease.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import type { Transactor } from "../../Transactor.ts"
import { EventStore } from "../../EventStore.ts"
import * as Batch from "../batch.ts"
import { CurrentGeneration } from "../generation.ts"
import * as HeldAppends from "./heldAppends.ts"
import type { Failure, Processor } from "./model.ts"

/** What came of a batch. */
export type Outcome = Data.TaggedEnum<{
  /**
   * The first `handled` events are handled, and the checkpoint is at the last of them: all of the
   * batch, or less when it ran out of time.
   */
  Committed: { readonly position: bigint; readonly handled: number }
  /** Another instance moved the checkpoint first: what it committed stands. */
  Conflict: {}
  /** An append came too late for the batch's transaction: run again at once, one event at a time. */
  RunAgain: {}
  /** The event at `index` still fails after the retries; nothing of the batch was committed. */
  Poison: { readonly index: number; readonly cause: Cause.Cause<unknown> }
}>

export const Outcome = Data.taggedEnum<Outcome>()

/** One attempt failed, on the event at `index` or (`inFlush`) writing the batch's documents. */
export class BatchFailed extends Data.TaggedError("BatchFailed")<{
  readonly processor: string
  readonly index: number
  readonly inFlush: boolean
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return `A batch of processor "${this.processor}" failed: ${Cause.pretty(this.cause)}`
  }
}

export interface Runner {
  /**
   * Runs the batch (events after checkpoint `from`, into the read-model generation it names),
   * retrying failures by the schedule, under the lease `held`: each handler runs only while the
   * holder is sure of it, and the batch commits only through its fence. A lost lease is not
   * retried: it ends the run.
   */
  readonly run: (events: ReadonlyArray<RecordedEvent>, from: Checkpoint, held: Held) => Effect.Effect<Outcome, LeaseLost>
  /** One attempt, no retry: for the events before a poison event. */
  readonly attempt: (events: ReadonlyArray<RecordedEvent>, from: Checkpoint, held: Held) => Effect.Effect<Outcome, BatchFailed | LeaseLost>
}


export interface RunnerOptions<E, R> {
  readonly processor: Pick<Processor<E, R>, "name" | "handle" | "open">
  readonly context: Context.Context<R>
  readonly checkpoints: CheckpointStore["Service"]
  /** The store the handlers append to, whose appends a batch holds. */
  readonly store: EventStore["Service"]
  readonly transactor: Transactor["Service"]
  readonly retry: Schedule.Schedule<unknown, unknown>
  readonly onError: ((failure: Failure) => Effect.Effect<void>) | undefined
  /** After this long, a batch commits the events it has handled; the rest go to the next. */
  readonly maxBatchDuration: Duration.Duration
}

/** Whether a failure says the batch should not be retried but settled: see {@link Outcome}. */
const settled = (error: unknown): Outcome | undefined => {
  if (Predicate.isTagged(error, "CheckpointConflict")) return Outcome.Conflict()
  if (Predicate.isTagged(error, "TransactionError") && Predicate.isTagged((error as { cause?: unknown }).cause, "CheckpointConflict")) return Outcome.Conflict()
  if (Predicate.isTagged(error, "RetryTransaction")) return Outcome.RunAgain()
  return undefined
}

export const make = <E, R>({ checkpoints, context, maxBatchDuration, onError, processor, retry, store, transactor }: RunnerOptions<E, R>): Runner => {
  const name = processor.name
  const limit = BigInt(Math.round(Duration.toMillis(maxBatchDuration) * 1_000_000))

  /**
   * Buffered, the documents the handlers write are written together before the checkpoint moves
   * (see `Documents`); unbuffered, each write goes to the store as it is made, so a failing write
   * fails on its own event.
   */
  const attemptWith = Effect.fnUntraced(function*(events: ReadonlyArray<RecordedEvent>, from: Checkpoint, held: Held, buffered: boolean) {
    const batch = yield* Batch.make
    const clock = yield* Effect.clockWith(Effect.succeed)
    let index = 0
    let handled = events.length
    const handleAll = Effect.gen(function*() {
      const began = clock.monotonicTimeNanosUnsafe()
      const opened = processor.open === undefined ? events : yield* processor.open(events)
      for (; index < events.length; index++) {
        yield* held.check
        yield* processor.handle(opened[index]!)
        // A slow batch ends early, so its transaction holds its connection and locks (and the
        // readers' gate, once a handler's own SQL has written) for about this long at most, plus
        // one handler.
        if (index + 1 < events.length && clock.monotonicTimeNanosUnsafe() - began >= limit) {
          handled = index + 1
          break
        }
      }
      // The held appends and documents: the batch's first writes to the log and read models.
      yield* batch.flushAll
      // Last, so a takeover waits (if at all) only for the checkpoint's move and the commit.
      yield* held.fence
      yield* checkpoints.set(name, from.position, events[handled - 1]!.position, from.generation)
    })
    const inBatch = buffered
      ? handleAll.pipe(Effect.provideService(Batch.CurrentBatch, batch), Effect.provideService(EventStore, HeldAppends.holding(store, batch)))
      : handleAll
    const exit = yield* transactor.withTransaction(inBatch).pipe(
      Effect.provideService(CurrentGeneration, from.generation),
      Effect.ensuring(batch.close),
      Effect.provideContext(context),
      Effect.withSpan("Processor.batch", {
        attributes: { processor: name, from: from.position.toString(), to: events[events.length - 1]!.position.toString(), events: events.length }
      }, { captureStackTrace: false }),
      Effect.exit
    )
    if (Exit.isSuccess(exit)) {
      // Snapshots of streams the batch appended to, once their events are in.
      const after = batch.takeAfterCommit()
      if (after.length > 0) yield* Effect.forkDetach(Effect.forEach(after, (effect) => effect, { discard: true }))
      return Outcome.Committed({ position: events[handled - 1]!.position, handled })
    }
    if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
    const error = Cause.squash(exit.cause)
    if (Predicate.isTagged(error, "LeaseLost")) return yield* Effect.fail(error as LeaseLost)
    const outcome = settled(error)
    if (outcome !== undefined) return outcome
    // A batch that began before the checkpoint moved (another instance, a blue-green switch that
    // dropped the documents it read) fails for that reason alone: it is a conflict, not a poison.
    const now = yield* Effect.option(checkpoints.read(name))
    if (Option.isSome(now) && (now.value.position !== from.position || now.value.generation !== from.generation)) return Outcome.Conflict()
    const inFlush = yield* batch.flushFailed
    return yield* new BatchFailed({ processor: name, index: Math.min(index, events.length - 1), inFlush, cause: exit.cause })
  })

  const run = Effect.fnUntraced(function*(events: ReadonlyArray<RecordedEvent>, from: Checkpoint, held: Held) {
    let attempts = 0
    const reportError = (failed: BatchFailed) =>
      onError === undefined ? Effect.void : Effect.suspend(() =>
        onError({ processor: name, event: events[failed.index]!, attempt: ++attempts, cause: failed.cause }))
    const poison = (failed: BatchFailed) => Outcome.Poison({ index: failed.index, cause: failed.cause })
    return yield* attemptWith(events, from, held, true).pipe(
      Effect.tapError((error) => error._tag === "BatchFailed" ? reportError(error) : Effect.void),
      Effect.retry({ schedule: retry, while: (error) => error._tag === "BatchFailed" }),
      // The buffered writes failed together. Replayed unbuffered, the batch fails on the event
      // whose write fails (or commits, if the failure has passed).
      Effect.catchTag("BatchFailed", (failed) =>
        failed.inFlush
          ? attemptWith(events, from, held, false).pipe(Effect.catchTag("BatchFailed", (failed) => Effect.succeed(poison(failed))))
          : Effect.succeed(poison(failed))
      )
    )
  })

  return { run, attempt: (events, from, held) => attemptWith(events, from, held, true) }
}
