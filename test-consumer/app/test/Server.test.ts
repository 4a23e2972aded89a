// @facta/sql/testing as an application uses it: the vitest global setup's server, and a
// throwaway server of the test's own.
import { assert, describe, it } from "@effect/vitest"
import { CommandHandler, EventStore } from "@facta/core"
import { EventStoreConformance } from "@facta/core/testing"
import { Postgres } from "@facta/sql"
import { TestServer } from "@facta/sql/testing"
// Types inject("databaseUrl").
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, Redacted } from "effect"
import { inject } from "vitest"
import { Account, Deposit, Open } from "../src/Account.js"

EventStoreConformance.eventStoreConformance("the global setup's server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")) }))

describe("TestServer", () => {
  it.effect("handles commands on a throwaway server of its own", () =>
    Effect.gen(function*() {
      const accounts = CommandHandler.make(Account)
      yield* accounts.execute("account-1", new Open({ owner: "Ada" }))
      const result = yield* accounts.execute("account-1", new Deposit({ amount: 5 }))
      assert.strictEqual(result.version, 2)
      assert.strictEqual(yield* EventStore.EventStore.use((store) => store.count()), 2)
    }).pipe(Effect.provide(TestServer.layer())), { timeout: 120_000 })
})
