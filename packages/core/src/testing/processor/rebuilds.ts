/**
 * Rebuilds and blue-green: a rebuild resets one projection and replays the log while the others
 * run, even when started at once on a processor placed here; a blue-green rebuild builds the new
 * generation beside the old, switches readers at once, and loses no event committed around the
 * switch; without declared documents it refuses and changes nothing.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import * as BlueGreen from "../../BlueGreen.ts"
import { CheckpointStore } from "../../CheckpointStore.ts"
import * as Documents from "../../Documents.ts"
import { EventStore } from "../../EventStore.ts"
import * as Placement from "../../Placement.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import * as ProjectionStore from "../../ProjectionStore.ts"
import { append, type ConcurrentTest, counterEvents, foldTallies, quickRetry, type Services, Tally, tallyProjection, unique } from "./fixtures.ts"

export const rebuilds = (it: Vitest.MethodsNonLive<Services>, concurrentTest: ConcurrentTest) => {
  it.effect("a rebuild resets one projection and replays the log while the others keep running", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const rebuilt = tallyProjection(unique("rebuilt"), events)
      const other = tallyProjection(unique("other"), events)
      const processors = yield* Processor.startAll([rebuilt.projection, other.projection])
      yield* append("r", events.added, [1, 2, 3])
      yield* processors.whenCaughtUp
      // Corrupt the read model by hand; the rebuild must throw it away.
      yield* rebuilt.tallies.upsert("r", new Tally({ count: 99, sum: 99, lastVersion: 3 }))
      yield* rebuilt.tallies.upsert("stray", new Tally({ count: 1, sum: 1, lastVersion: 1 }))
      const handle = Option.getOrThrow(processors.get(rebuilt.projection.name))
      yield* handle.rebuild
      yield* append("r", events.added, [4])
      yield* processors.whenCaughtUp
      assert.deepStrictEqual(Option.getOrThrow(yield* rebuilt.tallies.get("r")), new Tally({ count: 4, sum: 10, lastVersion: 4 }))
      assert.isTrue(Option.isNone(yield* rebuilt.tallies.get("stray")))
      assert.deepStrictEqual(Option.getOrThrow(yield* other.tallies.get("r")), new Tally({ count: 4, sum: 10, lastVersion: 4 }))
    }).pipe(Effect.scoped))

  it.effect("a processor placed here and rebuilt at once (as `facta rebuild` does) does not wait on its own segment", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const stream = unique("placed-here")
      yield* append(stream, events.added, [1, 2, 3])
      // Its segment starts in a fiber of the placement's: the rebuild may take the lease first,
      // or the segment may. Either way the rebuild must end, and the segment run after it.
      for (let round = 0; round < 5; round++) {
        const { projection, tallies } = tallyProjection(unique("placedHere"), events)
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Processor.start(projection).pipe(Effect.provideService(Placement.Placement, Placement.here))
          yield* handle.rebuild.pipe(Effect.timeout("20 seconds"))
          yield* handle.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
        }))
        assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get(stream)), new Tally({ count: 3, sum: 6, lastVersion: 3 }))
      }
    }).pipe(Effect.scoped))

  it.effect("blue-green: readers keep the old read model until one switch to the new; the projection goes on in it", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const live = tallyProjection(unique("bluegreen"), events, { slow: true })
      const name = live.projection.name
      const streams = Array.from({ length: 12 }, (_, i) => unique(`bg${i}`))
      for (const stream of streams) yield* append(stream, events.added, [1, 2, 3])
      const processors = yield* Processor.startAll([live.projection], { batchSize: 7 })
      yield* processors.whenCaughtUp
      // A document only the current generation has: readers see it until the switch.
      yield* live.tallies.upsert("stray", new Tally({ count: 1, sum: 1, lastVersion: 1 }))
      const seen: Array<string> = []
      const reader = yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        const listed = yield* live.tallies.list
        const byId = new Map(listed.map(({ document, id }) => [id, document]))
        const incomplete = streams.filter((stream) => (byId.get(stream)?.count ?? 0) < 3)
        seen.push(incomplete.length > 0 ? `half-built (${incomplete.length} of ${streams.length} streams missing)` : byId.has("stray") ? "old" : "new")
        yield* Effect.yieldNow
      })))
      // Appends keep coming while the new generation is built, and after the switch.
      const appender = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) =>
        Effect.andThen(append(streams[i % streams.length]!, events.added, [10]), Effect.sleep("3 millis")), { discard: true }))
      const switched = yield* BlueGreen.rebuild(live.projection, { batchSize: 5 })
      // Readers go on after the switch for a while.
      const atSwitch = seen.length
      while (seen.length < atSwitch + 20) yield* Effect.sleep("1 millis")
      yield* Fiber.join(appender)
      yield* processors.whenCaughtUp
      yield* Fiber.interrupt(reader)

      assert.strictEqual(switched.generation, 1)
      assert.deepStrictEqual(seen.filter((generation) => generation !== "old" && generation !== "new"), [], "no reader sees a half-built read model")
      const firstNew = seen.indexOf("new")
      assert.isTrue(firstNew > 0, `readers saw ${seen.length} lists, the first new one at ${firstNew}`)
      assert.isTrue(seen.slice(firstNew).every((generation) => generation === "new"), "a reader saw the old read model after the switch")
      const folded = yield* foldTallies(events.added)
      const listed = yield* live.tallies.list
      assert.deepStrictEqual(new Map(listed.map(({ document, id }) => [id, { ...document }])), folded)
      const projections = yield* ProjectionStore.ProjectionStore
      assert.strictEqual(yield* projections.liveGeneration(name), 1)
      assert.deepStrictEqual(yield* projections.list(name, 0), [], "the old generation is dropped")
      const checkpoints = yield* CheckpointStore
      assert.strictEqual((yield* checkpoints.read(name)).generation, 1)
      assert.isFalse((yield* checkpoints.list).some(({ processor }) => processor.startsWith(`${name}#`)), "the shadow's checkpoint is removed")
      // A second rebuild moves on to generation 2.
      assert.strictEqual((yield* BlueGreen.rebuild(live.projection)).generation, 2)
      yield* processors.whenCaughtUp
      assert.deepStrictEqual(new Map((yield* live.tallies.list).map(({ document, id }) => [id, { ...document }])), folded)
    }).pipe(Effect.scoped))

  it.effect("blue-green: a batch the projection has in flight at the switch cannot commit after it", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("inflight")
      const tallies = Documents.make(name, Tally)
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let held = false
      const projection = Projection.make({
        name,
        event: events.Event,
        documents: [tallies],
        handlers: {
          [events.added]: (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
            Effect.gen(function*() {
              // The first handler of the 99 holds its batch open until released.
              if (event.data.amount === 99 && !held) {
                held = true
                yield* Deferred.succeed(entered, undefined)
                yield* Deferred.await(release)
              }
              const current = Option.getOrElse(yield* tallies.get(event.streamId), () => new Tally({ count: 0, sum: 0, lastVersion: 0 }))
              if (current.lastVersion !== event.version - 1) return yield* Effect.die(new Error(`applied version ${event.version} after ${current.lastVersion}`))
              yield* tallies.upsert(event.streamId, new Tally({ count: current.count + 1, sum: current.sum + event.data.amount, lastVersion: event.version }))
            })
        } as Projection.Handlers<typeof events.Event.Type>
      })
      const stream = unique("inflight")
      yield* append(stream, events.added, [1, 2])
      const processors = yield* Processor.startAll([projection], { retry: quickRetry })
      yield* processors.whenCaughtUp
      yield* append(stream, events.added, [99])
      yield* Deferred.await(entered)
      // On a server the switch commits while the batch is open; a single session runs it after.
      const switching = yield* Effect.forkChild(BlueGreen.rebuild(projection))
      yield* Effect.sleep("300 millis")
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual((yield* Fiber.join(switching)).generation, 1)
      yield* append(stream, events.added, [5])
      yield* processors.whenCaughtUp
      const handle = Option.getOrThrow(processors.get(name))
      assert.isUndefined((yield* handle.status).halted)
      assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get(stream)), new Tally({ count: 4, sum: 107, lastVersion: 4 }))
      assert.deepStrictEqual(yield* (yield* CheckpointStore).read(name), {
        position: (yield* (yield* EventStore).head({ types: [events.added] })),
        generation: 1
      })
    }).pipe(Effect.scoped))

  // A single session: the shadow's held batch would keep the projection from committing.
  concurrentTest("blue-green: events the projection commits between the shadow's last check and the switch are projected into the new generation", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const live = tallyProjection(unique("late"), events)
      const name = live.projection.name
      const stream = unique("late")
      yield* append(stream, events.added, [1, 2])
      const processors = yield* Processor.startAll([live.projection])
      yield* processors.whenCaughtUp
      // Blue-green reads the projection's checkpoint when it starts, and again once its shadow has
      // caught up. At that second read a 77 is appended and the projection commits it, while the
      // shadow cannot commit it: the check has passed, and the switch moves the checkpoint back
      // to the shadow's position, before the 77.
      const checkpoints = yield* CheckpointStore
      const store = yield* EventStore
      const head = store.head({ types: [events.added] })
      const gate = yield* Deferred.make<void>()
      let reads = 0
      let holdShadow = false
      const interleaving = CheckpointStore.of({
        ...checkpoints,
        read: (processor) =>
          Effect.gen(function*() {
            const checkpoint = yield* checkpoints.read(processor)
            if (processor !== name || ++reads !== 2) return checkpoint
            holdShadow = true
            yield* append(stream, events.added, [77]).pipe(Effect.provideService(EventStore, store), Effect.orDie)
            const after = yield* Effect.orDie(head)
            while ((yield* checkpoints.get(name)) < after) yield* Effect.sleep("5 millis")
            return checkpoint
          }),
        set: (processor, expected, next, generation) =>
          Effect.andThen(
            holdShadow && processor === `${name}#1` ? Deferred.await(gate) : Effect.void,
            checkpoints.set(processor, expected, next, generation)
          )
      })
      const switched = yield* BlueGreen.rebuild(live.projection).pipe(Effect.provideService(CheckpointStore, interleaving))
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(switched.generation, 1)
      assert.strictEqual(reads, 2, "the interleaving ran")
      assert.isTrue(switched.position < (yield* head), "the switch set the checkpoint before the 77")
      // With no append to wake it, the projection reads on from the checkpoint the switch set.
      yield* processors.whenCaughtUp
      assert.deepStrictEqual(Option.getOrThrow(yield* live.tallies.get(stream)), new Tally({ count: 3, sum: 80, lastVersion: 3 }))
      assert.deepStrictEqual(yield* checkpoints.read(name), { position: yield* head, generation: 1 })
    }).pipe(Effect.scoped))

  it.effect("blue-green needs the documents a processor writes; without them it fails and changes nothing", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const tallies = tallyProjection(unique("undeclared"), events)
      const undeclared = { ...tallies.projection, documents: undefined }
      const error = yield* Effect.flip(BlueGreen.rebuild(undeclared))
      assert.instanceOf(error, BlueGreen.NoDocuments)
      assert.include(error.message, undeclared.name)
      assert.deepStrictEqual(yield* (yield* CheckpointStore).read(undeclared.name), { position: 0n, generation: 0 })
    }))
}
