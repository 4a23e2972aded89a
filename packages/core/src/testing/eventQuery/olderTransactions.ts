/**
 * An older transaction that appends after a decision read or committed: it comes after the
 * decision in the log, or one of the two is refused.
 */
import { assert } from "@effect/vitest"
import { Deferred, Effect, Fiber, Result } from "effect"
import * as EventQuery from "../../EventQuery.ts"
import { EventStore } from "../../EventStore.ts"
import { decisionRead, olderTransaction, type OptionalTest, readAll, typesOf, unique } from "./fixtures.ts"

export const olderTransactions = (concurrentTest: OptionalTest, interleavedTest: OptionalTest) => {
  for (const carried of [true, false]) {
    interleavedTest(`an older transaction appending after a decision committed comes after it or runs again (the decision's event ${carried ? "carries" : "does not carry"} the tag)`, () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const types = typesOf()
        const course = unique("course")
        const query = EventQuery.make({ tags: [`course:${course}`] })
        const decided = yield* Deferred.make<void>()
        const older = yield* olderTransaction(types, `course:${course}`, decided)
        const decision = yield* decisionRead(query)
        const tags = carried ? [`course:${course}`] : [`student:${unique("s")}`]
        const appended = yield* store.appendIf(unique("decision"), [{ type: types.subscribed, data: {}, tags }], {
          failIfEventsMatch: query,
          after: decision.after
        })
        yield* Deferred.succeed(decided, undefined)
        const olderExit = yield* Fiber.join(older)
        const log = yield* readAll(EventQuery.make({ tags: [`course:${course}`] }, { tags: tags }))
        const at = (id: string) => log.findIndex((event) => event.id === id)
        if (olderExit._tag === "Failure") {
          assert.include(String(olderExit.cause), "RetryTransaction")
        } else {
          // Accepted, the older transaction's event must come after the decision, which did not see it.
          const olderEvent = log.find((event) => event.tags?.includes(`course:${course}`) && event.id !== appended.events[0]!.id)
          assert.isDefined(olderEvent)
          assert.isAbove(at(olderEvent!.id), at(appended.events[0]!.id))
        }
      }))
  }

  concurrentTest("an older transaction that appends after the read conflicts: one of the two is refused", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      const course = unique("course")
      const query = EventQuery.make({ tags: [`course:${course}`] })
      const read = yield* Deferred.make<void>()
      // A transaction begins (and takes its place in the log) before the decision reads, and
      // appends a matching event after it, to commit late, before the decision's in log order.
      const older = yield* olderTransaction(types, `course:${course}`, read)
      const decision = yield* decisionRead(query)
      assert.strictEqual(decision.count, 0)
      yield* Deferred.succeed(read, undefined)
      const decided = yield* Effect.result(store.appendIf(unique("late"), [{ type: types.subscribed, data: {}, tags: [`course:${course}`] }], {
        failIfEventsMatch: query,
        after: decision.after
      }))
      const olderExit = yield* Fiber.join(older)
      // Either the decision saw the older transaction's event and was refused, or the older
      // transaction was told to run again (its id is older than the decision's).
      const refusedDecision = Result.isFailure(decided) && decided.failure._tag === "AppendConditionFailed"
      const retriedOlder = olderExit._tag === "Failure" && String(olderExit.cause).includes("RetryTransaction")
      assert.isTrue(refusedDecision !== retriedOlder, `decision: ${Result.isSuccess(decided) ? "accepted" : decided.failure._tag}; older: ${olderExit._tag}`)
      // Whichever way, no matching event comes before an accepted decision's in the log.
      const matching = yield* readAll(query)
      assert.strictEqual(matching.length, 1)
      if (Result.isSuccess(decided)) assert.strictEqual(matching[0]!.id, decided.success.events[0]!.id)
    }))
}
