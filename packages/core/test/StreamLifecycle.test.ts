import { assert, it, layer } from "@effect/vitest"
import { EventStore, InMemory, StreamLifecycle, Transactor } from "@facta/core"
import { StreamLifecycleConformance } from "@facta/core/testing"
import { Effect, Layer, Tracer } from "effect"

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

it.effect("InMemory.eventStoreWithLifecycle: the lifecycle over the store's own log, each operation a span naming its stream", () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const lifecycle = yield* StreamLifecycle.StreamLifecycle
    yield* store.append("ledger-1", [{ type: "Entered", data: {} }, { type: "Entered", data: {} }])
    yield* lifecycle.truncateBefore("ledger-1", 2)
    yield* lifecycle.delete("ledger-1")
    const refused = yield* Effect.flip(store.append("ledger-1", [{ type: "Entered", data: {} }]))
    assert.strictEqual(refused._tag, "StreamDeleted")
    yield* lifecycle.applyRetention([{ category: "ledger", maxCount: 1 }], { dryRun: true })
    const named = spans.filter((span) => span.name.startsWith("StreamLifecycle.")).map((span) => [span.name, span.attributes.get("streamId")])
    assert.deepStrictEqual(named, [
      ["StreamLifecycle.truncateBefore", "ledger-1"],
      ["StreamLifecycle.delete", "ledger-1"],
      ["StreamLifecycle.applyRetention", undefined]
    ])
  }).pipe(Effect.provide(Layer.merge(InMemory.eventStoreWithLifecycle, Layer.succeed(Tracer.Tracer, tracer))))
})
