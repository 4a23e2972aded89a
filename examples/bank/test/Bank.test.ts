/**
 * The whole bank through its front door, on each kind of store: the same application and the same
 * tests in memory, on embedded PGlite and on a Postgres server.
 *
 * The tests share one running bank per store, so each uses account numbers and transfer ids of
 * its own. Processors work in the background: a test waits for them (`whenCaughtUp`) before it
 * reads a view.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Redacted, Result, Stream } from "effect"
import { EventStore, InMemory, Processor, type RecordedEvent } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import * as Bank from "../src/Bank.ts"
import * as BankAccount from "../src/BankAccount.ts"
import * as Transfer from "../src/Transfer.ts"
import * as TransferFlow from "../src/TransferFlow.ts"

/** An id no other test, nor an earlier run on the same database, has used. */
const fresh = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

/** Waits until the processors (the saga, and the views it feeds) have handled everything. */
const caughtUp = Processor.Processors.use((processors) => processors.whenCaughtUp)

const accountEvents = (accountNumber: string) =>
  EventStore.EventStore.use((store) =>
    Stream.runCollect(Stream.mapEffect(store.readStream(BankAccount.streamId(accountNumber)), BankAccount.BankAccount.events.decode))
  )

const transferEvents = (transferId: string) =>
  EventStore.EventStore.use((store) =>
    Stream.runCollect(Stream.mapEffect(store.readStream(Transfer.streamId(transferId)), Transfer.Transfer.events.decode))
  )

const typesOf = (events: ReadonlyArray<RecordedEvent.RecordedEvent<{ readonly _tag: string }>>) => events.map((event) => event.data._tag)

/** The account's view, which must exist. */
const accountView = (accountNumber: string) =>
  Effect.flatMap(Bank.Bank.use((bank) => bank.query("account", { accountNumber })), Effect.fromOption)

/** The transfer's view and the saga's state for it, which must exist. */
const transferOutcome = (transferId: string) =>
  Effect.all({
    view: Effect.flatMap(Bank.Bank.use((bank) => bank.query("transfer", { transferId })), Effect.fromOption),
    flow: Effect.flatMap(TransferFlow.states.get(transferId), Effect.fromOption)
  })

/** Opens an account under a fresh number, with a first deposit when `deposit` is positive. */
const openAccount = (owner: string, deposit = 0) =>
  Effect.gen(function*() {
    const bank = yield* Bank.Bank
    const accountNumber = fresh(owner)
    yield* bank.dispatch("openAccount", { accountNumber, owner })
    if (deposit > 0) yield* bank.dispatch("deposit", { accountNumber, amount: deposit })
    return accountNumber
  })

const requestTransfer = (from: string, to: string, amount: number) =>
  Effect.gen(function*() {
    const transferId = fresh("t")
    yield* Bank.Bank.use((bank) => bank.dispatch("requestTransfer", { transferId, from, to, amount }))
    return transferId
  })

