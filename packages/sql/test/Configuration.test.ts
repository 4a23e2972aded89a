import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Config, ConfigProvider, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { EventStore, Lease } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"

const url = inject("databaseUrl")
const fromEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))

/** The application name and schema this session's connections report to the server. */
const session = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly application_name: string }>`SELECT current_setting('application_name') AS application_name`
  return rows[0]!.application_name
})

const appendAndRead = (streamId: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    yield* store.append(streamId, [{ type: "Configured", data: { n: 1 } }], { expectedVersion: "noStream" })
    return (yield* Stream.runCollect(store.readStream(streamId))).map((event) => event.data)
  })

describe("configuration", () => {
  it.live("Postgres.layerConfig reads the URL, the client options and the table options from Config", () =>
    Effect.gen(function*() {
      const name = yield* session
      const data = yield* appendAndRead(`configured-${crypto.randomUUID()}`)
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM information_schema.tables
        WHERE table_schema = 'configured' AND table_name = 'cfg_events'`
      assert.strictEqual(name, "facta-config-test")
      assert.deepStrictEqual(data, [{ n: 1 }])
      assert.strictEqual(tables[0]!.n, 1)
    }).pipe(Effect.provide(
      Postgres.layerConfig({
        url: Config.Redacted("DATABASE_URL"),
        applicationName: Config.String("APP_NAME"),
        maxConnections: Config.Int("POOL_SIZE"),
        connectTimeout: Config.succeed("5 seconds"),
        schema: Config.String("FACTA_SCHEMA"),
        tablePrefix: Config.String("FACTA_PREFIX")
      }).pipe(Layer.provide(fromEnv({
        DATABASE_URL: url,
        APP_NAME: "facta-config-test",
        POOL_SIZE: "3",
        FACTA_SCHEMA: "configured",
        FACTA_PREFIX: "cfg_"
      })))
    )))

  it.live("Postgres.layerConfig fails with a ConfigError naming a missing variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(
        Postgres.layerConfig({ url: Config.Redacted("DATABASE_URL") }).pipe(Layer.provide(fromEnv({})))
      ))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(String(error), "DATABASE_URL")
    }).pipe(Effect.scoped))

  it.live("Postgres.layer passes the client's options through", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* session, "facta-options-test")
    }).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(url), applicationName: "facta-options-test", schema: "options" }))))

  it.live("Postgres.layerFromClient runs the stores and the lease on the application's own pool", () =>
    Effect.gen(function*() {
      const data = yield* appendAndRead(`shared-${crypto.randomUUID()}`)
      const lease = yield* Lease.Lease
      const held = yield* lease.acquire(`shared-${crypto.randomUUID()}`).pipe(Effect.as(true), Effect.scoped)
      const app = yield* PgClient.PgClient
      const pool = yield* SqlClient.SqlClient
      assert.deepStrictEqual(data, [{ n: 1 }])
      assert.isTrue(held)
      // The SqlClient in context is the application's PgClient, not a second pool.
      assert.strictEqual(pool, app)
    }).pipe(Effect.provide(
      Postgres.layerFromClient({ schema: "shared" }).pipe(
        Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }))
      )
    )))

  it.live("a pool of one connection appends, reads and follows the log, and goes on after its connection is killed", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const streamId = `pool-of-one-${crypto.randomUUID()}`
      const first = yield* store.append(streamId, [{ type: "Configured", data: { n: 1 } }], { expectedVersion: "noStream" })
      // A LISTEN would hold the only connection: the subscriber polls, and still sees every event.
      const following = yield* Stream.runCollect(store.subscribe({ after: first.events[0]!.position - 1n }).pipe(
        Stream.filter((event) => event.streamId === streamId),
        Stream.take(2)
      )).pipe(Effect.forkChild)
      yield* store.append(streamId, [{ type: "Configured", data: { n: 2 } }], { expectedVersion: 1 })
      const seen = yield* Fiber.join(following)
      // Killed from another client: the pool opens a new connection for the next statement.
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'facta-pool-of-one'`).pipe(
          Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
        )
      const after = yield* store.append(streamId, [{ type: "Configured", data: { n: 3 } }], { expectedVersion: 2 }).pipe(
        Effect.retry({ times: 3, while: (error) => error._tag === "EventStoreError" && error.transient !== undefined })
      )
      const data = (yield* Stream.runCollect(store.readStream(streamId))).map((event) => event.data)
      assert.deepStrictEqual(seen.map((event) => event.data), [{ n: 1 }, { n: 2 }])
      assert.strictEqual(after.version, 3)
      assert.deepStrictEqual(data, [{ n: 1 }, { n: 2 }, { n: 3 }])
    }).pipe(
      // Without the fix this hangs: the listener holds the only connection.
      Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error("the store hung on a pool of one connection")) }),
      Effect.provide(Postgres.layer({
        url: Redacted.make(url),
        maxConnections: 1,
        applicationName: "facta-pool-of-one",
        schema: "pool_of_one",
        pollInterval: "50 millis"
      }))
    ), 30_000)

  it.live("Embedded.layerConfig reads its options from Config", () =>
    Effect.gen(function*() {
      const data = yield* appendAndRead("embedded-configured")
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM information_schema.tables
        WHERE table_name = 'emb_events'`
      assert.deepStrictEqual(data, [{ n: 1 }])
      assert.strictEqual(tables[0]!.n, 1)
    }).pipe(Effect.provide(
      Embedded.layerConfig({ tablePrefix: Config.String("FACTA_PREFIX") }).pipe(Layer.provide(fromEnv({ FACTA_PREFIX: "emb_" })))
    )), 60_000)
})
