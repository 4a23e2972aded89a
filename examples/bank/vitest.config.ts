import { defineProject } from "vitest/config"

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "bank",
    include: ["test/**/*.test.ts"],
    // The sql package's setup: a throwaway PostgreSQL server (or DATABASE_URL), provided as "databaseUrl".
    globalSetup: ["../../packages/sql/test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
