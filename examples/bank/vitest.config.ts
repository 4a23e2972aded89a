import { createRequire } from "node:module"
import { defineProject } from "vitest/config"

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "bank",
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server (DATABASE_URL, the machine's or one from npm), provided as "databaseUrl".
    globalSetup: [createRequire(import.meta.url).resolve("@facta/postgres-server/globalSetup")],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
