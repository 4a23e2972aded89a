/**
 * The behaviour every {@link EventStore} implementation must show, as a Vitest suite that takes
 * the store's Layer. Tests use fresh stream ids and event types, so they can share one database
 * with other tests.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, type Layer, Option, Result, Schedule, Schema, Stream } from "effect"
import * as Aggregate from "../Aggregate.ts"
import * as CommandHandler from "../CommandHandler.ts"
import { EventStore, type ExpectedVersion, WrongExpectedVersion } from "../EventStore.ts"
import type { RecordedEvent, UnsavedEvent } from "../RecordedEvent.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

const events = (type: string, count: number, from = 1): Array<UnsavedEvent> =>
  Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }))

/**
 * Waits until readers of the log see the event at `position`, and so every event committed
 * before it. On SQL, readers see an event once every older transaction has ended, and tests
 * sharing the database may hold one open for a moment.
 */
const visible = (position: bigint) =>
  EventStore.use((store) => store.readPage({ after: position - 1n, batchSize: 1 })).pipe(
    Effect.repeat({ until: (page) => page.events.length > 0, schedule: Schedule.spaced("10 millis"), times: 500 })
  )

const readStream = (streamId: string) =>
  EventStore.use((store) => Stream.runCollect(store.readStream(streamId)))

const appendExpecting = (streamId: string, count: number, expectedVersion: ExpectedVersion) =>
  EventStore.use((store) => store.append(streamId, events("Tested", count), { expectedVersion }))

const expectConflict = <A, E>(effect: Effect.Effect<A, E, EventStore>, expected: ExpectedVersion, actual: number) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.instanceOf(error, WrongExpectedVersion)
    assert.deepStrictEqual(error.expected, expected)
    assert.strictEqual((error as WrongExpectedVersion).actual, actual)
  })

const dataOf = (events: ReadonlyArray<RecordedEvent>) => events.map((event) => event.data)

class Add extends Schema.TaggedClass<Add>()("Add", { amount: Schema.Int }) {}
class Added extends Schema.TaggedClass<Added>()("Added", { amount: Schema.Int }) {}
class Noted extends Schema.TaggedClass<Noted>()("Noted", {}) {}

/** A counter whose command makes two events, so a repeat shows whether all of them are found. */
const counters = CommandHandler.make(Aggregate.make({
  name: "Counter",
  command: Add,
  event: Schema.Union([Added, Noted]),
  initialState: 0,
  decide: (command: Add) => Effect.succeed([new Added({ amount: command.amount }), new Noted()]),
  evolve: (total: number, event: Added | Noted) => event._tag === "Added" ? total + event.amount : total
}))

