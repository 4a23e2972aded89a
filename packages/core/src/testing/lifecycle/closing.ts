/**
 * Archive and delete: what a closed stream refuses (every kind of append, with its typed error),
 * what still reads (the stream, its marker, the archive), what a delete removes (the events from
 * the live log, the snapshot), and the reserved marker types.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as ClosedStreams from "../../ClosedStreams.ts"
import { Add, counters } from "../eventStore/fixtures.ts"
import { EventStore } from "../../EventStore.ts"
import { SnapshotStore } from "../../SnapshotStore.ts"
import { StreamLifecycle } from "../../StreamLifecycle.ts"
import { append, events, failsWith, readArchived, readLog, readStream, type Services, streamOf, typesOf, versionsOf } from "./fixtures.ts"

/** Every kind of append to `streamId`, each expected to fail with `tag`. */
const everyAppendFails = (streamId: string, version: number, tag: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const one = events("After", 1)
    yield* failsWith(store.append(streamId, one), tag)
    yield* failsWith(store.append(streamId, events("After", 3)), tag)
    yield* failsWith(store.append(streamId, one, { expectedVersion: version }), tag)
    yield* failsWith(store.append(streamId, one, { expectedVersion: "streamExists" }), tag)
    yield* failsWith(store.append(streamId, one, { expectedVersion: "noStream" }), tag)
    yield* failsWith(store.append(streamId, one, { expectedVersion: 0 }), tag)
    yield* failsWith(store.append(streamId, one, { expectedVersion: 1 }), tag)
    yield* failsWith(store.append(streamId, []), tag)
    yield* failsWith(store.appendIf(streamId, one, { failIfEventsMatch: { items: [{ tags: [`never-${streamId}`] }] } }), tag)
    yield* failsWith(store.appendIf(streamId, one, { failIfEventsMatch: { items: [{ types: [`Never${version}`] }] } }), tag)
    yield* failsWith(store.append(streamId, [{ type: "After", data: {}, tags: [`t-${streamId}`] }]), tag)
  })

