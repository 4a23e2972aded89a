/**
 * Subscriptions: the past, then live events, each exactly once and in order, from a position,
 * to many subscribers at once.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { EventStore } from "../../EventStore.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import { dataOf, events, unique } from "./fixtures.ts"

export const subscriptions = (it: Vitest.MethodsNonLive<EventStore>) => {
  it.effect("subscribe delivers the past, then live events, each exactly once and in order", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const streamId = unique("subscribed")
      const type = unique("Live")
      yield* store.append(streamId, events(type, 3))
      const fiber = yield* store.subscribe({ types: [type], batchSize: 2 }).pipe(
        Stream.take(8),
        Stream.runCollect,
        Effect.forkChild
      )
      yield* Effect.sleep("50 millis")
      yield* store.append(streamId, events(type, 2, 4))
      yield* Effect.sleep("50 millis")
      yield* store.append(unique("other"), events(type, 1, 6))
      yield* store.append(streamId, events(type, 2, 7))
      const seen = yield* Fiber.join(fiber).pipe(Effect.timeout("30 seconds"))
      assert.deepStrictEqual(dataOf(seen), Array.from({ length: 8 }, (_, i) => ({ n: i + 1 })))
      // Nothing is delivered twice: a ninth event never arrives while nothing more is appended.
      const more = yield* store.subscribe({ types: [type], after: seen[7]!.position }).pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.timeoutOption("300 millis")
      )
      assert.isTrue(Option.isNone(more))
    }))

  it.effect("subscribe from a position skips what came before it", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const type = unique("From")
      const written = yield* store.append(unique("from"), events(type, 5))
      const seen = yield* store.subscribe({ types: [type], after: written.events[1]!.position }).pipe(
        Stream.take(3),
        Stream.runCollect,
        Effect.timeout("30 seconds")
      )
      assert.deepStrictEqual(dataOf(seen), [{ n: 3 }, { n: 4 }, { n: 5 }])
    }))

  it.effect("many subscribers each see every event of concurrent writers once", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const type = unique("Fanout")
      // Each subscriber's events so far, so a timeout says how far each got.
      const received: Array<Array<RecordedEvent>> = [[], [], []]
      const subscribers = yield* Effect.forEach(received, (into) =>
        store.subscribe({ types: [type] }).pipe(
          Stream.take(40),
          Stream.runForEach((event) => Effect.sync(() => into.push(event))),
          Effect.as(into),
          Effect.forkChild
        ))
      yield* Effect.forEach(
        Array.from({ length: 8 }, (_, writer) => writer),
        (writer) =>
          Effect.forEach([0, 1, 2, 3, 4], (i) => store.append(unique(`fanout-${writer}`), [{ type, data: { writer, i } }]), { discard: true }),
        { concurrency: "unbounded", discard: true }
      )
      for (const subscriber of subscribers) {
        const seen = yield* Fiber.join(subscriber).pipe(
          Effect.timeoutOrElse({
            duration: "30 seconds",
            orElse: () => Effect.die(new Error(`subscribers still waiting after 30 s; they had ${received.map((events) => events.length).join(", ")} of 40 events`))
          })
        )
        assert.strictEqual(new Set(seen.map((event) => event.id)).size, 40)
        for (let i = 1; i < seen.length; i++) assert.isTrue(seen[i]!.position > seen[i - 1]!.position)
      }
    }))
}
