/**
 * Parked events: where a processor with `onPoison: "park"` puts an event it cannot handle, with
 * the error, in the same transaction that moves its checkpoint past it, so the processor goes on
 * and nothing is lost. A parked event is replayed once the cause is fixed
 * (`Processor.replayParked`) or dropped; either leaves an audit record.
 *
 * @since 0.1.0
 */
import { Context, DateTime, Effect, Layer, Schema } from "effect"
import { currentJournal, type Journal } from "./internal/journal.ts"
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

interface State {
  readonly parked: Map<string, Parked>
  readonly audit: Array<AuditEntry>
}

type Change = (state: State) => void

const key = (processor: string, eventId: string) => `${processor}\u0000${eventId}`

/**
 * Parked events in memory. Inside a `Transactor` transaction, changes wait for it to commit.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<ParkedEvents["Service"]> = Effect.sync(() => {
  const state: State = { parked: new Map(), audit: [] }
  const pending = new WeakMap<Journal, Array<Change>>()
  const apply = (journal: Journal) => {
    for (const change of pending.get(journal) ?? []) change(state)
  }
  /** Applies `change` now, or when the current transaction commits; `view` is what the transaction sees. */
  const change = (f: Change) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) return f(state)
      const changes = pending.get(journal) ?? []
      pending.set(journal, [...changes, f])
      journal.commits.add(apply)
    })
  const byLog = (a: Parked, b: Parked) => a.event.position < b.event.position ? -1 : a.event.position > b.event.position ? 1 : 0
  return ParkedEvents.of({
    park: (processor, event, error) =>
      Effect.flatMap(DateTime.now, (parkedAt) =>
        change((state) => {
          state.parked.set(key(processor, event.id), { processor, event, error, parkedAt })
          state.audit.push({ processor, eventId: event.id, outcome: "parked", at: parkedAt })
        })),
    list: (processor) =>
      Effect.sync(() => [...state.parked.values()].filter((parked) => processor === undefined || parked.processor === processor).sort(byLog)),
    remove: (processor, eventId, outcome) =>
      Effect.gen(function*() {
        const at = yield* DateTime.now
        const found = state.parked.has(key(processor, eventId))
        if (found) {
          yield* change((state) => {
            state.parked.delete(key(processor, eventId))
            state.audit.push({ processor, eventId, outcome, at })
          })
        }
        return found
      }),
    audit: (processor) => Effect.sync(() => state.audit.filter((entry) => processor === undefined || entry.processor === processor))
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<ParkedEvents> = Layer.effect(ParkedEvents, makeMemory)
