/**
 * The read side of the bank: views of accounts and transfers, shaped for the questions clients
 * ask ("what is the balance of A-1?", "where does transfer t-1 stand?"), kept up to date by
 * projections as events arrive.
 *
 * The aggregates answer such questions too, by folding a stream, but only one stream at a time
 * and only by reading every event. A view is one document per account or transfer, cheap to read
 * and to list. It follows the log, so it lags a command by a moment: wait for the processors
 * (`whenCaughtUp`) before reading what you just wrote.
 *
 * Each projection writes its documents in the same transaction as its checkpoint, so every event
 * is applied exactly once; `reset` clears the documents before a rebuild replays the log.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Documents, Projection, type RecordedEvent } from "@facta/core"
import * as BankAccount from "./BankAccount.ts"
import * as Transfer from "./Transfer.ts"

// -------------------------------------------------------------------------------------
// accounts
// -------------------------------------------------------------------------------------

/**
 * An account as clients see it.
 *
 * @since 0.1.0
 */
export const AccountView = Schema.Struct({
  accountNumber: Schema.String,
  owner: Schema.String,
  /** In cents. */
  balance: Schema.Int,
  /** The account stream's version: how many events it has. */
  version: Schema.Int,
  lastEventId: Schema.String,
  lastEventAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 */
export type AccountView = typeof AccountView.Type

/**
 * The account views, by account number.
 *
 * @since 0.1.0
 */
export const accountViews = Documents.make("accounts", AccountView)

/** A movement: every event after the opening states the account and its balance after it. */
const moved = (event: RecordedEvent.RecordedEvent<{ readonly accountNumber: string; readonly balance: number }>) =>
  Effect.gen(function*() {
    // The opening comes first in the stream, hence in the log: the view exists.
    const view = yield* Effect.fromOption(yield* accountViews.get(event.data.accountNumber))
    yield* accountViews.upsert(event.data.accountNumber, {
      ...view,
      balance: event.data.balance,
      version: event.version,
      lastEventId: event.id,
      lastEventAt: event.recordedAt
    })
  })

/**
 * @since 0.1.0
 */
export const accounts = Projection.make({
  name: "accounts",
  event: BankAccount.Event,
  handlers: {
    AccountOpened: (event) =>
      accountViews.upsert(event.data.accountNumber, {
        accountNumber: event.data.accountNumber,
        owner: event.data.owner,
        balance: 0,
        version: event.version,
        lastEventId: event.id,
        lastEventAt: event.recordedAt
      }),
    MoneyDeposited: moved,
    MoneyWithdrawn: moved,
    MoneySent: moved,
    MoneyReceived: moved,
    MoneyRefunded: moved
  },
  documents: [accountViews]
})

// -------------------------------------------------------------------------------------
// transfers
// -------------------------------------------------------------------------------------

/**
 * A transfer as clients see it.
 *
 * @since 0.1.0
 */
export const TransferView = Schema.Struct({
  transferId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  /** In cents. */
  amount: Schema.Int,
  status: Transfer.Status,
  /** Why it was reverted or cancelled. */
  reason: Schema.NullOr(Schema.String),
  /** The transfer stream's version. */
  version: Schema.Int
})

/**
 * @since 0.1.0
 */
export type TransferView = typeof TransferView.Type

/**
 * The transfer views, by transfer id.
 *
 * @since 0.1.0
 */
export const transferViews = Documents.make("transfers", TransferView)

/** A status change; the request came first, so the view exists. */
const changed = (status: Transfer.Status) =>
(event: RecordedEvent.RecordedEvent<{ readonly transferId: string; readonly reason?: string }>) =>
  Effect.gen(function*() {
    const view = yield* Effect.fromOption(yield* transferViews.get(event.data.transferId))
    yield* transferViews.upsert(event.data.transferId, {
      ...view,
      status,
      reason: event.data.reason ?? view.reason,
      version: event.version
    })
  })

/**
 * @since 0.1.0
 */
export const transfers = Projection.make({
  name: "transfers",
  event: Transfer.Event,
  handlers: {
    TransferRequested: (event) =>
      transferViews.upsert(event.data.transferId, {
        transferId: event.data.transferId,
        from: event.data.from,
        to: event.data.to,
        amount: event.data.amount,
        status: "requested",
        reason: null,
        version: event.version
      }),
    TransferInitiated: changed("initiated"),
    TransferCompleted: changed("completed"),
    TransferReverted: changed("reverted"),
    TransferCancelled: changed("cancelled")
  },
  documents: [transferViews]
})
