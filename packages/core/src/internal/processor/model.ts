/**
 * The public model of processors, re-exported by `Processor`: what a processor is, its options,
 * status, handle and errors. Apart from the runtime so the runtime can use it without a cycle.
 */
import type { Cause, Duration, Effect, Schedule } from "effect"
import { Schema } from "effect"
import type { CheckpointConflict, CheckpointStore, CheckpointStoreError } from "../../CheckpointStore.ts"
import type { EventStore, EventStoreError, Segment } from "../../EventStore.ts"
import type { InvalidInput } from "../../InvalidInput.ts"
import type { Lease, LeaseLost } from "../../Lease.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import type { TransactionError, Transactor } from "../../Transactor.ts"

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
  /**
   * Prepares a batch's events before they are handled, inside its transaction: decrypts their
   * personal fields in one go (`EventCodec.open`). The prepared events are only handed to
   * `handle`; a failure, a parked event and a report name the stored ones.
   */
  readonly open?: ((events: ReadonlyArray<RecordedEvent>) => Effect.Effect<ReadonlyArray<RecordedEvent>, E, R>) | undefined
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
export interface Failure {
  readonly processor: string
  readonly event: RecordedEvent
  /** Which attempt at the batch failed: 1 for the first. */
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