/**
 * Registers the conformance suite for the store that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const eventStoreConformance = <E>(name: string, storeLayer: Layer.Layer<EventStore, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`EventStore conformance: ${name}`, (it) => {
    it.effect("appends to a new stream with noStream and rejects a second noStream", () =>
      Effect.gen(function*() {
        const streamId = unique("no-stream")
        const result = yield* appendExpecting(streamId, 2, "noStream")
        assert.strictEqual(result.version, 2)
        assert.deepStrictEqual(result.events.map((event) => event.version), [1, 2])
        yield* expectConflict(appendExpecting(streamId, 1, "noStream"), "noStream", 2)
        assert.strictEqual((yield* readStream(streamId)).length, 2)
      }))

    it.effect("streamExists rejects a missing stream and accepts an existing one", () =>
      Effect.gen(function*() {
        const streamId = unique("exists")
        yield* expectConflict(appendExpecting(streamId, 1, "streamExists"), "streamExists", 0)
        assert.strictEqual((yield* readStream(streamId)).length, 0)
        yield* appendExpecting(streamId, 1, "noStream")
        const result = yield* appendExpecting(streamId, 2, "streamExists")
        assert.strictEqual(result.version, 3)
      }))

    it.effect("an exact version is accepted only when it is the stream's last version", () =>
      Effect.gen(function*() {
        const streamId = unique("exact")
        yield* expectConflict(appendExpecting(streamId, 1, 1), 1, 0)
        assert.strictEqual((yield* appendExpecting(streamId, 2, 0)).version, 2)
        yield* expectConflict(appendExpecting(streamId, 1, 1), 1, 2)
        yield* expectConflict(appendExpecting(streamId, 1, 3), 3, 2)
        yield* expectConflict(appendExpecting(streamId, 1, 0), 0, 2)
        assert.strictEqual((yield* appendExpecting(streamId, 1, 2)).version, 3)
        assert.deepStrictEqual((yield* readStream(streamId)).map((event) => event.version), [1, 2, 3])
      }))

    it.effect("any appends whatever the stream's version", () =>
      Effect.gen(function*() {
        const streamId = unique("any")
        assert.strictEqual((yield* appendExpecting(streamId, 1, "any")).version, 1)
        assert.strictEqual((yield* appendExpecting(streamId, 2, "any")).version, 3)
      }))

    it.effect("appending no events only checks the expectation", () =>
      Effect.gen(function*() {
        const streamId = unique("empty")
        const store = yield* EventStore
        assert.strictEqual((yield* store.append(streamId, [], { expectedVersion: "noStream" })).version, 0)
        yield* expectConflict(store.append(streamId, [], { expectedVersion: "streamExists" }), "streamExists", 0)
        yield* appendExpecting(streamId, 2, "noStream")
        const result = yield* store.append(streamId, [], { expectedVersion: 2 })
        assert.strictEqual(result.version, 2)
        assert.strictEqual(result.events.length, 0)
      }))

    it.effect("a rejected batch writes none of its events", () =>
      Effect.gen(function*() {
        const streamId = unique("rejected")
        const store = yield* EventStore
        const first = yield* appendExpecting(streamId, 1, "noStream")
        yield* expectConflict(store.append(streamId, events("Rejected", 3), { expectedVersion: 5 }), 5, 1)
        assert.deepStrictEqual((yield* readStream(streamId)).map((event) => event.type), ["Tested"])
        yield* visible(first.events[0]!.position)
        const after = yield* Stream.runCollect(store.readAll({ after: first.events[0]!.position }))
        assert.isFalse(after.some((event) => event.streamId === streamId))
      }))

    it.effect("stores ids, types, data and metadata verbatim and assigns versions and positions", () =>
      Effect.gen(function*() {
        const streamId = unique("verbatim")
        const store = yield* EventStore
        const id = crypto.randomUUID()
        const data = { text: "quotes ' \" ; -- \\ and unicode ✓ 😀 𝄞", nested: { list: [1, 2.5, null, true], empty: {} } }
        const metadata = { correlationId: "c-1", causationId: "e-0", user: { name: "Ada" } }
        const result = yield* store.append(streamId, [{ id, type: "Verbatim", data, metadata }, { type: "Second", data: {} }])
        const stored = yield* readStream(streamId)
        assert.strictEqual(stored.length, 2)
        const [first, second] = stored
        assert.strictEqual(first!.id, id)
        assert.strictEqual(first!.type, "Verbatim")
        assert.strictEqual(first!.streamId, streamId)
        assert.deepStrictEqual(first!.data, data)
        assert.deepStrictEqual(first!.metadata, metadata)
        assert.strictEqual(first!.version, 1)
        assert.match(second!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        assert.isTrue(second!.position > first!.position)
        assert.deepStrictEqual(stored.map((event) => event.position), result.events.map((event) => event.position))
        assert.deepStrictEqual(stored.map((event) => event.id), result.events.map((event) => event.id))
      }))

    it.effect("stores stream ids and types with quotes, semicolons, unicode and 10 kB of text", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const odd = [
          `it's "quoted"; DROP TABLE events; --`,
          `ünïcödé ✓ 😀 ${crypto.randomUUID()}`,
          // Random text does not compress, so it must not land in a btree index as it is.
          Array.from({ length: 10_000 }, () => String.fromCharCode(32 + Math.floor(Math.random() * 95))).join("")
        ]
        for (const name of odd) {
          const streamId = `${name}-${crypto.randomUUID()}`
          yield* store.append(streamId, [{ type: name, data: { name } }], { expectedVersion: "noStream" })
          const stored = yield* readStream(streamId)
          assert.strictEqual(stored.length, 1)
          assert.strictEqual(stored[0]!.streamId, streamId)
          assert.strictEqual(stored[0]!.type, name)
          assert.deepStrictEqual(stored[0]!.data, { name })
          yield* visible(stored[0]!.position)
          const byType = yield* Stream.runCollect(store.readAll({ after: stored[0]!.position - 1n, types: [name] }))
          assert.deepStrictEqual(byType.map((event) => event.id), [stored[0]!.id])
        }
      }))

    it.effect("fails with InvalidInput on data that is not JSON and writes nothing", () =>
      Effect.gen(function*() {
        const streamId = unique("not-json")
        const store = yield* EventStore
        const error = yield* Effect.flip(store.append(streamId, [
          { type: "Fine", data: { ok: true } },
          { type: "Bad", data: { amount: 10n } }
        ]))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((yield* readStream(streamId)).length, 0)
      }))

    it.effect("lists streams by prefix, a page at a time, with their versions and last positions", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const prefix = unique("listed")
        const a = yield* store.append(`${prefix}/a`, events("Listed", 2))
        const c = yield* store.append(`${prefix}/c`, events("Listed", 1))
        const b = yield* store.append(`${prefix}/b`, events("Listed", 3))
        yield* store.append(`${unique("unlisted")}/a`, events("Listed", 1))
        const first = yield* store.listStreams({ prefix, limit: 2 })
        assert.deepStrictEqual(first.streams, [
          { streamId: `${prefix}/a`, version: 2, position: a.events[1]!.position },
          { streamId: `${prefix}/b`, version: 3, position: b.events[2]!.position }
        ])
        assert.strictEqual(first.next, `${prefix}/b`)
        const rest = yield* store.listStreams({ prefix, after: first.next, limit: 2 })
        assert.deepStrictEqual(rest, { streams: [{ streamId: `${prefix}/c`, version: 1, position: c.events[0]!.position }], next: undefined })
        assert.deepStrictEqual((yield* store.listStreams({ prefix: `${prefix}/z` })).streams, [])
      }))

    it.effect("readCommand finds the events one command produced on its stream, and only those", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [streamId, other] = [unique("commands"), unique("commands-other")]
        yield* store.append(streamId, [{ type: "Before", data: {} }])
        yield* store.append(streamId, [1, 2].map((n) => ({ type: "ByCommand", data: { n }, metadata: { commandId: "c-1" } })))
        yield* store.append(other, [{ type: "ByCommand", data: { n: 3 }, metadata: { commandId: "c-1" } }])
        const found = yield* store.readCommand(streamId, "c-1")
        assert.deepStrictEqual(found.map((event) => [event.version, event.data]), [[2, { n: 1 }], [3, { n: 2 }]])
        assert.deepStrictEqual(yield* store.readCommand(streamId, "c-2"), [])
        assert.deepStrictEqual(yield* store.readCommand(unique("none"), "c-1"), [])
      }))

    it.effect("a command repeated with its commandId appends nothing and returns the first result", () =>
      Effect.gen(function*() {
        const streamId = unique("idempotent")
        const first = yield* counters.execute(streamId, new Add({ amount: 5 }), { commandId: "add-5" })
        yield* counters.execute(streamId, new Add({ amount: 7 }))
        // The id names the command: a repeat is found whatever its body.
        for (const body of [new Add({ amount: 5 }), new Add({ amount: 100 })]) {
          const again = yield* counters.execute(streamId, body, { commandId: "add-5" })
          assert.deepStrictEqual(
            [again.version, again.state, again.events.map((event) => event.data)],
            [2, 5, [new Added({ amount: 5 }), new Noted()]]
          )
          assert.deepStrictEqual(again.events.map((event) => event.id), first.events.map((event) => event.id))
        }
        const stored = yield* readStream(streamId)
        assert.strictEqual(stored.length, 4)
        assert.strictEqual(stored[0]!.metadata.commandId, "add-5")
        assert.strictEqual(stored[2]!.metadata.commandId, undefined)
        assert.strictEqual((yield* counters.load(streamId)).state, 12)
      }))

    it.effect("of concurrent handlings of one commandId, one appends and all return its result", () =>
      Effect.gen(function*() {
        const streamId = unique("idempotent-race")
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }),
          () => counters.execute(streamId, new Add({ amount: 3 }), { commandId: "once" }),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(results.map((result) => `${result.version}:${result.state}`)), new Set(["2:3"]))
        assert.strictEqual((yield* readStream(streamId)).length, 2)
      }))

    it.effect("reads a stream in version order, from a version, across batches", () =>
      Effect.gen(function*() {
        const streamId = unique("paged")
        const store = yield* EventStore
        yield* store.append(streamId, events("Paged", 4))
        yield* store.append(streamId, events("Paged", 6, 5))
        const all = yield* Stream.runCollect(store.readStream(streamId, { batchSize: 3 }))
        assert.deepStrictEqual(all.map((event) => event.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        assert.deepStrictEqual(dataOf(all), Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })))
        const tail = yield* Stream.runCollect(store.readStream(streamId, { from: 8, batchSize: 2 }))
        assert.deepStrictEqual(tail.map((event) => event.version), [8, 9, 10])
        assert.strictEqual((yield* readStream(unique("missing"))).length, 0)
      }))

    it.effect("readAll returns events in global order, filtered by type at the source, across batches", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [a, b] = [unique("log-a"), unique("log-b")]
        const [typeX, typeY] = [unique("X"), unique("Y")]
        const first = yield* store.append(a, [{ type: typeX, data: { n: 1 } }])
        yield* store.append(b, [{ type: typeY, data: { n: 2 } }, { type: typeX, data: { n: 3 } }])
        yield* store.append(a, [{ type: typeY, data: { n: 4 } }])
        const last = yield* store.append(b, [{ type: typeX, data: { n: 5 } }])
        yield* visible(last.events[0]!.position)
        const after = first.events[0]!.position - 1n
        const ours = (events: ReadonlyArray<RecordedEvent>) => events.filter((event) => event.streamId === a || event.streamId === b)
        const all = ours(yield* Stream.runCollect(store.readAll({ after, batchSize: 2 })))
        assert.deepStrictEqual(dataOf(all), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }])
        for (let i = 1; i < all.length; i++) assert.isTrue(all[i]!.position > all[i - 1]!.position)
        const onlyX = yield* Stream.runCollect(store.readAll({ after, types: [typeX], batchSize: 1 }))
        assert.deepStrictEqual(dataOf(onlyX), [{ n: 1 }, { n: 3 }, { n: 5 }])
        const fromMiddle = ours(yield* Stream.runCollect(store.readAll({ after: all[2]!.position })))
        assert.deepStrictEqual(dataOf(fromMiddle), [{ n: 4 }, { n: 5 }])
      }))

    it.effect("readPage reads past events of other types, so a reader of a rare type does not read them again", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [rare, common] = [unique("Rare"), unique("Common")]
        const stream = unique("pages")
        const first = yield* store.append(stream, [{ type: rare, data: { n: 1 } }])
        const after = first.events[0]!.position - 1n
        const others = yield* store.append(stream, events(common, 20))
        const lastOther = others.events[19]!.position
        yield* visible(lastOther)
        const page = yield* store.readPage({ after, types: [rare], batchSize: 10 })
        assert.deepStrictEqual(dataOf(page.events), [{ n: 1 }])
        assert.isTrue(page.next >= lastOther, "a page that is not full moves past the events of other types")
        const empty = yield* store.readPage({ after: page.next, types: [rare] })
        assert.deepStrictEqual(empty.events, [])
        assert.isTrue(empty.next >= page.next)
        const later = yield* store.append(stream, [{ type: rare, data: { n: 2 } }])
        yield* visible(later.events[0]!.position)
        const next = yield* store.readPage({ after: empty.next, types: [rare] })
        assert.deepStrictEqual(next.events.map((event) => event.id), [later.events[0]!.id])
        // A full page goes on from its last event.
        const full = yield* store.readPage({ after, types: [rare, common], batchSize: 3 })
        assert.deepStrictEqual(dataOf(full.events), [{ n: 1 }, { n: 1 }, { n: 2 }])
        assert.strictEqual(full.next, full.events[2]!.position)
      }))

    it.effect("gaugeOf turns positions into safe integers that grow with the log", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const first = yield* store.append(unique("gauge"), events("Gauged", 2))
        const later = yield* store.append(unique("gauge"), events("Gauged", 1))
        const gauges = [...first.events, ...later.events].map((event) => store.gaugeOf(event.position))
        for (const gauge of gauges) assert.isTrue(Number.isSafeInteger(gauge), `${gauge} is a safe integer`)
        assert.isTrue(gauges[0]! < gauges[1]! && gauges[1]! < gauges[2]!, `${gauges.join(" < ")}`)
      }))

    it.effect("count counts the events of the given types after a position", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [typeX, typeY] = [unique("CountX"), unique("CountY")]
        const written = yield* store.append(unique("count"), [...events(typeX, 3), ...events(typeY, 2), ...events(typeX, 1)])
        const after = written.events[0]!.position - 1n
        yield* visible(written.events[5]!.position)
        assert.strictEqual(yield* store.count({ after, types: [typeX] }), 4)
        assert.strictEqual(yield* store.count({ after, types: [typeX, typeY] }), 6)
        assert.strictEqual(yield* store.count({ after: written.events[2]!.position, types: [typeX] }), 1)
        assert.strictEqual(yield* store.count({ after, types: [] }), 0)
        assert.isTrue((yield* store.count({ after })) >= 6)
      }))

    it.effect("head is the position of the last event, of the given types", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [typeX, typeY] = [unique("HeadX"), unique("HeadY")]
        assert.strictEqual(yield* store.head({ types: [typeX] }), 0n)
        const first = yield* store.append(unique("head"), [{ type: typeX, data: {} }, { type: typeY, data: {} }])
        assert.strictEqual(yield* store.head({ types: [typeX] }), first.events[0]!.position)
        assert.strictEqual(yield* store.head({ types: [typeX, typeY] }), first.events[1]!.position)
        assert.isTrue((yield* store.head()) >= first.events[1]!.position)
      }))

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
  })
