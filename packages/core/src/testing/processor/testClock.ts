/**
 * Processors in plain `it.effect` tests, on the `TestClock`: a handler that fails once is retried
 * after the default delay, and a process manager's command that conflicts with the test's is
 * retried, though the test never moves the clock.
 */
import { assert, describe, it as plain } from "@effect/vitest"
import { Deferred, Effect, type Layer, Option, Ref, Schema } from "effect"
import * as Aggregate from "../../Aggregate.ts"
import * as CommandHandler from "../../CommandHandler.ts"
import * as Documents from "../../Documents.ts"
import * as ProcessManager from "../../ProcessManager.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import { append, counterEvents, type Services, Tally, unique } from "./fixtures.ts"

/**
 * Written as a user writes them: plain `it.effect`, on its `TestClock`, which moves only when a
 * test adjusts it. Processors and command handlers wait on the live clock, so their retries do
 * not stall the test.
 */
export const onTestClock = <E>(name: string, storeLayer: Layer.Layer<Services, E>, options: { readonly singleSession?: boolean } | undefined) =>
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
