import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { defineProject } from "vitest/config"

// @facta/sql/testing's global setup, from its sources like every @facta module here (an app
// that installs the package resolves "@facta/sql/testing/globalSetup" instead).
const sql = dirname(createRequire(import.meta.url).resolve("@facta/sql/package.json"))

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "shop",
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server (DATABASE_URL, the machine's or one from npm), provided as "databaseUrl".
    globalSetup: [join(sql, "src/testing/globalSetup.ts")],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
