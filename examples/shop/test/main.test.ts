/**
 * `npm run shop` walks through on memory and on embedded Postgres, and says what it should.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { join } from "node:path"

describe("npm run shop", () => {
  it("walks through on memory and on embedded Postgres, exiting 0, never overselling", async () => {
    for (const args of [["--memory"], []]) {
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, ["--conditions=@facta/source", join(import.meta.dirname, "..", "src", "main.ts"), ...args], { timeout: 60_000 }, (error, stdout) =>
          resolve({ code: error === null ? 0 : 1, stdout })))
      assert.strictEqual(code, 0, stdout)
      assert.include(stdout, "✗ Product toaster has 2 units in stock, 3 were ordered")
      assert.include(stdout, "✗ There is no product teapot")
      assert.include(stdout, "✗ Order o-1 is already placed")
      assert.include(stdout, "3 placed, 9 refused")
      assert.match(stdout, /kettle +5 +5 +0\n/)
      assert.match(stdout, /toaster +7 +5 +2\n/)
      assert.include(stdout, "6 confirmations sent")
      assert.include(stdout, "to Bob: order o-2 confirmed: 1 × mug, 2 × toaster")
    }
  }, 120_000)
})
