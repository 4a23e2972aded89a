/**
 * Gives the @facta/sql tests a real PostgreSQL server: `DATABASE_URL` if set,
 * else a throwaway server started here and stopped after the run. Tests read
 * the URL with `inject("databaseUrl")`. Missing binaries fail the run, never skip it.
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
  project.provide("databaseUrl", server.url)
  return server.stop
}
