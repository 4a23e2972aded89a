/**
 * Where each event processor keeps its place in the global log. Writes are compare-and-set: a
 * processor moves its checkpoint only from the position it last read, so two instances of one
 * processor cannot both move it, and the loser's batch is rolled back.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import { start } from "./EventStore.ts"
import { currentJournal, type Journal } from "./internal/journal.ts"
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
  actual: Schema.BigInt
}) {
  override get message() {
    return `Checkpoint of "${this.processor}" expected at ${this.expected}, found at ${this.actual}`
  }
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
  /** Moves the processor's position from `expected` to `next`, or fails with a conflict. */
  readonly set: (
    processor: string,
    expected: bigint,
    next: bigint
  ) => Effect.Effect<void, CheckpointConflict | CheckpointStoreError | InvalidInput>
}>()("@facta/core/CheckpointStore") {}

/**
 * A store's methods behind the check of `InvalidInput` on processor names: every implementation
 * passes through it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: CheckpointStore["Service"]): CheckpointStore["Service"] => {
  const invalid = (processor: string) => checkId("processor name", processor, limits.keyLength)
  return CheckpointStore.of({
    list: store.list,
    get: (processor) => {
      const refused = invalid(processor)
      return refused === undefined ? store.get(processor) : Effect.fail(refused)
    },
    set: (processor, expected, next) => {
      const refused = invalid(processor)
      return refused === undefined ? store.set(processor, expected, next) : Effect.fail(refused)
    }
  })
}

/**
 * Checkpoints in memory. Inside a `Transactor` transaction, a move is checked when it is made and
 * again when the transaction commits, and applied only then.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<CheckpointStore["Service"]> = Effect.sync(() => {
  const committed = new Map<string, bigint>()
  const conflict = (journal: Journal) => {
    for (const [processor, { expected }] of journal.checkpoints) {
      const actual = committed.get(processor) ?? start
      if (actual !== expected) return new CheckpointConflict({ processor, expected, actual })
    }
  }
  const apply = (journal: Journal) => {
    for (const [processor, { next }] of journal.checkpoints) committed.set(processor, next)
  }
  const current = (processor: string, journal: Journal | undefined) =>
    journal?.checkpoints.get(processor)?.next ?? committed.get(processor) ?? start
  return make({
    list: Effect.sync(() =>
      [...committed].sort(([a], [b]) => byBytes(a, b)).map(([processor, position]) => ({ processor, position }))),
    get: (processor) => Effect.map(currentJournal, (journal) => current(processor, journal)),
    set: (processor, expected, next) =>
      Effect.flatMap(currentJournal, (journal) => {
        const actual = current(processor, journal)
        if (actual !== expected) return Effect.fail(new CheckpointConflict({ processor, expected, actual }))
        if (journal === undefined) {
          committed.set(processor, next)
        } else {
          const pending = journal.checkpoints.get(processor)
          journal.checkpoints.set(processor, { expected: pending?.expected ?? expected, next })
          journal.checks.add(conflict)
          journal.commits.add(apply)
        }
        return Effect.void
      })
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<CheckpointStore> = Layer.effect(CheckpointStore, makeMemory)
