// The README's Account aggregate, as an application would write it.
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"

export class Open extends Schema.TaggedClass<Open>()("Open", { owner: Schema.NonEmptyString }) {}
export class Deposit extends Schema.TaggedClass<Deposit>()("Deposit", { amount: Schema.Int.check(Schema.isGreaterThan(0)) }) {}
export class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
export class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int }) {}
export class AccountNotOpen extends Schema.TaggedError<AccountNotOpen>()("AccountNotOpen", {}) {}

export const AccountEvent = Schema.Union([Opened, Deposited])

export const Account = Aggregate.make({
  name: "Account",
  command: Schema.Union([Open, Deposit]),
  event: AccountEvent,
  initialState: { open: false, balance: 0 },
  decide: (command, state) =>
    Effect.gen(function*() {
      switch (command._tag) {
        case "Open":
          return [new Opened({ owner: command.owner })]
        case "Deposit":
          if (!state.open) return yield* new AccountNotOpen()
          return [new Deposited({ amount: command.amount })]
      }
    }),
  evolve: (state, event) =>
    event._tag === "Opened" ? { open: true, balance: 0 } : { ...state, balance: state.balance + event.amount }
})
