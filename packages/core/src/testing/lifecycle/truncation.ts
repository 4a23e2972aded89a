/**
 * Truncation and retention: events before a version move to the archive but a stream's last
 * event, reads start where the stream now starts, no version is given twice, and retention by
 * category (count, age) moves what its rules say, in batches, or reports it in a dry run.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import { EventStore } from "../../EventStore.ts"
import { type RetentionRule, StreamLifecycle } from "../../StreamLifecycle.ts"
import { Add, counters } from "../eventStore/fixtures.ts"
import { append, category, failsWith, readArchived, readStream, type Services, streamOf, versionsOf } from "./fixtures.ts"

export const truncation = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("truncateBefore moves the events before a version to the archive; the stream reads on from there, in pages", () =>
    Effect.gen(function*() {
      const streamId = streamOf("truncated")
      yield* append(streamId, 10)
      const moved = yield* StreamLifecycle.use((lifecycle) => lifecycle.truncateBefore(streamId, 7))
      assert.strictEqual(moved, 6)
      assert.deepStrictEqual(versionsOf(yield* readStream(streamId)), [7, 8, 9, 10])
      assert.deepStrictEqual(versionsOf(yield* readStream(streamId, 3)), [7, 8, 9, 10])
      const page = yield* EventStore.use((store) => store.readStreamPage(streamId, { from: 2, batchSize: 2 }))
      assert.deepStrictEqual(versionsOf(page), [7, 8])
      assert.deepStrictEqual(versionsOf(yield* readArchived(streamId, 4)), [1, 2, 3, 4, 5, 6])
      assert.strictEqual(yield* EventStore.use((store) => store.streamVersion(streamId)), 10)
      // Truncating again moves nothing more before the same version.
      assert.strictEqual(yield* StreamLifecycle.use((lifecycle) => lifecycle.truncateBefore(streamId, 7)), 0)
    }))

  it.effect("a stream's last event is never moved, and no version is given twice after a truncation", () =>
    Effect.gen(function*() {
      const streamId = streamOf("keepsLast")
      yield* append(streamId, 3)
      assert.strictEqual(yield* StreamLifecycle.use((lifecycle) => lifecycle.truncateBefore(streamId, 1000)), 2)
      assert.deepStrictEqual(versionsOf(yield* readStream(streamId)), [3])
      const store = yield* EventStore
      const one = [{ type: "Again", data: {} }]
      const noStream = yield* failsWith(store.append(streamId, one, { expectedVersion: "noStream" }), "WrongExpectedVersion")
      assert.strictEqual((noStream as { readonly actual: number }).actual, 3)
      yield* failsWith(store.append(streamId, one, { expectedVersion: 0 }), "WrongExpectedVersion")
      yield* failsWith(store.append(streamId, one, { expectedVersion: 1 }), "WrongExpectedVersion")
      yield* failsWith(store.append(streamId, one, { expectedVersion: 2 }), "WrongExpectedVersion")
      const next = yield* store.append(streamId, one, { expectedVersion: 3 })
      assert.strictEqual(next.version, 4)
      const any = yield* store.append(streamId, one)
      assert.strictEqual(any.version, 5)
      assert.deepStrictEqual(versionsOf(yield* readStream(streamId)), [3, 4, 5])
    }))

  it.effect("retention by count moves all but the last events of each stream of the category, in batches; a dry run moves nothing", () =>
    Effect.gen(function*() {
      const kept = category("retained")
      const other = category("untouched")
      yield* append(`${kept}-a`, 10)
      yield* append(`${kept}-b`, 3)
      yield* append(`${kept}-c`, 1)
      yield* append(`${other}-a`, 10)
      const lifecycle = yield* StreamLifecycle
      const rules = [{ category: kept, maxCount: 4 }]
      const planned = yield* lifecycle.applyRetention(rules, { dryRun: true })
      assert.deepStrictEqual(planned, { dryRun: true, rules: [{ category: kept, streams: 1, events: 6 }] })
      assert.deepStrictEqual(versionsOf(yield* readStream(`${kept}-a`)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      const applied = yield* lifecycle.applyRetention(rules, { batchSize: 2 })
      assert.deepStrictEqual(applied, { dryRun: false, rules: [{ category: kept, streams: 1, events: 6 }] })
      assert.deepStrictEqual(versionsOf(yield* readStream(`${kept}-a`)), [7, 8, 9, 10])
      assert.deepStrictEqual(versionsOf(yield* readArchived(`${kept}-a`)), [1, 2, 3, 4, 5, 6])
      assert.deepStrictEqual(versionsOf(yield* readStream(`${kept}-b`)), [1, 2, 3])
      assert.deepStrictEqual(versionsOf(yield* readStream(`${other}-a`)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      // Applied again, nothing is left to move.
      assert.deepStrictEqual(yield* lifecycle.applyRetention(rules), { dryRun: false, rules: [{ category: kept, streams: 0, events: 0 }] })
      // maxCount 1 keeps the last event alone.
      yield* lifecycle.applyRetention([{ category: kept, maxCount: 1 }])
      assert.deepStrictEqual(versionsOf(yield* readStream(`${kept}-b`)), [3])
    }))

  it.effect("retention by age moves the events recorded before the cutoff, never a stream's last", () =>
    Effect.gen(function*() {
      const aged = category("aged")
      yield* append(`${aged}-old`, 3)
      yield* append(`${aged}-mixed`, 2)
      yield* append(`${aged}-lone`, 1)
      // Real time: the SQL stores record events with the database's clock.
      yield* Effect.sleep("1500 millis")
      yield* append(`${aged}-mixed`, 2)
      const lifecycle = yield* StreamLifecycle
      const rules: ReadonlyArray<RetentionRule> = [{ category: aged, maxAge: "700 millis" }]
      const planned = yield* lifecycle.applyRetention(rules, { dryRun: true })
      assert.deepStrictEqual(planned.rules, [{ category: aged, streams: 2, events: 4 }])
      yield* lifecycle.applyRetention(rules)
      assert.deepStrictEqual(versionsOf(yield* readStream(`${aged}-old`)), [3])
      assert.deepStrictEqual(versionsOf(yield* readStream(`${aged}-mixed`)), [3, 4])
      assert.deepStrictEqual(versionsOf(yield* readStream(`${aged}-lone`)), [1])
      assert.deepStrictEqual(versionsOf(yield* readArchived(`${aged}-mixed`)), [1, 2])
    }))

  it.effect("retention rules that cannot be applied are refused with InvalidInput naming the rule", () =>
    Effect.gen(function*() {
      const lifecycle = yield* StreamLifecycle
      const dashed = yield* failsWith(lifecycle.applyRetention([{ category: "a-b", maxCount: 1 }]), "InvalidInput")
      assert.strictEqual((dashed as { readonly path: string }).path, "$.category")
      yield* failsWith(lifecycle.applyRetention([{ category: "fine", maxCount: 1 }, { category: "bare" }]), "InvalidInput")
      yield* failsWith(lifecycle.applyRetention([{ category: "zero", maxCount: 0 }]), "InvalidInput")
      yield* failsWith(lifecycle.applyRetention([{ category: "age", maxAge: "forever" as never }]), "InvalidInput")
      yield* failsWith(lifecycle.applyRetention([{ category: "batch", maxCount: 1 }], { batchSize: 0 }), "InvalidInput")
    }))

  it.effect("a repeated command on a truncated stream longer than a page answers the fold of what remains, each event once", () =>
    Effect.gen(function*() {
      const streamId = streamOf("repeatedTruncated")
      // 301 commands of two events each: more than a page of the stream.
      yield* EventStore.use((store) =>
        store.append(streamId, Array.from({ length: 600 }, (_, i) => i % 2 === 0 ? { type: "Added", data: { amount: 1 } } : { type: "Noted", data: {} })))
      const first = yield* counters.execute(streamId, new Add({ amount: 1000 }), { commandId: "last" })
      assert.strictEqual(first.version, 602)
      yield* StreamLifecycle.use((lifecycle) => lifecycle.truncateBefore(streamId, 201))
      const again = yield* counters.execute(streamId, new Add({ amount: 1000 }), { commandId: "last" })
      const remaining = (yield* readStream(streamId)).filter((event) => event.type === "Added")
      const folded = remaining.reduce((total, event) => total + (event.data as { readonly amount: number }).amount, 0)
      assert.strictEqual(again.state, folded)
      assert.strictEqual(again.version, 602)
    }))
}
