import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Cause, Effect, Latch, Layer, Logger, Option, References, Schema, Stream } from "effect"
import { CommandHandler, Documents, EventStore, InMemory, ProjectionStore } from "@facta/core"
import * as Dispatcher from "../src/Dispatcher.ts"
import type { ValidationError } from "../src/ValidationError.ts"
import { Account, AccountNotOpen, Deposit, Deposited, InsufficientFunds, Open, type State, Withdraw } from "./fixtures/Account.ts"

const accounts = CommandHandler.make(Account)
const streamId = (accountNumber: string) => `account-${accountNumber}`
const balances = Documents.make("balances", Schema.Struct({ owner: Schema.String, balance: Schema.Int }))

// Input Schemas reuse the command's field Schemas, so a routed command is always valid.
const AccountNumber = Schema.NonEmptyString
const Movement = Schema.Struct({ accountNumber: AccountNumber, amount: Deposit.fields.amount })

const makeBank = Dispatcher.make({
  commands: {
    open: Dispatcher.command({
      input: Schema.Struct({ accountNumber: AccountNumber, owner: Open.fields.owner }),
      handler: accounts,
      route: ({ accountNumber, owner }) => ({ streamId: streamId(accountNumber), command: new Open({ owner }) })
    }),
    deposit: Dispatcher.command({
      input: Movement,
      handler: accounts,
      route: ({ accountNumber, amount }) => ({ streamId: streamId(accountNumber), command: new Deposit({ amount }) })
    }),
    withdraw: Dispatcher.command({
      input: Movement,
      handler: accounts,
      route: ({ accountNumber, amount }) => ({ streamId: streamId(accountNumber), command: new Withdraw({ amount }) })
    })
  },
  queries: {
    balance: Dispatcher.query({
      input: Schema.Struct({ accountNumber: AccountNumber }),
      run: ({ accountNumber }) => balances.get(accountNumber)
    })
  }
})

const storedEvents = (id: string) => EventStore.EventStore.use((store) => Stream.runCollect(store.readStream(id)))

/** A memory store whose appends wait until `gate` opens. */
const gatedStore = (gate: Latch.Latch) =>
  Layer.effect(
    EventStore.EventStore,
    Effect.map(EventStore.EventStore, (store) =>
      EventStore.EventStore.of({ ...store, append: (id, events, options) => Effect.andThen(gate.await, store.append(id, events, options)) }))
  ).pipe(Layer.provide(InMemory.eventStore))

interface Logged {
  readonly level: string
  readonly message: unknown
  readonly cause: Cause.Cause<unknown>
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger that keeps what is logged, in place of the default one. */
const captureLogs = (logged: Array<Logged>) =>
  Logger.layer([Logger.make((options) => {
    logged.push({
      level: options.logLevel,
      message: options.message,
      cause: options.cause,
      annotations: options.fiber.getRef(References.CurrentLogAnnotations)
    })
  })])

describe("Dispatcher", () => {
  it.effect("dispatch handles a command and returns its result: stream id, new events, state and version", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      yield* bank.dispatch("open", { accountNumber: "1", owner: "Ada" })
      const result = yield* bank.dispatch("deposit", { accountNumber: "1", amount: 40 })
      expectTypeOf(result.state).toEqualTypeOf<State>()
      assert.strictEqual(result.streamId, "account-1")
      assert.strictEqual(result.version, 2)
      assert.deepStrictEqual(result.state, { open: true, owner: "Ada", balance: 40 })
      assert.deepStrictEqual(result.events.map((event) => event.data), [new Deposited({ amount: 40 })])
      assert.strictEqual((yield* storedEvents("account-1")).length, 2)
    }).pipe(Effect.scoped, Effect.provide(InMemory.eventStore)))

