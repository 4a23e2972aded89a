import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { CommandHandler, InMemory } from "@facta/core"
import { AggregateTest } from "@facta/core/testing"
import * as BankAccount from "../src/BankAccount.ts"
import {
  Cancel,
  type Event,
  IllegalTransition,
  MarkCompleted,
  MarkInitiated,
  MarkReverted,
  RequestTransfer,
  SameAccountTransfer,
  type Status,
  streamId,
  Transfer,
  TransferAlreadyExists,
  TransferCancelled,
  TransferCompleted,
  TransferInitiated,
  TransferNotFound,
  TransferRequested,
  TransferReverted
} from "../src/Transfer.ts"

const requested = new TransferRequested({ transferId: "t1", from: "A-1", to: "B-2", amount: 30 })

/** Events that bring transfer t1 to each status. */
const historyOf: { readonly [S in Status]: ReadonlyArray<Event> } = {
  requested: [requested],
  initiated: [requested, new TransferInitiated({ transferId: "t1" })],
  completed: [requested, new TransferInitiated({ transferId: "t1" }), new TransferCompleted({ transferId: "t1" })],
  reverted: [requested, new TransferInitiated({ transferId: "t1" }), new TransferReverted({ transferId: "t1", reason: "closed" })],
  cancelled: [requested, new TransferCancelled({ transferId: "t1", reason: "changed my mind" })]
}

/** Each status-changing command, the status it asks for and the event it makes for t1. */
const steps = [
  { command: new MarkInitiated(), target: "initiated", event: new TransferInitiated({ transferId: "t1" }) },
  { command: new MarkCompleted(), target: "completed", event: new TransferCompleted({ transferId: "t1" }) },
  { command: new MarkReverted({ reason: "closed" }), target: "reverted", event: new TransferReverted({ transferId: "t1", reason: "closed" }) },
  { command: new Cancel({ reason: "closed" }), target: "cancelled", event: new TransferCancelled({ transferId: "t1", reason: "closed" }) }
] as const

/** The moves the status machine allows, written out independently of `transitions`. */
const allowed = new Set(["requested>initiated", "requested>cancelled", "initiated>completed", "initiated>reverted", "reverted>cancelled"])

