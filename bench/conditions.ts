/**
 * Figure 10: conditional appends (`EventStore.appendIf`, dynamic consistency boundaries).
 *
 * Each operation appends one event tagged `course:<id>`. Facta's side appends it on the
 * condition that no event of that course exists yet (`failIfEventsMatch` the course's tag, no
 * position: the check runs in full); the baseline is Facta's plain `append` of the same event in
 * the same run, so the ratio is the cost of the condition. 10a: 1 writer; 10b: 8 writers, each
 * on courses of its own (disjoint tags: no append waits for another). 10c: 8 writers on one
 * course, each reading the course's events and appending on the condition that none came since
 * (retrying on a broken one, as a decision does), against 8 plain appends to that course. 10d: 8
 * writers, each on a course of its own that grows as it appends, on the condition that no event
 * of the course came after its own last one, on an events table of their own that Postgres has
 * never analyzed, against plain appends of the same events to the same table.
 */
import { Effect, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { EventQuery, EventStore } from "@facta/core"
import { Migrations, SqlEventStore } from "@facta/sql"
import { schema } from "./targets.ts"
import { durationOf, eventsPerSecond, type Figure, forDuration, interleave, type Interleaved, type Plan } from "./measure.ts"
import type { SqlTarget } from "./targets.ts"

const event = (tag: string) => ({ type: "Subscribed", data: { at: Date.now() }, tags: [tag] })

const plain = (prefix: string, durationMs: number, concurrency: number, tagOf: (i: number) => string) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    forDuration(durationMs, concurrency, (i) => store.append(`${prefix}-${i}`, [event(tagOf(i))])))

const conditional = (prefix: string, durationMs: number, concurrency: number) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    forDuration(durationMs, concurrency, (i) => {
      const tag = `course:${prefix}-${i}`
      return store.appendIf(`${prefix}-${i}`, [event(tag)], { failIfEventsMatch: EventQuery.make({ tags: [tag] }) })
    }))

/** Read the course, append on the condition; on a broken condition, decide again. */
const contended = (prefix: string, durationMs: number, conflicts: { count: number }) =>
  Effect.flatMap(EventStore.EventStore, (store) => {
    const tag = `course:${prefix}`
    const query = EventQuery.make({ tags: [tag] })
    const decide = (i: number): Effect.Effect<unknown, unknown> =>
      store.readQueryPage(query, { batchSize: 100_000 }).pipe(
        Effect.flatMap((page) => store.appendIf(`${prefix}-${i}`, [event(tag)], { failIfEventsMatch: query, after: page.marker })),
        Effect.catchTag("AppendConditionFailed", () => Effect.suspend(() => (conflicts.count++, decide(i))))
      )
    return forDuration(durationMs, 8, decide)
  })

/** A store on an events table of its own, never analyzed (autovacuum off for it). */
const neverAnalyzed = (tablePrefix: string): Effect.Effect<EventStore.EventStore["Service"], unknown, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Migrations.run({ schema, tablePrefix })
    yield* sql`ALTER TABLE ${sql(`${schema}.${tablePrefix}events`)} SET (autovacuum_enabled = false)`
    return yield* SqlEventStore.make({ schema, tablePrefix })
  })

/** Each writer on its own course; each append expects no event of the course after the writer's last. */
const growing = (store: EventStore.EventStore["Service"], durationMs: number, last: Map<number, bigint>, conditional: boolean) => {
  // Each of the 8 concurrent operations is one writer's: it takes a writer that is free.
  const free = [0, 1, 2, 3, 4, 5, 6, 7]
  return forDuration(durationMs, 8, (i) =>
    Effect.suspend(() => {
      const writer = free.pop()!
      const tag = `course:${conditional ? "grown" : "plain"}-${writer}`
      const append = conditional
        ? store.appendIf(`grown-${writer}-${i}`, [event(tag)], { failIfEventsMatch: EventQuery.make({ tags: [tag] }), after: last.get(writer) })
        : store.append(`plain-${writer}-${i}`, [event(tag)])
      return append.pipe(
        Effect.map((result) => last.set(writer, result.events[0]!.position)),
        Effect.ensuring(Effect.sync(() => free.push(writer)))
      )
    }))
}

const figure = (id: string, title: string, store: Figure["store"], result: Interleaved, extra: { target?: number; note?: string }): Figure =>
  eventsPerSecond({ id, title, store, ...extra }, result)

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const store = target.store
  const run = <A>(effect: Effect.Effect<A, unknown, EventStore.EventStore | SqlClient.SqlClient>) => target.run(effect)
  const one = await interleave(
    plan.rounds,
    (round) => run(conditional(`c1-${round}`, durationOf(plan, round), 1)),
    (round) => run(plain(`p1-${round}`, durationOf(plan, round), 1, (i) => `course:p1-${round}-${i}`))
  )
  const eight = await interleave(
    plan.rounds,
    (round) => run(conditional(`c8-${round}`, durationOf(plan, round), 8)),
    (round) => run(plain(`p8-${round}`, durationOf(plan, round), 8, (i) => `course:p8-${round}-${i}`))
  )
  const conflicts = { count: 0 }
  const hot = await interleave(
    plan.rounds,
    (round) => run(contended(`hot-${round}`, durationOf(plan, round), conflicts)),
    (round) => run(plain(`hotp-${round}`, durationOf(plan, round), 8, () => `course:hotp-${round}`))
  )
  const decisions = hot.facta.reduce((sum, round) => sum + round.ops, 0)
  // One table for both sides, which grows through the rounds and is never analyzed.
  const prefix = `grown_${Date.now()}_`
  const last = new Map<number, bigint>()
  const onGrownTable = (round: number, conditional: boolean) =>
    run(Effect.scoped(Effect.flatMap(neverAnalyzed(prefix), (store) => growing(store, durationOf(plan, round), last, conditional))))
  const grown = await interleave(plan.rounds, (round) => onGrownTable(round, true), (round) => onGrownTable(round, false))
  return [
    figure("10a", "Conditional append, 1 event, 1 writer, against a plain append", store, one, {}),
    figure("10b", "Conditional append, 1 event, 8 writers on disjoint tags, against a plain append", store, eight, target.concurrentSessions ? { target: 0.9 } : {
      note: "PGlite is one session: the 8 writers take turns"
    }),
    figure("10c", "Decide and append, 8 writers on one course (one tag), against plain appends to it", store, hot, {
      note: `${conflicts.count} broken conditions decided again, over ${decisions} decisions (warm-up included)`
    }),
    figure("10d", "Conditional append, 8 writers each on a growing course of its own, never analyzed, against a plain append", store, grown,
      target.concurrentSessions ? { target: 0.9 } : { note: "PGlite is one session: the 8 writers take turns" })
  ]
}
