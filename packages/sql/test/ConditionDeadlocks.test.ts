/**
 * Conditions with an item of types only lock the events table. Appends under such conditions,
 * racing each other on a server, must take their locks in an order that cannot deadlock: Postgres
 * breaks a deadlock only after `deadlock_timeout` (a second), and the store's retries hide it
 * until contention outlasts them. The server counts the deadlocks it broke; the race runs in a
 * database of its own, so no other test's count adds to it.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { EventQueryConformance } from "@facta/core/testing"
import { Postgres } from "@facta/sql"

const url = inject("databaseUrl")
// 10 here, more with FACTA_RACE_ROUNDS (npm run test:races).
const rounds = Number(process.env["FACTA_RACE_ROUNDS"] ?? 10)
const deciders = 64
const timeout = Math.max(60_000, rounds * 1_000)

/**
 * The deadlocks the server broke in `database`, counted in full: backends report theirs lazily
 * (at most once a second, or when idle for a while), and always when they exit, so this waits for
 * the database's sessions to end before it reads, past any snapshot of the statistics.
 */
const deadlocksIn = (database: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql<{ readonly sessions: number | string }>`SELECT count(*) AS sessions FROM pg_stat_activity
      WHERE datname = ${database} AND backend_type = 'client backend'`.pipe(
      Effect.flatMap((rows) => Number(rows[0]?.sessions ?? 0) === 0 ? Effect.void : Effect.fail("sessions still open" as const)),
      Effect.retry({ schedule: Schedule.spaced("50 millis") }),
      Effect.timeout("30 seconds")
    )
    return yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT pg_stat_clear_snapshot()`
      const rows = yield* sql<{ readonly deadlocks: number | string }>`SELECT deadlocks FROM pg_stat_database WHERE datname = ${database}`
      return Number(rows[0]?.deadlocks ?? 0)
    }))
  })

/** The deadlocks the server broke while `effect` ran on the stores of a database of its own. */
const deadlocksDuring = <A, E>(effect: Effect.Effect<A, E, Postgres.Stores>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const database = `facta_deadlocks_${crypto.randomUUID().slice(0, 8)}`
    yield* sql`CREATE DATABASE ${sql(database)}`
    yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP DATABASE IF EXISTS ${sql(database)} WITH (FORCE)`))
    const target = new URL(url)
    target.pathname = `/${database}`
    const before = yield* deadlocksIn(database)
    // The layer's pool is closed when the effect ends, so its sessions report their deadlocks.
    yield* effect.pipe(Effect.provide(Postgres.layer({ url: Redacted.make(target.toString()) })))
    return (yield* deadlocksIn(database)) - before
  }).pipe(Effect.scoped)

layer(PgClient.layer({ url: Redacted.make(url) }), { excludeTestServices: true, timeout: "600 seconds" })("conditions with an item of types only", (it) => {
  it.effect(`${deciders} deciders racing for the last place of a course unless enrolment closed (an item of types only) deadlock nowhere on a server (${rounds} rounds)`, () =>
    Effect.gen(function*() {
      const deadlocks = yield* deadlocksDuring(EventQueryConformance.raceForLastPlace({ deciders, rounds, typesOnlyItem: true }))
      assert.strictEqual(deadlocks, 0, "deadlocks the server broke during the race")
    }), timeout)

  it.effect(`${deciders} deciders racing for the last place of a course (tags only) deadlock nowhere on a server (${rounds} rounds)`, () =>
    Effect.gen(function*() {
      const deadlocks = yield* deadlocksDuring(EventQueryConformance.raceForLastPlace({ deciders, rounds }))
      assert.strictEqual(deadlocks, 0, "deadlocks the server broke during the race")
    }), timeout)

  it.effect(`${deciders} deciders racing so, each in a transaction of its own whose first write is the append, deadlock nowhere on a server (${rounds} rounds)`, () =>
    Effect.gen(function*() {
      const deadlocks = yield* deadlocksDuring(EventQueryConformance.raceForLastPlace({ deciders, rounds, typesOnlyItem: true, inTransactions: true }))
      assert.strictEqual(deadlocks, 0, "deadlocks the server broke during the race")
    }), timeout)
})