  it.effect("dispatch pins a command to the version its caller saw, per call: at another version it is refused with WrongExpectedVersion", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      yield* bank.dispatch("open", { accountNumber: "1", owner: "Ada" }, { expectedVersion: "noStream" })
      const seen = yield* accounts.load("account-1")
      yield* bank.dispatch("deposit", { accountNumber: "1", amount: 40 }, { expectedVersion: seen.version })
      const stale = yield* bank.dispatch("withdraw", { accountNumber: "1", amount: 10 }, { expectedVersion: seen.version }).pipe(
        Effect.map(() => "accepted"),
        Effect.catchTag("WrongExpectedVersion", (error) => Effect.succeed(error))
      )
      assert.deepStrictEqual(stale, new EventStore.WrongExpectedVersion({ streamId: "account-1", expected: 1, actual: 2 }))
      // The next call without the option is not pinned.
      assert.strictEqual((yield* bank.dispatch("withdraw", { accountNumber: "1", amount: 10 })).version, 3)
      assert.deepStrictEqual((yield* storedEvents("account-1")).map((event) => event.type), ["Opened", "Deposited", "Withdrawn"])
    }).pipe(Effect.scoped, Effect.provide(InMemory.eventStore)))

  it.effect("dispatch rejects invalid input with the field paths and the command's name, and stores nothing", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      yield* bank.dispatch("open", { accountNumber: "1", owner: "Ada" })
      const negative = yield* Effect.flip(bank.dispatch("deposit", { accountNumber: "1", amount: -5 }))
      assert.strictEqual(negative._tag, "ValidationError")
      if (negative._tag !== "ValidationError") return
      assert.strictEqual(negative.subject, `input of command "deposit"`)
      assert.deepStrictEqual(negative.issues.map((issue) => issue.path), [["amount"]])
      assert.include(negative.message, `input of command "deposit"`)
      assert.include(negative.message, "amount")
      const missing = yield* Effect.flip(bank.dispatch("deposit", { amount: "ten" }))
      assert.strictEqual(missing._tag, "ValidationError")
      if (missing._tag !== "ValidationError") return
      assert.deepStrictEqual(missing.issues.map((issue) => issue.path), [["accountNumber"], ["amount"]])
      assert.strictEqual((yield* storedEvents("account-1")).length, 1)
    }).pipe(Effect.scoped, Effect.provide(InMemory.eventStore)))

  it.effect("domain errors pass through typed", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      yield* bank.dispatch("open", { accountNumber: "1", owner: "Ada" })
      yield* bank.dispatch("deposit", { accountNumber: "1", amount: 10 })
      const refused = yield* bank.dispatch("withdraw", { accountNumber: "1", amount: 11 }).pipe(
        Effect.map(() => "accepted"),
        Effect.catchTag("InsufficientFunds", (error) => Effect.succeed(error))
      )
      assert.deepStrictEqual(refused, new InsufficientFunds({ balance: 10, requested: 11 }))
      assert.strictEqual((yield* storedEvents("account-1")).length, 2)
    }).pipe(Effect.scoped, Effect.provide(InMemory.eventStore)))

  it.effect("unknown command and query names fail with typed errors that list the known names", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      const name: string = "depositt"
      const command = yield* Effect.flip(bank.dispatch(name, { accountNumber: "1", amount: 1 }))
      assert.deepStrictEqual(command, new Dispatcher.UnknownCommand({ command: "depositt", known: ["open", "deposit", "withdraw"] }))
      assert.strictEqual(command.message, `Unknown command "depositt"; known commands: open, deposit, withdraw`)
      // A prototype member is not a command.
      assert.instanceOf(yield* Effect.flip(bank.dispatch("toString" as string, {})), Dispatcher.UnknownCommand)
      assert.instanceOf(yield* Effect.flip(bank.dispatchAsync(name, {})), Dispatcher.UnknownCommand)
      const query = yield* Effect.flip(bank.query("balances" as string, { accountNumber: "1" }))
      assert.deepStrictEqual(query, new Dispatcher.UnknownQuery({ query: "balances", known: ["balance"] }))
      assert.strictEqual(query.message, `Unknown query "balances"; known queries: balance`)
      const empty = yield* Dispatcher.make({})
      assert.strictEqual((yield* Effect.flip(empty.query("balance", {}))).message, `Unknown query "balance"; no queries are registered`)
    }).pipe(Effect.scoped, Effect.provide([InMemory.eventStore, InMemory.projectionStore])))

  it.effect("dispatchAsync returns the stream id without waiting for the command, which completes in the background", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      const gate = yield* Latch.make(false)
      yield* Effect.gen(function*() {
        // The append waits for the gate, so a dispatchAsync that waited for the command would hang here.
        const id = yield* bank.dispatchAsync("open", { accountNumber: "1", owner: "Ada" })
        assert.strictEqual(id, "account-1")
        assert.strictEqual((yield* storedEvents("account-1")).length, 0)
        yield* gate.open
        yield* bank.whenIdle
        assert.deepStrictEqual(yield* accounts.load("account-1"), { state: { open: true, owner: "Ada", balance: 0 }, version: 1 })
      }).pipe(Effect.provide(gatedStore(gate)))
    }).pipe(Effect.scoped))

  it.effect("dispatchAsync fails at once on invalid input and runs nothing", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      const error = yield* Effect.flip(bank.dispatchAsync("open", { accountNumber: "", owner: "Ada" }))
      assert.strictEqual(error._tag, "ValidationError")
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), [["accountNumber"]])
      yield* bank.whenIdle
      assert.strictEqual((yield* storedEvents("account-")).length, 0)
    }).pipe(Effect.scoped, Effect.provide(InMemory.eventStore)))

  it.effect("a background command's failure is logged with its cause, command name and stream id", () => {
    const logged: Array<Logged> = []
    return Effect.gen(function*() {
      const bank = yield* makeBank
      yield* bank.dispatchAsync("deposit", { accountNumber: "404", amount: 5 })
      yield* bank.whenIdle
      const errors = logged.filter((entry) => entry.level === "Error")
      assert.strictEqual(errors.length, 1)
      const [entry] = errors
      assert.deepStrictEqual(entry!.message, ["Background command failed"])
      assert.deepInclude(entry!.annotations, { command: "deposit", streamId: "account-404" })
      assert.instanceOf(Cause.squash(entry!.cause), AccountNotOpen)
    }).pipe(Effect.scoped, Effect.provide([InMemory.eventStore, captureLogs(logged)]))
  })

  it.effect("closing the dispatcher's scope interrupts background commands, which store nothing and log a warning", () => {
    const logged: Array<Logged> = []
    return Effect.gen(function*() {
      const gate = yield* Latch.make(false)
      yield* Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const bank = yield* makeBank
          yield* bank.dispatchAsync("open", { accountNumber: "1", owner: "Ada" })
          yield* Effect.yieldNow
        }))
        yield* gate.open
        assert.strictEqual((yield* storedEvents("account-1")).length, 0)
      }).pipe(Effect.provide(gatedStore(gate)))
      assert.deepStrictEqual(
        logged.map((entry) => [entry.level, entry.message, entry.annotations.streamId]),
        [["Warn", ["Background command interrupted"], "account-1"]]
      )
    }).pipe(Effect.provide(captureLogs(logged)))
  })

  it.effect("query validates its input and reads a projection document", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      yield* balances.upsert("1", { owner: "Ada", balance: 40 })
      const found = yield* bank.query("balance", { accountNumber: "1" })
      expectTypeOf(found).toEqualTypeOf<Option.Option<{ readonly owner: string; readonly balance: number }>>()
      assert.deepStrictEqual(found, Option.some({ owner: "Ada", balance: 40 }))
      assert.deepStrictEqual(yield* bank.query("balance", { accountNumber: "2" }), Option.none())
      const error = yield* Effect.flip(bank.query("balance", { accountNumber: 1 }))
      assert.strictEqual(error._tag, "ValidationError")
      if (error._tag !== "ValidationError") return
      assert.strictEqual(error.subject, `input of query "balance"`)
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), [["accountNumber"]])
    }).pipe(Effect.scoped, Effect.provide(InMemory.projectionStore)))

  it.effect("types each registered name with its own result, errors and services", () =>
    Effect.gen(function*() {
      const bank = yield* makeBank
      // Building the effects is enough: the types are the test.
      const deposit = bank.dispatch("deposit", {})
      expectTypeOf<Effect.Success<typeof deposit>["state"]>().toEqualTypeOf<State>()
      expectTypeOf<Effect.Services<typeof deposit>>().toEqualTypeOf<EventStore.EventStore>()
      expectTypeOf<Extract<Effect.Error<typeof deposit>, InsufficientFunds>>().toEqualTypeOf<InsufficientFunds>()
      expectTypeOf<Extract<Effect.Error<typeof deposit>, Dispatcher.UnknownCommand>>().toBeNever()
      const anyName = bank.dispatch("deposit" as string, {})
      expectTypeOf<Extract<Effect.Error<typeof anyName>, Dispatcher.UnknownCommand>>().toEqualTypeOf<Dispatcher.UnknownCommand>()
      expectTypeOf<Extract<Effect.Error<typeof anyName>, ValidationError>>().toEqualTypeOf<ValidationError>()
      const balance = bank.query("balance", {})
      expectTypeOf<Effect.Services<typeof balance>>().toEqualTypeOf<ProjectionStore.ProjectionStore>()
      expectTypeOf<Extract<Effect.Error<typeof balance>, Dispatcher.UnknownQuery>>().toBeNever()
    }).pipe(Effect.scoped))
})
