/**
 * Failing handlers: a poison event halts the processor before its checkpoint, and the halt is
 * visible to the app (health, whenHalted, the halted gauge, Processor.run); a handler that fails
 * and then succeeds is retried and applies its event once; skipAndRecord and park move past a
 * poison event (parked ones are replayed or dropped, and audited); a document write that fails at
 * the end of a batch halts on the event that made it.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Fiber, Metric, Option, Ref, Schema } from "effect"
import { CheckpointStore } from "../../CheckpointStore.ts"
import * as Documents from "../../Documents.ts"
import { EventStore } from "../../EventStore.ts"
import * as Metrics from "../../Metrics.ts"
import * as ParkedEvents from "../../ParkedEvents.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import { append, counterEvents, quickRetry, type Services, Tally, tallyProjection, unique } from "./fixtures.ts"

export const failures = (it: Vitest.MethodsNonLive<Services>) => {
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
}
