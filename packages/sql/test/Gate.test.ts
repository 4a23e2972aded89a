/**
 * The readers' gate on a server: who holds it (Gate.holders), and the watchdog's warning when a
 * transaction has held it too long.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gate, Postgres } from "@facta/sql"
import { Deferred, Effect, Fiber, Layer, Logger, Redacted } from "effect"
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
        const opened = yield* Deferred.make<{ readonly pid: number; readonly xid: string }>()
        // A transaction that took an id stays open for a while, in a fiber of its own.
        const transaction = yield* Effect.forkChild(sql.withTransaction(Effect.gen(function*() {
          const [row] = yield* sql<{ readonly pid: number; readonly xid: string }>`SELECT pg_backend_pid() AS pid, pg_current_xact_id()::text AS xid`
          yield* Deferred.succeed(opened, row!)
          yield* Effect.sleep("1 second")
        })))
        const held = yield* Deferred.await(opened)
        const holders = yield* Gate.holders
        yield* Fiber.join(transaction)
        assert.isTrue(holders.some((holder) => holder.pid === held.pid && holder.transaction === held.xid && holder.application === "gate-test"))
        const about = warnings.filter((warning) => warning.includes(`backend ${held.pid}`))
        assert.strictEqual(about.length, 1, warnings.join("\n"))
        assert.include(about[0], `Transaction ${held.xid}`)
        assert.include(about[0], "readers of the event log wait for it to end")
      }).pipe(Effect.provide(stores.pipe(Layer.provideMerge(Logger.layer([recorder])))))
    }), { timeout: 60_000 })
})
