import { defineProject } from "vitest/config"

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "sql",
    include: ["test/**/*.test.ts"],
    // Starts a throwaway PostgreSQL server (or uses DATABASE_URL) and provides "databaseUrl".
    globalSetup: ["./src/testing/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
