/**
 * Where each event processor keeps its place in the global log. Writes are compare-and-set: a
 * processor moves its checkpoint only from the position it last read, so two instances of one
 * processor cannot both move it, and the loser's batch is rolled back.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import { start } from "./EventStore.ts"
import { currentJournal, type Expected, type Journal } from "./internal/journal.ts"
import { byBytes } from "./internal/order.ts"
import { checkId, type InvalidInput, limits } from "./InvalidInput.ts"

/**
 * The checkpoint was not where the writer expected it: another instance moved it.
 *
 * @category errors
 * @since 0.1.0
 */
export class CheckpointConflict extends Schema.TaggedError<CheckpointConflict>()("CheckpointConflict", {
  processor: Schema.String,
  expected: Schema.BigInt,
  actual: Schema.BigInt,
  /** The read-model generation the writer expected and the one found, when they differ. */
  expectedGeneration: Schema.optional(Schema.Number),
  actualGeneration: Schema.optional(Schema.Number)
}) {
  override get message() {
    const generations = this.expectedGeneration !== undefined && this.expectedGeneration !== this.actualGeneration
      ? ` (read-model generation ${this.expectedGeneration} expected, ${this.actualGeneration} found)`
      : ""
    return `Checkpoint of "${this.processor}" expected at ${this.expected}, found at ${this.actual}${generations}`
  }
}

/**
 * Where a processor is: the last event it handled, and the generation of the read model it
 * writes (0 until a blue-green rebuild switches it to a new one; see `BlueGreen`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Checkpoint {
  readonly position: bigint
  readonly generation: number
}

/**
 * @category errors
 * @since 0.1.0
 */
export class CheckpointStoreError extends Schema.TaggedError<CheckpointStoreError>()("CheckpointStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @category services
 * @since 0.1.0
 */
export class CheckpointStore extends Context.Service<CheckpointStore, {
  /** Every processor's position, ordered by name (by UTF-8 bytes). For operators. */
  readonly list: Effect.Effect<ReadonlyArray<{ readonly processor: string; readonly position: bigint }>, CheckpointStoreError>
  /** The processor's position; the start of the log when it has none. */
  readonly get: (processor: string) => Effect.Effect<bigint, CheckpointStoreError | InvalidInput>
  /** The processor's position and read-model generation; the start of the log and 0 when it has none. */
  readonly read: (processor: string) => Effect.Effect<Checkpoint, CheckpointStoreError | InvalidInput>
  /**
   * Moves the processor's position from `expected` to `next`, or fails with a conflict. With a
   * `generation`, the checkpoint must also be at that generation: a batch that began before a
   * blue-green switch cannot commit after it.
   */
  readonly set: (
    processor: string,
    expected: bigint,
    next: bigint,
    generation?: number
  ) => Effect.Effect<void, CheckpointConflict | CheckpointStoreError | InvalidInput>
  /** Puts the processor at `checkpoint` whatever it was; a batch in flight then conflicts. */
  readonly replace: (processor: string, checkpoint: Checkpoint) => Effect.Effect<void, CheckpointStoreError | InvalidInput>
  /** Forgets the processor's checkpoint (a blue-green rebuild's shadow, once switched). */
  readonly remove: (processor: string) => Effect.Effect<void, CheckpointStoreError | InvalidInput>
}>()("@facta/core/CheckpointStore") {}

/**
 * A store's methods behind the check of `InvalidInput` on processor names: every implementation
 * passes through it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: CheckpointStore["Service"]): CheckpointStore["Service"] => {
  const checked = <A, E>(processor: string, effect: () => Effect.Effect<A, E>): Effect.Effect<A, E | InvalidInput> => {
    const refused = checkId("processor name", processor, limits.keyLength)
    return refused === undefined ? effect() : Effect.fail(refused)
  }
  return CheckpointStore.of({
    list: store.list,
    get: (processor) => checked(processor, () => store.get(processor)),
    read: (processor) => checked(processor, () => store.read(processor)),
    set: (processor, expected, next, generation) => checked(processor, () => store.set(processor, expected, next, generation)),
    replace: (processor, checkpoint) => checked(processor, () => store.replace(processor, checkpoint)),
    remove: (processor) => checked(processor, () => store.remove(processor))
  })
}

const matches = (actual: Checkpoint, expected: Expected) =>
  actual.position === expected.position && (expected.generation === undefined || actual.generation === expected.generation)

const conflictOf = (processor: string, expected: Expected, actual: Checkpoint) =>
  new CheckpointConflict({
    processor,
    expected: expected.position,
    actual: actual.position,
    ...(expected.generation === undefined || expected.generation === actual.generation
      ? {}
      : { expectedGeneration: expected.generation, actualGeneration: actual.generation })
  })

/**
 * Checkpoints in memory. Inside a `Transactor` transaction, a move is checked when it is made and
 * again when the transaction commits, and applied only then.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<CheckpointStore["Service"]> = Effect.sync(() => {
  const committed = new Map<string, Checkpoint>()
  const origin: Checkpoint = { position: start, generation: 0 }
  const conflict = (journal: Journal) => {
    for (const [processor, { expected }] of journal.checkpoints) {
      if (expected === undefined) continue
      const actual = committed.get(processor) ?? origin
      if (!matches(actual, expected)) return conflictOf(processor, expected, actual)
    }
  }
  const apply = (journal: Journal) => {
    for (const [processor, { next }] of journal.checkpoints) next === undefined ? committed.delete(processor) : committed.set(processor, next)
  }
  const current = (processor: string, journal: Journal | undefined): Checkpoint => {
    const pending = journal?.checkpoints.get(processor)
    return pending === undefined ? committed.get(processor) ?? origin : pending.next ?? origin
  }
  /** Records a change: applied at once outside a transaction, at its commit inside one. */
  const change = (processor: string, expected: Expected | undefined, next: Checkpoint | undefined) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) {
        next === undefined ? committed.delete(processor) : committed.set(processor, next)
        return
      }
      const pending = journal.checkpoints.get(processor)
      // The first expectation in the transaction is the one checked at commit.
      journal.checkpoints.set(processor, { expected: pending === undefined ? expected : pending.expected, next })
      journal.checks.add(conflict)
      journal.commits.add(apply)
    })
  return make({
    list: Effect.sync(() =>
      [...committed].sort(([a], [b]) => byBytes(a, b)).map(([processor, { position }]) => ({ processor, position }))),
    get: (processor) => Effect.map(currentJournal, (journal) => current(processor, journal).position),
    read: (processor) => Effect.map(currentJournal, (journal) => current(processor, journal)),
    set: (processor, expected, next, generation) =>
      Effect.flatMap(currentJournal, (journal) => {
        const actual = current(processor, journal)
        const expectation = { position: expected, generation }
        if (!matches(actual, expectation)) return Effect.fail(conflictOf(processor, expectation, actual))
        return change(processor, expectation, { position: next, generation: actual.generation })
      }),
    replace: (processor, checkpoint) => change(processor, undefined, checkpoint),
    remove: (processor) => change(processor, undefined, undefined)
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<CheckpointStore> = Layer.effect(CheckpointStore, makeMemory)
