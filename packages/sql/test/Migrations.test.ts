/**
 * The schema upgrades: a released migration's SQL never changes, and a database made by the
 * previous release's schema, once migrated, equals a fresh one (tables, columns, indexes,
 * constraints, functions), its SQL functions replaced where their definitions changed.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient, type SqlConnection } from "effect/sql"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { inject } from "vitest"
import { EventStore } from "@facta/core"
import { Migrations, Postgres, Tables } from "@facta/sql"
import * as Steps from "../src/internal/migrations.ts"

const url = inject("databaseUrl")
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")

/** A client that runs nothing and keeps the SQL it is sent. */
const recordingClient = (sent: Array<string>) => {
  const record = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.sync(() => {
      sent.push(`${sql} ${JSON.stringify(params)}`)
      return []
    })
  const connection: SqlConnection.Connection = {
    execute: record,
    executeRaw: record,
    executeStream: (sql, params) => Stream.drain(Stream.fromEffect(record(sql, params))),
    executeValues: record,
    executeValuesUnprepared: record,
    executeUnprepared: record
  }
  return SqlClient.make({ acquirer: Effect.succeed(connection), compiler: PgClient.makeCompiler(), driver: "recording", spanAttributes: [] }).pipe(
    Effect.provide(Reactivity.layer)
  )
}

/** Each migration's statements for the default tables, hashed, by `<id>_<name>`. */
const migrationHashes = Effect.gen(function*() {
  const tables = yield* Tables.make()
  const hashes: Record<string, string> = {}
  for (const [name, step] of Object.entries(Steps.steps(tables))) {
    const sent: Array<string> = []
    const client = yield* recordingClient(sent)
    yield* Effect.provideService(step, SqlClient.SqlClient, client)
    hashes[name] = createHash("sha256").update(sent.join("\n")).digest("hex")
  }
  return hashes
})

/** The statements of a pg_dump file, its comments and psql commands left out. */
const statementsOf = (dump: string) =>
  dump.split("\n").filter((line) => !line.startsWith("--") && !line.startsWith("\\")).join("\n")
    // Statements end at a semicolon closing a line, before a line that starts a new one (function
    // bodies and column lists are indented).
    .split(/;\n+(?=[A-Z])/).map((statement) => statement.trim().replace(/;$/, "")).filter((statement) => statement !== "")

/** What two databases must agree on, one line per object. */
const catalog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly line: string }>`
    SELECT line FROM (
      SELECT concat_ws(' ', 'column', table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity,
        is_generated, generation_expression) AS line
      FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL SELECT concat_ws(' ', 'relation', relname, relkind, relpersistence) FROM pg_class
        WHERE relnamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'index', indexname, indexdef) FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL SELECT concat_ws(' ', 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'function', pg_get_functiondef(oid)) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
      UNION ALL SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL SELECT concat_ws(' ', 'migration', migration_id, name) FROM facta_migrations
    ) AS objects ORDER BY line`
  return rows.map((row) => row.line)
})

const clientOf = (databaseUrl: string) => PgClient.layer({ url: Redacted.make(databaseUrl) })

layer(PgClient.layer({ url: Redacted.make(url) }), { excludeTestServices: true, timeout: "120 seconds" })("migrations", (it) => {
  /** A database of its own, dropped first if a previous run left it. */
  const database = (name: string) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`
      yield* sql`CREATE DATABASE ${sql(name)}`
      const target = new URL(url)
      target.pathname = `/${name}`
      return target.toString()
    })

  it.effect("a database the previous release made, migrated, equals a fresh one, and appends and conditions work on it", () =>
    Effect.gen(function*() {
      const previous = yield* database("facta_upgraded")
      const fresh = yield* database("facta_fresh")
      // A session of its own: the dump empties its search_path.
      yield* Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.withTransaction(Effect.forEach(statementsOf(fixture("previous-release.sql")), (statement) => sql.unsafe(statement), { discard: true }))
      }).pipe(Effect.provide(clientOf(previous))))
      yield* Migrations.run().pipe(Effect.provide(clientOf(previous)))
      yield* Migrations.run().pipe(Effect.provide(clientOf(fresh)))
      const upgraded = yield* catalog.pipe(Effect.provide(clientOf(previous)))
      const made = yield* catalog.pipe(Effect.provide(clientOf(fresh)))
      assert.deepStrictEqual(upgraded.filter((line) => !made.includes(line)), [], "objects only the upgraded database has")
      assert.deepStrictEqual(made.filter((line) => !upgraded.includes(line)), [], "objects only the fresh database has")
      assert.isTrue(upgraded.some((line) => line.startsWith("function CREATE OR REPLACE FUNCTION public.facta_events_gate()")))
      // The stores run on it: an append, a conditional append, and its conflict.
      yield* Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const tag = `course:${crypto.randomUUID()}`
        const query = { items: [{ tags: [tag] }] }
        yield* store.append("upgraded-1", [{ type: "Opened", data: { n: 1 } }])
        yield* store.appendIf("upgraded-2", [{ type: "Joined", data: {}, tags: [tag] }], { failIfEventsMatch: query, after: EventStore.start })
        const refused = yield* Effect.flip(
          store.appendIf("upgraded-3", [{ type: "Joined", data: {}, tags: [tag] }], { failIfEventsMatch: query, after: EventStore.start })
        )
        assert.strictEqual(refused._tag, "AppendConditionFailed")
      }).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(previous) })))
    }))

  it.effect("a function whose definition changed is replaced on the next run, and one that did not is left alone", () =>
    Effect.gen(function*() {
      const target = yield* database("facta_functions")
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* Migrations.run()
        // As if an earlier version had made _found differently, and _gate as now.
        yield* sql`CREATE OR REPLACE FUNCTION facta_events_found(tags text[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT false $$`
        yield* sql`UPDATE facta_functions SET hash = 'an earlier definition' WHERE name = 'facta_events_found'`
        const before = yield* sql<{ readonly name: string; readonly applied_at: Date }>`SELECT name, applied_at FROM facta_functions ORDER BY name`
        yield* Migrations.run()
        const found = yield* sql<{ readonly found: boolean }>`SELECT facta_events_found('{}') AS found`
        assert.isTrue(found[0]!.found)
        const after = yield* sql<{ readonly name: string; readonly applied_at: Date }>`SELECT name, applied_at FROM facta_functions ORDER BY name`
        const changed = after.filter((row) => before.find((earlier) => earlier.name === row.name)?.applied_at.getTime() !== row.applied_at.getTime())
        assert.deepStrictEqual(changed.map((row) => row.name), ["facta_events_found"])
      }).pipe(Effect.provide(clientOf(target)))
    }))
})

describe("released migrations", () => {
  it.effect("send the SQL they sent when they were released (a change to the schema is a new migration)", () =>
    Effect.gen(function*() {
      const released: Record<string, string> = JSON.parse(fixture("frozen-migrations.json"))
      const now = yield* migrationHashes
      for (const [name, hash] of Object.entries(released)) {
        assert.strictEqual(now[name], hash, `migration ${name} changed after its release: change the schema with a new migration instead`)
      }
      const unreleased = Object.keys(now).filter((name) => !(name in released))
      assert.deepStrictEqual(unreleased, [], `new migrations: freeze them by adding them to test/fixtures/frozen-migrations.json as ${JSON.stringify(Object.fromEntries(unreleased.map((name) => [name, now[name]])))}`)
    }))
})
