/**
 * Conditional appends: refused when a matching event came after the position, naming it; several
 * items, the expected version, queries of types only, and input no store can keep.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as EventQuery from "../../EventQuery.ts"
import { AppendConditionFailed, EventStore, WrongExpectedVersion } from "../../EventStore.ts"
import { InvalidInput } from "../../InvalidInput.ts"
import { decisionRead, readAll, type Services, typesOf, unique } from "./fixtures.ts"

export const conditions = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("appendIf refuses when a matching event came after the position, naming the query and the event", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const course = unique("course")
      const query = EventQuery.make({ types: [types.subscribed], tags: [`course:${course}`] })
      const before = yield* decisionRead(query)
      // A matching append that carries no condition of its own still counts.
      const plain = yield* store.append(unique("other-writer"), [{ type: types.subscribed, data: {}, tags: [`course:${course}`, "student:x"] }])
      const stream = unique("decision")
      const error = yield* Effect.flip(store.appendIf(stream, [{ type: types.subscribed, data: {}, tags: [`course:${course}`] }], {
        failIfEventsMatch: query,
        after: before.after
      }))
      assert.instanceOf(error, AppendConditionFailed)
      assert.strictEqual(error.eventId, plain.events[0]!.id)
      assert.strictEqual(error.eventPosition, plain.events[0]!.position)
      assert.include(error.message, `(${types.subscribed} with course:${course})`)
      assert.include(error.message, plain.streamId)
      assert.deepStrictEqual(yield* Stream.runCollect(store.readStream(stream)), [], "nothing was written")
      // After everything read now, it holds; without a position, any matching event refuses it.
      const now = yield* decisionRead(query)
      const ok = yield* store.appendIf(stream, [{ type: types.subscribed, data: {}, tags: [`course:${course}`] }], { failIfEventsMatch: query, after: now.after })
      assert.strictEqual(ok.version, 1)
      assert.instanceOf(yield* Effect.flip(store.appendIf(unique("s"), [{ type: types.other, data: {} }], { failIfEventsMatch: query })), AppendConditionFailed)
      // Events that do not match (another course, another type) do not refuse it.
      yield* store.append(unique("s"), [{ type: types.subscribed, data: {}, tags: [`course:${unique("course")}`] }, { type: types.other, data: {}, tags: [`course:${course}`] }])
      const last = yield* decisionRead(query)
      yield* store.append(unique("s"), [{ type: types.other, data: {}, tags: [`course:${course}`] }])
      yield* store.appendIf(unique("s"), [{ type: types.subscribed, data: {} }], { failIfEventsMatch: query, after: last.after })
    }))

  it.effect("appendIf names the first conflicting event in log order, whichever item of the query it matches", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const [course, student] = [`course:${unique("course")}`, `student:${unique("student")}`]
      const byCourse = EventQuery.make({ tags: [course] })
      const before = yield* decisionRead(EventQuery.make({ tags: [course] }, { tags: [student] }))
      const subscribe = (tags: ReadonlyArray<string>) => store.append(unique("other-writer"), [{ type: types.subscribed, data: {}, tags }])
      const firstOfStudent = yield* subscribe([student])
      const firstOfCourse = yield* subscribe([course])
      yield* subscribe([course])
      yield* subscribe([student])
      const refusal = (query: EventQuery.EventQuery) =>
        Effect.flip(store.appendIf(unique("decision"), [{ type: types.subscribed, data: {}, tags: [course, student] }], {
          failIfEventsMatch: query,
          after: before.after
        }))
      const one = yield* refusal(byCourse)
      assert.instanceOf(one, AppendConditionFailed)
      assert.strictEqual(one.eventId, firstOfCourse.events[0]!.id)
      // The course's item comes first in the query, the student's event first in the log.
      const both = yield* refusal(EventQuery.make({ tags: [course] }, { tags: [student] }))
      assert.instanceOf(both, AppendConditionFailed)
      assert.strictEqual(both.eventId, firstOfStudent.events[0]!.id)
      assert.strictEqual(both.eventPosition, firstOfStudent.events[0]!.position)
    }))

  it.effect("appendIf with several items, some matching nothing, accepts when none conflicts and refuses when a later one does", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const [course, student, name] = [`course:${unique("course")}`, `student:${unique("student")}`, `username:${unique("name")}`]
      const query = EventQuery.make({ tags: [name] }, { types: [types.subscribed], tags: [course] }, { tags: [student] })
      const before = yield* decisionRead(query)
      const accepted = yield* store.appendIf(unique("decision"), [{ type: types.subscribed, data: {}, tags: [course, student] }], {
        failIfEventsMatch: query,
        after: before.after
      })
      assert.strictEqual(accepted.events.length, 1)
      const again = yield* Effect.flip(store.appendIf(unique("decision"), [{ type: types.other, data: {} }], {
        failIfEventsMatch: query,
        after: before.after
      }))
      assert.instanceOf(again, AppendConditionFailed)
      assert.strictEqual(again.eventId, accepted.events[0]!.id)
    }))

  it.effect("appendIf checks the stream's expected version with the condition; either refusal writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const tag = `user:${unique("name")}`
      const query = EventQuery.make({ tags: [tag] })
      const stream = unique("user")
      yield* store.append(stream, [{ type: types.defined, data: {} }])
      const wrong = yield* Effect.flip(store.appendIf(stream, [{ type: types.subscribed, data: {}, tags: [tag] }], { failIfEventsMatch: query }, { expectedVersion: 0 }))
      assert.instanceOf(wrong, WrongExpectedVersion)
      const ok = yield* store.appendIf(stream, [{ type: types.subscribed, data: {}, tags: [tag] }], { failIfEventsMatch: query }, { expectedVersion: 1 })
      assert.strictEqual(ok.version, 2)
      const taken = yield* Effect.flip(store.appendIf(unique("user"), [{ type: types.subscribed, data: {}, tags: [tag] }], { failIfEventsMatch: query }, { expectedVersion: "noStream" }))
      assert.instanceOf(taken, AppendConditionFailed)
      assert.strictEqual((yield* readAll(query)).length, 1)
    }))

  it.effect("a query of types only, and one of every event, conflict with plain appends of what they name", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const byType = EventQuery.make({ types: [types.defined] })
      const read = yield* decisionRead(byType)
      yield* store.append(unique("s"), [{ type: types.defined, data: {} }])
      assert.instanceOf(yield* Effect.flip(store.appendIf(unique("s"), [{ type: types.other, data: {} }], { failIfEventsMatch: byType, after: read.after })), AppendConditionFailed)
      const everything = yield* store.readQueryPage(EventQuery.all, { after: read.after, batchSize: 100_000 })
      yield* store.append(unique("s"), [{ type: types.other, data: {} }])
      assert.instanceOf(yield* Effect.flip(store.appendIf(unique("s"), [{ type: types.other, data: {} }], { failIfEventsMatch: EventQuery.all, after: everything.next })), AppendConditionFailed)
    }))

  it.effect("refuses tags and queries no store can keep", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const refused = yield* Effect.flip(store.append(unique("s"), [{ type: "T", data: {}, tags: ["ok", ""] }]))
      assert.instanceOf(refused, InvalidInput)
      assert.include(refused.message, "tag 2 of event 1")
      assert.instanceOf(yield* Effect.flip(store.append(unique("s"), [{ type: "T", data: {}, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }])), InvalidInput)
      assert.instanceOf(yield* Effect.flip(store.append(unique("s"), [{ type: "T", data: {}, tags: ["a\u0000b"] }])), InvalidInput)
      assert.instanceOf(yield* Effect.flip(store.readQueryPage(EventQuery.make({ tags: ["x".repeat(257)] }))), InvalidInput)
      assert.instanceOf(
        yield* Effect.flip(store.appendIf(unique("s"), [{ type: "T", data: {} }], { failIfEventsMatch: EventQuery.make({ types: [""] }) })),
        InvalidInput
      )
    }))
}
