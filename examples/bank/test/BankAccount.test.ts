import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result, Schema, Stream } from "effect"
import { CommandHandler, EventStore, InMemory } from "@facta/core"
import { AggregateTest } from "@facta/core/testing"
import {
  AccountAlreadyOpen,
  AccountNotFound,
  AccountOpened,
  BankAccount,
  Command,
  Deposit,
  type Event,
  InsufficientFunds,
  MoneyDeposited,
  MoneyReceived,
  MoneyRefunded,
  MoneySent,
  MoneyWithdrawn,
  OpenAccount,
  ReceiveMoney,
  RefundMismatch,
  RefundMoney,
  SendMoney,
  type State,
  streamId,
  TransferNotSent,
  Withdraw
} from "../src/BankAccount.ts"

const opened = new AccountOpened({ accountNumber: "A-1", owner: "Ada" })
const deposited = (amount: number, balance: number) => new MoneyDeposited({ accountNumber: "A-1", amount, balance })
const sent = (transferId: string, amount: number, balance: number) =>
  new MoneySent({ accountNumber: "A-1", transferId, amount, balance })

const accounts = CommandHandler.make(BankAccount)

const balanceOf = (state: State) => state.status === "open" ? state.balance : undefined

describe("BankAccount", () => {
  describe("opening", () => {
    it.effect("opens an account", () =>
      AggregateTest.given(BankAccount)
        .when(new OpenAccount({ accountNumber: "A-1", owner: "Ada" }))
        .thenEvents(opened))

    it.effect("refuses a second open of the same account", () =>
      AggregateTest.given(BankAccount, opened)
        .when(new OpenAccount({ accountNumber: "A-1", owner: "Bob" }))
        .thenFails(new AccountAlreadyOpen({ accountNumber: "A-1" })))

    it.effect("refuses every movement on an account that was never opened", () =>
      Effect.forEach(
        [
          new Deposit({ amount: 1 }),
          new Withdraw({ amount: 1 }),
          new SendMoney({ transferId: "t1", amount: 1 }),
          new ReceiveMoney({ transferId: "t1", amount: 1 }),
          new RefundMoney({ transferId: "t1", amount: 1 })
        ],
        (command) => AggregateTest.given(BankAccount).when(command).thenFails(new AccountNotFound()),
        { discard: true }
      ))
  })

  describe("deposits and withdrawals", () => {
    it.effect("deposits an amount and states the balance after it", () =>
      Effect.gen(function*() {
        const state = yield* AggregateTest.given(BankAccount, opened, deposited(100, 100))
          .when(new Deposit({ amount: 25 }))
          .thenEvents(deposited(25, 125))
        assert.strictEqual(balanceOf(state), 125)
      }))

    it.effect("withdraws up to the whole balance", () =>
      Effect.gen(function*() {
        const state = yield* AggregateTest.given(BankAccount, opened, deposited(100, 100))
          .when(new Withdraw({ amount: 100 }))
          .thenEvents(new MoneyWithdrawn({ accountNumber: "A-1", amount: 100, balance: 0 }))
        assert.strictEqual(balanceOf(state), 0)
      }))

    it.effect("refuses a withdrawal that would make the balance negative, naming balance and request", () =>
      Effect.gen(function*() {
        yield* AggregateTest.given(BankAccount, opened, deposited(100, 100))
          .when(new Withdraw({ amount: 101 }))
          .thenFails(new InsufficientFunds({ accountNumber: "A-1", balance: 100, requested: 101 }))
        const error = new InsufficientFunds({ accountNumber: "A-1", balance: 100, requested: 101 })
        assert.strictEqual(error.message, "Account A-1 has 100 cents, 101 were requested")
      }))

    it.effect("takes amounts only as positive integer cents: anything else is invalid input and stores nothing", () =>
      Effect.gen(function*() {
        const id = streamId("A-1")
        yield* accounts.execute(id, new OpenAccount({ accountNumber: "A-1", owner: "Ada" }))
        for (const amount of [0, -5, 12.5, "10", 100_000_000_001]) {
          const error = yield* Effect.flip(accounts.handle(id, { _tag: "Deposit", amount }))
          assert.strictEqual(error._tag, "ValidationError", `amount ${amount}`)
          if (error._tag === "ValidationError") assert.deepStrictEqual(error.issues.map((issue) => issue.path), [["amount"]])
        }
        assert.strictEqual((yield* accounts.load(id)).version, 1)
      }).pipe(Effect.provide(InMemory.eventStore)))
  })

  describe("transfer legs", () => {
    it.effect("sends money under the same balance rule as a withdrawal", () =>
      Effect.gen(function*() {
        yield* AggregateTest.given(BankAccount, opened, deposited(100, 100))
          .when(new SendMoney({ transferId: "t1", amount: 40 }))
          .thenEvents(sent("t1", 40, 60))
        yield* AggregateTest.given(BankAccount, opened, deposited(100, 100))
          .when(new SendMoney({ transferId: "t1", amount: 140 }))
          .thenFails(new InsufficientFunds({ accountNumber: "A-1", balance: 100, requested: 140 }))
      }))

    it.effect("receives money", () =>
      AggregateTest.given(BankAccount, opened)
        .when(new ReceiveMoney({ transferId: "t1", amount: 40 }))
        .thenEvents(new MoneyReceived({ accountNumber: "A-1", transferId: "t1", amount: 40, balance: 40 })))

    it.effect("refunds exactly what a transfer sent, restoring the balance", () =>
      Effect.gen(function*() {
        const state = yield* AggregateTest.given(BankAccount, opened, deposited(100, 100), sent("t1", 40, 60))
          .when(new RefundMoney({ transferId: "t1", amount: 40 }))
          .thenEvents(new MoneyRefunded({ accountNumber: "A-1", transferId: "t1", amount: 40, balance: 100 }))
        assert.strictEqual(balanceOf(state), 100)
      }))

    it.effect("refuses a refund for a transfer the account did not send", () =>
      AggregateTest.given(BankAccount, opened, deposited(100, 100), sent("t1", 40, 60))
        .when(new RefundMoney({ transferId: "t2", amount: 40 }))
        .thenFails(new TransferNotSent({ accountNumber: "A-1", transferId: "t2" })))

    it.effect("refuses a refund of another amount than was sent", () =>
      AggregateTest.given(BankAccount, opened, deposited(100, 100), sent("t1", 40, 60))
        .when(new RefundMoney({ transferId: "t1", amount: 41 }))
        .thenFails(new RefundMismatch({ accountNumber: "A-1", transferId: "t1", sent: 40, requested: 41 })))

    it.effect("a repeated leg changes nothing, so a process manager may retry it", () =>
      Effect.gen(function*() {
        const history = [
          opened,
          deposited(100, 100),
          sent("t1", 40, 60),
          new MoneyReceived({ accountNumber: "A-1", transferId: "t2", amount: 5, balance: 65 }),
          new MoneyRefunded({ accountNumber: "A-1", transferId: "t1", amount: 40, balance: 105 })
        ]
        yield* AggregateTest.given(BankAccount, ...history).when(new SendMoney({ transferId: "t1", amount: 40 })).thenEvents()
        yield* AggregateTest.given(BankAccount, ...history).when(new ReceiveMoney({ transferId: "t2", amount: 5 })).thenEvents()
        yield* AggregateTest.given(BankAccount, ...history).when(new RefundMoney({ transferId: "t1", amount: 40 })).thenEvents()
        // A new transfer id is a new leg.
        yield* AggregateTest.given(BankAccount, ...history)
          .when(new ReceiveMoney({ transferId: "t3", amount: 5 }))
          .thenEvents(new MoneyReceived({ accountNumber: "A-1", transferId: "t3", amount: 5, balance: 110 }))
      }))
  })

  describe("through the command handler", () => {
    /** A memory store that yields before each append, so concurrent commands interleave between reading and writing. */
    const interleavingStore = Layer.effect(
      EventStore.EventStore,
      Effect.map(EventStore.EventStore, (store) =>
        EventStore.EventStore.of({ ...store, append: (id, events, options) => Effect.andThen(Effect.yieldNow, store.append(id, events, options)) }))
    ).pipe(Layer.provide(InMemory.eventStore))

    it.live("ten concurrent withdrawals of 30 from 100: exactly three succeed and the balance is 10", () =>
      Effect.gen(function*() {
        const id = streamId("A-1")
        yield* accounts.execute(id, new OpenAccount({ accountNumber: "A-1", owner: "Ada" }))
        yield* accounts.execute(id, new Deposit({ amount: 100 }))
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 10 }),
          () => Effect.result(accounts.execute(id, new Withdraw({ amount: 30 }))),
          { concurrency: "unbounded" }
        )
        const refused = outcomes.filter(Result.isFailure).map((outcome) => outcome.failure)
        assert.strictEqual(outcomes.filter(Result.isSuccess).length, 3)
        assert.deepStrictEqual(refused, Array.from({ length: 7 }, () => new InsufficientFunds({ accountNumber: "A-1", balance: 10, requested: 30 })))
        const { state, version } = yield* accounts.load(id)
        assert.strictEqual(balanceOf(state), 10)
        assert.strictEqual(version, 5)
      }).pipe(Effect.provide(interleavingStore)))

    /**
     * Generated transfer ids and amounts rarely meet. Folding them onto two ids and three amounts
     * makes sends, refunds, repeats and refusals meet often.
     */
    const meeting = (command: Command): Command => {
      const amount = 10 * (1 + ("amount" in command ? command.amount % 3 : 0))
      switch (command._tag) {
        case "OpenAccount":
          return command
        case "Deposit":
          return new Deposit({ amount })
        case "Withdraw":
          return new Withdraw({ amount })
        case "SendMoney":
        case "ReceiveMoney":
        case "RefundMoney":
          return { ...command, transferId: `t${command.transferId.length % 2}`, amount }
      }
    }

    /** What each stored event did to the balance. */
    const signedAmount = (event: Event): number => {
      switch (event._tag) {
        case "AccountOpened":
          return 0
        case "MoneyDeposited":
        case "MoneyReceived":
        case "MoneyRefunded":
          return event.amount
        case "MoneyWithdrawn":
        case "MoneySent":
          return -event.amount
      }
    }

    it.effect.prop(
      "the balance never goes negative and equals deposits + received + refunded - withdrawn - sent",
      [Schema.Array(Command)],
      ([commands]) =>
        Effect.gen(function*() {
          const id = streamId("A-1")
          yield* accounts.execute(id, new OpenAccount({ accountNumber: "A-1", owner: "Ada" }))
          yield* accounts.execute(id, new Deposit({ amount: 50 }))
          for (const command of commands.map(meeting)) {
            const outcome = yield* Effect.result(accounts.execute(id, command))
            if (Result.isFailure(outcome)) {
              assert.include(["AccountAlreadyOpen", "InsufficientFunds", "TransferNotSent", "RefundMismatch"], outcome.failure._tag)
            }
            const stored = yield* EventStore.EventStore.use((store) =>
              Stream.runCollect(Stream.mapEffect(store.readStream(id), BankAccount.events.decode))
            )
            const balance = balanceOf((yield* accounts.load(id)).state)
            assert.isAtLeast(balance!, 0)
            assert.strictEqual(balance, stored.reduce((sum, event) => sum + signedAmount(event.data), 0))
          }
        }).pipe(Effect.provide(InMemory.eventStore))
    )
  })
})
