/**
 * Catching up and exactly once: a projection catches up, follows live appends and reports its
 * status (to its handle and to the status board); interrupted at random points, or with its
 * checkpoint moved by another instance mid-batch, it still applies every event once; a processor
 * of a rare type does not reread the events of other types on every wake-up.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, Random, Schedule, Schema, Scope, Stream } from "effect"
import { CheckpointStore } from "../../CheckpointStore.ts"
import * as Documents from "../../Documents.ts"
import { EventStore } from "../../EventStore.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import * as StatusBoard from "../../StatusBoard.ts"
import { append, type ConcurrentTest, counterEvents, foldTallies, type Services, Tally, tallyProjection, unique } from "./fixtures.ts"

export const catchUp = (it: Vitest.MethodsNonLive<Services>, concurrentTest: ConcurrentTest) => {
  it.effect("a projection catches up, follows live appends, and reports its status", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const { projection, tallies } = tallyProjection(unique("tally"), events)
      yield* append("a", events.added, [1, 2, 3])
      const handle = yield* Processor.start(projection, { batchSize: 2 })
      yield* handle.whenCaughtUp
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("a")), new Tally({ count: 3, sum: 6, lastVersion: 3 }))
      yield* append("b", events.added, [10])
      yield* append("a", events.added, [4])
      yield* handle.whenCaughtUp
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("a")), new Tally({ count: 4, sum: 10, lastVersion: 4 }))
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("b")), new Tally({ count: 1, sum: 10, lastVersion: 1 }))
      assert.strictEqual(yield* handle.lag, 0)
      const status = yield* handle.status
      assert.strictEqual(status.name, projection.name)
      assert.isTrue(status.position > 0n)
    }).pipe(Effect.scoped))

  for (const style of ["getAndUpsert", "update"] as const) {
    it.effect(`interrupted at random points while events arrive, the projection ends equal to a fold of the log (${style})`, () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const { projection, tallies } = tallyProjection(unique("interrupted"), events, { slow: true, style })
        const streams = ["s1", "s2", "s3"].map((s) => `${s}-${events.added}`)
        const writer = yield* Effect.forEach(Array.from({ length: 60 }, (_, i) => i), (i) =>
          append(streams[i % 3]!, events.added, [i, i + 1]).pipe(Effect.andThen(Effect.sleep("3 millis"))), { discard: true }).pipe(Effect.forkChild)
        for (let round = 0; round < 12; round++) {
          const scope = yield* Scope.make()
          yield* Processor.start(projection, { batchSize: 7 }).pipe(Scope.provide(scope))
          yield* Effect.sleep(`${yield* Random.nextIntBetween(1, 25)} millis`)
          yield* Scope.close(scope, Exit.void)
        }
        yield* Fiber.join(writer)
        const handle = yield* Processor.start(projection, { batchSize: 7 })
        yield* handle.whenCaughtUp
        const expected = yield* foldTallies(events.added)
        for (const streamId of streams) {
          const tally = Option.getOrThrow(yield* tallies.get(streamId))
          assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, expected.get(streamId))
        }
        assert.strictEqual((yield* handle.status).state === "halted", false)
      }).pipe(Effect.scoped))
  }

  concurrentTest("a checkpoint moved by another instance mid-batch rolls the batch back", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("contended")
      const counts = Documents.make(name, Schema.Struct({ handled: Schema.Int }))
      const entered = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const projection = Projection.make({
        name,
        event: events.Added,
        handlers: {
          [events.added]: (event: { readonly data: { readonly amount: number } }) =>
            Effect.gen(function*() {
              if (event.data.amount === 1) {
                yield* Deferred.succeed(entered, undefined)
                yield* Deferred.await(proceed)
              }
              const current = Option.getOrElse(yield* counts.get("all"), () => ({ handled: 0 }))
              yield* counts.upsert("all", { handled: current.handled + 1 })
            })
        }
      })
      const written = yield* append("c", events.added, [1, 2, 3])
      const handle = yield* Processor.start(projection, { batchSize: 10 })
      yield* Deferred.await(entered)
      // Another instance claims the whole batch while this one is inside it.
      const checkpoints = yield* CheckpointStore
      yield* checkpoints.set(name, 0n, written.events[2]!.position)
      yield* Deferred.succeed(proceed, undefined)
      yield* append("c", events.added, [4])
      yield* handle.whenCaughtUp
      assert.deepStrictEqual(yield* counts.get("all"), Option.some({ handled: 1 }))
    }).pipe(Effect.scoped))

  it.effect("a processor of a rare type reads the events of other types once, not on every wake-up", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const { projection, tallies } = tallyProjection(unique("rare"), events)
      const store = yield* EventStore
      const reads: Array<bigint> = []
      const watched = EventStore.of({
        ...store,
        readPage: (options) => Effect.suspend(() => {
          reads.push(options?.after ?? 0n)
          return store.readPage(options)
        })
      })
      const other = unique("Other")
      yield* append("rare", events.added, [1])
      const others = yield* store.append("rare-others", Array.from({ length: 30 }, () => ({ type: other, data: {} })))
      const handle = yield* Processor.start(projection, { batchSize: 10 }).pipe(Effect.provideService(EventStore, watched))
      yield* handle.whenCaughtUp
      // Wake-ups with nothing to handle, then one more event to handle.
      for (let i = 0; i < 3; i++) {
        yield* store.append("rare-others", [{ type: other, data: {} }])
        yield* Effect.sleep("20 millis")
      }
      yield* append("rare", events.added, [2])
      yield* handle.whenCaughtUp
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("rare")), new Tally({ count: 2, sum: 3, lastVersion: 2 }))
      assert.isTrue(reads.length >= 2)
      const lastOther = others.events[others.events.length - 1]!.position
      for (const after of reads.slice(1)) assert.isTrue(after >= lastOther, `a read started at ${after}, before ${lastOther}`)
    }).pipe(Effect.scoped))

  it.effect("a running processor reports its state and checkpoint to the status board, by instance", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const { projection } = tallyProjection(unique("reporting"), events)
      yield* append(unique("reported"), events.added, [1, 2])
      const handle = yield* Processor.start(projection, { instance: "conformance-1" })
      yield* handle.whenCaughtUp
      const board = yield* StatusBoard.StatusBoard
      const entry = yield* board.list.pipe(
        Effect.map((entries) => entries.find((entry) => entry.processor === projection.name)),
        Effect.repeat({ until: (entry) => entry?.state === "live", schedule: Schedule.spaced("20 millis"), times: 500 })
      )
      const { position } = yield* handle.status
      assert.deepStrictEqual([entry?.instance, entry?.state], ["conformance-1", "live"])
      assert.strictEqual(entry?.lag, 0, "lag")
      assert.strictEqual(entry?.position, position, "position")
    }).pipe(Effect.scoped))

  it.effect("hasHandled is exact per segment: a position is handled once every segment is past its events up to it", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const other = unique("Other")
      const processor = { name: unique("handled"), types: [events.added], segments: 2 }
      const store = yield* EventStore
      const checkpoints = yield* CheckpointStore
      for (let i = 0; i < 16; i++) yield* append(`s${i}-${events.added}`, events.added, [i])
      const positions = yield* Effect.forEach([0, 1], (index) =>
        Effect.map(
          Stream.runCollect(store.readAll({ types: [events.added], segment: { index, count: 2 } })),
          (read) => Array.from(read, (event) => event.position)
        ))
      const [zero, one] = positions as [Array<bigint>, Array<bigint>]
      assert.isTrue(zero.length > 0 && one.length > 0, "both segments have events")
      const all = [...zero, ...one].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
      const setCheckpoint = (index: number, position: bigint) =>
        checkpoints.replace(Processor.segmentName(processor.name, { index, count: 2 }), { position, generation: 0 })
      const handled = (position: bigint) => Processor.hasHandled(processor, position)
      // Nothing handled: only a position before every event is.
      assert.isTrue(yield* handled(all[0]! - 1n))
      assert.isFalse(yield* handled(all[0]!))
      // Segment 0 has handled all of its events, segment 1 none: handled exactly up to before segment 1's first.
      yield* setCheckpoint(0, zero[zero.length - 1]!)
      for (const position of all) assert.strictEqual(yield* handled(position), position < one[0]!, `position ${position}`)
      // Segment 1 at its first event: handled up to before its second.
      yield* setCheckpoint(1, one[0]!)
      const second = one[1] ?? all[all.length - 1]! + 1n
      for (const position of all) assert.strictEqual(yield* handled(position), position < second, `position ${position}`)
      // Both done; an event of a type the processor does not handle needs nothing of it.
      yield* setCheckpoint(1, one[one.length - 1]!)
      const unrelated = yield* store.append(`x-${other}`, [{ type: other, data: {} }])
      assert.isTrue(yield* handled(unrelated.events[0]!.position))
      // One more of its own events is not handled until its segment's checkpoint passes it.
      const more = yield* append(`s0-${events.added}`, events.added, [99])
      assert.isFalse(yield* handled(more.events[0]!.position))
    }))
}
