/**
 * Reads: streams listed by prefix, a stream in version order, the log in global order by type,
 * pages that read past other types, counts, heads and gauges.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { EventStore, type ListStreamsOptions } from "../../EventStore.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import { dataOf, events, readStream, unique, visible } from "./fixtures.ts"

export const reads = (it: Vitest.MethodsNonLive<EventStore>) => {
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

  it.effect("lists streams in byte order of their ids, whatever their characters, from any after", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const prefix = unique("bytes")
      // In UTF-8 byte order: "A" (41) < "m" (6d) < "z" (7a) < "é" (c3 a9) < "😀" (f0 9f 98 80); two
      // ids longer than a SQL index entry can hold sort among the others.
      const long = `m${"x".repeat(3_000)}`
      const ids = ["😀", `${long}b`, "é", "z", `${long}a`, "A"].map((suffix) => `${prefix}/${suffix}`)
      for (const id of ids) yield* store.append(id, events("Listed", 1))
      const sorted = [ids[5]!, ids[4]!, ids[1]!, ids[3]!, ids[2]!, ids[0]!]
      const listed = (options: ListStreamsOptions) =>
        Effect.map(store.listStreams(options), (page) => page.streams.map((stream) => stream.streamId))
      assert.deepStrictEqual(yield* listed({ prefix }), sorted)
      // An after before the prefix starts at the prefix; one inside it, after that id.
      assert.deepStrictEqual(yield* listed({ prefix, after: "" }), sorted)
      assert.deepStrictEqual(yield* listed({ prefix, after: `${prefix}/` }), sorted)
      assert.deepStrictEqual(yield* listed({ prefix, after: sorted[1]!, limit: 2 }), [sorted[2]!, sorted[3]!])
      assert.deepStrictEqual(yield* listed({ prefix, after: sorted[0]!, limit: 1 }), [sorted[1]!])
      assert.deepStrictEqual(yield* listed({ prefix, after: sorted[5]! }), [])
      assert.deepStrictEqual(yield* listed({ prefix: `${prefix}/é` }), [sorted[4]!])
      assert.deepStrictEqual(yield* listed({ prefix: `${prefix}/${long}` }), [sorted[1]!, sorted[2]!])
      // Every stream, with no prefix: ours among them, in order.
      const all = (yield* listed({ limit: 10_000 })).filter((id) => id.startsWith(prefix))
      assert.deepStrictEqual(all, sorted)
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
}
