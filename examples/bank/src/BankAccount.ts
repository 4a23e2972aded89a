/**
 * A bank account: the aggregate that guards a balance.
 *
 * An aggregate is a consistency boundary. Every rule here (an account opens once, its balance
 * never goes negative) is checked against the account's own events, and the command handler
 * appends the new events only if nobody wrote to the account in between; otherwise it decides
 * again on the fresh state. So two withdrawals racing for the same money cannot both win.
 *
 * Money moves between accounts in legs, one per account: `SendMoney` on the sender,
 * `ReceiveMoney` on the receiver and, if the receiver refuses, `RefundMoney` on the sender. A
 * `Transfer` and a process manager coordinate the legs; an aggregate never changes another one.
 * Each leg names its transfer, and a leg applied twice changes nothing, because a process
 * manager may repeat a command after a failure.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"

// -------------------------------------------------------------------------------------
// values
// -------------------------------------------------------------------------------------

/**
 * An amount of money in cents, as an integer: decimal fractions in floating point round
 * (0.1 + 0.2 !== 0.3), integers do not. Positive; at most one billion (in units) per movement,
 * which keeps every balance a safe integer.
 *
 * @since 0.1.0
 */
export const Amount = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000_000_000 }))

/**
 * Identifies an account. It becomes part of the stream id, so it is kept to letters, digits and
 * dashes.
 *
 * @since 0.1.0
 */
export const AccountNumber = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9-]{1,34}$/))

/**
 * Identifies a transfer; every leg of a transfer carries it.
 *
 * @since 0.1.0
 */
export const TransferId = Schema.NonEmptyString

/**
 * The stream that holds an account's events.
 *
 * @since 0.1.0
 */
export const streamId = (accountNumber: string): string => `account-${accountNumber}`

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class OpenAccount extends Schema.TaggedClass<OpenAccount>()("OpenAccount", {
  accountNumber: AccountNumber,
  owner: Schema.NonEmptyString
}) {}

/**
 * @since 0.1.0
 */
export class Deposit extends Schema.TaggedClass<Deposit>()("Deposit", { amount: Amount }) {}

/**
 * @since 0.1.0
 */
export class Withdraw extends Schema.TaggedClass<Withdraw>()("Withdraw", { amount: Amount }) {}

/**
 * The sender's leg of a transfer: takes the money out, under the same rule as a withdrawal.
 *
 * @since 0.1.0
 */
export class SendMoney extends Schema.TaggedClass<SendMoney>()("SendMoney", { transferId: TransferId, amount: Amount }) {}

/**
 * The receiver's leg of a transfer.
 *
 * @since 0.1.0
 */
export class ReceiveMoney extends Schema.TaggedClass<ReceiveMoney>()("ReceiveMoney", {
  transferId: TransferId,
  amount: Amount
}) {}

/**
 * The compensation of a `SendMoney` whose transfer could not be completed: gives the sent amount
 * back to the sender.
 *
 * @since 0.1.0
 */
export class RefundMoney extends Schema.TaggedClass<RefundMoney>()("RefundMoney", {
  transferId: TransferId,
  amount: Amount
}) {}

/**
 * @since 0.1.0
 */
export const Command = Schema.Union([OpenAccount, Deposit, Withdraw, SendMoney, ReceiveMoney, RefundMoney])

/**
 * @since 0.1.0
 */
export type Command = typeof Command.Type

// -------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------

// Events are facts that were checked when they happened. Their Schemas describe their shape, not
// the rules, so stored events still read after a rule changes. Each movement carries the account
// number and the balance after it, which is what a read model of accounts needs.

/**
 * @since 0.1.0
 */
