/**
 * The checks of a conditional append search the log by the tags index with the plan Postgres
 * settles on after a few calls in a session (a generic one, which knows no tag), whether that
 * plan was made on an empty log that grew since or on an analyzed one of many events, and
 * whatever planner settings the function does or does not set. A scan of the log instead would
 * make every conditional append cost in proportion to the log.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { Embedded, Postgres } from "@facta/sql"

// With a lone containment of tags, a generic plan made on an analyzed log of such events scans it
// from somewhere between 80,000 and 200,000 of them on (of wider events, from fewer).
const taggedEvents = 200_000
const calls = 20

/** `taggedEvents` events, each with a tag of its own, written in one statement (in the caller's transaction). */
const seed = (events: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const run = crypto.randomUUID()
    yield* sql`INSERT INTO ${sql(events)} (stream_id, version, event_id, type, data, metadata, tags)
      SELECT ${`seeded-${run}-`} || (i / 1000), i % 1000 + 1, gen_random_uuid(), 'Seeded', '{}', '{}', ARRAY[${`seed:${run}-`} || i]
      FROM generate_series(0, ${taggedEvents - 1}) AS i`
  })

type Check = (tag: string) => Effect.Effect<unknown, unknown, SqlClient.SqlClient>

const checkItem = (events: string): Check => (tag) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`SELECT ${sql(`${events}_check_item`)}(${`tag:${tag}`}, '{}'::text[], '{}'::text[], ${`{"${tag}"}`}::text[], '0'::xid8, 0::bigint,
      NULL::pg_snapshot)`
  })

/** The check from the log's last event on: the events after it are looked at by the log's index. */
const checkItemRecent = (events: string): Check => (tag) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`SELECT ${sql(`${events}_check_item`)}(${`tag:${tag}`}, '{}'::text[], '{}'::text[], ${`{"${tag}"}`}::text[], last.transaction_id, last.position,
      NULL::pg_snapshot) FROM (SELECT transaction_id, position FROM ${sql(events)} ORDER BY transaction_id DESC, position DESC LIMIT 1) AS last`
  })

const check = (events: string): Check => (tag) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`SELECT ${sql(`${events}_check`)}(${`{"tag:${tag}"}`}::text[], '{}'::text[], false, '{}'::text[], '{}'::text[], '{}'::text[],
      '{}'::text[], ${`{"${tag}"}`}::text[], '{}'::text[], '{}'::text[], '0'::xid8, 0::bigint, NULL::pg_snapshot)`
  })

const calling = (check: Check, times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) yield* check(`course:${crypto.randomUUID()}`)
  })

/**
 * The scans of the events table that `calls` calls of each check start, in the caller's
 * transaction: a session's counts are not reported to the server before it ends, so they change
 * by these calls alone (they may hold earlier statements' scans too, hence the difference).
 */
const scansOf = (events: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const counts = Effect.map(
      sql<{ readonly seq_scan: number | string; readonly idx_scan: number | string | null }>`
        SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relid = ${events}::regclass`,
      (rows) => ({ seq: Number(rows[0]?.seq_scan ?? 0), index: Number(rows[0]?.idx_scan ?? 0) })
    )
    for (const [which, call] of [["_check_item", checkItem(events)], ["_check", check(events)], ["_check_item after the last event", checkItemRecent(events)]] as const) {
      const before = yield* counts
      yield* calling(call, calls)
      const after = yield* counts
      assert.strictEqual(after.seq - before.seq, 0, `${which}: ${after.seq - before.seq} scans of the log in ${calls} calls`)
      assert.isAtLeast(after.index - before.index, calls, `${which}: ${after.index - before.index} index scans in ${calls} calls`)
    }
  })

/** In a transaction, with the plan a session settles on after its first calls, from the first on. */
const generic = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(Effect.andThen(sql`SET LOCAL plan_cache_mode = force_generic_plan`, effect))
  })

const planTests = (name: string, stores: Layer.Layer<SqlClient.SqlClient, unknown>, events: string) =>
  layer(stores, { timeout: "120 seconds" })(`conditional append checks on ${name}`, (it) => {
    it.effect(`planned on an empty log, search it by the tags index once it holds ${taggedEvents.toLocaleString("en")} tagged events, and once it is analyzed`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // Planned on the empty log, the plans stay with the session as the log grows.
        yield* generic(Effect.gen(function*() {
          yield* calling(checkItem(events), 5)
          yield* calling(check(events), 5)
          yield* seed(events)
          yield* scansOf(events)
        }))
        // Planned again with the statistics of the grown log, as autovacuum would have them.
        yield* sql`ANALYZE ${sql(events)}`
        yield* generic(scansOf(events))
      }))
  })

describe("condition plans", () => {
  planTests("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "condition_plan" }), "condition_plan.facta_events")
  planTests("embedded PGlite", Embedded.layer(), "facta_events")
})
