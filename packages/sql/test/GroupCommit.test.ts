/**
 * Group commit keeps each append's own outcome. With one statement in flight at a time, appends
 * made together wait and go in groups: each still gets its own result or typed failure, a
 * conflicting or invalid one fails alone, and another store's appends racing for the same
 * versions (a second process) lose nothing and repeat nothing. On a server and on PGlite.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Redacted, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { EventStore } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const event = (n: number, tags?: ReadonlyArray<string>) => ({ type: "Counted", data: { n }, ...(tags === undefined ? {} : { tags }) })

/** The transaction of an event's position: appends of one group share it. */
const transactionOf = (position: bigint) => position >> 64n

const readStream = (streamId: string) => EventStore.EventStore.use((store) => Stream.runCollect(store.readStream(streamId)))

const suite = (name: string, stores: Layer.Layer<EventStore.EventStore | SqlClient.SqlClient, unknown>, other: Layer.Layer<EventStore.EventStore, unknown> | undefined) =>
  layer(stores, { excludeTestServices: true, timeout: "60 seconds" })(`group commit: ${name}`, (it) => {
    it.effect("appends made together go in groups, each with its own result", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const streams = Array.from({ length: 40 }, () => unique("grouped"))
        const results = yield* Effect.forEach(streams, (streamId, i) => store.append(streamId, [event(i), event(i + 1000)], { expectedVersion: "noStream" }), {
          concurrency: "unbounded"
        })
        for (const [i, result] of results.entries()) {
          assert.strictEqual(result.streamId, streams[i])
          assert.deepStrictEqual(result.events.map((e) => [e.version, e.data]), [[1, { n: i }], [2, { n: i + 1000 }]])
          const stored = yield* readStream(streams[i]!)
          assert.deepStrictEqual(stored.map((e) => [e.id, e.position]), result.events.map((e) => [e.id, e.position]))
        }
        // Some of them shared a transaction: they were written together.
        const transactions = new Set(results.map((result) => transactionOf(result.events[0]!.position)))
        assert.isBelow(transactions.size, results.length)
      }))

    it.effect("a conflicting append fails alone with its actual version, and an invalid one with InvalidInput", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const taken = unique("taken")
        yield* store.append(taken, [event(0), event(1)])
        const good = Array.from({ length: 10 }, () => unique("good"))
        const outcomes = yield* Effect.all([
          ...good.map((streamId, i) => Effect.exit(store.append(streamId, [event(i, [`tag:${i}`])], { expectedVersion: "noStream" }))),
          Effect.exit(store.append(taken, [event(2)], { expectedVersion: 1 })),
          Effect.exit(store.append(taken, [event(3)], { expectedVersion: "noStream" })),
          Effect.exit(store.append("bad\u0000stream", [event(4)]))
        ], { concurrency: "unbounded" })
        for (const exit of outcomes.slice(0, good.length)) assert.isTrue(Exit.isSuccess(exit))
        const [wrongVersion, wrongNoStream, invalid] = outcomes.slice(good.length).map((exit) => Exit.isFailure(exit) ? Exit.findErrorOption(exit) : undefined)
        for (const failure of [wrongVersion, wrongNoStream]) {
          assert.strictEqual(failure?._tag, "Some")
          if (failure?._tag === "Some") {
            assert.instanceOf(failure.value, EventStore.WrongExpectedVersion)
            assert.strictEqual((failure.value as EventStore.WrongExpectedVersion).actual, 2)
          }
        }
        assert.strictEqual(invalid?._tag === "Some" ? invalid.value._tag : undefined, "InvalidInput")
        assert.deepStrictEqual((yield* readStream(taken)).map((e) => e.data), [{ n: 0 }, { n: 1 }])
        for (const [i, streamId] of good.entries()) assert.deepStrictEqual((yield* readStream(streamId)).map((e) => e.tags), [[`tag:${i}`]])
      }))

    it.effect("mixed expectations on shared streams: what was acknowledged is the streams, in contiguous versions", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const streams = Array.from({ length: 4 }, () => unique("shared"))
        const expectations = ["any", "noStream", "streamExists", 0, 1, 2, 3] as const
        const attempts = Array.from({ length: 60 }, (_, i) => ({ streamId: streams[i % streams.length]!, expected: expectations[i % expectations.length]!, n: i }))
        const outcomes = yield* Effect.forEach(attempts, ({ expected, n, streamId }) =>
          Effect.exit(store.append(streamId, [event(n)], { expectedVersion: expected })), { concurrency: "unbounded" })
        for (const streamId of streams) {
          const acknowledged = outcomes.flatMap((exit, i) => attempts[i]!.streamId === streamId && Exit.isSuccess(exit) ? exit.value.events : [])
          const stored = yield* readStream(streamId)
          assert.deepStrictEqual(stored.map((e) => e.version), stored.map((_, i) => i + 1))
          assert.deepStrictEqual(stored.map((e) => e.id).sort(), acknowledged.map((e) => e.id).sort())
        }
        for (const exit of outcomes) {
          if (Exit.isFailure(exit)) assert.instanceOf(Exit.findErrorOption(exit).pipe((option) => option._tag === "Some" ? option.value : undefined), EventStore.WrongExpectedVersion)
        }
      }))

    if (other !== undefined) {
      it.effect("an append waiting for another transaction's lock holds up no other append of its group", () =>
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const sql = yield* SqlClient.SqlClient
          const held = unique("held")
          const appended = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          // Another transaction appends to the stream and stays open: an append after it waits.
          const open = yield* sql.withTransaction(Effect.gen(function*() {
            yield* store.append(held, [event(0)])
            yield* Deferred.succeed(appended, undefined)
            yield* Deferred.await(release)
          })).pipe(Effect.forkChild)
          yield* Deferred.await(appended)
          const first = unique("first")
          const others = Array.from({ length: 10 }, () => unique("other"))
          // The first goes alone; the rest wait for it and go together, the held stream's among them.
          const waiting = yield* Effect.forEach([first, held, ...others], (streamId, i) => store.append(streamId, [event(i)]).pipe(Effect.forkChild))
          const done = yield* Effect.forEach([waiting[0]!, ...waiting.slice(2)], Fiber.join).pipe(Effect.timeout("5 seconds"))
          assert.strictEqual(done.length, 11)
          assert.isUndefined(waiting[1]!.pollUnsafe())
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(open)
          const late = yield* Fiber.join(waiting[1]!)
          assert.deepStrictEqual(late.events.map((e) => e.version), [2])
        }))

      it.effect("another store's appends racing for the same versions: every append lands once, in contiguous versions", () =>
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const rival = Context.get(yield* Layer.build(other), EventStore.EventStore)
          const streams = Array.from({ length: 5 }, () => unique("raced"))
          const appends = Array.from({ length: 100 }, (_, i) => ({ streamId: streams[i % streams.length]!, n: i, by: i % 2 === 0 ? store : rival }))
          const results = yield* Effect.forEach(appends, ({ by, n, streamId }) => by.append(streamId, [event(n)]), { concurrency: "unbounded" })
          for (const streamId of streams) {
            const stored = yield* readStream(streamId)
            assert.deepStrictEqual(stored.map((e) => e.version), stored.map((_, i) => i + 1))
            const mine = results.filter((result) => result.streamId === streamId).flatMap((result) => result.events.map((e) => e.id))
            assert.deepStrictEqual(stored.map((e) => e.id).sort(), mine.sort())
          }
        }).pipe(Effect.scoped))
    }
  })

const url = Redacted.make(inject("databaseUrl"))
// One statement in flight at a time, so that appends made together wait and go in groups.
suite("Postgres server", Postgres.layer({ url, schema: "grouped", groupCommit: { inFlight: 1 } }), Postgres.layer({ url, schema: "grouped" }))
suite("embedded PGlite", Embedded.layer({ groupCommit: { inFlight: 1 } }), undefined)
