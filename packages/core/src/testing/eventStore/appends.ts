/**
 * Appends: what each expected version accepts and refuses, what a refused batch leaves, and
 * what is stored, verbatim, with its versions and positions.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { EventStore } from "../../EventStore.ts"
import { appendExpecting, events, expectConflict, readStream, unique, visible } from "./fixtures.ts"

export const appends = (it: Vitest.MethodsNonLive<EventStore>) => {
  it.effect("appends to a new stream with noStream and rejects a second noStream", () =>
    Effect.gen(function*() {
      const streamId = unique("no-stream")
      const result = yield* appendExpecting(streamId, 2, "noStream")
      assert.strictEqual(result.version, 2)
      assert.deepStrictEqual(result.events.map((event) => event.version), [1, 2])
      yield* expectConflict(appendExpecting(streamId, 1, "noStream"), "noStream", 2)
      assert.strictEqual((yield* readStream(streamId)).length, 2)
    }))

  it.effect("streamExists rejects a missing stream and accepts an existing one", () =>
    Effect.gen(function*() {
      const streamId = unique("exists")
      yield* expectConflict(appendExpecting(streamId, 1, "streamExists"), "streamExists", 0)
      assert.strictEqual((yield* readStream(streamId)).length, 0)
      yield* appendExpecting(streamId, 1, "noStream")
      const result = yield* appendExpecting(streamId, 2, "streamExists")
      assert.strictEqual(result.version, 3)
    }))

  it.effect("an exact version is accepted only when it is the stream's last version", () =>
    Effect.gen(function*() {
      const streamId = unique("exact")
      yield* expectConflict(appendExpecting(streamId, 1, 1), 1, 0)
      assert.strictEqual((yield* appendExpecting(streamId, 2, 0)).version, 2)
      yield* expectConflict(appendExpecting(streamId, 1, 1), 1, 2)
      yield* expectConflict(appendExpecting(streamId, 1, 3), 3, 2)
      yield* expectConflict(appendExpecting(streamId, 1, 0), 0, 2)
      assert.strictEqual((yield* appendExpecting(streamId, 1, 2)).version, 3)
      assert.deepStrictEqual((yield* readStream(streamId)).map((event) => event.version), [1, 2, 3])
    }))

  it.effect("any appends whatever the stream's version", () =>
    Effect.gen(function*() {
      const streamId = unique("any")
      assert.strictEqual((yield* appendExpecting(streamId, 1, "any")).version, 1)
      assert.strictEqual((yield* appendExpecting(streamId, 2, "any")).version, 3)
    }))

  it.effect("appending no events only checks the expectation", () =>
    Effect.gen(function*() {
      const streamId = unique("empty")
      const store = yield* EventStore
      assert.strictEqual((yield* store.append(streamId, [], { expectedVersion: "noStream" })).version, 0)
      yield* expectConflict(store.append(streamId, [], { expectedVersion: "streamExists" }), "streamExists", 0)
      yield* appendExpecting(streamId, 2, "noStream")
      const result = yield* store.append(streamId, [], { expectedVersion: 2 })
      assert.strictEqual(result.version, 2)
      assert.strictEqual(result.events.length, 0)
    }))

  it.effect("a rejected batch writes none of its events", () =>
    Effect.gen(function*() {
      const streamId = unique("rejected")
      const store = yield* EventStore
      const first = yield* appendExpecting(streamId, 1, "noStream")
      yield* expectConflict(store.append(streamId, events("Rejected", 3), { expectedVersion: 5 }), 5, 1)
      assert.deepStrictEqual((yield* readStream(streamId)).map((event) => event.type), ["Tested"])
      yield* visible(first.events[0]!.position)
      const after = yield* Stream.runCollect(store.readAll({ after: first.events[0]!.position }))
      assert.isFalse(after.some((event) => event.streamId === streamId))
    }))

  it.effect("stores ids, types, data and metadata verbatim and assigns versions and positions", () =>
    Effect.gen(function*() {
      const streamId = unique("verbatim")
      const store = yield* EventStore
      const id = crypto.randomUUID()
      const data = { text: "quotes ' \" ; -- \\ and unicode ✓ 😀 𝄞", nested: { list: [1, 2.5, null, true], empty: {} } }
      const metadata = { correlationId: "c-1", causationId: "e-0", user: { name: "Ada" } }
      const result = yield* store.append(streamId, [{ id, type: "Verbatim", data, metadata }, { type: "Second", data: {} }])
      const stored = yield* readStream(streamId)
      assert.strictEqual(stored.length, 2)
      const [first, second] = stored
      assert.strictEqual(first!.id, id)
      assert.strictEqual(first!.type, "Verbatim")
      assert.strictEqual(first!.streamId, streamId)
      assert.deepStrictEqual(first!.data, data)
      assert.deepStrictEqual(first!.metadata, metadata)
      assert.strictEqual(first!.version, 1)
      assert.match(second!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      assert.isTrue(second!.position > first!.position)
      assert.deepStrictEqual(stored.map((event) => event.position), result.events.map((event) => event.position))
      assert.deepStrictEqual(stored.map((event) => event.id), result.events.map((event) => event.id))
    }))

  it.effect("stores stream ids and types with quotes, semicolons, unicode and 10 kB of text", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const odd = [
        `it's "quoted"; DROP TABLE events; --`,
        `ünïcödé ✓ 😀 ${crypto.randomUUID()}`,
        // Random text does not compress, so it must not land in a btree index as it is.
        Array.from({ length: 10_000 }, () => String.fromCharCode(32 + Math.floor(Math.random() * 95))).join("")
      ]
      for (const name of odd) {
        const streamId = `${name}-${crypto.randomUUID()}`
        yield* store.append(streamId, [{ type: name, data: { name } }], { expectedVersion: "noStream" })
        const stored = yield* readStream(streamId)
        assert.strictEqual(stored.length, 1)
        assert.strictEqual(stored[0]!.streamId, streamId)
        assert.strictEqual(stored[0]!.type, name)
        assert.deepStrictEqual(stored[0]!.data, { name })
        yield* visible(stored[0]!.position)
        const byType = yield* Stream.runCollect(store.readAll({ after: stored[0]!.position - 1n, types: [name] }))
        assert.deepStrictEqual(byType.map((event) => event.id), [stored[0]!.id])
      }
    }))

  it.effect("fails with InvalidInput on data that is not JSON and writes nothing", () =>
    Effect.gen(function*() {
      const streamId = unique("not-json")
      const store = yield* EventStore
      const error = yield* Effect.flip(store.append(streamId, [
        { type: "Fine", data: { ok: true } },
        { type: "Bad", data: { amount: 10n } }
      ]))
      assert.strictEqual(error._tag, "InvalidInput")
      assert.strictEqual((yield* readStream(streamId)).length, 0)
    }))
}
