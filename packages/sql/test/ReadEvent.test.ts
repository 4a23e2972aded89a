/**
 * `SqlEventStore.readEvent`: an event by its id, for an operator following a causation link; on
 * a Postgres server and on PGlite.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@facta/core"
import { Embedded, Postgres, SqlEventStore } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, type Layer, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import { inject } from "vitest"

const finds = (stores: () => Layer.Layer<EventStore.EventStore | SqlClient.SqlClient, unknown>, schema: string | undefined) =>
  it.effect("finds a committed event by id; an unknown or malformed id finds none", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const stream = `read-event-${crypto.randomUUID()}`
      const appended = yield* store.append(stream, [
        { type: "Opened", data: { owner: "Ada" } },
        { type: "Deposited", data: { amount: 5 }, metadata: { causationId: "x" }, tags: ["account:a"] }
      ])
      const wanted = appended.events[1]!
      const found = yield* SqlEventStore.readEvent(wanted.id, schema === undefined ? {} : { schema })
      assert.deepStrictEqual(found, wanted)
      assert.strictEqual(yield* SqlEventStore.readEvent(crypto.randomUUID(), schema === undefined ? {} : { schema }), undefined)
      assert.strictEqual(yield* SqlEventStore.readEvent("not-a-uuid", schema === undefined ? {} : { schema }), undefined)
    }).pipe(Effect.provide(stores())))

describe("SqlEventStore.readEvent on a Postgres server", () => {
  finds(() => Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "read_event" }), "read_event")
})

describe("SqlEventStore.readEvent on PGlite", () => {
  finds(() => Embedded.layer(), undefined)
})
