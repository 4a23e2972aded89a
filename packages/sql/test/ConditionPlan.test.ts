/**
 * The checks of a conditional append search a log of thousands of tagged events by the tags
 * index, with the plan Postgres settles on after a few calls in a session (a generic one, which
 * knows no tag), whatever planner settings the function does or does not set. A scan of the log
 * instead would make every conditional append cost in proportion to the log.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { EventStore } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"

// With a lone containment of tags, a generic plan scans a log of such events from somewhere
// between 80,000 and 200,000 of them on (of wider events, from fewer).
const taggedEvents = 200_000
const calls = 20

/** A log of `taggedEvents` events, each with a tag of its own, analyzed as autovacuum would. */
const seed = (events: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const sql = yield* SqlClient.SqlClient
    const run = crypto.randomUUID()
    yield* Effect.forEach(Array.from({ length: taggedEvents / 1000 }, (_, stream) => stream), (stream) =>
      store.append(`seeded-${run}-${stream}`, Array.from({ length: 1000 }, (_, i) => ({
        type: "Seeded",
        data: {},
        tags: [`seed:${run}-${stream}-${i}`]
      }))), { discard: true })
    yield* sql`ANALYZE ${sql(events)}`
  })

/**
 * The scans of the events table that `calls` calls of a check started, in one transaction: the
 * session's counts are not reported to the server before it ends, so they change by these calls
 * alone (they may hold earlier statements' scans too, hence the difference).
 */
const scansBy = (events: string, check: (tag: string) => Effect.Effect<unknown, unknown, SqlClient.SqlClient>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const counts = Effect.map(
      sql<{ readonly seq_scan: number | string; readonly idx_scan: number | string | null }>`
        SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relid = ${events}::regclass`,
      (rows) => ({ seq: Number(rows[0]?.seq_scan ?? 0), index: Number(rows[0]?.idx_scan ?? 0) })
    )
    return yield* sql.withTransaction(Effect.gen(function*() {
      // The plan a session settles on after its first calls, from the first call on.
      yield* sql`SET LOCAL plan_cache_mode = force_generic_plan`
      const before = yield* counts
      for (let i = 0; i < calls; i++) yield* check(`course:${crypto.randomUUID()}`)
      const after = yield* counts
      return { seq: after.seq - before.seq, index: after.index - before.index }
    }))
  })

const checkItem = (events: string) => (tag: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`SELECT ${sql(`${events}_check_item`)}(${`tag:${tag}`}, '{}'::text[], '{}'::text[], ${`{"${tag}"}`}::text[], '0'::xid8, 0::bigint)`
  })

const check = (events: string) => (tag: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`SELECT ${sql(`${events}_check`)}(${`{"tag:${tag}"}`}::text[], '{}'::text[], false, '{}'::text[], '{}'::text[], '{}'::text[],
      '{}'::text[], ${`{"${tag}"}`}::text[], '{}'::text[], '{}'::text[], '0'::xid8, 0::bigint)`
  })

const planTests = (name: string, stores: Layer.Layer<EventStore.EventStore | SqlClient.SqlClient, unknown>, events: string) =>
  layer(stores, { timeout: "120 seconds" })(`conditional append checks on ${name}`, (it) => {
    it.effect(`search ${taggedEvents.toLocaleString("en")} tagged events by the tags index, never by a scan of the log`, () =>
      Effect.gen(function*() {
        yield* seed(events)
        for (const [which, call] of [["_check_item", checkItem(events)], ["_check", check(events)]] as const) {
          const scans = yield* scansBy(events, call)
          assert.strictEqual(scans.seq, 0, `${which}: ${scans.seq} scans of the log in ${calls} calls`)
          assert.isAtLeast(scans.index, calls, `${which}: ${scans.index} index scans in ${calls} calls`)
        }
      }))
  })

describe("condition plans", () => {
  planTests("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "condition_plan" }), "condition_plan.facta_events")
  planTests("embedded PGlite", Embedded.layer(), "facta_events")
})
