/**
 * Each processor segment's lag, measured every so often and kept in memory: the latest for the
 * table, the last samples for the sparkline. Nothing is stored; a restart starts a new history.
 */
import { Duration, Effect, Schedule, type Scope } from "effect"
import { CheckpointStore, EventStore, Processor } from "@facta/core"

export interface Segment {
  readonly processor: string
  readonly name: string
  readonly segment: EventStore.Segment
  readonly types: ReadonlyArray<string> | undefined
}

export interface Sample {
  readonly lag: number
  readonly checkpoint: bigint
  readonly history: ReadonlyArray<number>
}

export const segmentsOf = (processors: ReadonlyArray<Processor.Any>): ReadonlyArray<Segment> =>
  processors.flatMap((processor) =>
    Processor.segmentsOf(processor).map(({ name, segment }) => ({ processor: processor.name, name, segment, types: processor.types }))
  )

export interface LagHistory {
  readonly latest: (name: string) => Sample | undefined
  /** Measures every segment now (after an action, so the page sees its effect at once). */
  readonly sample: Effect.Effect<void>
}

export const make = (options: {
  readonly segments: ReadonlyArray<Segment>
  readonly every: Duration.Input
  readonly size: number
}): Effect.Effect<LagHistory, never, EventStore.EventStore | CheckpointStore.CheckpointStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const checkpoints = yield* CheckpointStore.CheckpointStore
    const samples = new Map<string, { lag: number; checkpoint: bigint; history: Array<number> }>()
    const measure = (segment: Segment) =>
      Effect.gen(function*() {
        const checkpoint = yield* checkpoints.get(segment.name)
        const lag = yield* store.count({ after: checkpoint, types: segment.types, segment: segment.segment })
        const previous = samples.get(segment.name)
        const history = [...(previous?.history ?? []), lag].slice(-options.size)
        samples.set(segment.name, { lag, checkpoint, history })
      }).pipe(
        // A store out of reach leaves the last sample; the next round tries again.
        Effect.catchCause((cause) => Effect.logDebug("console: measuring lag failed", cause))
      )
    const sample = Effect.forEach(options.segments, measure, { concurrency: 4, discard: true })
    yield* Effect.forkScoped(sample.pipe(Effect.repeat(Schedule.spaced(Duration.fromInputUnsafe(options.every)))))
    return { latest: (name) => samples.get(name), sample }
  })
