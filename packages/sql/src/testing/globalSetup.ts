/**
 * A vitest globalSetup that gives tests a real PostgreSQL server: `DATABASE_URL` if set, else a
 * throwaway server started here and stopped after the run (see PostgresServer.ts). Tests read
 * the URL with `inject("databaseUrl")`. No server fails the run, never skips it.
 * `FACTA_PG_EXPECT_MAJOR` (e.g. 18) fails the run unless the server is that major version.
 */
import type { TestProject } from "vitest/node"
import { acquirePostgres } from "./PostgresServer.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** `postgres://…` URL of a database the tests may freely create tables in. */
    readonly databaseUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await acquirePostgres()
  const expected = process.env["FACTA_PG_EXPECT_MAJOR"]
  if (expected !== undefined && expected !== "") {
    const actual = server.description.match(/PostgreSQL\)? (\d+)/)?.[1]
    if (actual !== expected) {
      await server.stop()
      throw new Error(`FACTA_PG_EXPECT_MAJOR=${expected}, but the test server is ${server.description}`)
    }
  }
  console.log(`[${project.name || "tests"}] PostgreSQL for the tests: ${server.description}`)
  project.provide("databaseUrl", server.url)
  return server.stop
}

