/**
 * `npm run bank:cluster` as a user runs it, on the test server: the bank as separate processes
 * placed by Effect Cluster, one of them killed halfway. It must end by itself with exit code 0,
 * having moved the killed process's segments to the others and kept the books right.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

const root = join(import.meta.dirname, "..", "..", "..")

const runCluster = (...args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const env = { ...process.env, DATABASE_URL: inject("databaseUrl") }
    execFile(process.execPath, ["--conditions=@facta/source", "examples/bank/src/cluster.ts", ...args], { cwd: root, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

describe("cluster.ts (npm run bank:cluster)", () => {
  it("runs the bank as 3 processes; after kill -9 of one, the others run its segments and every transfer settles with the books right", async () => {
    const { code, stderr, stdout } = await runCluster("--processes", "3")
    assert.strictEqual(code, 0, `${stdout}\n${stderr}`)
    const lines = stdout.split("\n").map((line) => line.trim())
    assert.include(lines, "Facta bank: 3 processes on the Postgres server at DATABASE_URL")
    assert.include(lines, "1. 3 processes run the bank's processors; Effect Cluster places their 9 segments")
    const nodes = lines.filter((line) => /^node \d \(pid \d+\): /.test(line))
    // 3 before the kill, 2 after it; every segment named once in each placement.
    assert.strictEqual(nodes.length, 5, stdout)
    const segmentsIn = (placement: ReadonlyArray<string>) =>
      placement.flatMap((line) => line.replace(/^node \d \(pid \d+\): /, "").split(", ")).filter((name) => name !== "—").sort()
    assert.deepStrictEqual(segmentsIn(nodes.slice(0, 3)), segmentsIn(nodes.slice(3)))
    assert.strictEqual(segmentsIn(nodes.slice(3)).length, 9)
    const killed = /kill -9 of node (\d)/.exec(stdout)?.[1]
    assert.isDefined(killed)
    assert.isFalse(nodes.slice(3).some((line) => line.startsWith(`node ${killed} `)), stdout)
    assert.match(stdout, /every segment runs again .+ after the kill:/)
    assert.match(stdout, /\d+ completed, \d+ cancelled/)
    assert.include(lines, "✓ the balances sum to 12,000.00; 12,000.00 was deposited")
    assert.include(lines, "✓ every account view applied each event of its stream once")
    // Nothing of the run is left on the server.
    const schema = /\(in the schema (\w+), dropped at the end\)/.exec(stdout)?.[1]
    assert.isDefined(schema, stdout)
    const left = await Effect.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql<{ readonly name: string }>`
        SELECT nspname AS name FROM pg_namespace WHERE nspname = ${schema!}
        UNION ALL SELECT tablename FROM pg_tables WHERE starts_with(tablename, ${schema!})`
    }).pipe(Effect.scoped, Effect.provide(PgClient.layer({ url: Redacted.make(inject("databaseUrl")) }))))
    assert.deepStrictEqual(left, [])
  }, 150_000)

  it("refuses a number of processes it cannot run", async () => {
    const { code, stderr } = await runCluster("--processes", "1")
    assert.strictEqual(code, 2)
    assert.include(stderr, "--processes must be an integer from 2 to 8, not 1")
  })
})
