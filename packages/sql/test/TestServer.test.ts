/**
 * @facta/sql/testing's TestServer: a throwaway server of its own, with Facta's stores on it, that
 * is gone when the scope closes. (DATABASE_URL is not consulted: the point is a fresh server.)
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore, Lease } from "@facta/core"
import { Postgres } from "@facta/sql"
import { TestServer } from "@facta/sql/testing"
import { Context, Effect, Exit, Layer, Redacted, Schedule, Scope } from "effect"
import { SqlClient } from "effect/sql"

describe("TestServer", () => {
  it.effect("layer: the stores on a fresh, migrated server", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const appended = yield* store.append("test-server-1", [{ type: "Opened", data: { owner: "ada" } }], { expectedVersion: "noStream" })
      assert.strictEqual(appended.version, 1)
      const read = yield* store.readStreamPage("test-server-1", { from: 1 })
      assert.deepStrictEqual(read.map((event) => event.data), [{ owner: "ada" }])
      // A fresh server: nothing but what this test wrote.
      assert.strictEqual(yield* store.count(), 1)
      yield* Lease.Lease
    }).pipe(Effect.provide(TestServer.layer({ applicationName: "facta-test-server" }))), { timeout: 120_000 })

  it.effect("server: stopped and removed when its scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(TestServer.server, scope)
      assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/facta_test$/)
      const query = Effect.scoped(Layer.build(Postgres.layer({ url: Redacted.make(server.url), connectTimeout: "2 seconds" })).pipe(
        Effect.flatMap((context) => Effect.provide(SqlClient.SqlClient.use((sql) => sql`SELECT 1 AS one`), context))
      ))
      const rows = yield* query
      assert.deepStrictEqual(rows, [{ one: 1 }])
      yield* Scope.close(scope, Exit.void)
      const after = yield* Effect.exit(query)
      assert.isTrue(Exit.isFailure(after), "the server still answers after its scope closed")
    }), { timeout: 120_000 })

  it.effect("a store whose server has gone fails with a transient EventStoreError once its retries run out", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(TestServer.server, scope)
      const stores = yield* Layer.build(Postgres.layer({ url: Redacted.make(server.url), retry: Schedule.recurs(2), connectTimeout: "1 second" }))
      yield* Scope.close(scope, Exit.void)
      const store = Context.get(stores, EventStore.EventStore)
      const append = yield* Effect.flip(store.append("gone", [{ type: "T", data: {} }]))
      assert.strictEqual(append._tag, "EventStoreError")
      // A pooled connection cut mid-statement is in doubt; a new one refused is not sent.
      assert.include(["notSent", "inDoubt"], append._tag === "EventStoreError" ? append.transient : undefined)
      const read = yield* Effect.flip(store.readStreamPage("gone"))
      assert.strictEqual(read._tag === "EventStoreError" ? read.transient : undefined, "notSent", "reads are retried until no connection can be made")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
