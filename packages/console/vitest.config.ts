import { defineProject } from "vitest/config"

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "console",
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server for the run (DATABASE_URL, the machine's or one from npm).
    globalSetup: ["../sql/src/testing/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
