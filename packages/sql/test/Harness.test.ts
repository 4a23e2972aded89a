/**
 * Proves the test harness (@facta/sql/testing/globalSetup) hands the tests a real,
 * reachable PostgreSQL server.
 */
import { assert, describe, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

// Effect 4: the url must be Redacted; a plain string only fails at connect time.
const PgLive = PgClient.layer({ url: Redacted.make(inject("databaseUrl")) })

describe("test harness", () => {
  layer(PgLive)("PostgreSQL", (it) => {
    it.effect("is a real PostgreSQL server, version 15 or newer", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const [version] = yield* sql<{ readonly version: string }>`SELECT version() AS version`
        assert.include(version?.version, "PostgreSQL")
        const [num] = yield* sql<{ readonly server_version_num: string }>`SHOW server_version_num`
        assert.isAtLeast(Number(num?.server_version_num), 150000)
      }))

    it.effect("runs queries", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly two: number }>`SELECT 1 + 1 AS two`
        assert.deepStrictEqual(rows.map((row) => row.two), [2])
      }))

    it.effect("can create tables and write rows", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TEMPORARY TABLE harness_check (id int PRIMARY KEY, name text NOT NULL)`
        yield* sql`INSERT INTO harness_check ${sql.insert([{ id: 1, name: "a" }, { id: 2, name: "b" }])}`
        const rows = yield* sql<{ readonly name: string }>`SELECT name FROM harness_check ORDER BY id`
        assert.deepStrictEqual(rows.map((row) => row.name), ["a", "b"])
      }))
  })
})
