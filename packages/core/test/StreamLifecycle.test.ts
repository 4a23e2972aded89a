import { assert, layer } from "@effect/vitest"
import { EventStore, InMemory, StreamLifecycle, Transactor } from "@facta/core"
import { StreamLifecycleConformance } from "@facta/core/testing"
import { Effect } from "effect"

StreamLifecycleConformance.streamLifecycleConformance("memory", InMemory.layer)

layer(InMemory.layer)("StreamLifecycle in memory", (it) => {
  it.effect("inside a transaction that appended (and so holds the store's writer) an archive is refused rather than waiting for ever", () =>
    Effect.gen(function*() {
      const streamId = `held-${crypto.randomUUID()}`
      const refused = yield* Transactor.Transactor.use((transactor) =>
        transactor.withTransaction(Effect.gen(function*() {
          yield* EventStore.EventStore.use((store) => store.append(streamId, [{ type: "Held", data: {} }]))
          return yield* Effect.flip(StreamLifecycle.StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId)))
        }))
      )
      assert.strictEqual(refused._tag, "EventStoreError")
      assert.include(refused.message, "outside a transaction")
      // After the transaction, it archives.
      const closed = yield* StreamLifecycle.StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId))
      assert.strictEqual(closed.marker.version, 2)
    }))
})
