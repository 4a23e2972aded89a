/**
 * Deciders racing: for the last place of a course exactly one wins, round after round; on
 * disjoint tags all win; queries of different shapes over one event still exclude each other.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import * as EventQuery from "../../EventQuery.ts"
import { EventStore } from "../../EventStore.ts"
import { decisionRead, raceForLastPlace, type Services, subscribe, typesOf, unique } from "./fixtures.ts"

export const races = (it: Vitest.MethodsNonLive<Services>, rounds: number, raceTimeout: number) => {
  for (const deciders of [8, 16, 64]) {
    it.effect(`${deciders} deciders racing for the last place of a course: exactly one wins, round after round (${rounds} seeded rounds)`, () =>
      raceForLastPlace({ deciders, rounds }), raceTimeout)
  }

  for (const deciders of [8, 16, 64]) {
    it.effect(`${deciders} deciders racing for the last place of a course unless enrolment closed (an item of types only): exactly one wins, round after round (${rounds} seeded rounds)`, () =>
      raceForLastPlace({ deciders, rounds, typesOnlyItem: true }), raceTimeout)
  }

  it.effect("deciders on disjoint tags never conflict and all win", () =>
    Effect.gen(function*() {
      const types = typesOf()
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 32 }, (_, i) => i),
        (i) => subscribe(types, unique(`course${i}`), "s", 1),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(outcomes.filter((outcome) => outcome !== "subscribed"), [])
    }))

  it.effect("queries of different shapes over one event still exclude each other (by tag, by type and tag)", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const types = typesOf()
      for (let round = 0; round < Math.max(5, Math.floor(rounds / 3)); round++) {
        const course = unique("course")
        const byTag = EventQuery.make({ tags: [`course:${course}`] })
        const byTypeAndTag = EventQuery.make({ types: [types.subscribed], tags: [`course:${course}`, `student:s1`] })
        const decide = (query: EventQuery.EventQuery, student: string) =>
          Effect.flatMap(decisionRead(query), ({ after, count }) =>
            count > 0 ? Effect.succeed(false) : store.appendIf(unique("s"), [
              { type: types.subscribed, data: {}, tags: [`course:${course}`, `student:${student}`, "student:s1"] }
            ], { failIfEventsMatch: query, after }).pipe(Effect.as(true), Effect.catchTag("AppendConditionFailed", () => Effect.succeed(false))))
        const won = yield* Effect.all([decide(byTag, "a"), decide(byTypeAndTag, "b")], { concurrency: "unbounded" })
        assert.strictEqual(won.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(won)}`)
      }
    }))
}
