/**
 * The transfer saga: a process manager that moves the money of a requested transfer, one leg at a
 * time, and undoes the first leg when the second one fails.
 *
 * One command changes one aggregate, and a transfer touches three: the source account, the
 * destination account and the transfer itself. So nobody moves the money in one step; this
 * process manager follows the transfer's events and sends each aggregate its command:
 *
 * ```
 * TransferRequested ──▶ SendMoney (source) ──ok──▶ MarkInitiated
 *                                     └─refused──▶ Cancel                    nothing moved
 * TransferInitiated ──▶ ReceiveMoney (dest) ──ok──▶ MarkCompleted
 *                                      └─refused──▶ MarkReverted, RefundMoney (source), Cancel
 * ```
 *
 * Every command carries `RecordedEvent.causedBy(event)`: the events it produces name the event
 * that caused them and keep the correlation id of the request, so one id follows a transfer
 * through the three streams.
 *
 * A handler may run twice for the same event: the processor retries a batch that failed, and the
 * commands of a rolled-back batch may have been stored (in memory they stay; on SQL they roll back
 * with the batch). So each handler first asks the transfer where it stands and resumes from there
 * instead of deciding again, and every command it sends does nothing when repeated.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { CommandHandler, ProcessManager, RecordedEvent } from "@facta/core"
import * as BankAccount from "./BankAccount.ts"
import * as Transfer from "./Transfer.ts"

const accounts = CommandHandler.make(BankAccount.BankAccount)
const transfers = CommandHandler.make(Transfer.Transfer)

/**
 * How far the saga took a transfer:
 * - `requested`: nothing done yet;
 * - `sent`: the money left the source; it is on its way to the destination;
 * - `refused`: the source refused (no such account, not enough money); nothing moved;
 * - `completed`: the destination received the money;
 * - `refunded`: the destination refused, and the money went back to the source.
 *
 * @since 0.1.0
 */
export const Step = Schema.Literals(["requested", "sent", "refused", "completed", "refunded"])

/**
 * @since 0.1.0
 */
export type Step = typeof Step.Type

/**
 * The saga's state for one transfer, kept as a document beside the read models.
 *
 * @since 0.1.0
 */
export const FlowState = Schema.Struct({
  step: Step,
  /** Why the transfer did not complete. */
  reason: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 */
export type FlowState = typeof FlowState.Type

/**
 * @since 0.1.0
 */
export const name = "transfer-flow"

/**
 * Why an account refused a leg, for the transfer's record. (`AccountNotFound` does not name the
 * account: the saga knows which one it addressed.)
 */
const refusal = (accountNumber: string) => ({
  InsufficientFunds: (error: BankAccount.InsufficientFunds) => Effect.succeed(error.message),
  AccountNotFound: () => Effect.succeed(`Account ${accountNumber} does not exist`)
})

/**
 * The compensation of a delivered leg the destination refused: mark the transfer reverted, give
 * the money back to the source, and cancel the transfer. Each command does nothing when repeated,
 * so a retry may run it again from the start.
 */
const refund = (
  transfer: Extract<Transfer.State, { readonly transferId: string }>,
  reason: string,
  options: CommandHandler.HandleOptions
) =>
  Effect.gen(function*() {
    const { amount, from, transferId } = transfer
    const stream = Transfer.streamId(transferId)
    yield* transfers.execute(stream, new Transfer.MarkReverted({ reason }), options)
    yield* accounts.execute(BankAccount.streamId(from), new BankAccount.RefundMoney({ transferId, amount }), options)
    yield* transfers.execute(stream, new Transfer.Cancel({ reason: `${reason}; ${amount} cents refunded to ${from}` }), options)
    return { step: "refunded", reason } satisfies FlowState
  })

/**
 * The transfer saga, a processor: run it with `Processor.startAll` or `Processor.layer`.
 *
 * @since 0.1.0
 */
export const transferFlow = ProcessManager.make({
  name,
  event: Transfer.Event,
  state: FlowState,
  initialState: { step: "requested", reason: null },
  processId: (event) => event.data.transferId,
  handlers: {
    /** Takes the money from the source; when the source refuses, cancels the transfer. */
    TransferRequested: (event, state) =>
      Effect.gen(function*() {
        const { amount, from, transferId } = event.data
        const options = { metadata: RecordedEvent.causedBy(event) }
        const transfer = Transfer.streamId(transferId)
        // Anything but "requested" means this event was handled before (a retried batch).
        if ((yield* transfers.load(transfer)).state.status !== "requested") return state
        const refused = yield* accounts.execute(BankAccount.streamId(from), new BankAccount.SendMoney({ transferId, amount }), options).pipe(
          Effect.as(null),
          Effect.catchTags(refusal(from))
        )
        if (refused !== null) {
          yield* transfers.execute(transfer, new Transfer.Cancel({ reason: refused }), options)
          return { step: "refused", reason: refused } satisfies FlowState
        }
        yield* transfers.execute(transfer, new Transfer.MarkInitiated(), options)
        return { step: "sent", reason: null } satisfies FlowState
      }),

    /** Delivers the money to the destination; when the destination refuses, refunds the source. */
    TransferInitiated: (event, state) =>
      Effect.gen(function*() {
        const options = { metadata: RecordedEvent.causedBy(event) }
        const current = (yield* transfers.load(Transfer.streamId(event.data.transferId))).state
        switch (current.status) {
          case "initiated": {
            const { amount, to, transferId } = current
            const refused = yield* accounts.execute(BankAccount.streamId(to), new BankAccount.ReceiveMoney({ transferId, amount }), options).pipe(
              Effect.as(null),
              Effect.catchTags(refusal(to))
            )
            if (refused !== null) return yield* refund(current, refused, options)
            yield* transfers.execute(Transfer.streamId(transferId), new Transfer.MarkCompleted(), options)
            return { step: "completed", reason: null } satisfies FlowState
          }
          case "reverted":
            // A retried batch that stopped halfway through the compensation: finish it.
            return yield* refund(current, current.reason ?? "reverted", options)
          default:
            // Completed or cancelled: handled before.
            return state
        }
      })
  }
})

/**
 * The saga's state documents, one per transfer id.
 *
 * @since 0.1.0
 */
export const states = transferFlow.states
