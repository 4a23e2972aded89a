/**
 * Where each event processor keeps its place in the global log. Writes are compare-and-set: a
 * processor moves its checkpoint only from the position it last read, so two instances of one
 * processor cannot both move it, and the loser's batch is rolled back.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref, Schema } from "effect"
import { start } from "./EventStore.ts"

/**
 * The checkpoint was not where the writer expected it: another instance moved it.
 *
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
 * @since 0.1.0
 */
export class CheckpointStoreError extends Schema.TaggedError<CheckpointStoreError>()("CheckpointStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @since 0.1.0
 */
export class CheckpointStore extends Context.Service<CheckpointStore, {
  /** The processor's position; the start of the log when it has none. */
  readonly get: (processor: string) => Effect.Effect<bigint, CheckpointStoreError>
  /** Moves the processor's position from `expected` to `next`, or fails with a conflict. */
  readonly set: (
    processor: string,
    expected: bigint,
    next: bigint
  ) => Effect.Effect<void, CheckpointConflict | CheckpointStoreError>
}>()("@facta/core/CheckpointStore") {}

/**
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<CheckpointStore["Service"]> = Effect.map(
  Ref.make(new Map<string, bigint>()),
  (state) =>
    CheckpointStore.of({
      get: (processor) => Effect.map(Ref.get(state), (positions) => positions.get(processor) ?? start),
      set: (processor, expected, next) =>
        Effect.flatten(Ref.modify(state, (positions): readonly [Effect.Effect<void, CheckpointConflict>, Map<string, bigint>] => {
          const actual = positions.get(processor) ?? start
          if (actual !== expected) {
            return [Effect.fail(new CheckpointConflict({ processor, expected, actual })), positions]
          }
          return [Effect.void, new Map(positions).set(processor, next)]
        }))
    })
)

/**
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<CheckpointStore> = Layer.effect(CheckpointStore, makeMemory)
