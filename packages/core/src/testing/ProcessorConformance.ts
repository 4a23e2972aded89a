/**
 * The behaviour of the processor runtime on a set of stores: exactly-once projections under
 * interruption, poison events, reactors' causation and emit guard, one instance at a time, and
 * rebuilds. Run against every store implementation. Tests use fresh event types and processor
 * names, so they can share one database.
 *
 * @since 0.1.0
 */
import { assert, describe, it as plain, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberMap, Layer, Metric, Option, Random, Ref, Schedule, Schema, Scope, Stream } from "effect"
import { TestRunner } from "effect/cluster"
import * as Aggregate from "../Aggregate.ts"
import * as BlueGreen from "../BlueGreen.ts"
import { CheckpointStore } from "../CheckpointStore.ts"
import * as CommandHandler from "../CommandHandler.ts"
import { EventStore, WrongExpectedVersion } from "../EventStore.ts"
import type { Lease } from "../Lease.ts"
import * as Metrics from "../Metrics.ts"
import * as Placement from "../Placement.ts"
import * as ProcessManager from "../ProcessManager.ts"
import * as ParkedEvents from "../ParkedEvents.ts"
import * as Processor from "../Processor.ts"
import * as Projection from "../Projection.ts"
import * as Documents from "../Documents.ts"
import * as ProjectionStore from "../ProjectionStore.ts"
import * as Reactor from "../Reactor.ts"
import { SnapshotStore } from "../SnapshotStore.ts"
import * as StatusBoard from "../StatusBoard.ts"
import { Transactor } from "../Transactor.ts"

/**
 * The services the suite runs on.
 *
 * @category models
 * @since 0.1.0
 */
export type Services =
  | EventStore
  | ProjectionStore.ProjectionStore
  | CheckpointStore
  | SnapshotStore
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard
  | Transactor
  | Lease

