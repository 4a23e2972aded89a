/**
 * Parked events: where a processor with `onPoison: "park"` puts an event it cannot handle, with
 * the error, in the same transaction that moves its checkpoint past it, so the processor goes on
 * and nothing is lost. A parked event is replayed once the cause is fixed
 * (`Processor.replayParked`) or dropped; either leaves an audit record.
 *
 * @since 0.1.0
 */
import { Context, type DateTime, type Effect, Schema } from "effect"
import type { RecordedEvent } from "./RecordedEvent.ts"

/**
 * @category errors
 * @since 0.1.0
 */
export class ParkedEventsError extends Schema.TaggedError<ParkedEventsError>()("ParkedEventsError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Parked {
  readonly processor: string
  readonly event: RecordedEvent
  /** Why the processor could not handle it. */
  readonly error: string
  readonly parkedAt: DateTime.Utc
}

/**
 * What became of a parked event.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuditEntry {
  readonly processor: string
  readonly eventId: string
  readonly outcome: "parked" | "replayed" | "dropped"
  readonly at: DateTime.Utc
}

/**
 * @category services
 * @since 0.1.0
 */
export class ParkedEvents extends Context.Service<ParkedEvents, {
  /** Parks an event (inside the batch's transaction, on SQL). Parking it again replaces it. */
  readonly park: (processor: string, event: RecordedEvent, error: string) => Effect.Effect<void, ParkedEventsError>
  /** The parked events, of one processor or all, in log order. */
  readonly list: (processor?: string) => Effect.Effect<ReadonlyArray<Parked>, ParkedEventsError>
  /** Removes a parked event, recording why; false when it was not parked. */
  readonly remove: (processor: string, eventId: string, outcome: "replayed" | "dropped") => Effect.Effect<boolean, ParkedEventsError>
  /** What became of parked events, oldest first. */
  readonly audit: (processor?: string) => Effect.Effect<ReadonlyArray<AuditEntry>, ParkedEventsError>
}>()("@facta/core/ParkedEvents") {}
