/**
 * The aggregate the command benchmarks handle: the core tests' bank account, plus the same logic
 * written as plain JS over raw rows for the baselines.
 */
import { Account, type State } from "../packages/core/test/fixtures/Account.ts"

export { Account, Open, State } from "../packages/core/test/fixtures/Account.ts"

/** The account with its state Schema, so that its command handler can take snapshots. */
export const SnapshottedAccount = Account

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
  let owner = ""
  let balance = 0
  for (const row of rows) {
    switch (row.type) {
      case "Opened":
        open = true
        owner = (row.data as { readonly owner: string }).owner
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
  return { open, owner, balance }
}

/** Decides a deposit by hand: the minimal validation plus the domain rule; throws when refused. */
export const decideDepositRaw = (input: { readonly _tag: string; readonly amount: number }, state: State): RawRow => {
  if (input._tag !== "Deposit" || !Number.isInteger(input.amount) || input.amount < 1 || input.amount > 1_000) {
    throw new Error("invalid command")
  }
  if (!state.open) throw new Error("account not open")
  return { type: "Deposited", data: { amount: input.amount } }
}