const unique = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`

class Tally extends Schema.Class<Tally>("Tally")({
  count: Schema.Int,
  sum: Schema.Int,
  lastVersion: Schema.Int
}) {}

/** Event schemas with per-test type names, so tests sharing a database do not see each other. */
const counterEvents = () => {
  const added = unique("Added")
  const poisoned = unique("Poisoned")
  const Added = Schema.TaggedStruct(added, { amount: Schema.Int })
  const Poisoned = Schema.TaggedStruct(poisoned, {})
  return { added, poisoned, Added, Poisoned, Event: Schema.Union([Added, Poisoned]) }
}

/**
 * A projection that tallies each stream, and refuses to apply an event twice or out of order:
 * a doubled or lost event would make it fail, or leave a tally that differs from the log.
 */
const tallyProjection = (
  name: string,
  events: ReturnType<typeof counterEvents>,
  options?: {
    readonly slow?: boolean
    readonly poison?: boolean
    /** "update" writes through `documents.update`, whose reads a batch defers to its flush. */
    readonly style?: "getAndUpsert" | "update"
  }
) => {
  const tallies = Documents.make(name, Tally)
  const zero = new Tally({ count: 0, sum: 0, lastVersion: 0 })
  const next = (current: Tally, event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) => {
    if (current.lastVersion !== event.version - 1) {
      throw new Error(`stream ${event.streamId}: applying version ${event.version} after ${current.lastVersion}`)
    }
    return new Tally({ count: current.count + 1, sum: current.sum + event.data.amount, lastVersion: event.version })
  }
  return {
    tallies,
    projection: Projection.make({
      name,
      event: events.Event,
      handlers: {
        [events.added]: (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
          Effect.gen(function*() {
            if (options?.slow === true) yield* Effect.sleep(`${yield* Random.nextIntBetween(0, 2)} millis`)
            if (options?.style === "update") {
              return yield* tallies.update(event.streamId, (current) => next(Option.getOrElse(current, () => zero), event))
            }
            const current = Option.getOrElse(yield* tallies.get(event.streamId), () => zero)
            yield* tallies.upsert(event.streamId, yield* Effect.try({ try: () => next(current, event), catch: (error) => error }).pipe(Effect.orDie))
          }),
        [events.poisoned]: () => options?.poison === true ? Effect.fail("cannot handle this event" as const) : Effect.void
      } as Projection.Handlers<typeof events.Event.Type>,
      documents: [tallies],
      reset: tallies.clear
    })
  }
}

/** The tallies a from-scratch fold of the log gives. */
const foldTallies = (type: string) =>
  EventStore.use((store) =>
    Stream.runFold(
      store.readAll({ types: [type] }),
      () => new Map<string, { count: number; sum: number; lastVersion: number }>(),
      (tallies, event) => {
        const current = tallies.get(event.streamId) ?? { count: 0, sum: 0, lastVersion: 0 }
        return tallies.set(event.streamId, {
          count: current.count + 1,
          sum: current.sum + (event.data as { amount: number }).amount,
          lastVersion: event.version
        })
      }
    )
  )

const append = (streamId: string, type: string, amounts: ReadonlyArray<number>) =>
  EventStore.use((store) => store.append(streamId, amounts.map((amount) => ({ type, data: { amount } }))))

/**
 * A placement the test moves segments with: each instance registers what it runs, and a segment
 * runs in the instance it is assigned to, until it is moved.
 */
const makeSwitchboard = Effect.gen(function*() {
  const assigned = new Map<string, string>()
  const registered = new Map<string, Effect.Effect<void, never, Scope.Scope>>()
  const running = yield* FiberMap.make<string>()
  const key = (instance: string, name: string) => `${instance} ${name}`
  const runIn = (instance: string, name: string) => {
    const follow = registered.get(key(instance, name))
    return follow === undefined ? Effect.void : Effect.asVoid(FiberMap.run(running, name, Effect.scoped(follow)))
  }
  return {
    assign: (name: string, instance: string) => void assigned.set(name, instance),
    placement: (instance: string) =>
      Placement.Placement.of({
        place: (name, follow) =>
          Effect.gen(function*() {
            registered.set(key(instance, name), follow)
            yield* Effect.addFinalizer(() => FiberMap.remove(running, name))
            if (assigned.get(name) === instance) yield* runIn(instance, name)
          })
      }),
    /** Stops the segment where it runs (its fiber is interrupted) and starts it in `instance`. */
    move: (name: string, instance: string) =>
      Effect.andThen(FiberMap.remove(running, name), Effect.suspend(() => {
        assigned.set(name, instance)
        return runIn(instance, name)
      }))
  }
})

const quickRetry = Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 2 }))

/**
 * Registers the processor suite for the stores `storeLayer` provides.
 *
 * @category testing
 * @since 0.1.0
 */
export const processorConformance = <E>(
  name: string,
  storeLayer: Layer.Layer<Services, E>,
  options?: {
    /**
     * The store is one session (embedded PGlite): a transaction excludes every other statement,
     * so the test that moves a checkpoint during another instance's batch cannot run; it is
     * reported as skipped.
     */
    readonly singleSession?: boolean
  }
): void => {
  onTestClock(name, storeLayer, options)
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`Processor conformance: ${name}`, (it) => {
    const concurrentTest = options?.singleSession === true ? it.effect.skip : it.effect
    it.effect("appends inside a transaction are read back by it, and commit or roll back with it", () =>
      Effect.gen(function*() {
        const transactor = yield* Transactor
        const store = yield* EventStore
        const [x, y, kept] = [unique("tx_x"), unique("tx_y"), unique("Kept")]
        const readStream = (streamId: string) => Stream.runCollect(store.readStream(streamId))
        yield* store.append(y, [{ type: kept, data: { n: 0 } }])
        const seenInside = yield* Ref.make(-1)
        const refused = yield* transactor.withTransaction(Effect.gen(function*() {
          yield* store.append(x, [{ type: kept, data: { n: 1 } }], { expectedVersion: "noStream" })
          yield* Ref.set(seenInside, (yield* readStream(x)).length)
          yield* store.append(y, [{ type: kept, data: { n: 2 } }], { expectedVersion: "noStream" })
        })).pipe(Effect.flip)
        assert.instanceOf(refused, WrongExpectedVersion)
        assert.strictEqual(yield* Ref.get(seenInside), 1, "the transaction reads its own append")
        assert.deepStrictEqual(yield* readStream(x), [], "the append before the failing one rolled back")
        assert.deepStrictEqual((yield* readStream(y)).map((event) => event.data), [{ n: 0 }])

        const written = yield* transactor.withTransaction(Effect.all([
          store.append(x, [{ type: kept, data: { n: 3 } }], { expectedVersion: "noStream" }),
          store.append(x, [{ type: kept, data: { n: 4 } }], { expectedVersion: 1 })
        ]))
        const stored = yield* readStream(x)
        assert.deepStrictEqual(stored.map((event) => [event.version, event.data]), [[1, { n: 3 }], [2, { n: 4 }]])
        assert.deepStrictEqual(stored.map((event) => event.position), written.flatMap((result) => result.events.map((event) => event.position)))
      }))

    it.effect("every store's writes inside a transaction commit or roll back together", () =>
      Effect.gen(function*() {
        const transactor = yield* Transactor
        const events = yield* EventStore
        const documents = yield* ProjectionStore.ProjectionStore
        const checkpoints = yield* CheckpointStore
        const snapshots = yield* SnapshotStore
        const [stream, projection, processor, type] = [unique("tx_all"), unique("tx_docs"), unique("tx_cp"), unique("Kept")]
        const writeAll = (n: number) =>
          transactor.withTransaction(Effect.gen(function*() {
            yield* events.append(stream, [{ type, data: { n } }])
            yield* documents.upsert(projection, "d", { n })
            yield* checkpoints.set(processor, yield* checkpoints.get(processor), BigInt(n))
            yield* snapshots.save({ streamId: stream, schemaVersion: 1, version: n, state: { n } })
            // Each write is seen by the transaction that made it.
            assert.deepStrictEqual(Option.getOrUndefined(yield* snapshots.load(stream))?.state, { n })
            assert.deepStrictEqual(Option.getOrUndefined(yield* documents.get(projection, "d")), { n })
            if (n === 2) return yield* Effect.fail("refused")
          }))
        const seen = Effect.all({
          events: Effect.map(events.readStreamPage(stream, { from: 1 }), (page) => page.map((event) => event.data)),
          document: Effect.map(documents.get(projection, "d"), Option.getOrUndefined),
          checkpoint: checkpoints.get(processor),
          snapshot: Effect.map(snapshots.load(stream), (found) => Option.getOrUndefined(found)?.state)
        })
        yield* writeAll(1)
        assert.deepStrictEqual(yield* seen, { events: [{ n: 1 }], document: { n: 1 }, checkpoint: 1n, snapshot: { n: 1 } })
        assert.strictEqual(yield* Effect.flip(writeAll(2)), "refused")
        assert.deepStrictEqual(yield* seen, { events: [{ n: 1 }], document: { n: 1 }, checkpoint: 1n, snapshot: { n: 1 } }, "nothing of the failed transaction stays")
      }))

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

    it.effect("a poison event halts the processor, names the event, and leaves the checkpoint before it", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const { projection, tallies } = tallyProjection(unique("poisoned"), events, { poison: true })
        const failures = yield* Ref.make(0)
        const store = yield* EventStore
        yield* append("p", events.added, [1, 2])
        const poison = yield* store.append("p", [{ type: events.poisoned, data: {} }])
        yield* append("p", events.added, [3])
        const handle = yield* Processor.start(projection, {
          batchSize: 10,
          retry: quickRetry,
          onError: () => Ref.update(failures, (n) => n + 1)
        })
        const halted = yield* Effect.flip(handle.whenCaughtUp)
        assert.strictEqual(halted._tag, "ProcessorHalted")
        if (halted._tag !== "ProcessorHalted") return
        assert.strictEqual(halted.eventId, poison.events[0]!.id)
        assert.strictEqual(halted.type, events.poisoned)
        assert.strictEqual(halted.streamId, "p")
        assert.strictEqual(halted.version, 3)
        assert.include(halted.message, "cannot handle this event")
        assert.strictEqual(yield* Ref.get(failures), 3)
        const status = yield* handle.status
        assert.strictEqual(status.state, "halted")
        assert.isTrue(status.position < poison.events[0]!.position)
        // The events before the poison one are applied; the one after is not.
        assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("p")), new Tally({ count: 2, sum: 3, lastVersion: 2 }))
      }).pipe(Effect.scoped))

    it.effect("a halt is visible to the app: health names it, whenHalted returns it, the halted gauge reads 1; a rebuild once fixed clears them", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const healthy = tallyProjection(unique("healthy"), events)
        // Fails on the poisoned event until the fix.
        const fixed = yield* Ref.make(false)
        const poisoned = Projection.make({
          name: unique("unhealthy"),
          event: events.Event,
          handlers: {
            [events.added]: () => Effect.void,
            [events.poisoned]: () => Effect.flatMap(Ref.get(fixed), (ok) => ok ? Effect.void : Effect.fail("cannot handle this event" as const))
          } as Projection.Handlers<typeof events.Event.Type>,
          reset: Effect.void
        })
        const gauge = Effect.map(Metric.value(Metric.withAttributes(Metrics.processorHalted, { processor: poisoned.name })), (state) => state.value)
        const processors = yield* Processor.startAll([healthy.projection, poisoned], { retry: quickRetry })
        assert.isTrue((yield* processors.health).healthy)
        assert.strictEqual(yield* gauge, 0)
        // Waiting before the halt: it returns once the processor halts.
        const waiting = yield* Effect.forkScoped(processors.whenHalted)
        const poison = yield* EventStore.use((store) => store.append(unique("p"), [{ type: events.poisoned, data: {} }]))
        const why = yield* Fiber.join(waiting)
        assert.strictEqual(why._tag, "ProcessorHalted")
        assert.strictEqual((why as Processor.ProcessorHalted).eventId, poison.events[0]!.id)
        const health = yield* processors.health
        assert.isFalse(health.healthy)
        assert.deepStrictEqual(health.halted, [why])
        assert.deepStrictEqual(health.processors.map((status) => status.name), [healthy.projection.name, poisoned.name])
        assert.strictEqual(health.processors[1]!.state, "halted")
        assert.strictEqual(yield* gauge, 1)
        // Asked after the halt: at once.
        assert.strictEqual(yield* processors.whenHalted, why)
        // Processor.run fails with the halt, so an app that runs it fails too.
        const ran = yield* Effect.flip(Processor.run([{ ...poisoned, name: unique("run") }], { retry: quickRetry }))
        assert.strictEqual(ran._tag, "ProcessorHalted")
        assert.strictEqual((ran as Processor.ProcessorHalted).eventId, poison.events[0]!.id)
        // Fixed and rebuilt, the processor is healthy again.
        yield* Ref.set(fixed, true)
        yield* Option.getOrThrow(processors.get(poisoned.name)).rebuild
        yield* processors.whenCaughtUp
        assert.isTrue((yield* processors.health).healthy)
        assert.strictEqual(yield* gauge, 0)
      }).pipe(Effect.scoped))

    it.effect("a handler that fails and then succeeds is retried, and applies its event once", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const tallies = Documents.make(unique("flaky"), Tally)
        const attempts = yield* Ref.make(0)
        const projection = Projection.make({
          name: tallies.name,
          event: events.Added,
          handlers: {
            [events.added]: (event: { readonly streamId: string; readonly data: { readonly amount: number } }) =>
              Effect.gen(function*() {
                const current = Option.getOrElse(yield* tallies.get(event.streamId), () => new Tally({ count: 0, sum: 0, lastVersion: 0 }))
                yield* tallies.upsert(event.streamId, new Tally({ ...current, count: current.count + 1, sum: current.sum + event.data.amount }))
                // Fails after writing: the write must roll back with the failed attempt.
                if ((yield* Ref.updateAndGet(attempts, (n) => n + 1)) <= 2) return yield* Effect.fail("flaky" as const)
              })
          }
        })
        yield* append("f", events.added, [5])
        const handle = yield* Processor.start(projection, { retry: quickRetry })
        yield* handle.whenCaughtUp
        assert.strictEqual(yield* Ref.get(attempts), 3)
        assert.strictEqual(Option.getOrThrow(yield* tallies.get("f")).count, 1)
      }).pipe(Effect.scoped))

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

    it.effect("skipAndRecord moves past a poison event with an error log instead of halting", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const { projection, tallies } = tallyProjection(unique("skipping"), events, { poison: true })
        const store = yield* EventStore
        yield* append("q", events.added, [1])
        const poison = yield* store.append("q-poison", [{ type: events.poisoned, data: {} }])
        yield* append("q", events.added, [2])
        const handle = yield* Processor.start(projection, { retry: quickRetry, onPoison: "skipAndRecord" })
        yield* handle.whenCaughtUp
        assert.deepStrictEqual(Option.getOrThrow(yield* tallies.get("q")), new Tally({ count: 2, sum: 3, lastVersion: 2 }))
        assert.isTrue((yield* handle.status).position > poison.events[0]!.position)
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

    it.effect("park: a poison event is parked with its error and passed; replayed once fixed, or dropped; each audited", () =>
      Effect.gen(function*() {
        const [name, type] = [unique("parking"), unique("Noted")]
        const broken = yield* Ref.make(true)
        const notes = Documents.make(name, Schema.Struct({ n: Schema.Int }))
        const projection = Projection.make({
          name,
          event: Schema.TaggedStruct(type, { n: Schema.Int }),
          handlers: {
            [type]: (event: { readonly streamId: string; readonly data: { readonly n: number } }) =>
              Effect.gen(function*() {
                if (event.data.n < 0 && (yield* Ref.get(broken))) return yield* Effect.fail(new Error(`cannot note ${event.data.n}`))
                yield* notes.upsert(event.streamId, { n: event.data.n })
              })
          }
        })
        const store = yield* EventStore
        const parked = yield* ParkedEvents.ParkedEvents
        const note = (streamId: string, n: number) => Effect.map(store.append(streamId, [{ type, data: { n } }]), (result) => result.events[0]!)
        const runUntilCaughtUp = Effect.scoped(Effect.gen(function*() {
          const handle = yield* Processor.start(projection, { retry: quickRetry, onPoison: "park" })
          yield* handle.whenCaughtUp
          return (yield* handle.status).position
        }))

        yield* note("n-1", 1)
        const poison = yield* note("n-bad", -1)
        yield* note("n-2", 2)
        const position = yield* runUntilCaughtUp
        assert.isTrue(position > poison.position, "the checkpoint moved past the parked event")
        assert.deepStrictEqual([yield* notes.get("n-1"), yield* notes.get("n-2"), yield* notes.get("n-bad")], [
          Option.some({ n: 1 }),
          Option.some({ n: 2 }),
          Option.none()
        ])
        const [entry, ...more] = yield* parked.list(name)
        assert.deepStrictEqual([entry?.event.id, entry?.event.position, entry?.event.data, more.length], [poison.id, poison.position, { n: -1 }, 0])
        assert.include(entry?.error, "cannot note -1")

        yield* Ref.set(broken, false)
        assert.strictEqual(yield* Processor.replayParked(projection), 1)
        assert.deepStrictEqual(yield* notes.get("n-bad"), Option.some({ n: -1 }))
        assert.deepStrictEqual(yield* parked.list(name), [])

        yield* Ref.set(broken, true)
        const second = yield* note("n-worse", -2)
        yield* runUntilCaughtUp
        assert.deepStrictEqual((yield* parked.list(name)).map((entry) => entry.event.id), [second.id])
        assert.isTrue(yield* parked.remove(name, second.id, "dropped"))
        assert.isFalse(yield* parked.remove(name, second.id, "dropped"))
        assert.deepStrictEqual((yield* parked.audit(name)).map((entry) => [entry.eventId, entry.outcome]), [
          [poison.id, "parked"],
          [poison.id, "replayed"],
          [second.id, "parked"],
          [second.id, "dropped"]
        ])
      }))

    it.effect("a reactor's events carry the source's correlation id and name it as their cause; undeclared types are refused", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [requested, sent, forbidden] = [unique("Requested"), unique("Sent"), unique("Forbidden")]
        const Requested = Schema.TaggedStruct(requested, { to: Schema.String })
        const Sent = Schema.TaggedStruct(sent, { to: Schema.String })
        const Forbidden = Schema.TaggedStruct(forbidden, {})
        const refusals = yield* Ref.make<Array<string>>([])
        const reactor = Reactor.make({
          name: unique("mailer"),
          event: Requested,
          emits: [Sent],
          handlers: {
            [requested]: (event: { readonly data: { readonly to: string }; readonly streamId: string }, context: Reactor.Context<typeof Sent.Type>) =>
              Effect.gen(function*() {
                yield* context.emit(`mail-${event.streamId}`, [{ _tag: sent, to: event.data.to } as typeof Sent.Type])
                const refused = yield* Effect.flip(context.emit(`mail-${event.streamId}`, [{ _tag: forbidden } as unknown as typeof Sent.Type]))
                yield* Ref.update(refusals, (all) => [...all, refused.message])
              })
          } as Reactor.Handlers<typeof Requested.Type, typeof Sent.Type>
        })
        const source = yield* store.append("request-1", [{ type: requested, data: { to: "ada@example.com" }, metadata: { correlationId: "flow-42" } }])
        const handle = yield* Processor.start(reactor)
        yield* handle.whenCaughtUp
        const emitted = yield* Stream.runCollect(store.readStream("mail-request-1"))
        assert.strictEqual(emitted.length, 1)
        assert.strictEqual(emitted[0]!.type, sent)
        assert.deepStrictEqual(emitted[0]!.data, { to: "ada@example.com" })
        assert.strictEqual(emitted[0]!.metadata.causationId, source.events[0]!.id)
        assert.strictEqual(emitted[0]!.metadata.correlationId, "flow-42")
        const [refusal] = yield* Ref.get(refusals)
        assert.include(refusal, forbidden)
        assert.include(refusal, sent)
        void Forbidden
      }).pipe(Effect.scoped))

    it.effect("a batch's appends are held until it commits: its own reads of the stream see them, a failed attempt leaves none, the commit writes them in order", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [requested, noted] = [unique("Requested"), unique("Noted")]
        const Requested = Schema.TaggedStruct(requested, { n: Schema.Int })
        const Noted = Schema.TaggedStruct(noted, { n: Schema.Int })
        const journal = unique("journal")
        const seen: Array<{ readonly versions: ReadonlyArray<number>; readonly position: bigint; readonly id: string }> = []
        let failOnce = true
        const reactor = Reactor.make({
          name: unique("journaling"),
          event: Requested,
          emits: [Noted],
          handlers: {
            [requested]: (event: { readonly data: { readonly n: number } }, context: Reactor.Context<typeof Noted.Type>) =>
              Effect.gen(function*() {
                const result = yield* context.emit(journal, [{ _tag: noted, n: event.data.n } as typeof Noted.Type])
                // The stream as this batch sees it, through the store the handler is given: what
                // is stored, then what the batch holds.
                const inBatch = yield* EventStore
                const versions = (yield* Stream.runCollect(inBatch.readStream(journal))).map((recorded) => recorded.version)
                seen.push({ versions, position: result.events[0]!.position, id: result.events[0]!.id })
                // The first attempt fails after its appends: nothing of it may remain.
                if (event.data.n === 3 && failOnce) {
                  failOnce = false
                  return yield* Effect.fail("not yet" as const)
                }
              })
          } as Reactor.Handlers<typeof Requested.Type, typeof Noted.Type>
        })
        // The journal has an event already: the first held append comes after it.
        yield* store.append(journal, [{ type: noted, data: { n: 0 } }])
        yield* store.append(unique("requests"), [1, 2, 3].map((n) => ({ type: requested, data: { n } })))
        const handle = yield* Processor.start(reactor, { retry: quickRetry })
        yield* handle.whenCaughtUp
        const written = yield* Stream.runCollect(store.readStream(journal))
        // Once each, in order, though the first attempt appended two events before it failed.
        assert.deepStrictEqual(written.map((recorded) => [recorded.version, (recorded.data as { n: number }).n]), [[1, 0], [2, 1], [3, 2], [4, 3]])
        assert.isTrue(written.every((recorded) => recorded.position > 0n))
        // Inside the batch: the stream grew with each held append; positions are not known yet.
        assert.deepStrictEqual(seen.map((entry) => entry.versions), [[1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2], [1, 2, 3], [1, 2, 3, 4]])
        assert.isTrue(seen.every((entry) => entry.position === 0n))
        // The ids the handler was given are those stored.
        assert.deepStrictEqual(written.slice(1).map((recorded) => recorded.id), seen.slice(3).map((entry) => entry.id))
      }).pipe(Effect.scoped))

    it.effect("a command handled in a batch loads the stream with what the batch holds, and its snapshot is saved only once the batch commits", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const snapshots = yield* SnapshotStore
        const [requested, added] = [unique("Requested"), unique("Added")]
        const Requested = Schema.TaggedStruct(requested, { amount: Schema.Int })
        const Added = Schema.TaggedStruct(added, { amount: Schema.Int })
        const Add = Schema.TaggedStruct("Add", { amount: Schema.Int })
        const counter = unique("counter")
        const counters = CommandHandler.make(Aggregate.make({
          name: unique("Counter"),
          command: Add,
          event: Added,
          state: Schema.Int,
          initialState: 0,
          decide: (command: typeof Add.Type) => Effect.succeed([{ _tag: added, amount: command.amount } as typeof Added.Type]),
          evolve: (total: number, event: typeof Added.Type) => total + event.amount
        }), { snapshot: { every: 1, schemaVersion: 1 } })
        const totals: Array<number> = []
        let failOnce = true
        const adding = Reactor.make({
          name: unique("adding"),
          event: Requested,
          emits: [],
          handlers: {
            [requested]: (event: { readonly data: { readonly amount: number } }) =>
              Effect.gen(function*() {
                const { state } = yield* counters.execute(counter, { _tag: "Add", amount: event.data.amount })
                totals.push(state)
                if (failOnce && totals.length === 2) {
                  failOnce = false
                  // No snapshot of the rolled-back attempt may be saved: it is read after the rollback.
                  return yield* Effect.fail("not yet" as const)
                }
              })
          } as Reactor.Handlers<typeof Requested.Type, never>
        })
        yield* store.append(unique("requests"), [1, 10, 100].map((amount) => ({ type: requested, data: { amount } })))
        const handle = yield* Processor.start(adding, { retry: quickRetry })
        yield* handle.whenCaughtUp
        // The second command of each attempt loaded the first's held events.
        assert.deepStrictEqual(totals, [1, 11, 1, 11, 111])
        assert.deepStrictEqual((yield* Stream.runCollect(store.readStream(counter))).map((recorded) => recorded.version), [1, 2, 3])
        // Saved in the background after the commit.
        const saved = yield* snapshots.load(counter).pipe(
          Effect.flatMap((found) => Option.isSome(found) && found.value.version === 3 ? Effect.succeed(found.value) : Effect.fail("not yet" as const)),
          Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 100 })
        )
        assert.strictEqual(saved.state, 111)
        assert.deepStrictEqual(yield* counters.load(counter), { state: 111, version: 3 })
      }).pipe(Effect.scoped))

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
        assert.deepStrictEqual((yield* handle.segments).filter((status) => status.state === "waiting for lease"), [])
        const expected = yield* foldTallies(events.added)
        for (const [streamId, fold] of expected) {
          const tally = Option.getOrThrow(yield* tallies.get(streamId))
          assert.deepStrictEqual({ count: tally.count, sum: tally.sum, lastVersion: tally.lastVersion }, fold)
        }
      }).pipe(Effect.scoped, Effect.provide(Placement.cluster().pipe(Layer.provide(TestRunner.layer)))))

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

    it.effect("in a batch, reads and lists see the batch's own writes, and updates apply in log order", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const name = unique("buffered")
        const notes = Documents.make(name, Schema.Struct({ amounts: Schema.Array(Schema.Int) }))
        const seen = yield* Ref.make<Array<{ readonly listed: number; readonly read: ReadonlyArray<number> }>>([])
        const projection = Projection.make({
          name,
          event: events.Added,
          handlers: {
            [events.added]: (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
              Effect.gen(function*() {
                yield* notes.upsert(`${event.streamId}-${event.version}`, { amounts: [event.data.amount] })
                yield* notes.update("all", (current) => ({ amounts: [...Option.getOrElse(current, () => ({ amounts: [] })).amounts, event.data.amount] }))
                const listed = (yield* notes.list).length
                const read = Option.getOrThrow(yield* notes.get("all")).amounts
                yield* Ref.update(seen, (all) => [...all, { listed, read }])
              })
          }
        })
        yield* append("n", events.added, [5, 6, 7])
        const handle = yield* Processor.start(projection, { batchSize: 10 })
        yield* handle.whenCaughtUp
        assert.deepStrictEqual(yield* Ref.get(seen), [
          { listed: 2, read: [5] },
          { listed: 3, read: [5, 6] },
          { listed: 4, read: [5, 6, 7] }
        ])
        assert.deepStrictEqual(yield* notes.get("all"), Option.some({ amounts: [5, 6, 7] }))
        assert.deepStrictEqual(yield* notes.get("n-3"), Option.some({ amounts: [7] }))
      }).pipe(Effect.scoped))

    it.effect("a document write that fails at the end of the batch halts on the event that made it", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const name = unique("unencodable")
        const halves = Documents.make(name, Schema.Struct({ half: Schema.Int }))
        const projection = Projection.make({
          name,
          event: events.Added,
          handlers: {
            // An odd amount makes a half that is no Int: the document cannot be encoded.
            [events.added]: (event: { readonly streamId: string; readonly data: { readonly amount: number } }) =>
              halves.update(event.streamId, (current) => ({ half: Option.getOrElse(current, () => ({ half: 0 })).half + event.data.amount / 2 }))
          }
        })
        const written = yield* append("h", events.added, [2, 4, 3, 6])
        const handle = yield* Processor.start(projection, { batchSize: 10, retry: quickRetry })
        const halted = yield* Effect.flip(handle.whenCaughtUp)
        assert.strictEqual(halted._tag, "ProcessorHalted")
        if (halted._tag !== "ProcessorHalted") return
        assert.strictEqual(halted.eventId, written.events[2]!.id)
        assert.strictEqual(halted.version, 3)
        assert.include(halted.message, "DocumentSchemaError")
        assert.strictEqual((yield* handle.status).position, written.events[1]!.position)
        assert.strictEqual(yield* (yield* CheckpointStore).get(name), written.events[1]!.position)
        assert.deepStrictEqual(yield* halves.get("h"), Option.some({ half: 3 }))
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
  })
}

/**
 * Written as a user writes them: plain `it.effect`, on its `TestClock`, which moves only when a
 * test adjusts it. Processors and command handlers wait on the live clock, so their retries do
 * not stall the test.
 */
const onTestClock = <E>(name: string, storeLayer: Layer.Layer<Services, E>, options: { readonly singleSession?: boolean } | undefined) =>
  describe(`Processors on the test clock: ${name}`, () => {
    plain.effect("a handler that fails once is retried after the default delay, and whenCaughtUp returns", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const attempts = yield* Ref.make(0)
        const tallies = Documents.make(unique("once"), Tally)
        const projection = Projection.make({
          name: tallies.name,
          event: events.Added,
          handlers: {
            [events.added]: (event: { readonly streamId: string; readonly data: { readonly amount: number } }) =>
              Effect.gen(function*() {
                if ((yield* Ref.updateAndGet(attempts, (n) => n + 1)) === 1) return yield* Effect.fail("flaky" as const)
                yield* tallies.upsert(event.streamId, new Tally({ count: 1, sum: event.data.amount, lastVersion: 1 }))
              })
          }
        })
        const processors = yield* Processor.startAll([projection])
        yield* append("once", events.added, [7])
        yield* processors.whenCaughtUp
        assert.strictEqual(yield* Ref.get(attempts), 2)
        assert.strictEqual(Option.getOrThrow(yield* tallies.get("once")).sum, 7)
      }).pipe(Effect.scoped, Effect.provide(storeLayer)), 30_000)

    // A process manager's batch holds the only session of a single-session store while its
    // command waits for the test's: they cannot meet there.
    const concurrentTest = options?.singleSession === true ? plain.effect.skip : plain.effect
    concurrentTest("a process manager's command and the test's conflict on one stream: both are retried, and whenCaughtUp sees both", () =>
      Effect.gen(function*() {
        const events = counterEvents()
        const stream = unique("bumped")
        // The first two decisions wait for each other, so both decide on the same version.
        const arrived = yield* Ref.make(0)
        const both = yield* Deferred.make<void>()
        const meet = Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(arrived, (n) => n + 1)
          if (n === 2) yield* Deferred.succeed(both, undefined)
          if (n <= 2) yield* Deferred.await(both)
        })
        const bumped = unique("Bumped")
        const Bumped = Schema.TaggedStruct(bumped, {})
        const counter = CommandHandler.make(Aggregate.make({
          name: "Counter",
          command: Schema.Struct({ by: Schema.String }),
          event: Bumped,
          initialState: 0,
          decide: () => Effect.as(meet, [Bumped.make({})]),
          evolve: (count: number) => count + 1
        }))
        const bumps = ProcessManager.make({
          name: unique("bumps"),
          event: events.Added,
          state: Schema.Struct({ done: Schema.Boolean }),
          initialState: { done: false },
          processId: (event) => event.streamId,
          handlers: {
            [events.added]: () => Effect.as(counter.execute(stream, { by: "process manager" }), { done: true })
          }
        })
        const processors = yield* Processor.startAll([bumps])
        yield* append(unique("trigger"), events.added, [1])
        yield* counter.handle(stream, { by: "test" })
        yield* processors.whenCaughtUp
        assert.strictEqual((yield* counter.load(stream)).version, 2)
        assert.isTrue((yield* Ref.get(arrived)) >= 3, "one of the two decided again")
      }).pipe(Effect.scoped, Effect.provide(storeLayer)), 30_000)
  })
