/**
 * The shared reader on its own, on the in-memory store: one read of the log for every subscriber,
 * the backlog joined exactly where the shared events begin, a full buffer ending only its
 * subscriber.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Schedule, Stream } from "effect"
import { EventStore, InMemory } from "@facta/core"
import { LogFeed } from "../src/index.ts"

/**
 * An in-memory store for the scope, counting how many times the log is subscribed to; with
 * `failing`, its first subscription fails after that many events.
 */
const counting = (failing?: number) =>
  Effect.gen(function*() {
    const store = Context.get(yield* Layer.build(InMemory.layer), EventStore.EventStore)
    let subscribes = 0
    const counted = EventStore.EventStore.of({
      ...store,
      subscribe: (options) => {
        subscribes++
        return failing === undefined || subscribes > 1 ? store.subscribe(options) : store.subscribe(options).pipe(
          Stream.take(failing),
          Stream.concat(Stream.fail(new EventStore.EventStoreError({ message: "connection lost" })))
        )
      }
    })
    return { store: counted, subscribes: () => subscribes }
  })

const appendMany = (store: EventStore.EventStore["Service"], count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => store.append(`feed-${i % 3}`, [{ type: "Ticked", data: { i } }]), {
    discard: true
  })

const everything = (store: EventStore.EventStore["Service"], after: bigint, bufferSize = 1000): LogFeed.SubscribeOptions => ({
  after,
  wanted: () => true,
  backlog: (from) => store.readAll({ after: from }),
  bufferSize
})

const until = (done: Effect.Effect<boolean>) =>
  done.pipe(
    Effect.flatMap((ok) => ok ? Effect.void : Effect.fail("not yet" as const)),
    Effect.retry(Schedule.spaced("5 millis")),
    Effect.timeout("10 seconds"),
    Effect.orDie
  )

describe("LogFeed", () => {
  it.live("one read of the log serves every subscriber, each from its own position, each event once; it stops with the last and starts with the next", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, subscribes } = yield* counting()
      const feed = yield* LogFeed.make.pipe(Effect.provideService(EventStore.EventStore, store))
      yield* appendMany(store, 10)
      // The first starts the reader at 5; the others join it behind (a backlog) or ahead of it.
      const starts = [5, ...Array.from({ length: 19 }, (_, i) => (i * 7) % 11)]
      const fibers = yield* Effect.forEach(starts, (after) =>
        feed.subscribe(everything(store, BigInt(after))).pipe(Stream.take(30 - after), Stream.runCollect, Effect.forkChild))
      yield* until(Effect.map(feed.subscribers, (n) => n === 20))
      yield* appendMany(store, 20)
      for (const [i, fiber] of fibers.entries()) {
        const events = yield* Fiber.join(fiber)
        assert.deepStrictEqual(events.map((event) => Number(event.position)), Array.from({ length: 30 - starts[i]! }, (_, k) => starts[i]! + k + 1))
      }
      assert.strictEqual(subscribes(), 1)
      yield* until(Effect.map(feed.subscribers, (n) => n === 0))
      const next = yield* feed.subscribe(everything(store, 29n)).pipe(Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual(next.map((event) => Number(event.position)), [30])
      assert.strictEqual(yield* feed.readersStarted, 2)
      assert.strictEqual(subscribes(), 2)
    })))

  it.live("when the shared read fails every subscriber fails with its error, and the next subscriber starts a new read", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, subscribes } = yield* counting(3)
      const feed = yield* LogFeed.make.pipe(Effect.provideService(EventStore.EventStore, store))
      const fibers = yield* Effect.forEach([0n, 0n, 0n], (after) =>
        feed.subscribe(everything(store, after)).pipe(Stream.runCollect, Effect.exit, Effect.forkChild))
      yield* until(Effect.map(feed.subscribers, (n) => n === 3))
      yield* appendMany(store, 5)
      for (const fiber of fibers) {
        const exit = yield* Fiber.join(fiber)
        assert.isTrue(Exit.isFailure(exit))
        assert.include(JSON.stringify(exit), "connection lost")
      }
      assert.strictEqual(yield* feed.subscribers, 0)
      // A new read, from the subscriber's own position: the backlog and what comes next.
      const next = yield* feed.subscribe(everything(store, 2n)).pipe(Stream.take(3), Stream.runCollect)
      assert.deepStrictEqual(next.map((event) => Number(event.position)), [3, 4, 5])
      assert.strictEqual(subscribes(), 2)
    })))

  it.live("a subscriber whose buffer fills fails with BufferFull after what it holds; the others go on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store } = yield* counting()
      const feed = yield* LogFeed.make.pipe(Effect.provideService(EventStore.EventStore, store))
      const gate = yield* Deferred.make<void>()
      const received: Array<bigint> = []
      const slow = yield* feed.subscribe(everything(store, 0n, 5)).pipe(
        Stream.runForEach((event) => Effect.andThen(Deferred.await(gate), Effect.sync(() => received.push(event.position)))),
        Effect.exit,
        Effect.forkChild
      )
      const fast = yield* feed.subscribe(everything(store, 0n, 5)).pipe(Stream.take(20), Stream.runCollect, Effect.forkChild)
      yield* until(Effect.map(feed.subscribers, (n) => n === 2))
      // One at a time, so the fast subscriber keeps up.
      for (let i = 0; i < 20; i++) yield* Effect.andThen(store.append("feed-x", [{ type: "Ticked", data: { i } }]), Effect.sleep("1 millis"))
      yield* Deferred.succeed(gate, undefined)
      const exit = yield* Fiber.join(slow)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(JSON.stringify(exit), "BufferFull")
      // The one it was handling, then the five its buffer held.
      assert.deepStrictEqual(received.map(Number), [1, 2, 3, 4, 5, 6])
      assert.strictEqual((yield* Fiber.join(fast)).length, 20)
    })))
})
