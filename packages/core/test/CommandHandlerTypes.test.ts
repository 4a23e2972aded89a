/**
 * Type tests: what users rely on the compiler to infer for command handlers: what `handle`,
 * `execute` and `load` succeed with, every error they can fail with (an app that handles them by
 * tag relies on the list), the services they need, and what inline handlers and snapshots add.
 * They are checked by the type check that `npm test` runs first (a wrong inference fails it); at
 * run time each test also runs the handler on a memory store.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, Schema } from "effect"
import { type ClosedStreams, CommandHandler, EventStore, InMemory, Transactor, type InvalidInput, type RecordedEvent, ValidationError } from "@facta/core"
import { Account, type AccountAlreadyOpen, type AccountNotOpen, type Command, Deposit, type Event, InsufficientFunds, Open, type State, Withdraw } from "./fixtures/Account.ts"

class MailDown extends Schema.TaggedError<MailDown>()("MailDown", {}) {}
class Mailer extends Context.Service<Mailer, { readonly send: (streamId: string) => Effect.Effect<void, MailDown> }>()("test/Mailer") {}

const accounts = CommandHandler.make(Account)

type AccountError = AccountAlreadyOpen | AccountNotOpen | InsufficientFunds
/** Spelled out rather than `CommandHandler.HandleError`, so that a new error fails this test. */
type StoreError =
  | EventStore.WrongExpectedVersion
  | ClosedStreams.StreamArchived
  | ClosedStreams.StreamDeleted
  | Transactor.RetryTransaction
  | EventStore.EventStoreError
  | RecordedEvent.EventDecodeError
  | RecordedEvent.EventEncodeError
  | InvalidInput.InvalidInput
  | CommandHandler.ForeignEvent

describe("command handler types", () => {
  it.effect("handle takes any input and succeeds with the stored events, the state and the version; it fails with a validation error, the domain's or the store's", () =>
    Effect.gen(function*() {
      const handled = accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      expectTypeOf(accounts.handle).parameter(1).toBeUnknown()
      expectTypeOf<Effect.Success<typeof handled>>().toEqualTypeOf<CommandHandler.CommandResult<Event, State>>()
      expectTypeOf<Effect.Success<typeof handled>["events"]>().toEqualTypeOf<ReadonlyArray<RecordedEvent.RecordedEvent<Event>>>()
      expectTypeOf<Effect.Error<typeof handled>>().toEqualTypeOf<ValidationError.ValidationError | AccountError | StoreError>()
      expectTypeOf<CommandHandler.HandleError>().toEqualTypeOf<StoreError>()
      expectTypeOf<Effect.Services<typeof handled>>().toEqualTypeOf<EventStore.EventStore>()

      const opened = yield* handled
      assert.deepStrictEqual([opened.version, opened.state, opened.events.map((event) => event.data._tag)], [1, { open: true, owner: "Ada", balance: 0 }, ["Opened"]])
      const invalid = yield* Effect.flip(accounts.handle("account-1", { _tag: "Deposit", amount: "ten" }))
      assert.instanceOf(invalid, ValidationError.ValidationError)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("execute takes a typed command and cannot fail validation; load succeeds with the folded state and fails with the store's errors only", () =>
    Effect.gen(function*() {
      const executed = accounts.execute("account-2", new Open({ owner: "Bob" }))
      expectTypeOf(accounts.execute).parameter(1).toEqualTypeOf<Command>()
      expectTypeOf<Effect.Success<typeof executed>>().toEqualTypeOf<CommandHandler.CommandResult<Event, State>>()
      expectTypeOf<Effect.Error<typeof executed>>().toEqualTypeOf<AccountError | StoreError>()
      expectTypeOf<Effect.Services<typeof executed>>().toEqualTypeOf<EventStore.EventStore>()
      // @ts-expect-error: execute takes a command, not any input
      accounts.execute("account-2", { _tag: "Open" })
      // @ts-expect-error: an expected version is a number, "noStream", "streamExists" or "any"
      accounts.execute("account-2", new Open({ owner: "Bob" }), { expectedVersion: "latest" })

      const loaded = accounts.load("account-2")
      expectTypeOf<Effect.Success<typeof loaded>>().toEqualTypeOf<CommandHandler.Loaded<State>>()
      expectTypeOf<Effect.Error<typeof loaded>>().toEqualTypeOf<
        EventStore.EventStoreError | RecordedEvent.EventDecodeError | InvalidInput.InvalidInput | CommandHandler.ForeignEvent
      >()
      expectTypeOf<Effect.Services<typeof loaded>>().toEqualTypeOf<EventStore.EventStore>()

      yield* executed
      yield* accounts.execute("account-2", new Deposit({ amount: 10 }))
      const refused = yield* Effect.flip(accounts.execute("account-2", new Withdraw({ amount: 30 })))
      assert.deepStrictEqual(refused, new InsufficientFunds({ balance: 10, requested: 30 }))
      assert.deepStrictEqual(yield* loaded, { state: { open: true, owner: "Bob", balance: 10 }, version: 2 })
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("inline handlers add their errors and services, and are given the command's result; a snapshot policy adds nothing", () =>
    Effect.gen(function*() {
      const notifying = CommandHandler.make(Account, {
        handlers: [(result) => {
          expectTypeOf(result).toEqualTypeOf<CommandHandler.CommandResult<Event, State>>()
          return Mailer.use((mailer) => mailer.send(result.streamId))
        }]
      })
      const executed = notifying.execute("account-3", new Open({ owner: "Cy" }))
      expectTypeOf<Effect.Error<typeof executed>>().toEqualTypeOf<AccountError | StoreError | MailDown>()
      expectTypeOf<Effect.Services<typeof executed>>().toEqualTypeOf<EventStore.EventStore | Mailer>()
      expectTypeOf<Effect.Error<ReturnType<typeof notifying.handle>>>().toEqualTypeOf<ValidationError.ValidationError | AccountError | StoreError | MailDown>()
      // Loading runs no handler.
      expectTypeOf(notifying.load).toEqualTypeOf(accounts.load)

      const snapshotted = CommandHandler.make(Account, { snapshot: { every: 10, schemaVersion: 1 } })
      expectTypeOf(snapshotted).toEqualTypeOf(accounts)

      const sent: Array<string> = []
      yield* executed.pipe(Effect.provideService(Mailer, Mailer.of({ send: (streamId) => Effect.sync(() => void sent.push(streamId)) })))
      assert.deepStrictEqual(sent, ["account-3"])
      assert.strictEqual((yield* snapshotted.execute("account-4", new Open({ owner: "Di" }))).version, 1)
    }).pipe(Effect.provide(InMemory.eventStore)))
})
