/**
 * What is left on disk after `Erasure.forget`: a `pg_dump` of a server's database (or, without a
 * `pg_dump` for the server's version, every row of every table), and the files
 * of a PGlite data directory once it is closed, byte-searched for a forgotten subject's personal
 * values. Neither holds them (the events hold ciphertext, the projection dropped its copy, the
 * key is gone), while the other subject's values in the same events still read. A plain field's
 * value is searched for too, to show the search finds what is there.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { Erasure, EventStore, KeyStore, Processor, RecordedEvent } from "@facta/core"
import { ErasureConformance } from "@facta/core/testing"
import { Embedded, Postgres } from "@facta/sql"
import { PostgresServer } from "@facta/sql/testing"

const { Transferred } = ErasureConformance
const transfers = RecordedEvent.codec(Transferred)

/** Values unique to this run, so that nothing else in the database can hold them. */
const run = crypto.randomUUID().slice(0, 8)
const adaName = `Ada Lovelace ${run}`
const graceName = `Grace Hopper ${run}`
const [ada, grace] = [`ada-${run}`, `grace-${run}`]
/** A plain (not personal) value in the same events: the control. */
const plainMarker = `plain-marker-${run}`

const { people, projection } = ErasureConformance.peopleProjection("people")

const transfer = (payerId: string, payeeId: string, payerName: string, payeeName: string) =>
  new Transferred({ payerId, payeeId, payerName: Redacted.make(payerName), payeeName: Redacted.make(payeeName), amount: 5 })

/** Events naming both subjects, with the plain marker in their metadata. */
const appendTransfers = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const events = [
    yield* transfers.encode(transfer(ada, grace, adaName, graceName), { note: plainMarker }),
    yield* transfers.encode(transfer(grace, ada, graceName, adaName), { note: plainMarker })
  ]
  yield* store.append(`ledger-${run}`, events)
})

/** Ada's key, as the key table keeps it (base64), to search for once destroyed. */
const keyOf = (subject: string) =>
  Effect.gen(function*() {
    const key = (yield* (yield* KeyStore.KeyStore).keys([subject], { purpose: "decrypt" })).get(subject)
    return key?._tag === "Live" ? Buffer.from(Redacted.value(key.key)).toString("base64") : undefined
  })

/** Both subjects' names as they read now. */
const namesRead = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const events = yield* transfers.decodeMany(yield* store.readStreamPage(`ledger-${run}`, { from: 1 }))
  return events.map((event) => [Redacted.value(event.data.payerName), Redacted.value(event.data.payeeName)])
})

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

const occurs = (files: ReadonlyArray<string>, value: string) => {
  const needle = Buffer.from(value, "utf8")
  return files.filter((file) => readFileSync(file).indexOf(needle) !== -1)
}

/** The `pg_dump` next to the server binaries the tests use, else the one on PATH. */
/** A `pg_dump` that can dump a server of this major version (one as new or newer), if the machine has one. */
const pgDumpFor = (serverMajor: number): string | undefined => {
  const dir = PostgresServer.findBinaries()?.dir
  for (const candidate of [...(dir === undefined ? [] : [join(dir, "pg_dump")]), "pg_dump"]) {
    if (candidate !== "pg_dump" && !existsSync(candidate)) continue
    try {
      const major = Number(/\) (\d+)/.exec(execFileSync(candidate, ["--version"], { encoding: "utf8" }))?.[1])
      if (major >= serverMajor) return candidate
    } catch {
      // Not on this machine.
    }
  }
  return undefined
}

/**
 * The database's contents as `pg_dump` writes them, or, where the machine has no `pg_dump` that
 * can dump this server (the npm PostgreSQL comes without one), every row of every table as the
 * server prints it: the data `pg_dump` would have copied out.
 */
const dumpOf = (url: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const major = Math.floor(Number((yield* sql<{ readonly version: string }>`SELECT current_setting('server_version_num') AS version`)[0]!.version) / 10_000)
    const pgDump = pgDumpFor(major)
    if (pgDump !== undefined) return execFileSync(pgDump, ["--no-owner", "--dbname", url], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    const tables = yield* sql<{ readonly name: string }>`SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`
    const rows = yield* Effect.forEach(tables, ({ name }) => sql.unsafe<{ readonly row: string }>(`SELECT t::text AS row FROM ${name} AS t`))
    return rows.flat().map(({ row }) => row).join("\n")
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })))

describe("erasure at rest", () => {
  it.live("after forget, a pg_dump of the server's database holds none of the subject's values; the other subject's still read", () =>
    Effect.gen(function*() {
      const url = new URL(inject("databaseUrl"))
      const database = `facta_erasure_${run}`
      const admin = PgClient.layer({ url: Redacted.make(url.toString()) })
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE DATABASE ${sql(database)}`
      }).pipe(Effect.provide(admin))
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          yield* sql`DROP DATABASE IF EXISTS ${sql(database)} WITH (FORCE)`
        }).pipe(Effect.provide(admin), Effect.orDie)
      )
      const target = new URL(url)
      target.pathname = `/${database}`
      const dump = dumpOf(target.toString())

      const stores = Postgres.layer({ url: Redacted.make(target.toString()) })
      const key = yield* Effect.scoped(Effect.gen(function*() {
        yield* appendTransfers
        const running = yield* Processor.start(projection)
        yield* running.whenCaughtUp
        assert.deepStrictEqual(yield* people.get(ada), Option.some({ name: adaName }))
        return yield* keyOf(ada)
      })).pipe(Effect.provide(stores))
      assert.isDefined(key)
      const before = yield* dump
      assert.include(before, plainMarker, "the search finds what the dump holds")
      assert.include(before, adaName, "the projection's document holds the name before the erasure")
      assert.include(before, key!, "and the key table the key")

      const after = yield* Effect.scoped(Effect.gen(function*() {
        const running = yield* Processor.start(projection)
        yield* Erasure.forget(ada)
        yield* running.whenCaughtUp
        return yield* namesRead
      })).pipe(Effect.provide(stores))
      assert.deepStrictEqual(after, [[ErasureConformance.forgottenName, graceName], [graceName, ErasureConformance.forgottenName]])
      const dumped = yield* dump
      assert.include(dumped, plainMarker)
      assert.include(dumped, "$SubjectForgotten", "the erasure is on record")
      assert.notInclude(dumped, adaName)
      assert.notInclude(dumped, key!)
      assert.include(dumped, graceName, "the other subject's document stays")
    }), 120_000)

  it.live("after forget, the files of a closed PGlite data directory hold none of the subject's values; the other subject's still read", () =>
    Effect.gen(function*() {
      const dataDir = mkdtempSync(join(tmpdir(), "facta-erasure-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const stores = () => Embedded.layer({ dataDir })
      yield* Effect.gen(function*() {
        yield* appendTransfers
        yield* Erasure.forget(ada)
      }).pipe(Effect.provide(stores()))
      // Closed: everything PGlite wrote is in its files.
      const files = filesUnder(dataDir)
      assert.isAbove(occurs(files, plainMarker).length, 0, "the search finds a plain value in the files")
      assert.deepStrictEqual(occurs(files, adaName), [])
      assert.deepStrictEqual(occurs(files, graceName), [])
      const reopened = yield* namesRead.pipe(Effect.provide(stores()))
      assert.deepStrictEqual(reopened, [[ErasureConformance.forgottenName, graceName], [graceName, ErasureConformance.forgottenName]])
    }), 120_000)
})