export class AccountOpened extends Schema.TaggedClass<AccountOpened>()("AccountOpened", {
  accountNumber: Schema.String,
  owner: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export class MoneyDeposited extends Schema.TaggedClass<MoneyDeposited>()("MoneyDeposited", {
  accountNumber: Schema.String,
  amount: Schema.Int,
  balance: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class MoneyWithdrawn extends Schema.TaggedClass<MoneyWithdrawn>()("MoneyWithdrawn", {
  accountNumber: Schema.String,
  amount: Schema.Int,
  balance: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class MoneySent extends Schema.TaggedClass<MoneySent>()("MoneySent", {
  accountNumber: Schema.String,
  transferId: Schema.String,
  amount: Schema.Int,
  balance: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class MoneyReceived extends Schema.TaggedClass<MoneyReceived>()("MoneyReceived", {
  accountNumber: Schema.String,
  transferId: Schema.String,
  amount: Schema.Int,
  balance: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class MoneyRefunded extends Schema.TaggedClass<MoneyRefunded>()("MoneyRefunded", {
  accountNumber: Schema.String,
  transferId: Schema.String,
  amount: Schema.Int,
  balance: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export const Event = Schema.Union([AccountOpened, MoneyDeposited, MoneyWithdrawn, MoneySent, MoneyReceived, MoneyRefunded])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class AccountAlreadyOpen extends Schema.TaggedError<AccountAlreadyOpen>()("AccountAlreadyOpen", {
  accountNumber: Schema.String
}) {
  override get message() {
    return `Account ${this.accountNumber} is already open`
  }
}

/**
 * A command other than `OpenAccount` on an account that was never opened. (`decide` sees the
 * command and the state, not the stream id; the caller knows which account it addressed.)
 *
 * @since 0.1.0
 */
export class AccountNotFound extends Schema.TaggedError<AccountNotFound>()("AccountNotFound", {}) {
  override get message() {
    return "No such account: it has not been opened"
  }
}

/**
 * @since 0.1.0
 */
export class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  accountNumber: Schema.String,
  balance: Schema.Int,
  requested: Schema.Int
}) {
  override get message() {
    return `Account ${this.accountNumber} has ${this.balance} cents, ${this.requested} were requested`
  }
}

/**
 * A refund for a transfer this account never sent money for.
 *
 * @since 0.1.0
 */
export class TransferNotSent extends Schema.TaggedError<TransferNotSent>()("TransferNotSent", {
  accountNumber: Schema.String,
  transferId: Schema.String
}) {
  override get message() {
    return `Account ${this.accountNumber} sent nothing for transfer ${this.transferId}, so nothing can be refunded`
  }
}

/**
 * A refund whose amount is not what was sent: a refund reverts the whole leg, no more, no less.
 *
 * @since 0.1.0
 */
export class RefundMismatch extends Schema.TaggedError<RefundMismatch>()("RefundMismatch", {
  accountNumber: Schema.String,
  transferId: Schema.String,
  sent: Schema.Int,
  requested: Schema.Int
}) {
  override get message() {
    return `Account ${this.accountNumber} sent ${this.sent} cents for transfer ${this.transferId}, a refund of ${this.requested} was requested`
  }
}

// -------------------------------------------------------------------------------------
// state
// -------------------------------------------------------------------------------------

/**
 * An account as its events leave it.
 *
 * @since 0.1.0
 */
export type State =
  | { readonly status: "unopened" }
  | {
    readonly status: "open"
    readonly accountNumber: string
    readonly owner: string
    /** In cents; never negative. */
    readonly balance: number
    /** The transfer legs applied so far, amount by transfer id, so that a repeated leg is recognised. */
    readonly sent: ReadonlyMap<string, number>
    readonly received: ReadonlyMap<string, number>
    readonly refunded: ReadonlyMap<string, number>
  }

// -------------------------------------------------------------------------------------
// the aggregate
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export const BankAccount = Aggregate.make({
  name: "BankAccount",
  command: Command,
  event: Event,
  initialState: { status: "unopened" } as State,
  decide: (command, state) =>
    Effect.gen(function*() {
      if (command._tag === "OpenAccount") {
        if (state.status === "open") return yield* new AccountAlreadyOpen({ accountNumber: state.accountNumber })
        return [new AccountOpened({ accountNumber: command.accountNumber, owner: command.owner })]
      }
      // Every other command moves money, which needs an open account.
      if (state.status !== "open") return yield* new AccountNotFound()
      const { accountNumber, balance } = state
      switch (command._tag) {
        case "Deposit":
          return [new MoneyDeposited({ accountNumber, amount: command.amount, balance: balance + command.amount })]
        case "Withdraw":
          if (command.amount > balance) return yield* new InsufficientFunds({ accountNumber, balance, requested: command.amount })
          return [new MoneyWithdrawn({ accountNumber, amount: command.amount, balance: balance - command.amount })]
        case "SendMoney": {
          const { amount, transferId } = command
          if (state.sent.has(transferId)) return []
          if (amount > balance) return yield* new InsufficientFunds({ accountNumber, balance, requested: amount })
          return [new MoneySent({ accountNumber, transferId, amount, balance: balance - amount })]
        }
        case "ReceiveMoney": {
          const { amount, transferId } = command
          if (state.received.has(transferId)) return []
          return [new MoneyReceived({ accountNumber, transferId, amount, balance: balance + amount })]
        }
        case "RefundMoney": {
          const { amount, transferId } = command
          if (state.refunded.has(transferId)) return []
          const sent = state.sent.get(transferId)
          if (sent === undefined) return yield* new TransferNotSent({ accountNumber, transferId })
          if (sent !== amount) return yield* new RefundMismatch({ accountNumber, transferId, sent, requested: amount })
          return [new MoneyRefunded({ accountNumber, transferId, amount, balance: balance + amount })]
        }
      }
    }),
  evolve: (state, event): State => {
    if (event._tag === "AccountOpened") {
      const { accountNumber, owner } = event
      return { status: "open", accountNumber, owner, balance: 0, sent: new Map(), received: new Map(), refunded: new Map() }
    }
    // Only an open account has movements (decide sees to it); the guard keeps evolve total.
    if (state.status !== "open") return state
    // Each movement states the balance after it, as decide computed it.
    const balance = event.balance
    switch (event._tag) {
      case "MoneyDeposited":
      case "MoneyWithdrawn":
        return { ...state, balance }
      case "MoneySent":
        return { ...state, balance, sent: new Map(state.sent).set(event.transferId, event.amount) }
      case "MoneyReceived":
        return { ...state, balance, received: new Map(state.received).set(event.transferId, event.amount) }
      case "MoneyRefunded":
        return { ...state, balance, refunded: new Map(state.refunded).set(event.transferId, event.amount) }
    }
  }
})
