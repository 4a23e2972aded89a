import * as PgTypes from "@effect/sql-pg/PgTypes"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Queue, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient, SqlError } from "effect/sql"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as PgliteClient from "../src/PgliteClient.ts"

const isUniqueViolation = (error: SqlError.SqlError): boolean => error.reason._tag === "UniqueViolation"

const sqlStateOf = (error: SqlError.SqlError): unknown => (error.reason.cause as { readonly code?: unknown }).code

layer(PgliteClient.layer())("PgliteClient", (it) => {
  it.effect("runs queries with parameters of every supported kind", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE params (
        id int4 PRIMARY KEY,
        name text,
        big int8,
        ratio float8,
        flag bool,
        at timestamptz,
        bytes bytea,
        note text
      )`
      const at = new Date("2024-05-06T07:08:09.123Z")
      yield* sql`INSERT INTO params ${
        sql.insert({
          id: 1,
          name: "it's",
          big: 10n,
          ratio: 1.5,
          flag: true,
          at,
          bytes: new Uint8Array([0, 1, 255]),
          note: null
        })
      }`
      yield* sql`INSERT INTO params (id, name) VALUES (${2}, ${"two"}), (${3}, ${"three"})`
      const rows = yield* sql<{
        readonly id: number
        readonly name: string
        readonly big: bigint
        readonly ratio: number
        readonly flag: boolean
        readonly at: Date
        readonly bytes: Uint8Array
        readonly note: string | null
      }>`SELECT * FROM params WHERE ${sql.in("id", [1, 3])} ORDER BY id`
      assert.deepStrictEqual(rows.map((row) => row.id), [1, 3])
      const [first] = rows
      assert.strictEqual(first.name, "it's")
      assert.strictEqual(first.big, 10n)
      assert.strictEqual(first.ratio, 1.5)
      assert.strictEqual(first.flag, true)
      assert.instanceOf(first.at, Date)
      assert.strictEqual(first.at.toISOString(), at.toISOString())
      assert.deepStrictEqual(Array.from(first.bytes), [0, 1, 255])
      assert.isNull(first.note)

      // Parameter types are inferred as @effect/sql-pg binds them.
      const [types] = yield* sql<Record<string, string>>`SELECT
        pg_typeof(${1})::text AS small,
        pg_typeof(${2 ** 40})::text AS large,
        pg_typeof(${0.5})::text AS fraction,
        pg_typeof(${true})::text AS flag,
        pg_typeof(${new Date()})::text AS at,
        pg_typeof(${[1, 2]})::text AS ints`
      assert.deepStrictEqual(types, {
        small: "integer",
        large: "bigint",
        fraction: "double precision",
        flag: "boolean",
        at: "timestamp with time zone",
        ints: "integer[]"
      })

      const values = yield* sql`SELECT id, name FROM params WHERE id = ${2}`.values
      assert.deepStrictEqual(values, [[2, "two"]])

      const streamed = yield* Stream.runCollect(sql<{ readonly id: number }>`SELECT id FROM params ORDER BY id`.stream)
      assert.deepStrictEqual(Array.from(streamed, (row) => row.id), [1, 2, 3])
    }))

  it.effect("surfaces a unique violation as UniqueViolation with SQLSTATE 23505", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE uniq (id text PRIMARY KEY)`
      yield* sql`INSERT INTO uniq VALUES (${"a"})`
      const error = yield* Effect.flip(sql`INSERT INTO uniq VALUES (${"a"})`)
      assert.isTrue(SqlError.isSqlError(error))
      assert.isTrue(isUniqueViolation(error))
      assert.strictEqual(sqlStateOf(error), "23505")
      assert.strictEqual(error.reason._tag === "UniqueViolation" ? error.reason.constraint : undefined, "uniq_pkey")

      const caught = yield* sql`INSERT INTO uniq VALUES (${"a"})`.pipe(
        Effect.as("inserted"),
        Effect.catchReason("SqlError", "UniqueViolation", (reason) => Effect.succeed(`duplicate ${reason.constraint}`))
      )
      assert.strictEqual(caught, "duplicate uniq_pkey")

      const syntax = yield* Effect.flip(sql`SELEC 1`)
      assert.strictEqual(syntax.reason._tag, "SqlSyntaxError")
      assert.strictEqual(sqlStateOf(syntax), "42601")

      // The session is still usable after errors.
      const rows = yield* sql<{ readonly n: bigint }>`SELECT count(*) AS n FROM uniq`
      assert.strictEqual(rows[0].n, 1n)
    }))

  it.effect("round-trips int8 past 2^53 exactly, as bigint", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE bigs (id int4 PRIMARY KEY, v int8 NOT NULL, vs int8[])`
      yield* sql`INSERT INTO bigs VALUES (1, ${9007199254740993n}, ${[9007199254740993n, -1n]})`
      yield* sql`INSERT INTO bigs (id, v) VALUES (2, ${"9223372036854775807"})`
      const rows = yield* sql<{ readonly v: bigint; readonly vs: ReadonlyArray<bigint> | null }>`
        SELECT v, vs FROM bigs ORDER BY id`
      assert.strictEqual(rows[0].v, 9007199254740993n)
      assert.deepStrictEqual(rows[0].vs, [9007199254740993n, -1n])
      assert.strictEqual(rows[1].v, 9223372036854775807n)
      const [sum] = yield* sql<{ readonly s: string }>`SELECT (v + 1)::text AS s FROM bigs WHERE id = 1`
      assert.strictEqual(sum.s, "9007199254740994")
    }))

  it.effect("round-trips jsonb as parsed values", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const pg = yield* PgliteClient.PgliteClient
      yield* sql`CREATE TABLE docs (id int4 PRIMARY KEY, body jsonb NOT NULL)`
      const body = { type: "Opened", nested: { list: [1, "two", null, true] }, quote: "it's \"x\"" }
      yield* sql`INSERT INTO docs VALUES (1, ${pg.json(body)})`
      yield* sql`INSERT INTO docs VALUES (2, ${PgTypes.jsonb(body)})`
      yield* sql`INSERT INTO docs VALUES (3, ${JSON.stringify(body)}::jsonb)`
      yield* sql`INSERT INTO docs VALUES (4, ${pg.json("just a string")})`
      const rows = yield* sql<{ readonly body: unknown }>`SELECT body FROM docs ORDER BY id`
      assert.deepStrictEqual(rows.map((row) => row.body), [body, body, body, "just a string"])
      const [filtered] = yield* sql<{ readonly n: bigint }>`
        SELECT count(*) AS n FROM docs WHERE body @> ${pg.json({ type: "Opened" })}`
      assert.strictEqual(filtered.n, 3n)
    }))

  it.effect("rolls back a transaction that fails", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE tx (id int4 PRIMARY KEY)`
      const result = yield* sql`INSERT INTO tx VALUES (1)`.pipe(
        Effect.andThen(sql`INSERT INTO tx VALUES (2)`),
        Effect.andThen(Effect.fail("boom" as const)),
        sql.withTransaction,
        Effect.flip
      )
      assert.strictEqual(result, "boom")
      const failedStatement = yield* sql`INSERT INTO tx VALUES (3)`.pipe(
        Effect.andThen(sql`INSERT INTO tx VALUES (3)`),
        sql.withTransaction,
        Effect.flip
      )
      assert.isTrue(isUniqueViolation(failedStatement as SqlError.SqlError))
      const rows = yield* sql`SELECT id FROM tx`
      assert.strictEqual(rows.length, 0)
      yield* sql.withTransaction(sql`INSERT INTO tx VALUES (4)`)
      assert.deepStrictEqual(yield* sql`SELECT id FROM tx`, [{ id: 4 }])
    }))

  it.effect("fails COMMIT of a transaction aborted by a caught error", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE aborted (id int4 PRIMARY KEY)`
      const error = yield* sql`INSERT INTO aborted VALUES (1)`.pipe(
        Effect.andThen(Effect.ignore(sql`SELECT 1/0`)),
        sql.withTransaction,
        Effect.flip
      )
      assert.include(error.message, "COMMIT rolled back")
      assert.strictEqual((yield* sql`SELECT id FROM aborted`).length, 0)
    }))

  it.effect("rolls back only the inner savepoint of a nested transaction", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE nested (id int4 PRIMARY KEY)`
      yield* Effect.gen(function*() {
        yield* sql`INSERT INTO nested VALUES (1)`
        const inner = yield* Effect.flip(sql.withTransaction(
          sql`INSERT INTO nested VALUES (2)`.pipe(Effect.andThen(Effect.fail("inner" as const)))
        ))
        assert.strictEqual(inner, "inner")
        // A failing statement inside the savepoint leaves the outer transaction usable.
        const duplicate = yield* Effect.flip(sql.withTransaction(sql`INSERT INTO nested VALUES (1)`))
        assert.isTrue(isUniqueViolation(duplicate))
        yield* sql.withTransaction(sql`INSERT INTO nested VALUES (3)`)
      }).pipe(sql.withTransaction)
      const rows = yield* sql<{ readonly id: number }>`SELECT id FROM nested ORDER BY id`
      assert.deepStrictEqual(rows.map((row) => row.id), [1, 3])
    }))

  it.effect("serializes concurrent transactions and keeps other fibers out of them", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE counter (id int4 PRIMARY KEY, n int4 NOT NULL)`
      yield* sql`INSERT INTO counter VALUES (1, 0)`
      const increment = Effect.gen(function*() {
        const [row] = yield* sql<{ readonly n: number }>`SELECT n FROM counter WHERE id = 1`
        yield* Effect.yieldNow
        yield* sql`UPDATE counter SET n = ${row.n + 1} WHERE id = 1`
      }).pipe(sql.withTransaction)
      yield* Effect.all(Array.from({ length: 50 }, () => increment), { concurrency: "unbounded", discard: true })
      const [row] = yield* sql<{ readonly n: number }>`SELECT n FROM counter WHERE id = 1`
      assert.strictEqual(row.n, 50)

      // A plain statement from another fiber must not run inside, and be
      // rolled back with, a transaction that fails.
      yield* sql`CREATE TABLE outside (id int4 PRIMARY KEY)`
      const failing = yield* Effect.forkChild(
        Effect.gen(function*() {
          yield* sql`INSERT INTO outside VALUES (1)`
          for (let i = 0; i < 20; i++) yield* Effect.yieldNow
          return yield* Effect.fail("rollback" as const)
        }).pipe(sql.withTransaction, Effect.flip)
      )
      const plain = yield* Effect.forkChild(
        Effect.all(Array.from({ length: 5 }, (_, i) => sql`INSERT INTO outside VALUES (${i + 2})`), {
          concurrency: "unbounded"
        })
      )
      assert.strictEqual(yield* Fiber.join(failing), "rollback")
      yield* Fiber.join(plain)
      const rows = yield* sql<{ readonly id: number }>`SELECT id FROM outside ORDER BY id`
      assert.deepStrictEqual(rows.map((r) => r.id), [2, 3, 4, 5, 6])
    }))

  it.effect("delivers notifications to listeners", () =>
    Effect.gen(function*() {
      const pg = yield* PgliteClient.PgliteClient
      const queue = yield* pg.listen("Facta_Events")
      const other = yield* pg.listen("other")
      yield* pg.notify("Facta_Events", "hello")
      assert.strictEqual(yield* Queue.take(queue), "hello")
      yield* pg.withTransaction(
        pg.notify("Facta_Events", "after-commit").pipe(
          Effect.andThen(Effect.sync(() => assert.strictEqual(Queue.sizeUnsafe(queue), 0)))
        )
      )
      assert.strictEqual(yield* Queue.take(queue), "after-commit")
      yield* Effect.ignore(pg.withTransaction(
        pg.notify("Facta_Events", "rolled-back").pipe(Effect.andThen(Effect.fail("no")))
      ))
      yield* pg.notify("Facta_Events", "last")
      assert.strictEqual(yield* Queue.take(queue), "last")
      assert.strictEqual(Queue.sizeUnsafe(other), 0)
    }))
})

describe("PgliteClient with a data directory", () => {
  it.effect("persists data across two client instances", () =>
    Effect.gen(function*() {
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "facta-pglite-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const withClient = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
        Effect.scoped(Effect.flatMap(PgliteClient.make({ dataDir }), f)).pipe(Effect.provide(Reactivity.layer))

      yield* withClient((sql) =>
        Effect.gen(function*() {
          yield* sql`CREATE TABLE kept (id int8 PRIMARY KEY, body jsonb)`
          yield* sql`INSERT INTO kept VALUES (${9007199254740993n}, ${JSON.stringify({ a: 1 })}::jsonb)`
        })
      )
      const rows = yield* withClient((sql) => sql<{ readonly id: bigint; readonly body: unknown }>`SELECT * FROM kept`)
      assert.deepStrictEqual(rows, [{ id: 9007199254740993n, body: { a: 1 } }])
    }))

  it.effect("provides SqlClient and PgliteClient from one layer", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const pg = yield* PgliteClient.PgliteClient
      assert.strictEqual(sql, pg)
      assert.strictEqual(sql.driver, "pglite")
      const version = yield* pg.withPglite((db) => db.query<{ readonly v: string }>("SELECT version() AS v"))
      assert.match(version.rows[0].v, /PostgreSQL/)
    }).pipe(Effect.provide(Layer.fresh(PgliteClient.layer()))))
})
