/**
 * `npm run todo`: the todo service on http://localhost:3000 (or `PORT`).
 *
 * Events and lists are stored in Postgres: on the server at `DATABASE_URL` when it is set; with
 * `--server` (`npm run todo -- --server`) on a throwaway server started for the process (the
 * machine's Postgres, or PostgreSQL 18 from npm) and removed when it stops; otherwise in an
 * embedded Postgres (PGlite) in memory. Both of the latter forget everything when the process ends. The projection and the notifying reactor run in this same process; messages to
 * stakeholders go to the log.
 *
 * ```sh
 * PORT=3456 npm run todo
 * curl -XPOST localhost:3456/todo/1 -H 'content-type: application/json' \
 *   -d '{"title":"Write the report","due_date":"2025-03-01","stakeholder_email":"ada@example.com"}'
 * curl -XPOST localhost:3456/todo/1/complete -H 'content-type: application/json' -d '{"completed_on":"2025-02-27"}'
 * curl localhost:3456/todos/completed
 * ```
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { TestServer } from "@facta/sql/testing"
import { Embedded, Postgres } from "@facta/sql"
import * as Notifications from "./Notifications.ts"
import * as Server from "./Server.ts"

/** The stores: a Postgres server when `DATABASE_URL` is set, or a throwaway one, or embedded Postgres. */
const Stores = Layer.unwrap(Effect.gen(function*() {
  const url = yield* Config.option(Config.Redacted("DATABASE_URL"))
  if (Option.isSome(url)) {
    yield* Effect.logInfo("Storing events in the Postgres server at DATABASE_URL")
    return Postgres.layer({ url: url.value })
  }
  if (process.argv.includes("--server")) {
    const server = yield* TestServer.server
    yield* Effect.logInfo(`Storing events in a throwaway Postgres server (${server.description}), removed when the service stops`)
    return Postgres.layer({ url: Redacted.make(server.url) })
  }
  yield* Effect.logInfo("Storing events in embedded Postgres, in memory; set DATABASE_URL to keep them")
  return Embedded.layer()
}))

const Todos = Layer.unwrap(Effect.gen(function*() {
  const port = yield* Config.Port("PORT").pipe(Config.withDefault(3000))
  const maxBodyBytes = yield* Config.Int("MAX_BODY_BYTES").pipe(Config.withDefault(1024 * 1024))
  // Such as "30 seconds"; a slower request is answered 503.
  const timeout = yield* Config.option(Config.Duration("REQUEST_TIMEOUT"))
  return Server.layer({ port, maxBodyBytes, timeout: Option.getOrUndefined(timeout) })
})).pipe(
  Layer.provide(Notifications.Notifier.layerLog),
  Layer.provide(Stores)
)

Layer.launch(Todos).pipe(NodeRuntime.runMain)
