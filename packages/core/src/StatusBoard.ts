/**
 * Where running processors say how they are, for operators in other processes: one record per
 * processor and instance (its state, checkpoint, lag, last error, and when it last reported).
 * Processors report when their state changes and every few seconds while they run, if a
 * `StatusBoard` is provided; an instance that stops reporting shows as stale by its `updatedAt`.
 *
 * @since 0.1.0
 */
import { Context, type DateTime, type Effect, Schema } from "effect"

/**
 * @category errors
 * @since 0.1.0
 */
export class StatusBoardError extends Schema.TaggedError<StatusBoardError>()("StatusBoardError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly processor: string
  /** Which instance: a process id and a random tag, unless the processor's options name it. */
  readonly instance: string
  readonly state: string
  readonly position: bigint
  /** Events of its types after its checkpoint, when last measured. */
  readonly lag: number
  readonly lastError?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Entry extends Report {
  readonly updatedAt: DateTime.Utc
}

/**
 * @category services
 * @since 0.1.0
 */
export class StatusBoard extends Context.Service<StatusBoard, {
  /** Replaces this instance's record of the processor. */
  readonly report: (report: Report) => Effect.Effect<void, StatusBoardError>
  /** Every record, by processor and instance. */
  readonly list: Effect.Effect<ReadonlyArray<Entry>, StatusBoardError>
}>()("@facta/core/StatusBoard") {}
