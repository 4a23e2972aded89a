/**
 * Instances, leases, segments and placement: instances of one processor share its work through a
 * lease, and a waiting one takes over when the holder stops; in segments, every event is handled
 * once and each stream in order, a change of segments starts from the checkpoints or is refused
 * until a rebuild, and a placement (a test switchboard, or Effect Cluster) decides where each
 * segment runs.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Ref, Schedule, Scope } from "effect"
import { TestRunner } from "effect/cluster"
import { CheckpointStore } from "../../CheckpointStore.ts"
import * as Placement from "../../Placement.ts"
import * as Processor from "../../Processor.ts"
import { append, counterEvents, foldTallies, makeSwitchboard, type Services, Tally, tallyProjection, unique } from "./fixtures.ts"

export const instances = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("two instances of one processor started together handle every event exactly once", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("twins")
      const { projection, tallies } = tallyProjection(name, events)
      const handled = yield* Ref.make(0)
      const counted = { ...projection, handle: (event: Parameters<typeof projection.handle>[0]) => Effect.andThen(projection.handle(event), Ref.update(handled, (n) => n + 1)) }
      const first = yield* Processor.start(counted, { batchSize: 5 })
      const second = yield* Processor.start(counted, { batchSize: 5 })
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => append(`t${i % 2}`, events.added, [i, i, i]), { discard: true })
      yield* first.whenCaughtUp.pipe(Effect.raceFirst(second.whenCaughtUp))
      yield* Effect.sleep("100 millis")
      const total = (yield* foldTallies(events.added))
      for (const [streamId, expected] of total) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, expected)
      }
      assert.strictEqual(yield* Ref.get(handled), 18)
      const states = [(yield* first.status).state, (yield* second.status).state].sort()
      assert.deepStrictEqual(states, ["live", "waiting for lease"])
    }).pipe(Effect.scoped))

  it.effect("when the lease holder stops, the waiting instance takes over and finishes", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const { projection, tallies } = tallyProjection(unique("takeover"), events)
      const holderScope = yield* Scope.make()
      const holder = yield* Processor.start(projection).pipe(Scope.provide(holderScope))
      yield* append("k", events.added, [1, 2])
      yield* holder.whenCaughtUp
      const standby = yield* Processor.start(projection)
      assert.strictEqual((yield* standby.status).state, "waiting for lease")
      yield* Scope.close(holderScope, Exit.void)
      yield* append("k", events.added, [3])
      yield* standby.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("k")), new Tally({ count: 3, sum: 6, lastVersion: 3 }))
    }).pipe(Effect.scoped))

  it.effect("in 4 segments: every event once and each stream in order, with a checkpoint and a status per segment", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("segmented")
      const { projection, tallies } = tallyProjection(name, events, { slow: true })
      const segmented = { ...projection, segments: 4 }
      // Two instances share the segments: each segment runs in one of them at a time.
      const first = yield* Processor.start(segmented, { batchSize: 3 })
      const second = yield* Processor.start(segmented, { batchSize: 3 })
      yield* Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) => append(`seg${i % 12}`, events.added, [i, 1]), {
        discard: true,
        concurrency: 4
      })
      yield* first.whenCaughtUp
      yield* second.whenCaughtUp
      const expected = yield* foldTallies(events.added)
      assert.strictEqual(expected.size, 12)
      for (const [streamId, fold] of expected) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
      }
      const names = (yield* CheckpointStore.use((store) => store.list)).map((row) => row.processor).filter((n) => n.startsWith(name))
      assert.deepStrictEqual(names, [0, 1, 2, 3].map((index) => `${name}[${index}/4]`))
      const [ofFirst, ofSecond] = [yield* first.segments, yield* second.segments]
      assert.deepStrictEqual(ofFirst.map((status) => status.name), names)
      // Each segment is held by exactly one of the two.
      for (let index = 0; index < 4; index++) {
        const holders = [ofFirst[index]!, ofSecond[index]!].filter((status) => status.state !== "waiting for lease")
        assert.strictEqual(holders.length, 1, `segment ${index}: ${ofFirst[index]!.state} and ${ofSecond[index]!.state}`)
      }
      assert.strictEqual(yield* first.lag, 0)
    }).pipe(Effect.scoped))

  it.effect("an unsplit processor split into 3 segments: each starts from its checkpoint, so nothing is handled twice", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("split")
      const { projection, tallies } = tallyProjection(name, events)
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => append(`split${i}`, events.added, [i]), { discard: true })
      yield* Effect.scoped(Effect.flatMap(Processor.start(projection), (handle) => handle.whenCaughtUp))
      const before = yield* CheckpointStore.use((store) => store.get(name))
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => append(`split${i}`, events.added, [10 * i]), { discard: true })
      // The tally refuses an event twice or out of order: a split that replayed would fail.
      const split = yield* Processor.start({ ...projection, segments: 3 })
      yield* split.whenCaughtUp
      const expected = yield* foldTallies(events.added)
      for (const [streamId, fold] of expected) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
      }
      const rows = (yield* CheckpointStore.use((store) => store.list)).filter((row) => row.processor.startsWith(name))
      assert.deepStrictEqual(rows.map((row) => row.processor), [0, 1, 2].map((index) => `${name}[${index}/3]`))
      assert.isTrue(rows.every((row) => row.position >= before))
      assert.notStrictEqual((yield* split.status).state, "halted")
    }).pipe(Effect.scoped))

  it.effect("another change of segments is refused with SegmentsChanged, and a rebuild makes it", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("resegmented")
      const { projection, tallies } = tallyProjection(name, events)
      yield* Effect.forEach([1, 2, 3, 4], (i) => append(`reseg${i}`, events.added, [i]), { discard: true })
      yield* Effect.scoped(Effect.flatMap(Processor.start({ ...projection, segments: 4 }), (handle) => handle.whenCaughtUp))
      const two = yield* Processor.start({ ...projection, segments: 2 })
      const refused = yield* Effect.flip(two.whenCaughtUp)
      assert.strictEqual(refused._tag, "SegmentsChanged")
      assert.include(refused.message, `"${name}" runs in 2 segment(s), but its checkpoints are for 4`)
      assert.strictEqual((yield* two.status).state, "halted")
      yield* two.rebuild
      yield* two.whenCaughtUp
      const expected = yield* foldTallies(events.added)
      for (const [streamId, fold] of expected) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
      }
      const rows = (yield* CheckpointStore.use((store) => store.list)).filter((row) => row.processor.startsWith(name))
      assert.deepStrictEqual(rows.map((row) => row.processor), [`${name}[0/2]`, `${name}[1/2]`])
    }).pipe(Effect.scoped))

  it.effect("placed: a segment runs only where the placement puts it, and moves with it; every event once, each stream in order", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("placed")
      const { projection, tallies } = tallyProjection(name, events, { slow: true })
      const segmented = { ...projection, segments: 4 }
      const switchboard = yield* makeSwitchboard
      // Instance "a" gets segments 0 and 1, "b" gets 2 and 3.
      for (const { name: segment, segment: { index } } of Processor.segmentsOf(segmented)) switchboard.assign(segment, index < 2 ? "a" : "b")
      const a = yield* Processor.start(segmented, { batchSize: 3 }).pipe(Effect.provideService(Placement.Placement, switchboard.placement("a")))
      const b = yield* Processor.start(segmented, { batchSize: 3 }).pipe(Effect.provideService(Placement.Placement, switchboard.placement("b")))
      const streams = unique("placed")
      const appendSome = (round: number) =>
        Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) => append(`${streams}-${i % 12}`, events.added, [round * 100 + i]), { concurrency: 4, discard: true })
      yield* appendSome(0)
      yield* a.whenCaughtUp
      const held = (handle: Processor.Handle<unknown>) =>
        Effect.map(handle.segments, (all) => all.flatMap((status, index) => status.state === "waiting for lease" ? [] : [index]))
      assert.deepStrictEqual(yield* held(a), [0, 1])
      assert.deepStrictEqual(yield* held(b), [2, 3])
      // Segment 1 moves to "b" while events keep coming: it stops in "a" (its lease released) and runs in "b".
      yield* Effect.forkScoped(appendSome(1))
      yield* switchboard.move(Processor.segmentName(name, { index: 1, count: 4 }), "b")
      yield* appendSome(2)
      yield* b.whenCaughtUp
      yield* a.whenCaughtUp
      assert.deepStrictEqual(yield* held(a), [0])
      assert.deepStrictEqual(yield* held(b), [1, 2, 3])
      const expected = yield* foldTallies(events.added)
      assert.strictEqual(expected.size, 12)
      for (const [streamId, fold] of expected) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
      }
    }).pipe(Effect.scoped))

  it.effect("placed by Effect Cluster (a single runner): every segment runs in it; every event once", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("clustered")
      const { projection, tallies } = tallyProjection(name, events)
      const streams = unique("clustered")
      yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) => append(`${streams}-${i % 6}`, events.added, [i]), { discard: true })
      const handle = yield* Processor.start({ ...projection, segments: 3 })
      yield* handle.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
      // A segment with none of these events is caught up before the cluster has placed it.
      const waiting = yield* handle.segments.pipe(
        Effect.map((segments) => segments.filter((status) => status.state === "waiting for lease")),
        Effect.repeat({ until: (waiting) => waiting.length === 0, schedule: Schedule.spaced("20 millis"), times: 500 })
      )
      assert.deepStrictEqual(waiting, [])
      const expected = yield* foldTallies(events.added)
      for (const [streamId, fold] of expected) {
        const tally = Option.getOrThrow(yield* tallies.get(streamId))
        assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
      }
    }).pipe(Effect.scoped, Effect.provide(Placement.cluster().pipe(Layer.provide(TestRunner.layer)))))
}
