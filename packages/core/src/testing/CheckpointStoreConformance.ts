/**
 * The behaviour every {@link CheckpointStore} implementation must show.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Result } from "effect"
import { CheckpointConflict, CheckpointStore } from "../CheckpointStore.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/**
 * Registers the conformance suite for the store that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const checkpointStoreConformance = <E>(name: string, storeLayer: Layer.Layer<CheckpointStore, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`CheckpointStore conformance: ${name}`, (it) => {
    it.effect("starts at the start of the log and moves by compare-and-set", () =>
      Effect.gen(function*() {
        const store = yield* CheckpointStore
        const processor = unique("processor")
        assert.strictEqual(yield* store.get(processor), 0n)
        yield* store.set(processor, 0n, 10n)
        assert.strictEqual(yield* store.get(processor), 10n)
        const conflict = yield* Effect.flip(store.set(processor, 0n, 20n))
        assert.deepStrictEqual(conflict, new CheckpointConflict({ processor, expected: 0n, actual: 10n }))
        assert.strictEqual(yield* store.get(processor), 10n)
        yield* store.set(processor, 10n, 20n)
        assert.strictEqual(yield* store.get(processor), 20n)
      }))

    it.effect("lists every processor's position, ordered by name", () =>
      Effect.gen(function*() {
        const store = yield* CheckpointStore
        const prefix = unique("listed")
        yield* store.set(`${prefix}-b`, 0n, 7n)
        yield* store.set(`${prefix}-a`, 0n, 3n)
        const listed = (yield* store.list).filter(({ processor }) => processor.startsWith(prefix))
        assert.deepStrictEqual(listed, [{ processor: `${prefix}-a`, position: 3n }, { processor: `${prefix}-b`, position: 7n }])
      }))

    it.effect("keeps positions past 2^64 exactly", () =>
      Effect.gen(function*() {
        const store = yield* CheckpointStore
        const processor = unique("big")
        const huge = (2n ** 64n) * 12_345n + 9_007_199_254_740_993n
        yield* store.set(processor, 0n, huge)
        assert.strictEqual(yield* store.get(processor), huge)
        yield* store.set(processor, huge, huge + 1n)
        assert.strictEqual(yield* store.get(processor), huge + 1n)
      }))

    it.effect("of concurrent writers from one position, exactly one wins", () =>
      Effect.gen(function*() {
        const store = yield* CheckpointStore
        const processor = unique("contended")
        const results = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
          (next) => Effect.result(store.set(processor, 0n, next)),
          { concurrency: "unbounded" }
        )
        const winners = results.filter(Result.isSuccess)
        assert.strictEqual(winners.length, 1)
        for (const loser of results.filter(Result.isFailure)) assert.instanceOf(loser.failure, CheckpointConflict)
        assert.notStrictEqual(yield* store.get(processor), 0n)
      }))
    it.effect("a move that names a generation conflicts once the checkpoint is at another; replace and remove", () =>
      Effect.gen(function*() {
        const store = yield* CheckpointStore
        const processor = unique("generations")
        assert.deepStrictEqual(yield* store.read(processor), { position: 0n, generation: 0 })
        yield* store.set(processor, 0n, 5n, 0)
        yield* store.replace(processor, { position: 3n, generation: 2 })
        assert.deepStrictEqual(yield* store.read(processor), { position: 3n, generation: 2 })
        const stale = yield* Effect.flip(store.set(processor, 3n, 9n, 0))
        assert.deepStrictEqual(stale, new CheckpointConflict({ processor, expected: 3n, actual: 3n, expectedGeneration: 0, actualGeneration: 2 }))
        assert.include(stale.message, "generation 0 expected, 2 found")
        yield* store.set(processor, 3n, 9n, 2)
        // A move that names no generation checks the position alone; the generation stays.
        yield* store.set(processor, 9n, 10n)
        assert.deepStrictEqual(yield* store.read(processor), { position: 10n, generation: 2 })
        yield* store.remove(processor)
        assert.deepStrictEqual(yield* store.read(processor), { position: 0n, generation: 0 })
        assert.isFalse((yield* store.list).some((entry) => entry.processor === processor))
        // A checkpoint that does not exist is at generation 0: a move expecting another conflicts.
        assert.instanceOf(yield* Effect.flip(store.set(processor, 0n, 1n, 1)), CheckpointConflict)
        assert.deepStrictEqual(yield* store.read(processor), { position: 0n, generation: 0 })
      }))
  })
