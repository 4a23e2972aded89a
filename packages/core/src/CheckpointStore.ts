/**
 * Where each event processor keeps its place in the global log. Writes are compare-and-set: a
 * processor moves its checkpoint only from the position it last read, so two instances of one
 * processor cannot both move it, and the loser's batch is rolled back.
 *
 * @since 0.1.0
 */
import { Context, Effect, Schema } from "effect"
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
