/**
 * Transient faults on a real server: PostgreSQL restarted (`pg_ctl restart -m fast`: every
 * connection cut, new ones refused until it is back) while eight clients deposit with command ids.
 * Retries ride it out, and the command ids make the retries safe: every acknowledged deposit is in
 * the log exactly once, and no command fails. The server is this test's own (not DATABASE_URL),
 * since it is restarted.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@facta/core"
import { Postgres } from "@facta/sql"
import { PostgresServer } from "@facta/sql/testing"
import { Effect, Fiber, Redacted, Ref, Stream } from "effect"
import * as Bank from "../src/Bank.ts"
import * as BankAccount from "../src/BankAccount.ts"

const clients = 8
const depositsEach = 60

describe("the bank under a server restart", () => {
  it.live("loses no acknowledged deposit, doubles none, and fails no command", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(PostgresServer.startPostgres), (server) => Effect.promise(server.stop))
      const restart = server.restart
      assert.isDefined(restart)
      const run = `r${crypto.randomUUID().slice(0, 8)}`
      const accounts = Array.from({ length: clients }, (_, i) => `${run}-${i}`)
      const acknowledged = yield* Ref.make(new Map<string, number>())
      const restarted = yield* Ref.make(false)

      yield* Effect.gen(function*() {
        const bank = yield* Bank.Bank
        yield* Effect.forEach(accounts, (accountNumber) =>
          bank.dispatch("openAccount", { accountNumber, owner: "Ada" }, { commandId: `open-${accountNumber}` }))
        // Each client deposits 1, 2, 3, ... cents, each deposit with an id of its own.
        const client = (accountNumber: string) =>
          Effect.forEach(Array.from({ length: depositsEach }, (_, i) => i + 1), (amount) =>
            bank.dispatch("deposit", { accountNumber, amount }, { commandId: `${accountNumber}-deposit-${amount}` }).pipe(
              Effect.andThen(Ref.update(acknowledged, (sums) => new Map(sums).set(accountNumber, (sums.get(accountNumber) ?? 0) + amount))),
              Effect.andThen(Effect.sleep("5 millis"))
            ), { discard: true })
        const load = yield* Effect.forkChild(Effect.forEach(accounts, client, { concurrency: "unbounded", discard: true }))
        yield* Effect.sleep("300 millis")
        yield* Effect.promise(restart!)
        yield* Ref.set(restarted, true)
        yield* Fiber.join(load)

        const store = yield* EventStore.EventStore
        const sums = yield* Ref.get(acknowledged)
        for (const accountNumber of accounts) {
          const events = yield* Stream.runCollect(store.readStream(BankAccount.streamId(accountNumber)))
          const deposits = events.filter((event) => event.type === "MoneyDeposited")
          assert.strictEqual(deposits.length, depositsEach, `deposits of ${accountNumber}: each exactly once`)
          const amounts = deposits.map((event) => (event.data as { amount: number }).amount).sort((a, b) => a - b)
          assert.deepStrictEqual(amounts, Array.from({ length: depositsEach }, (_, i) => i + 1))
          assert.strictEqual(sums.get(accountNumber), depositsEach * (depositsEach + 1) / 2, `acknowledged of ${accountNumber}`)
        }
      }).pipe(Effect.provide(Bank.layer(Postgres.layer({ url: Redacted.make(server.url), schema: "faults", connectTimeout: "2 seconds" }))))
      assert.isTrue(yield* Ref.get(restarted), "the server was restarted while the clients ran")
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
