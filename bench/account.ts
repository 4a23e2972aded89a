/**
 * The aggregate the command benchmarks handle: a small bank account (like the core tests'
 * fixture), plus the same logic written as plain JS over raw rows for the baselines.
 */
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"

const Amount = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 }))

export class Open extends Schema.TaggedClass<Open>()("Open", { owner: Schema.NonEmptyString }) {}
export class Deposit extends Schema.TaggedClass<Deposit>()("Deposit", { amount: Amount }) {}
export class Withdraw extends Schema.TaggedClass<Withdraw>()("Withdraw", { amount: Amount }) {}

export class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
export class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int }) {}
export class Withdrawn extends Schema.TaggedClass<Withdrawn>()("Withdrawn", { amount: Schema.Int }) {}

export class AccountNotOpen extends Schema.TaggedError<AccountNotOpen>()("AccountNotOpen", {}) {}
export class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {}) {}

export interface State {
  readonly open: boolean
  readonly balance: number
}

/** The state's Schema, for snapshots. */
export const State = Schema.Struct({ open: Schema.Boolean, balance: Schema.Number })

export const Account = Aggregate.make({
  name: "Account",
  command: Schema.Union([Open, Deposit, Withdraw]),
  event: Schema.Union([Opened, Deposited, Withdrawn]),
  initialState: { open: false, balance: 0 } as State,
  decide: (command, state) =>
    Effect.gen(function*() {
      switch (command._tag) {
        case "Open":
          return [new Opened({ owner: command.owner })]
        case "Deposit":
          if (!state.open) return yield* new AccountNotOpen()
          return [new Deposited({ amount: command.amount })]
        case "Withdraw":
          if (!state.open) return yield* new AccountNotOpen()
          if (state.balance < command.amount) return yield* new InsufficientFunds()
          return [new Withdrawn({ amount: command.amount })]
      }
    }),
  evolve: (state, event) => {
    switch (event._tag) {
      case "Opened":
        return { open: true, balance: 0 }
      case "Deposited":
        return { ...state, balance: state.balance + event.amount }
      case "Withdrawn":
        return { ...state, balance: state.balance - event.amount }
    }
  }
})

/** The same account with its state Schema, so that its command handler can take snapshots. */
export const SnapshottedAccount = Aggregate.make({ ...Account, state: State })

/** The command every command benchmark sends, as it would arrive from the wire. */
export const depositInput = { _tag: "Deposit", amount: 5 } as const

/**
 * The stored (encoded) events of a seeded stream: `Opened` then `length - 1` deposits, each with
 * a correlation id, exactly as Facta's codec stores them (`type` = tag, `data` without the tag).
 */
export const seedEvents = (length: number) => {
  const metadata = { correlationId: crypto.randomUUID() }
  return Array.from({ length }, (_, index) =>
    index === 0
      ? { type: "Opened", data: { owner: "bench" }, metadata }
      : { type: "Deposited", data: { amount: 10 }, metadata })
}

// ---------------------------------------------------------------------------------------------
// The baseline: the same account as hand-written code over raw rows, no Schema.
// ---------------------------------------------------------------------------------------------

export interface RawRow {
  readonly type: string
  readonly data: unknown
}

const amountOf = (data: unknown): number => (data as { readonly amount: number }).amount

/** Folds raw rows as hand-written code would: a switch on the type, fields read directly. */
export const foldRaw = (rows: Iterable<RawRow>): State => {
  let open = false
  let balance = 0
  for (const row of rows) {
    switch (row.type) {
      case "Opened":
        open = true
        balance = 0
        break
      case "Deposited":
        balance += amountOf(row.data)
        break
      case "Withdrawn":
        balance -= amountOf(row.data)
        break
    }
  }
  return { open, balance }
}

/** Decides a deposit by hand: the minimal validation plus the domain rule; throws when refused. */
export const decideDepositRaw = (input: { readonly _tag: string; readonly amount: number }, state: State): RawRow => {
  if (input._tag !== "Deposit" || !Number.isInteger(input.amount) || input.amount < 1 || input.amount > 1_000) {
    throw new Error("invalid command")
  }
  if (!state.open) throw new Error("account not open")
  return { type: "Deposited", data: { amount: input.amount } }
}
