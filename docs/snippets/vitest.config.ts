import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { defineProject } from "vitest/config"
import { writeSnippets } from "./check.ts"

// @facta/sql/testing's global setup, from its sources like every @facta module here.
const sql = dirname(createRequire(import.meta.url).resolve("@facta/sql/package.json"))

// The pages' blocks are written out afresh before vitest looks for test files, so the run
// always tests the markdown as it is; a page list that yields no test would pass unseen.
if (!writeSnippets().some((snippet) => snippet.isTest)) throw new Error("No ts block of the docs runs as a test")

/**
 * The "docs" project: the ts blocks of docs/testing.md, run as the test files they show (see
 * ./check.ts). Their type check is `npm run typecheck`'s.
 */
export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "docs",
    include: ["generated/*.test.ts"],
    // A real PostgreSQL server (DATABASE_URL, the machine's or one from npm), provided as "databaseUrl".
    globalSetup: [join(sql, "src/testing/globalSetup.ts")],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
