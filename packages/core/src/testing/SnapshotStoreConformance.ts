/**
 * The behaviour every {@link SnapshotStore} implementation must show.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { SnapshotStore } from "../SnapshotStore.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/**
 * Registers the conformance suite for the store that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const snapshotStoreConformance = <E>(name: string, storeLayer: Layer.Layer<SnapshotStore, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`SnapshotStore conformance: ${name}`, (it) => {
    it.effect("keeps the newest snapshot of a schema version, and a snapshot of another schema version replaces it", () =>
      Effect.gen(function*() {
        const store = yield* SnapshotStore
        const streamId = unique(`it's "odd"; ✓`)
        assert.isTrue(Option.isNone(yield* store.load(streamId)))
        yield* store.save({ streamId, schemaVersion: 1, version: 10, state: { balance: 10, list: [1, "two", null] } })
        yield* store.save({ streamId, schemaVersion: 1, version: 5, state: { balance: 5 } })
        assert.deepStrictEqual(yield* store.load(streamId), Option.some({ streamId, schemaVersion: 1, version: 10, state: { balance: 10, list: [1, "two", null] } }))
        yield* store.save({ streamId, schemaVersion: 1, version: 12, state: { balance: 12 } })
        assert.strictEqual(Option.getOrThrow(yield* store.load(streamId)).version, 12)
        yield* store.save({ streamId, schemaVersion: 2, version: 3, state: { total: 3 } })
        assert.deepStrictEqual(yield* store.load(streamId), Option.some({ streamId, schemaVersion: 2, version: 3, state: { total: 3 } }))
      }))

    it.effect("deletes a stream's snapshot, and leaves the others; deleting none is no error", () =>
      Effect.gen(function*() {
        const store = yield* SnapshotStore
        const [kept, dropped] = [unique("kept"), unique("dropped")]
        yield* store.save({ streamId: kept, schemaVersion: 1, version: 1, state: { name: "Grace" } })
        yield* store.save({ streamId: dropped, schemaVersion: 1, version: 1, state: { name: "Ada" } })
        yield* store.delete(dropped)
        assert.isTrue(Option.isNone(yield* store.load(dropped)))
        assert.isTrue(Option.isSome(yield* store.load(kept)))
        yield* store.delete(unique("never"))
        yield* store.save({ streamId: dropped, schemaVersion: 1, version: 1, state: { name: "again" } })
        assert.deepStrictEqual(Option.map(yield* store.load(dropped), (snapshot) => snapshot.state), Option.some({ name: "again" }), "a new snapshot after it")
      }))
  })
