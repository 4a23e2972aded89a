import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { defineProject } from "vitest/config"

// @facta/sql/testing's global setup, from its sources like every @facta module here.
const sql = dirname(createRequire(import.meta.url).resolve("@facta/sql/package.json"))

/**
 * The chaos suite: real OS processes on one Postgres server, killed, frozen, cut off and
 * restarted. `npm test` runs each fault once; `npm run test:chaos` runs each 5 times
 * (FACTA_CHAOS_RUNS).
 */
export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "chaos",
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server (DATABASE_URL, the machine's or one from npm), provided as "databaseUrl".
    globalSetup: [join(sql, "src/testing/globalSetup.ts")],
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