export const closing = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("an archived stream refuses every append with StreamArchived; its events and its marker still read", () =>
    Effect.gen(function*() {
      const streamId = streamOf("archived")
      yield* append(streamId, 3)
      const closed = yield* StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId, { reason: "closed account" }))
      assert.strictEqual(closed.moved, 0)
      assert.strictEqual(closed.marker.type, ClosedStreams.archivedType)
      assert.strictEqual(closed.marker.version, 4)
      assert.deepStrictEqual(closed.marker.data, { lastVersion: 3, reason: "closed account" })
      yield* everyAppendFails(streamId, 4, "StreamArchived")
      const error = yield* failsWith(append(streamId, 1), "StreamArchived")
      assert.deepStrictEqual(error, new ClosedStreams.StreamArchived({ streamId, version: 4 }))
      const stored = yield* readStream(streamId)
      assert.deepStrictEqual(versionsOf(stored), [1, 2, 3, 4])
      assert.deepStrictEqual(typesOf(stored), ["Lived", "Lived", "Lived", ClosedStreams.archivedType])
      assert.strictEqual(yield* EventStore.use((store) => store.streamVersion(streamId)), 4)
      assert.deepStrictEqual(yield* readArchived(streamId), [])
      // Archiving again is refused as archived; the marker is the log's, at its position.
      yield* failsWith(StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId)), "StreamArchived")
      const markers = yield* readLog([ClosedStreams.archivedType], closed.marker.position - 1n)
      assert.deepStrictEqual(markers.map((event) => event.id), [closed.marker.id])
    }))

  it.effect("a cold archive moves the stream's events to the archive in the same step, leaving the marker", () =>
    Effect.gen(function*() {
      const streamId = streamOf("cold")
      yield* append(streamId, 4)
      const closed = yield* StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId, { cold: true }))
      assert.strictEqual(closed.moved, 4)
      assert.deepStrictEqual(typesOf(yield* readStream(streamId)), [ClosedStreams.archivedType])
      const archived = yield* readArchived(streamId, 3)
      assert.deepStrictEqual(versionsOf(archived), [1, 2, 3, 4])
      assert.deepStrictEqual(archived.map((event) => event.data), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }])
      yield* everyAppendFails(streamId, 5, "StreamArchived")
    }))

  it.effect("a deleted stream leaves the live log for the archive, keeps its tombstone, and its id is refused for ever", () =>
    Effect.gen(function*() {
      const streamId = streamOf("deleted")
      const appended = yield* append(streamId, 3, "Doomed")
      const closed = yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(streamId, { reason: "erasure request" }))
      assert.strictEqual(closed.moved, 3)
      assert.strictEqual(closed.marker.type, ClosedStreams.deletedType)
      assert.deepStrictEqual(closed.marker.data, { lastVersion: 3, reason: "erasure request" })
      const stored = yield* readStream(streamId)
      assert.deepStrictEqual(typesOf(stored), [ClosedStreams.deletedType])
      assert.deepStrictEqual(versionsOf(stored), [4])
      // The log has lost its events and has the tombstone.
      const log = yield* readLog(["Doomed", ClosedStreams.deletedType], appended.events[0]!.position - 1n)
      assert.deepStrictEqual(log.filter((event) => event.streamId === streamId).map((event) => event.type), [ClosedStreams.deletedType])
      const archived = yield* readArchived(streamId)
      assert.deepStrictEqual(archived.map((event) => event.id), appended.events.map((event) => event.id))
      assert.deepStrictEqual(archived.map((event) => event.position), appended.events.map((event) => event.position))
      yield* everyAppendFails(streamId, 4, "StreamDeleted")
      assert.deepStrictEqual(yield* failsWith(append(streamId, 1), "StreamDeleted"), new ClosedStreams.StreamDeleted({ streamId, version: 4 }))
      yield* failsWith(StreamLifecycle.use((lifecycle) => lifecycle.delete(streamId)), "StreamDeleted")
      yield* failsWith(StreamLifecycle.use((lifecycle) => lifecycle.archive(streamId)), "StreamDeleted")
      const listed = yield* EventStore.use((store) => store.listStreams({ prefix: streamId }))
      assert.deepStrictEqual(listed.streams.map((stream) => [stream.streamId, stream.version]), [[streamId, 4]])
    }))

  it.effect("an archived stream can still be deleted; a stream that never was can be deleted, and its id is refused", () =>
    Effect.gen(function*() {
      const archived = streamOf("archivedThenDeleted")
      yield* append(archived, 2)
      yield* StreamLifecycle.use((lifecycle) => lifecycle.archive(archived))
      const closed = yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(archived))
      assert.strictEqual(closed.marker.version, 4)
      assert.strictEqual(closed.moved, 3)
      assert.deepStrictEqual(typesOf(yield* readArchived(archived)), ["Lived", "Lived", ClosedStreams.archivedType])
      yield* everyAppendFails(archived, 4, "StreamDeleted")
      const never = streamOf("neverWas")
      const reserved = yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(never))
      assert.strictEqual(reserved.marker.version, 1)
      assert.deepStrictEqual(reserved.marker.data, { lastVersion: 0 })
      yield* everyAppendFails(never, 1, "StreamDeleted")
    }))

  it.effect("a delete removes the stream's snapshot; another stream's stays", () =>
    Effect.gen(function*() {
      const streamId = streamOf("snapshotted")
      const other = streamOf("kept")
      yield* append(streamId, 2)
      yield* append(other, 2)
      const snapshots = yield* SnapshotStore
      yield* snapshots.save({ streamId, schemaVersion: 1, version: 2, state: { total: 2 } })
      yield* snapshots.save({ streamId: other, schemaVersion: 1, version: 2, state: { total: 2 } })
      yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(streamId))
      assert.isTrue(Option.isNone(yield* snapshots.load(streamId)))
      assert.isTrue(Option.isSome(yield* snapshots.load(other)))
    }))

  it.effect("the markers' types are reserved: an application's append of one is refused with InvalidInput, and writes nothing", () =>
    Effect.gen(function*() {
      const streamId = streamOf("reserved")
      const store = yield* EventStore
      for (const type of [ClosedStreams.archivedType, ClosedStreams.deletedType]) {
        const refused = yield* failsWith(store.append(streamId, [{ type, data: { lastVersion: 0 } }]), "InvalidInput")
        assert.include(String((refused as { readonly reason: string }).reason), "reserved")
        yield* failsWith(store.appendIf(streamId, [{ type: "Fine", data: {} }, { type, data: {} }], { failIfEventsMatch: { items: [] } }), "InvalidInput")
      }
      assert.strictEqual(yield* store.streamVersion(streamId), 0)
    }))

  it.effect("bad input is refused with InvalidInput naming it", () =>
    Effect.gen(function*() {
      const lifecycle = yield* StreamLifecycle
      yield* failsWith(lifecycle.archive(""), "InvalidInput")
      yield* failsWith(lifecycle.delete("x".repeat(20_000)), "InvalidInput")
      yield* failsWith(lifecycle.archive(streamOf("reason"), { reason: "r".repeat(1000) }), "InvalidInput")
      const zero = yield* failsWith(lifecycle.truncateBefore(streamOf("truncated"), 0), "InvalidInput")
      assert.include((zero as { readonly subject: string }).subject, "version")
      yield* failsWith(lifecycle.truncateBefore(streamOf("truncated"), 1.5), "InvalidInput")
    }))

  it.effect("a command handler loads a closed stream without its marker, and its append is refused with the stream's error", () =>
    Effect.gen(function*() {
      const archived = streamOf("counterArchived")
      const deleted = streamOf("counterDeleted")
      yield* counters.execute(archived, new Add({ amount: 5 }))
      yield* counters.execute(deleted, new Add({ amount: 5 }))
      const lifecycle = yield* StreamLifecycle
      yield* lifecycle.archive(archived)
      yield* lifecycle.delete(deleted)
      assert.deepStrictEqual(yield* counters.load(archived), { state: 5, version: 3 })
      assert.deepStrictEqual(yield* counters.load(deleted), { state: 0, version: 3 })
      yield* failsWith(counters.execute(archived, new Add({ amount: 1 })), "StreamArchived")
      yield* failsWith(counters.execute(deleted, new Add({ amount: 1 }), { expectedVersion: 3 }), "StreamDeleted")
      yield* failsWith(counters.handle(deleted, { _tag: "Add", amount: 1 }), "StreamDeleted")
      assert.strictEqual(yield* EventStore.use((store) => store.streamVersion(archived)), 3)
    }))
}
