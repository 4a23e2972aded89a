/**
 * Commands with an id: the events one produced, found again; a repeat appends nothing and
 * answers the first result, under concurrency too.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import { EventStore } from "../../EventStore.ts"
import { Add, Added, counters, Noted, readStream, unique } from "./fixtures.ts"

export const commands = (it: Vitest.MethodsNonLive<EventStore>) => {
  it.effect("readCommand finds the events one command produced on its stream, and only those", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const [streamId, other] = [unique("commands"), unique("commands-other")]
      yield* store.append(streamId, [{ type: "Before", data: {} }])
      yield* store.append(streamId, [1, 2].map((n) => ({ type: "ByCommand", data: { n }, metadata: { commandId: "c-1" } })))
      yield* store.append(other, [{ type: "ByCommand", data: { n: 3 }, metadata: { commandId: "c-1" } }])
      const found = yield* store.readCommand(streamId, "c-1")
      assert.deepStrictEqual(found.map((event) => [event.version, event.data]), [[2, { n: 1 }], [3, { n: 2 }]])
      assert.deepStrictEqual(yield* store.readCommand(streamId, "c-2"), [])
      assert.deepStrictEqual(yield* store.readCommand(unique("none"), "c-1"), [])
    }))

  it.effect("a command repeated with its commandId appends nothing and returns the first result", () =>
    Effect.gen(function*() {
      const streamId = unique("idempotent")
      const first = yield* counters.execute(streamId, new Add({ amount: 5 }), { commandId: "add-5" })
      yield* counters.execute(streamId, new Add({ amount: 7 }))
      // The id names the command: a repeat is found whatever its body.
      for (const body of [new Add({ amount: 5 }), new Add({ amount: 100 })]) {
        const again = yield* counters.execute(streamId, body, { commandId: "add-5" })
        assert.deepStrictEqual(
          [again.version, again.state, again.events.map((event) => event.data)],
          [2, 5, [new Added({ amount: 5 }), new Noted()]]
        )
        assert.deepStrictEqual(again.events.map((event) => event.id), first.events.map((event) => event.id))
      }
      const stored = yield* readStream(streamId)
      assert.strictEqual(stored.length, 4)
      assert.strictEqual(stored[0]!.metadata.commandId, "add-5")
      assert.strictEqual(stored[2]!.metadata.commandId, undefined)
      assert.strictEqual((yield* counters.load(streamId)).state, 12)
    }))

  it.effect("of concurrent handlings of one commandId, one appends and all return its result", () =>
    Effect.gen(function*() {
      const streamId = unique("idempotent-race")
      const results = yield* Effect.forEach(
        Array.from({ length: 8 }),
        () => counters.execute(streamId, new Add({ amount: 3 }), { commandId: "once" }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(new Set(results.map((result) => `${result.version}:${result.state}`)), new Set(["2:3"]))
      assert.strictEqual((yield* readStream(streamId)).length, 2)
    }))
}
