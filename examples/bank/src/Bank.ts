/**
 * The bank as an application: the front door clients use (a dispatcher of named commands and
 * queries) and the processors that work behind it (the transfer saga and the read models).
 *
 * Nothing here names a database. `layer` takes the stores as a Layer, so the same application
 * runs in memory (`InMemory.layer`), embedded in the process (`Embedded.layer()`) or on a
 * Postgres server (`Postgres.layer({ url })`): tests swap the Layer, not the code.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const bank = yield* Bank.Bank
 *   yield* bank.dispatch("openAccount", { accountNumber: "A-1", owner: "Ada" })
 *   yield* bank.dispatch("deposit", { accountNumber: "A-1", amount: 10000 })
 *   yield* (yield* Processor.Processors).whenCaughtUp
 *   const account = yield* bank.query("account", { accountNumber: "A-1" })
 * })
 *
 * program.pipe(Effect.provide(Bank.layer(InMemory.layer)), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import {
  type CheckpointStore,
  CommandHandler,
  Dispatcher,
  type EventStore,
  type Lease,
  Processor,
  type ProjectionStore,
  type Transactor,
  ValidationError
} from "@facta/core"
import * as BankAccount from "./BankAccount.ts"
import * as Projections from "./Projections.ts"
import * as Transfer from "./Transfer.ts"
import * as TransferFlow from "./TransferFlow.ts"

const accounts = CommandHandler.make(BankAccount.BankAccount)
const transfers = CommandHandler.make(Transfer.Transfer)

// -------------------------------------------------------------------------------------
// input: what a client sends
// -------------------------------------------------------------------------------------

// Each input field reuses the Schema of the command field it becomes, so input that passes
// validation always makes a valid command.

/**
 * @since 0.1.0
 */
export const OpenAccountInput = Schema.Struct({
  accountNumber: BankAccount.OpenAccount.fields.accountNumber,
  owner: BankAccount.OpenAccount.fields.owner
})

/**
 * A deposit or a withdrawal.
 *
 * @since 0.1.0
 */
export const MovementInput = Schema.Struct({
  accountNumber: BankAccount.AccountNumber,
  /** In cents. */
  amount: BankAccount.Amount
})

/**
 * The client chooses the transfer id, so a request sent twice (a retry after a timeout) is
 * refused as `TransferAlreadyExists` instead of moving the money twice.
 *
 * @since 0.1.0
 */
export const RequestTransferInput = Schema.Struct({
  transferId: Transfer.RequestTransfer.fields.transferId,
  from: Transfer.RequestTransfer.fields.from,
  to: Transfer.RequestTransfer.fields.to,
  /** In cents. */
  amount: Transfer.RequestTransfer.fields.amount
})

// -------------------------------------------------------------------------------------
// the registry
// -------------------------------------------------------------------------------------

/**
 * Each command validates its input, picks the stream of the aggregate instance it addresses,
 * and is handled there.
 *
 * @since 0.1.0
 */
export const commands = {
  openAccount: Dispatcher.command({
    input: OpenAccountInput,
    handler: accounts,
    route: ({ accountNumber, owner }) => ({
      streamId: BankAccount.streamId(accountNumber),
      command: new BankAccount.OpenAccount({ accountNumber, owner })
    })
  }),
  deposit: Dispatcher.command({
    input: MovementInput,
    handler: accounts,
    route: ({ accountNumber, amount }) => ({ streamId: BankAccount.streamId(accountNumber), command: new BankAccount.Deposit({ amount }) })
  }),
  withdraw: Dispatcher.command({
    input: MovementInput,
    handler: accounts,
    route: ({ accountNumber, amount }) => ({ streamId: BankAccount.streamId(accountNumber), command: new BankAccount.Withdraw({ amount }) })
  }),
  /** Only records the request: the transfer saga moves the money afterwards. */
  requestTransfer: Dispatcher.command({
    input: RequestTransferInput,
    handler: transfers,
    route: (input) => ({ streamId: Transfer.streamId(input.transferId), command: new Transfer.RequestTransfer(input) })
  })
}

/**
 * Queries read the views, which follow the log: they may lag the last command by a moment.
 *
 * @since 0.1.0
 */
export const queries = {
  account: Dispatcher.query({
    input: Schema.Struct({ accountNumber: BankAccount.AccountNumber }),
    run: ({ accountNumber }) => Projections.accountViews.get(accountNumber)
  }),
  accounts: Dispatcher.query({
    input: Schema.Struct({}),
    run: () => Effect.map(Projections.accountViews.list, (documents) => documents.map(({ document }) => document))
  }),
  transfer: Dispatcher.query({
    input: Schema.Struct({ transferId: Transfer.RequestTransfer.fields.transferId }),
    run: ({ transferId }) => Projections.transferViews.get(transferId)
  }),
  transfers: Dispatcher.query({
    input: Schema.Struct({}),
    run: () => Effect.map(Projections.transferViews.list, (documents) => documents.map(({ document }) => document))
  })
}

/**
 * What runs behind the dispatcher, in this order: the saga first, so that once it has caught up,
 * the views catching up after it include everything the saga did.
 *
 * @since 0.1.0
 */
export const processors = [TransferFlow.transferFlow, Projections.accounts, Projections.transfers] as const

// -------------------------------------------------------------------------------------
// refusals
// -------------------------------------------------------------------------------------

/**
 * What the bank refuses: invalid input and the rules of its aggregates. The client can act on
 * these (fix the input, deposit first); any other error is a failure of the machinery.
 *
 * @since 0.1.0
 */
export const Refusal = Schema.Union([
  ValidationError.ValidationError,
  BankAccount.AccountAlreadyOpen,
  BankAccount.AccountNotFound,
  BankAccount.InsufficientFunds,
  Transfer.TransferAlreadyExists,
  Transfer.SameAccountTransfer
])

/**
 * @since 0.1.0
 */
export type Refusal = typeof Refusal.Type

/**
 * @since 0.1.0
 */
export const isRefusal: (error: unknown) => error is Refusal = Schema.is(Refusal)

// -------------------------------------------------------------------------------------
// the application
// -------------------------------------------------------------------------------------

/**
 * The stores the bank runs on: those `InMemory.layer`, `Embedded.layer()` and
 * `Postgres.layer(...)` provide.
 *
 * @since 0.1.0
 */
export type Stores =
  | EventStore.EventStore
  | ProjectionStore.ProjectionStore
  | CheckpointStore.CheckpointStore
  | Transactor.Transactor
  | Lease.Lease

/**
 * The bank's front door: `dispatch(name, input)` and `query(name, input)`.
 *
 * @since 0.1.0
 */
export class Bank extends Context.Service<Bank, Dispatcher.Dispatcher<typeof commands, typeof queries>>()(
  "@facta/example-bank/Bank"
) {}

/**
 * The bank on the given stores: the dispatcher (`Bank`), the running processors
 * (`Processor.Processors`, whose `whenCaughtUp` waits for them) and the stores themselves. The
 * processors stop when the layer is released.
 *
 * @since 0.1.0
 */
export const layer = <E>(stores: Layer.Layer<Stores, E>): Layer.Layer<Bank | Processor.Processors | Stores, E> =>
  Layer.mergeAll(
    Layer.effect(Bank, Dispatcher.make({ commands, queries })),
    Processor.layer(processors)
  ).pipe(Layer.provideMerge(stores))
