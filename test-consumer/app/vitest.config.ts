import { createRequire } from "node:module"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server for the run, from @facta/sql/testing; tests read inject("databaseUrl").
    globalSetup: [createRequire(import.meta.url).resolve("@facta/sql/testing/globalSetup")],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
