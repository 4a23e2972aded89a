/**
 * The SQL store's read of a stream for a fold: version, type and data only, the page
 * `readStreamPage` gives, and whether the stream ends with it, known from the same read (so a
 * stream whose length is a multiple of the page takes no empty read to end); on a Postgres
 * server and on PGlite.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@facta/core"
import { Embedded, Postgres, Tables } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, type Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { makeLog } from "../src/internal/eventStatements.ts"
import { readStreamData } from "../src/internal/readStatements.ts"

const reads = (stores: () => Layer.Layer<EventStore.EventStore | SqlClient.SqlClient, unknown>, schema: string | undefined) =>
  it.effect("reads the page readStreamPage reads, without envelopes, and knows where the stream ends", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const log = makeLog(yield* SqlClient.SqlClient, (yield* Tables.make(schema === undefined ? {} : { schema })).events)
      const stream = `fold-read-${crypto.randomUUID()}`
      yield* store.append(stream, [
        { type: "Opened", data: { owner: "Ada" }, metadata: { correlationId: "c" } },
        { type: "Deposited", data: { amount: 5 }, tags: ["account:a"] },
        { type: "Deposited", data: { amount: 7 } },
        { type: "Withdrawn", data: { amount: 2 } }
      ])
      const whole = yield* store.readStreamPage(stream)
      for (let from = 1; from <= 5; from++) {
        for (let limit = 1; limit <= 5; limit++) {
          const rest = whole.filter((event) => event.version >= from)
          const expected = rest.slice(0, limit).map(({ data, streamId, type, version }) => ({ streamId, version, type, data }))
          assert.deepStrictEqual(yield* readStreamData(log, stream, from, limit), { events: expected, end: rest.length <= limit }, `from ${from}, limit ${limit}`)
        }
      }
      assert.deepStrictEqual(yield* readStreamData(log, `fold-read-none-${crypto.randomUUID()}`, 1, 10), { events: [], end: true })
    }).pipe(Effect.provide(stores())))

describe("the fold's read of a stream on a Postgres server", () => {
  reads(() => Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "fold_read" }), "fold_read")
})

describe("the fold's read of a stream on PGlite", () => {
  reads(() => Embedded.layer(), undefined)
})
