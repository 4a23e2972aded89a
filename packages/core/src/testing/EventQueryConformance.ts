/**
 * Tags, reads by {@link EventQuery} and conditional appends (`appendIf`), as every store must
 * give them: exact under concurrency (of N deciders racing for the last place, exactly one wins),
 * free of conflicts between appends on disjoint tags, and aware of an older transaction that
 * commits after the read. Tests use fresh tags and types, so they can share one database.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, type Layer, Random, Result, Stream } from "effect"
import * as EventQuery from "../EventQuery.ts"
import { AppendConditionFailed, type ConsistencyMarker, EventStore, WrongExpectedVersion } from "../EventStore.ts"
import { InvalidInput } from "../InvalidInput.ts"
import type { RecordedEvent } from "../RecordedEvent.ts"
import { Transactor } from "../Transactor.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 12)}`

/** Types of their own per test: `Defined`, `Subscribed`, `Other`, `Closed`. */
const typesOf = () => {
  const id = crypto.randomUUID().slice(0, 8)
  return { defined: `CourseDefined_${id}`, subscribed: `Subscribed_${id}`, other: `Other_${id}`, closed: `EnrolmentClosed_${id}` }
}

const readAll = (query: EventQuery.EventQuery) => EventStore.use((store) => Stream.runCollect(store.readQuery(query)))

/** All the pages of a query: its events and the position an append condition may name. */
/**
 * A transaction that takes its place in the log (an untagged append), then, once `gate` is done,
 * appends an event with `tag`: an older transaction that commits late. Returns once it has begun.
 */
const olderTransaction = (types: ReturnType<typeof typesOf>, tag: string, gate: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const transactor = yield* Transactor
    const begun = yield* Deferred.make<void>()
    const older = yield* Effect.forkChild(Effect.exit(transactor.withTransaction(Effect.gen(function*() {
      yield* store.append(unique("older"), [{ type: types.other, data: {} }])
      yield* Deferred.succeed(begun, undefined)
      yield* Deferred.await(gate)
      yield* store.append(unique("older"), [{ type: types.subscribed, data: {}, tags: [tag] }])
    }))))
    yield* Deferred.await(begun)
    return older
  })

/** All the pages of one read by query, as a decision reads: its events and its marker. */
const decisionRead = (query: EventQuery.EventQuery, batchSize = 100) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let after: ConsistencyMarker | undefined
    const events: Array<RecordedEvent> = []
    while (true) {
      const page = yield* store.readQueryPage(query, { after, batchSize })
      events.push(...page.events)
      after = page.marker
      if (page.events.length < batchSize) return { count: events.length, events, after }
    }
  })

/**
 * One decider for the last place of a course: reads the course's subscriptions and, if there is
 * room, subscribes on the condition that none was added since. With `typesOnlyItem`, enrolment
 * closed for every course (an item of types only, which no tag can lock) also refuses it.
 */
const subscribe = (types: ReturnType<typeof typesOf>, course: string, student: string, capacity: number, typesOnlyItem = false) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const subscriptions = { types: [types.subscribed], tags: [`course:${course}`] }
    const query = typesOnlyItem ? EventQuery.make(subscriptions, { types: [types.closed] }) : EventQuery.make(subscriptions)
    const { after, count } = yield* decisionRead(query)
    if (count >= capacity) return "full" as const
    // A pause of 0 to 2 ms between the read and the append, drawn from the round's seed, varies
    // how the deciders interleave from round to round.
    yield* Effect.sleep(`${yield* Random.nextIntBetween(0, 3)} millis`)
    return yield* store.appendIf(
      `subscription-${course}-${student}`,
      [{ type: types.subscribed, data: { course, student }, tags: [`course:${course}`, `student:${student}`] }],
      { failIfEventsMatch: query, after }
    ).pipe(Effect.as("subscribed" as const), Effect.catchTag("AppendConditionFailed", () => Effect.succeed("conflict" as const)))
  })

/**
 * Rounds of `deciders` racing for the last place of a course, a course of their own each round:
 * fails unless exactly one wins every round. With `typesOnlyItem`, their query also has an item of
 * types only; with `inTransactions`, each decider reads and appends in a transaction of its own,
 * the append its first write (as a processor's batch that decides before it emits). The suite runs
 * it; a store's own tests may run it too, to check what the store did meanwhile (a server's count
 * of deadlocks).
 *
 * @since 0.1.0
 */
export const raceForLastPlace = (options: {
  readonly deciders: number
  readonly rounds: number
  readonly typesOnlyItem?: boolean | undefined
  readonly inTransactions?: boolean | undefined
}) =>
  Effect.gen(function*() {
    const { deciders, rounds } = options
    const transactor = yield* Transactor
    const types = typesOf()
    for (let round = 0; round < rounds; round++) {
      const course = unique("course")
      const outcomes = yield* Effect.forEach(
        Array.from({ length: deciders }, (_, i) => i),
        (i) => {
          const decide = subscribe(types, course, `s${i}`, 1, options.typesOnlyItem)
          return options.inTransactions === true ? transactor.withTransaction(decide) : decide
        },
        { concurrency: "unbounded" }
      ).pipe(Random.withSeed(`${deciders}-${round}`))
      const winners = outcomes.filter((outcome) => outcome === "subscribed").length
      assert.strictEqual(winners, 1, `round ${round}: ${winners} of ${deciders} deciders subscribed (${outcomes.join(", ")})`)
      assert.strictEqual((yield* readAll(EventQuery.make({ tags: [`course:${course}`] }))).length, 1)
    }
  })

/**
 * Registers the suite for the stores `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const eventQueryConformance = <E>(
  name: string,
  storeLayer: Layer.Layer<EventStore | Transactor, E>,
  options?: {
    /** Concurrent deciders per round, and rounds of each. Default: 8, 16 and 64 deciders, 30 rounds. */
    readonly rounds?: number | undefined
    /**
     * One database session for everything (PGlite): a transaction holds it until it ends, so no
     * read can run while an older transaction is open, and that test is reported as skipped.
     */
    readonly singleSession?: boolean | undefined
    /**
     * Other writers wait while a transaction is open (the in-memory store): the tests of an older
     * transaction appending after a newer decision committed cannot arrange that order, and are
     * reported as skipped. Such a store has no log order for them to break.
     */
    readonly transactionsBlockWriters?: boolean | undefined
  }
): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "300 seconds" })(`EventQuery conformance: ${name}`, (it) => {
    const concurrentTest = options?.singleSession === true ? it.effect.skip : it.effect
    const rounds = options?.rounds ?? 30
    const interleavedTest = options?.transactionsBlockWriters === true ? it.effect.skip : concurrentTest
    // A round of 64 deciders on one session (PGlite) takes a few tenths of a second.
    const raceTimeout = Math.max(60_000, rounds * 1_000)

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
  })
