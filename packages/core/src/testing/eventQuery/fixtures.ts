/**
 * What the query suite's parts share: fresh names and types, deciders that read by query and
 * append on a condition, races of them for the last place of a course, and an older transaction
 * that commits late.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Deferred, Effect, Random, type Scope, Stream } from "effect"
import * as EventQuery from "../../EventQuery.ts"
import { type ConsistencyMarker, EventStore } from "../../EventStore.ts"
import type { RecordedEvent } from "../../RecordedEvent.ts"
import { Transactor } from "../../Transactor.ts"

/** The services the suite runs on. */
export type Services = EventStore | Transactor

/** A test the store may not be able to run, then reported as skipped. */
export type OptionalTest = Vitest.Test<Services | Scope.Scope>

export const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 12)}`

/** Types of their own per test: `Defined`, `Subscribed`, `Other`, `Closed`. */
export const typesOf = () => {
  const id = crypto.randomUUID().slice(0, 8)
  return { defined: `CourseDefined_${id}`, subscribed: `Subscribed_${id}`, other: `Other_${id}`, closed: `EnrolmentClosed_${id}` }
}

export const readAll = (query: EventQuery.EventQuery) => EventStore.use((store) => Stream.runCollect(store.readQuery(query)))

/**
 * A transaction that takes its place in the log (an untagged append), then, once `gate` is done,
 * appends an event with `tag`: an older transaction that commits late. Returns once it has begun.
 */
export const olderTransaction = (types: ReturnType<typeof typesOf>, tag: string, gate: Deferred.Deferred<void>) =>
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
export const decisionRead = (query: EventQuery.EventQuery, batchSize = 100) =>
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
export const subscribe = (types: ReturnType<typeof typesOf>, course: string, student: string, capacity: number, typesOnlyItem = false) =>
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