const bankSuite = <E>(name: string, stores: Layer.Layer<Bank.Stores, E>) =>
  layer(Bank.layer(stores), { excludeTestServices: true, timeout: "120 seconds" })(`the bank on ${name}`, (it) => {
    it.effect("opens accounts, moves money, and refuses what the rules forbid, with typed errors", () =>
      Effect.gen(function*() {
        const bank = yield* Bank.Bank
        const accountNumber = fresh("Ada")
        const opened = yield* bank.dispatch("openAccount", { accountNumber, owner: "Ada" })
        assert.strictEqual(opened.version, 1)
        assert.deepStrictEqual(
          yield* Effect.flip(bank.dispatch("openAccount", { accountNumber, owner: "Eve" })),
          new BankAccount.AccountAlreadyOpen({ accountNumber })
        )
        const deposited = yield* bank.dispatch("deposit", { accountNumber, amount: 100 })
        assert.strictEqual(deposited.state.status === "open" && deposited.state.balance, 100)
        const withdrawn = yield* bank.dispatch("withdraw", { accountNumber, amount: 30 })
        assert.strictEqual(withdrawn.state.status === "open" && withdrawn.state.balance, 70)
        assert.strictEqual(withdrawn.version, 3)
        assert.deepStrictEqual(
          yield* Effect.flip(bank.dispatch("withdraw", { accountNumber, amount: 71 })),
          new BankAccount.InsufficientFunds({ accountNumber, balance: 70, requested: 71 })
        )
        assert.deepStrictEqual(
          yield* Effect.flip(bank.dispatch("deposit", { accountNumber: fresh("nobody"), amount: 5 })),
          new BankAccount.AccountNotFound()
        )

        // Invalid input names the failing fields, as a client sent them.
        const zero = yield* Effect.flip(bank.dispatch("deposit", { accountNumber, amount: 0 }))
        assert.strictEqual(zero._tag, "ValidationError")
        if (zero._tag === "ValidationError") assert.deepStrictEqual(zero.issues.map((issue) => issue.path), [["amount"]])
        const garbled = yield* Effect.flip(bank.dispatch("requestTransfer", { from: "A 1", to: accountNumber, amount: "ten" }))
        assert.strictEqual(garbled._tag, "ValidationError")
        if (garbled._tag === "ValidationError") {
          assert.deepStrictEqual(garbled.issues.map((issue) => issue.path), [["transferId"], ["from"], ["amount"]])
        }
        assert.strictEqual((yield* Effect.flip(bank.dispatch("close" as string, { accountNumber })))._tag, "UnknownCommand")
        // A refusal is the client's to act on; a store failure is not one.
        assert.isTrue(Bank.isRefusal(zero) && Bank.isRefusal(new BankAccount.AccountNotFound()))
        assert.isFalse(Bank.isRefusal(new EventStore.EventStoreError({ message: "connection lost" })))

        // Refusals stored nothing; the view follows the three stored events.
        const stored = yield* accountEvents(accountNumber)
        assert.deepStrictEqual(typesOf(stored), ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn"])
        yield* caughtUp
        const last = stored[2]!
        assert.deepStrictEqual(yield* accountView(accountNumber), {
          accountNumber,
          owner: "Ada",
          balance: 70,
          version: 3,
          lastEventId: last.id,
          lastEventAt: last.recordedAt
        })
        const listed = yield* bank.query("accounts", {})
        assert.strictEqual(listed.find((account) => account.accountNumber === accountNumber)?.balance, 70)
      }))

    it.effect("completes a transfer: the money leaves the source and reaches the destination once", () =>
      Effect.gen(function*() {
        const bank = yield* Bank.Bank
        const from = yield* openAccount("Ada", 100)
        const to = yield* openAccount("Bob")
        const transferId = fresh("t")
        const requested = yield* bank.dispatch("requestTransfer", { transferId, from, to, amount: 30 })
        assert.strictEqual(requested.state.status, "requested")
        yield* caughtUp

        assert.deepStrictEqual(typesOf(yield* transferEvents(transferId)), ["TransferRequested", "TransferInitiated", "TransferCompleted"])
        assert.deepStrictEqual(typesOf(yield* accountEvents(from)), ["AccountOpened", "MoneyDeposited", "MoneySent"])
        assert.deepStrictEqual(typesOf(yield* accountEvents(to)), ["AccountOpened", "MoneyReceived"])
        const source = yield* accountView(from)
        const destination = yield* accountView(to)
        assert.deepStrictEqual([source.balance, source.version, destination.balance, destination.version], [70, 3, 30, 2])
        assert.deepStrictEqual(yield* transferOutcome(transferId), {
          view: { transferId, from, to, amount: 30, status: "completed", reason: null, version: 3 },
          flow: { step: "completed", reason: null }
        })

        // A transfer id is used once; an account cannot pay itself.
        assert.deepStrictEqual(
          yield* Effect.flip(bank.dispatch("requestTransfer", { transferId, from, to, amount: 30 })),
          new Transfer.TransferAlreadyExists({ transferId, status: "completed" })
        )
        const selfTransfer = fresh("t")
        assert.deepStrictEqual(
          yield* Effect.flip(bank.dispatch("requestTransfer", { transferId: selfTransfer, from, to: from, amount: 1 })),
          new Transfer.SameAccountTransfer({ transferId: selfTransfer, accountNumber: from })
        )
      }))

    it.effect("refuses a transfer the source cannot pay, or that comes from a missing account: cancelled, nothing moves", () =>
      Effect.gen(function*() {
        const from = yield* openAccount("Ada", 20)
        const to = yield* openAccount("Bob")
        const unpaid = yield* requestTransfer(from, to, 30)
        const missing = fresh("nobody")
        const fromNowhere = yield* requestTransfer(missing, to, 5)
        yield* caughtUp

        const reason = `Account ${from} has 20 cents, 30 were requested`
        assert.deepStrictEqual(typesOf(yield* transferEvents(unpaid)), ["TransferRequested", "TransferCancelled"])
        assert.deepStrictEqual(yield* transferOutcome(unpaid), {
          view: { transferId: unpaid, from, to, amount: 30, status: "cancelled", reason, version: 2 },
          flow: { step: "refused", reason }
        })
        const { flow, view } = yield* transferOutcome(fromNowhere)
        assert.deepStrictEqual([view.status, view.reason, flow.step], ["cancelled", `Account ${missing} does not exist`, "refused"])
        assert.deepStrictEqual(typesOf(yield* accountEvents(from)), ["AccountOpened", "MoneyDeposited"])
        assert.deepStrictEqual(typesOf(yield* accountEvents(to)), ["AccountOpened"])
        assert.deepStrictEqual([(yield* accountView(from)).balance, (yield* accountView(to)).balance], [20, 0])
      }))

    it.effect("a transfer to a missing account is reverted, refunded to the source, and cancelled", () =>
      Effect.gen(function*() {
        const from = yield* openAccount("Ada", 100)
        const to = fresh("nobody")
        const transferId = yield* requestTransfer(from, to, 40)
        yield* caughtUp

        assert.deepStrictEqual(
          typesOf(yield* transferEvents(transferId)),
          ["TransferRequested", "TransferInitiated", "TransferReverted", "TransferCancelled"]
        )
        const source = yield* accountEvents(from)
        assert.deepStrictEqual(typesOf(source), ["AccountOpened", "MoneyDeposited", "MoneySent", "MoneyRefunded"])
        assert.deepStrictEqual(source[3]!.data, new BankAccount.MoneyRefunded({ accountNumber: from, transferId, amount: 40, balance: 100 }))
        assert.strictEqual((yield* accountEvents(to)).length, 0)
        const view = yield* accountView(from)
        assert.deepStrictEqual([view.balance, view.version], [100, 4])
        assert.deepStrictEqual(yield* transferOutcome(transferId), {
          view: {
            transferId,
            from,
            to,
            amount: 40,
            status: "cancelled",
            reason: `Account ${to} does not exist; 40 cents refunded to ${from}`,
            version: 4
          },
          flow: { step: "refunded", reason: `Account ${to} does not exist` }
        })
      }))

    it.effect("ten concurrent withdrawals of 30 from 100: exactly three succeed and the balance is 10", () =>
      Effect.gen(function*() {
        const bank = yield* Bank.Bank
        const accountNumber = yield* openAccount("Ada", 100)
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 10 }),
          () => Effect.result(bank.dispatch("withdraw", { accountNumber, amount: 30 })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outcomes.filter(Result.isSuccess).length, 3)
        assert.deepStrictEqual(
          outcomes.filter(Result.isFailure).map((outcome) => outcome.failure),
          Array.from({ length: 7 }, () => new BankAccount.InsufficientFunds({ accountNumber, balance: 10, requested: 30 }))
        )
        const stored = yield* accountEvents(accountNumber)
        assert.deepStrictEqual(stored.map((event) => event.version), [1, 2, 3, 4, 5])
        yield* caughtUp
        const view = yield* accountView(accountNumber)
        assert.deepStrictEqual([view.balance, view.version], [10, 5])
      }))

    it.effect("ten concurrent transfers of 30 out of 100: all are recorded, exactly three complete, the balances are 10 and 90", () =>
      Effect.gen(function*() {
        const from = yield* openAccount("Ada", 100)
        const to = yield* openAccount("Bob")
        const transferIds = yield* Effect.forEach(Array.from({ length: 10 }), () => requestTransfer(from, to, 30), { concurrency: "unbounded" })
        yield* caughtUp

        const outcomes = yield* Effect.forEach(transferIds, transferOutcome)
        const completed = outcomes.filter(({ view }) => view.status === "completed")
        const cancelled = outcomes.filter(({ view }) => view.status === "cancelled")
        assert.strictEqual(completed.length, 3)
        assert.strictEqual(cancelled.length, 7)
        for (const { flow, view } of cancelled) {
          assert.strictEqual(flow.step, "refused")
          assert.strictEqual(view.reason, `Account ${from} has 10 cents, 30 were requested`)
        }
        assert.deepStrictEqual(typesOf(yield* accountEvents(from)), ["AccountOpened", "MoneyDeposited", "MoneySent", "MoneySent", "MoneySent"])
        assert.deepStrictEqual(typesOf(yield* accountEvents(to)), ["AccountOpened", "MoneyReceived", "MoneyReceived", "MoneyReceived"])
        const source = yield* accountView(from)
        const destination = yield* accountView(to)
        assert.deepStrictEqual([source.balance, source.version, destination.balance, destination.version], [10, 5, 90, 4])
      }))

    it.effect("transfers and withdrawals racing on one account: exactly five of ten succeed and no cent is lost", () =>
      Effect.gen(function*() {
        const bank = yield* Bank.Bank
        const from = yield* openAccount("Ada", 100)
        const to = yield* openAccount("Bob")
        const withdrawals = Effect.forEach(
          Array.from({ length: 5 }),
          () =>
            bank.dispatch("withdraw", { accountNumber: from, amount: 20 }).pipe(
              Effect.as(true),
              Effect.catchTag("InsufficientFunds", () => Effect.succeed(false))
            ),
          { concurrency: "unbounded" }
        )
        const transfers = Effect.forEach(Array.from({ length: 5 }), () => requestTransfer(from, to, 20), { concurrency: "unbounded" })
        const [withdrawn, transferIds] = yield* Effect.all([withdrawals, transfers], { concurrency: "unbounded" })
        yield* caughtUp

        const completed = (yield* Effect.forEach(transferIds, transferOutcome)).filter(({ view }) => view.status === "completed").length
        assert.strictEqual(withdrawn.filter(Boolean).length + completed, 5)
        assert.strictEqual((yield* accountView(from)).balance, 0)
        assert.strictEqual((yield* accountView(to)).balance, 20 * completed)
      }))

    it.effect("one correlation id follows a transfer through the saga, in both accounts and the transfer stream", () =>
      Effect.gen(function*() {
        const bank = yield* Bank.Bank
        const from = yield* openAccount("Ada", 100)
        const to = yield* openAccount("Bob")
        const scenarios = [
          { transferId: fresh("t"), to, expected: 5 },
          // The longest saga: the compensation adds a refund and two status changes.
          { transferId: fresh("t"), to: fresh("nobody"), expected: 6 }
        ]
        for (const { to, transferId } of scenarios) {
          yield* bank.dispatch("requestTransfer", { transferId, from, to, amount: 10 }, { metadata: { correlationId: `request-${transferId}` } })
        }
        yield* caughtUp

        for (const { expected, to, transferId } of scenarios) {
          const transfer = yield* transferEvents(transferId)
          const legs = [...yield* accountEvents(from), ...yield* accountEvents(to)].filter((event) =>
            "transferId" in event.data && event.data.transferId === transferId
          )
          const saga = [...transfer, ...legs]
          assert.strictEqual(saga.length, expected)
          for (const event of saga) assert.strictEqual(event.metadata.correlationId, `request-${transferId}`, event.data._tag)
          // Each event the saga caused names the transfer event it reacted to.
          const [requested, initiated] = transfer
          assert.strictEqual(requested!.metadata.causationId, undefined)
          for (const event of saga.slice(1)) {
            const cause = event.data._tag === "TransferInitiated" || event.data._tag === "MoneySent" ? requested! : initiated!
            assert.strictEqual(event.metadata.causationId, cause.id, event.data._tag)
          }
        }
      }))
  })

bankSuite("memory", InMemory.layer)
bankSuite("embedded PGlite", Embedded.layer())
bankSuite("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "bank_test" }))
