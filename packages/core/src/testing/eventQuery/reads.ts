/**
 * Reads by query: tags kept, items or'd, types or'd, tags and'd; what a read saw, and the
 * marker a condition decided on it names.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as EventQuery from "../../EventQuery.ts"
import { AppendConditionFailed, EventStore } from "../../EventStore.ts"
import { decisionRead, readAll, type Services, typesOf, unique } from "./fixtures.ts"

export const reads = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("keeps tags and reads by query: items are or'd, types or'd, tags and'd", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const [c1, c2, s7] = [unique("course"), unique("course"), unique("student")]
      const written = yield* store.append(unique("stream"), [
        { type: types.defined, data: { n: 1 }, tags: [`course:${c1}`] },
        { type: types.subscribed, data: { n: 2 }, tags: [`course:${c1}`, `student:${s7}`] },
        { type: types.subscribed, data: { n: 3 }, tags: [`course:${c2}`, `student:${s7}`] },
        { type: types.other, data: { n: 4 } }
      ])
      assert.deepStrictEqual(written.events.map((event) => event.tags), [[`course:${c1}`], [`course:${c1}`, `student:${s7}`], [`course:${c2}`, `student:${s7}`], undefined])
      assert.isFalse("tags" in written.events[3]!, "an event without tags has no tags field")
      const read = yield* Stream.runCollect(store.readStream(written.streamId))
      assert.deepStrictEqual(read.map((event) => event.tags), written.events.map((event) => event.tags))

      const numbers = (query: EventQuery.EventQuery) => Effect.map(readAll(query), (events) => events.map((event) => (event.data as { n: number }).n))
      assert.deepStrictEqual(yield* numbers(EventQuery.make({ tags: [`course:${c1}`] })), [1, 2])
      assert.deepStrictEqual(yield* numbers(EventQuery.make({ tags: [`course:${c1}`, `student:${s7}`] })), [2])
      assert.deepStrictEqual(yield* numbers(EventQuery.make({ types: [types.subscribed], tags: [`student:${s7}`] })), [2, 3])
      assert.deepStrictEqual(yield* numbers(EventQuery.make({ types: [types.defined, types.other] })), [1, 4])
      assert.deepStrictEqual(
        yield* numbers(EventQuery.make({ types: [types.defined], tags: [`course:${c1}`] }, { tags: [`course:${c2}`] })),
        [1, 3]
      )
      assert.deepStrictEqual(yield* numbers(EventQuery.make({ tags: [unique("nobody")] })), [])
      // A page names where to read on; reading on after it finds what came later.
      const query = EventQuery.make({ tags: [`student:${s7}`] })
      const first = yield* store.readQueryPage(query, { batchSize: 1 })
      assert.deepStrictEqual(first.events.map((event) => event.id), [written.events[1]!.id])
      const rest = yield* store.readQueryPage(query, { after: first.next })
      assert.deepStrictEqual(rest.events.map((event) => event.id), [written.events[2]!.id])
    }))

  it.effect("a read by query sees what was appended before it; a condition on its marker breaks on exactly the matching events it did not see", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const tag = `course:${unique("course")}`
      const query = EventQuery.make({ tags: [tag] })
      const subscribed = (n: number) => ({ type: types.subscribed, data: { n }, tags: [tag] })
      const before = yield* store.append(unique("s"), [subscribed(1), subscribed(2), subscribed(3)])
      // Three pages of one read, with a matching event appended after the first.
      const first = yield* store.readQueryPage(query, { batchSize: 1 })
      assert.deepStrictEqual(first.events.map((event) => event.id), [before.events[0]!.id])
      const during = yield* store.append(unique("s"), [subscribed(4)])
      // The rest of the read continues the first page's.
      const read = [...first.events]
      let after = first.marker
      while (true) {
        const page = yield* store.readQueryPage(query, { after, batchSize: 1 })
        read.push(...page.events)
        after = page.marker
        if (page.events.length < 1) break
      }
      const seen = read.map((event) => event.id)
      assert.deepStrictEqual(seen.slice(0, 3), before.events.map((event) => event.id))
      const missed = !seen.includes(during.events[0]!.id)
      // Another tag's event breaks nothing; the event the read did not see, if any, breaks it.
      yield* store.append(unique("s"), [{ type: types.subscribed, data: {}, tags: [`course:${unique("other")}`] }])
      const outcome = yield* Effect.exit(store.appendIf(unique("s"), [subscribed(5)], { failIfEventsMatch: query, after }))
      if (missed) {
        assert.isTrue(Exit.isFailure(outcome))
        const failure = yield* Effect.flip(outcome)
        assert.instanceOf(failure, AppendConditionFailed)
        assert.strictEqual((failure as AppendConditionFailed).eventId, during.events[0]!.id)
      } else {
        assert.isTrue(Exit.isSuccess(outcome), String(outcome))
      }
      // A read made now sees all that was appended (the fifth only if its condition held), and a condition on it holds.
      const now = yield* decisionRead(query)
      assert.strictEqual(now.count, missed ? 4 : 5)
      yield* store.appendIf(unique("s"), [subscribed(6)], { failIfEventsMatch: query, after: now.after })
    }))
}
