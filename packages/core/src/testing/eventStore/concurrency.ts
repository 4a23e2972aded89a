/**
 * Concurrent writers to one stream: contiguous versions, every acknowledged event stored, the
 * others refused as conflicts.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Result } from "effect"
import { EventStore, WrongExpectedVersion } from "../../EventStore.ts"
import { readStream, unique } from "./fixtures.ts"

export const concurrency = (it: Vitest.MethodsNonLive<EventStore>) => {
  it.effect("50 concurrent appenders to one stream leave contiguous versions and every acknowledged event", () =>
    Effect.gen(function*() {
      const streamId = unique("concurrent")
      const store = yield* EventStore
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => store.append(streamId, [{ type: "Concurrent", data: { writer: i } }, { type: "Concurrent", data: { writer: i } }]),
        { concurrency: "unbounded" }
      )
      const stored = yield* readStream(streamId)
      assert.deepStrictEqual(stored.map((event) => event.version), Array.from({ length: 100 }, (_, i) => i + 1))
      const acknowledged = results.flatMap((result) => result.events.map((event) => event.id)).sort()
      assert.deepStrictEqual(stored.map((event) => event.id).sort(), acknowledged)
      // Each writer's two events stay adjacent: a batch is one atomic append.
      for (let i = 0; i < 100; i += 2) assert.deepStrictEqual(stored[i]!.data, stored[i + 1]!.data)
    }))

  it.effect("50 concurrent optimistic writers: the acknowledged ones are stored, the others conflict", () =>
    Effect.gen(function*() {
      const streamId = unique("optimistic")
      const store = yield* EventStore
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const current = yield* readStream(streamId)
            return yield* store.append(streamId, [{ type: "Optimistic", data: { writer: i } }], {
              expectedVersion: current.length
            })
          }).pipe(Effect.result),
        { concurrency: "unbounded" }
      )
      const acknowledged = results.filter(Result.isSuccess).map((result) => result.success.events[0]!)
      for (const failure of results.filter(Result.isFailure)) assert.instanceOf(failure.failure, WrongExpectedVersion)
      const stored = yield* readStream(streamId)
      assert.isAtLeast(acknowledged.length, 1)
      assert.strictEqual(stored.length, acknowledged.length)
      assert.deepStrictEqual(stored.map((event) => event.version), Array.from({ length: stored.length }, (_, i) => i + 1))
      assert.deepStrictEqual(stored.map((event) => event.id).sort(), acknowledged.map((event) => event.id).sort())
    }))
}