describe("Transfer", () => {
  it.effect("requests a transfer", () =>
    AggregateTest.given(Transfer)
      .when(new RequestTransfer({ transferId: "t1", from: "A-1", to: "B-2", amount: 30 }))
      .thenEvents(requested))

  it.effect("refuses a transfer id used twice, whatever became of the first transfer", () =>
    Effect.forEach(
      Object.entries(historyOf),
      ([status, history]) =>
        AggregateTest.given(Transfer, ...history)
          .when(new RequestTransfer({ transferId: "t1", from: "C-3", to: "D-4", amount: 5 }))
          .thenFails(new TransferAlreadyExists({ transferId: "t1", status: status as Status })),
      { discard: true }
    ))

  it.effect("refuses a transfer from an account to itself", () =>
    AggregateTest.given(Transfer)
      .when(new RequestTransfer({ transferId: "t1", from: "A-1", to: "A-1", amount: 30 }))
      .thenFails(new SameAccountTransfer({ transferId: "t1", accountNumber: "A-1" })))

  it.effect("refuses a status change on a transfer that was never requested", () =>
    Effect.forEach(
      steps,
      ({ command, target }) => AggregateTest.given(Transfer).when(command).thenFails(new TransferNotFound({ attempted: target })),
      { discard: true }
    ))

  it.effect("moves only as the status machine allows; a repeated step changes nothing; any other move is an IllegalTransition", () =>
    Effect.forEach(
      Object.entries(historyOf),
      ([from, history]) =>
        Effect.forEach(steps, ({ command, event, target }) => {
          const scenario = AggregateTest.given(Transfer, ...history).when(command)
          if (from === target) return Effect.asVoid(scenario.thenEvents())
          if (allowed.has(`${from}>${target}`)) {
            return Effect.map(scenario.thenEvents(event), (state) => assert.strictEqual(state.status, target))
          }
          return scenario.thenFails(new IllegalTransition({ transferId: "t1", from: from as Status, attempted: target }))
        }, { discard: true }),
      { discard: true }
    ))

  it.effect("keeps the reason of a revert and of a cancellation", () =>
    Effect.gen(function*() {
      const reverted = yield* AggregateTest.given(Transfer, ...historyOf.initiated)
        .when(new MarkReverted({ reason: "account closed" }))
        .thenEvents(new TransferReverted({ transferId: "t1", reason: "account closed" }))
      assert.deepStrictEqual(reverted, { status: "reverted", transferId: "t1", from: "A-1", to: "B-2", amount: 30, reason: "account closed" })
      const cancelled = yield* AggregateTest.given(Transfer, ...historyOf.reverted)
        .when(new Cancel({ reason: "refunded" }))
        .thenEvents(new TransferCancelled({ transferId: "t1", reason: "refunded" }))
      assert.strictEqual(cancelled.status === "cancelled" && cancelled.reason, "refunded")
      assert.strictEqual(
        new IllegalTransition({ transferId: "t1", from: "completed", attempted: "cancelled" }).message,
        "Transfer t1 cannot go from completed to cancelled"
      )
    }))

  describe("with the accounts, played by hand as a process manager plays it", () => {
    const accounts = CommandHandler.make(BankAccount.BankAccount)
    const transfers = CommandHandler.make(Transfer)
    const account = (accountNumber: string) => BankAccount.streamId(accountNumber)
    const balance = (accountNumber: string) =>
      Effect.map(accounts.load(account(accountNumber)), ({ state }) => state.status === "open" ? state.balance : undefined)
    const status = (transferId: string) => Effect.map(transfers.load(streamId(transferId)), ({ state }) => state.status)

    const openAccounts = Effect.gen(function*() {
      yield* accounts.execute(account("A-1"), new BankAccount.OpenAccount({ accountNumber: "A-1", owner: "Ada" }))
      yield* accounts.execute(account("A-1"), new BankAccount.Deposit({ amount: 100 }))
      yield* accounts.execute(account("B-2"), new BankAccount.OpenAccount({ accountNumber: "B-2", owner: "Bob" }))
    })

    it.effect("completes a transfer: the money leaves one account and reaches the other once", () =>
      Effect.gen(function*() {
        yield* openAccounts
        yield* transfers.execute(streamId("t1"), new RequestTransfer({ transferId: "t1", from: "A-1", to: "B-2", amount: 30 }))
        yield* accounts.execute(account("A-1"), new BankAccount.SendMoney({ transferId: "t1", amount: 30 }))
        yield* transfers.execute(streamId("t1"), new MarkInitiated())
        yield* accounts.execute(account("B-2"), new BankAccount.ReceiveMoney({ transferId: "t1", amount: 30 }))
        yield* transfers.execute(streamId("t1"), new MarkCompleted())
        // A retried step after a failure: nothing moves twice.
        const repeated = yield* accounts.execute(account("B-2"), new BankAccount.ReceiveMoney({ transferId: "t1", amount: 30 }))
        assert.strictEqual(repeated.events.length, 0)
        assert.strictEqual(yield* balance("A-1"), 70)
        assert.strictEqual(yield* balance("B-2"), 30)
        assert.strictEqual(yield* status("t1"), "completed")
      }).pipe(Effect.provide(InMemory.eventStore)))

    it.effect("compensates a transfer the receiver refuses: the sender is refunded and the transfer cancelled", () =>
      Effect.gen(function*() {
        yield* openAccounts
        yield* transfers.execute(streamId("t2"), new RequestTransfer({ transferId: "t2", from: "A-1", to: "Z-9", amount: 30 }))
        yield* accounts.execute(account("A-1"), new BankAccount.SendMoney({ transferId: "t2", amount: 30 }))
        yield* transfers.execute(streamId("t2"), new MarkInitiated())
        const refused = yield* Effect.flip(accounts.execute(account("Z-9"), new BankAccount.ReceiveMoney({ transferId: "t2", amount: 30 })))
        assert.deepStrictEqual(refused, new BankAccount.AccountNotFound())
        yield* accounts.execute(account("A-1"), new BankAccount.RefundMoney({ transferId: "t2", amount: 30 }))
        yield* transfers.execute(streamId("t2"), new MarkReverted({ reason: refused.message }))
        yield* transfers.execute(streamId("t2"), new Cancel({ reason: "the receiving account does not exist" }))
        assert.strictEqual(yield* balance("A-1"), 100)
        assert.strictEqual(yield* status("t2"), "cancelled")
        assert.strictEqual((yield* accounts.load(account("Z-9"))).version, 0)
      }).pipe(Effect.provide(InMemory.eventStore)))
  })
})
