/**
 * Blue-green rebuilds: a projection's read model is rebuilt into a new generation of its
 * documents while readers keep the current one; once the new generation has caught up, readers
 * and the projection switch to it in one transaction, and the old generation is dropped.
 *
 * - The rebuild runs as a shadow processor (`<name>#<generation>`, with its own lease, checkpoint
 *   and status) that writes only the new generation. The projection keeps running wherever it
 *   runs, on the current generation.
 * - The switch moves, in one transaction, the generation readers see and the projection's
 *   checkpoint (to the shadow's position, at the new generation). Each statement reads one
 *   generation, so a query sees the old read model or the new, never a mix or an empty one.
 * - A batch the projection had in flight at the switch cannot commit after it: its checkpoint
 *   compare-and-set names the generation it began with. It rolls back, and the projection reads
 *   on in the new generation from the shadow's position.
 *
 * Only the documents the projection declares (`Projection.make({ documents })`) take part: a
 * projection that writes tables of its own needs a rebuild in place.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Schema, Scope } from "effect"
import { CheckpointStore } from "./CheckpointStore.ts"
import { type EventStoreError, start as origin } from "./EventStore.ts"
import * as Placement from "./Placement.ts"
import * as Processor from "./Processor.ts"
import { ProjectionStore, type ProjectionStoreError } from "./ProjectionStore.ts"
import { Transactor } from "./Transactor.ts"

/**
 * The processor declares no documents, so there is no read model to build beside the current one.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoDocuments extends Schema.TaggedError<NoDocuments>()("NoDocuments", {
  processor: Schema.String
}) {
  override get message() {
    return `Processor "${this.processor}" declares no documents: a blue-green rebuild needs the collections it writes ` +
      `(Projection.make({ documents: [...] })); rebuild it in place instead`
  }
}

/**
 * Another rebuild switched the processor to a new generation first; this one's shadow is dropped.
 *
 * @category errors
 * @since 0.1.0
 */
export class Superseded extends Schema.TaggedError<Superseded>()("Superseded", {
  processor: Schema.String,
  generation: Schema.Number
}) {
  override get message() {
    return `Processor "${this.processor}" was switched to generation ${this.generation} by another rebuild`
  }
}

/**
 * A new generation being built.
 *
 * @category models
 * @since 0.1.0
 */
export interface Shadow<E> {
  /** The shadow processor's name: `<name>#<generation>`. */
  readonly name: string
  readonly generation: number
  /** How many events the shadow has still to handle. */
  readonly lag: Processor.Handle<E>["lag"]
  /**
   * Waits until the shadow has caught up with the projection, stops it, switches readers and the
   * projection to the new generation, and drops the old one.
   */
  readonly switch: Effect.Effect<Switched, E | Processor.ProcessorHalted | Processor.SegmentsChanged | SwitchError>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Switched {
  readonly generation: number
  /** Where the projection's checkpoint was put: the shadow's position. */
  readonly position: bigint
}

/**
 * What preparing, switching and dropping can fail with, besides the projection's handlers.
 *
 * @category errors
 * @since 0.1.0
 */
export type SwitchError =
  | Processor.RebuildError
  | ProjectionStoreError
  | EventStoreError
  | NoDocuments
  | Superseded

/** The documents the processor declares, or the error that says it declares none. */
const documentsOf = (processor: Processor.Any) =>
  processor.documents === undefined || processor.documents.length === 0
    ? Effect.fail(new NoDocuments({ processor: processor.name }))
    : Effect.succeed(processor.documents)

/**
 * Starts building a new generation of the processor's documents in the current scope: clears
 * what an abandoned attempt left in that generation and starts the shadow from the start of the
 * log. Closing the scope before the switch stops the shadow and leaves readers where they were.
 *
 * @category running
 * @since 0.1.0
 */
export const start = Effect.fn("BlueGreen.start")(function*<E, R>(
  processor: Processor.Processor<E, R>,
  options?: Processor.Options
): Effect.fn.Return<Shadow<E>, SwitchError, Scope.Scope | Processor.Requirements | ProjectionStore | R> {
  // The switch moves one checkpoint; a processor in segments has one per segment.
  if ((processor.segments ?? 1) > 1) {
    return yield* Effect.die(new Error(`Processor "${processor.name}" runs in segments: rebuild it in place (Handle.rebuild); blue-green does not split`))
  }
  const documents = yield* documentsOf(processor)
  const checkpoints = yield* CheckpointStore
  const projections = yield* ProjectionStore
  const transactor = yield* Transactor
  const current = yield* checkpoints.read(processor.name)
  const generation = current.generation + 1
  const name = `${processor.name}#${generation}`
  yield* transactor.withTransaction(Effect.gen(function*() {
    for (const collection of documents) yield* projections.clear(collection, generation)
    yield* checkpoints.replace(name, { position: origin, generation })
  }))
  // The shadow lives in a scope of its own, closed at the switch: its batch in flight rolls back.
  const scope = yield* Scope.fork(yield* Effect.scope)
  // Run here whatever the placement: this process waits for the shadow.
  const shadow = yield* Processor.start({ ...processor, name, reset: Effect.void }, options).pipe(
    Scope.provide(scope),
    Effect.provideService(Placement.Placement, Placement.here)
  )

  const whenAhead = Effect.gen(function*() {
    while (true) {
      yield* shadow.whenCaughtUp
      // Not behind the projection, so readers do not see an older read model after the switch.
      const [own, projection] = [yield* checkpoints.get(name), yield* checkpoints.read(processor.name)]
      if (projection.generation !== current.generation) {
        return yield* new Superseded({ processor: processor.name, generation: projection.generation })
      }
      if (own >= projection.position) return
    }
  })

  const switchOver = Effect.gen(function*() {
    yield* whenAhead
    yield* Scope.close(scope, Exit.void)
    const reached = yield* checkpoints.get(name)
    yield* transactor.withTransaction(Effect.gen(function*() {
      yield* checkpoints.replace(processor.name, { position: reached, generation })
      yield* projections.switchGeneration(documents, generation)
      yield* checkpoints.remove(name)
    }))
    // Readers have moved on; a batch of the old generation still in flight rolls back.
    yield* transactor.withTransaction(Effect.forEach(documents, (collection) => projections.clear(collection, current.generation), { discard: true }))
    yield* Effect.logDebug(`Processor "${processor.name}" switched to generation ${generation} at ${reached}`)
    return { generation, position: reached }
  })

  return { name, generation, lag: shadow.lag, switch: switchOver }
})

/**
 * Builds a new generation of the processor's documents and switches to it: {@link start} and then
 * its `switch`, in a scope of their own.
 *
 * @category running
 * @since 0.1.0
 */
export const rebuild = <E, R>(processor: Processor.Processor<E, R>, options?: Processor.Options) =>
  Effect.scoped(Effect.flatMap(start(processor, options), (shadow) => shadow.switch))
