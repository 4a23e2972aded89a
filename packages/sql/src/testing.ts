/**
 * @facta/sql/testing: real PostgreSQL servers for tests, on any machine. `TestServer` gives an
 * Effect test (or a demo) a throwaway server and Facta's stores on it; `PostgresServer` is the
 * same as plain async functions, for scripts; `@facta/sql/testing/globalSetup` is a vitest
 * global setup that starts one server per run and hands its URL to the tests
 * (`inject("databaseUrl")`).
 *
 * @module @facta/sql/testing
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as PostgresServer from "./testing/PostgresServer.ts"
/** @since 0.1.0 */
export * as TestServer from "./testing/TestServer.ts"
