/**
 * The readers' gate on a server: who holds it (Gate.holders: a transaction that appends), and the
 * watchdog's warning when a transaction has held it too long.
 */
import { assert, describe, it } from "@effect/vitest"
import { Documents, EventStore, Processor, Projection, type ProjectionStore } from "@facta/core"
import { Gate, Postgres } from "@facta/sql"
import { Deferred, Effect, Fiber, Layer, Logger, Redacted, Schedule, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

describe("the readers' gate", () => {
  it.live("holders names the open transaction; the watchdog warns about it once, naming its backend", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const recorder = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      const stores = Postgres.layer({
        url: Redacted.make(inject("databaseUrl")),
        schema: "gate",
        applicationName: "gate-test",
        gateWarning: { threshold: "300 millis", interval: "100 millis" }
      })
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* EventStore.EventStore
        const opened = yield* Deferred.make<{ readonly pid: number; readonly xid: string }>()
        // A transaction that appended stays open for a while, in a fiber of its own.
        const transaction = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
          yield* store.append(`gate-${crypto.randomUUID()}`, [{ type: "Held", data: {} }])
          const [row] = yield* sql<{ readonly pid: number; readonly xid: string }>`SELECT pg_backend_pid() AS pid, pg_current_xact_id()::text AS xid`
          yield* Deferred.succeed(opened, row!)
          yield* Effect.sleep("1 second")
        })))
        const held = yield* Deferred.await(opened)
        const holders = yield* Gate.holders({ schema: "gate" })
        yield* Fiber.join(transaction)
        assert.isTrue(holders.some((holder) => holder.pid === held.pid && holder.transaction === held.xid && holder.application === "gate-test"))
        const about = warnings.filter((warning) => warning.includes(`backend ${held.pid}`))
        assert.strictEqual(about.length, 1, warnings.join("\n"))
        assert.include(about[0], `Transaction ${held.xid}`)
        assert.include(about[0], "readers of the event log wait for it to end")
      }).pipe(Effect.provide(stores.pipe(Layer.provideMerge(Logger.layer([recorder])))))
    }), { timeout: 60_000 })

  it.live("a processor held back by an open transaction says so: its status is \"held back\" and the held events are lag", () =>
    Effect.gen(function*() {
      const stores = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "gate" })
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* EventStore.EventStore
        const type = `Held_${crypto.randomUUID().slice(0, 8)}`
        const documents = Documents.make(`held-${type}`, Schema.Struct({ n: Schema.Int }))
        const projection = Projection.make({
          name: `held-${type}`,
          event: Schema.TaggedStruct(type, {}),
          documents: [documents],
          handlers: { [type]: (event: { readonly streamId: string; readonly version: number }) => documents.upsert(event.streamId, { n: event.version }) }
        } as never) as Processor.Processor<unknown, ProjectionStore.ProjectionStore>
        const handle = yield* Processor.start(projection)
        yield* store.append(`held-${type}`, [{ type, data: {} }])
        yield* handle.whenCaughtUp
        const opened = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // An older transaction appends and stays open; an event committed after it waits behind it.
        const holder = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
          yield* store.append(`held-other-${type}`, [{ type: "Other", data: {} }])
          yield* Deferred.succeed(opened, undefined)
          yield* Deferred.await(release)
        })))
        yield* Deferred.await(opened)
        yield* store.append(`held-${type}`, [{ type, data: {} }])
        const held = yield* handle.status.pipe(Effect.repeat({ until: (status) => status.state === "held back", schedule: Schedule.spaced("20 millis"), times: 200 }))
        assert.strictEqual(held.state, "held back")
        assert.strictEqual(yield* handle.lag, 1)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        yield* handle.whenCaughtUp
        const live = yield* handle.status.pipe(Effect.repeat({ until: (status) => status.state === "live", schedule: Schedule.spaced("20 millis"), times: 200 }))
        assert.strictEqual(live.state, "live")
        assert.strictEqual(yield* handle.lag, 0)
      }).pipe(Effect.scoped, Effect.provide(stores))
    }), { timeout: 60_000 })
})
