/**
 * `npm start` as a user runs it: the walk-through in a child process, on the Node running the
 * tests (the repository's), on embedded PGlite. It must end by itself, with exit code 0, having
 * printed the outcomes a reader looks for.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { join } from "node:path"

const root = join(import.meta.dirname, "..", "..", "..")

const runMain = (...args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    // Without DATABASE_URL the walk-through runs embedded, apart from any test database.
    const { DATABASE_URL: _, ...env } = process.env
    execFile(process.execPath, ["--conditions=@facta/source", "examples/bank/src/main.ts", ...args], { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

describe("main.ts (npm start)", () => {
  it("runs the walk-through on embedded Postgres, prints every outcome, and exits 0", async () => {
    const { code, stderr, stdout } = await runMain()
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(stderr, "")
    const lines = stdout.split("\n").map((line) => line.trim())
    const expected = [
      "Facta bank: a walk-through on embedded Postgres (PGlite, in examples/bank/.data)",
      "✓ account A-1 (Ada): balance 100.00, version 2",
      "✗ Account A-1 is already open",
      "✗ Account B-2 has 0 cents, 500 were requested",
      "✓ transfer t-3 requested: 20.00 from A-1 to Z-9, version 1",
      "3 succeeded, 7 refused: Account C-3 has 1000 cents, 3000 were requested",
      "transfer t-1 A-1 → B-2: completed. 30.00 moved",
      "transfer t-2 A-1 → B-2: cancelled. Account A-1 has 7000 cents, 50000 were requested",
      "transfer t-3 A-1 → Z-9: cancelled. Account Z-9 does not exist; 2000 cents refunded to A-1"
    ]
    for (const line of expected) assert.include(lines, line)
    assert.isTrue(lines.some((line) => line.startsWith("✗ Invalid input of command \"deposit\": amount:")))
    assert.isTrue(lines.some((line) => line.startsWith("✗ Transfer t-1 already exists")))
    // The refund in the source account's stream, and the read models' final balances.
    assert.match(stdout, /5 {2}MoneyRefunded +\S+ +\{"amount":2000,"balance":7000,"transferId":"t-3","accountNumber":"A-1"\}/)
    assert.match(stdout, /A-1 +Ada +70\.00 +5 /)
    assert.match(stdout, /B-2 +Bob +30\.00 +2 /)
    assert.match(stdout, /C-3 +Cy +10\.00 +5 /)
    assert.match(stdout, /t-3 +refunded +Account Z-9 does not exist/)
  }, 90_000)

  it("runs on a throwaway Postgres server with --server, and removes it", async () => {
    // FACTA_PG_SOURCE passes through: in CI this runs on the machine's Postgres and on npm's.
    const { code, stderr, stdout } = await runMain("--server")
    assert.strictEqual(code, 0, stderr)
    const lines = stdout.split("\n").map((line) => line.trim())
    assert.include(lines, "Facta bank: a walk-through on a throwaway Postgres server")
    const server = lines.find((line) => line.startsWith("(a throwaway server: postgres (PostgreSQL)"))
    assert.isDefined(server, stdout)
    assert.include(lines, "transfer t-1 A-1 → B-2: completed. 30.00 moved")
    assert.include(lines, "3 succeeded, 7 refused: Account C-3 has 1000 cents, 3000 were requested")
    // A second run gets a new, empty server: it meets no accounts of the first.
    const again = await runMain("--server")
    assert.strictEqual(again.code, 0, again.stderr)
    assert.include(again.stdout.split("\n").map((line) => line.trim()), "✓ account A-1 (Ada): balance 100.00, version 2")
  }, 90_000)
})
