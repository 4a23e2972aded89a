/**
 * A transfer of money between two accounts, as a status machine.
 *
 * A transfer touches two accounts, and one command changes one aggregate, so the transfer cannot
 * move the money itself. It records where the transfer stands, while a process manager sends the
 * legs to the accounts (`SendMoney`, `ReceiveMoney`, and `RefundMoney` when the receiver
 * refuses) and reports back here:
 *
 * ```
 * requested ──MarkInitiated──▶ initiated ──MarkCompleted──▶ completed
 *     │                            │
 *   Cancel                    MarkReverted
 *     ▼                            ▼
 * cancelled ◀──────Cancel─────── reverted
 * ```
 *
 * `initiated` means the money has left the sender; `reverted` means it was refunded to them.
 * Any other move is an {@link IllegalTransition}. Asking for the status the transfer already has
 * changes nothing, so a process manager may repeat a step.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"
import { AccountNumber, Amount, TransferId } from "./BankAccount.ts"

/**
 * @since 0.1.0
 */
export const Status = Schema.Literals(["requested", "initiated", "completed", "reverted", "cancelled"])

/**
 * @since 0.1.0
 */
export type Status = typeof Status.Type

/**
 * The statuses each status may move to.
 *
 * @since 0.1.0
 */
export const transitions: { readonly [S in Status]: ReadonlyArray<Status> } = {
  requested: ["initiated", "cancelled"],
  initiated: ["completed", "reverted"],
  reverted: ["cancelled"],
  completed: [],
  cancelled: []
}

/**
 * The stream that holds a transfer's events.
 *
 * @since 0.1.0
 */
export const streamId = (transferId: string): string => `transfer-${transferId}`

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class RequestTransfer extends Schema.TaggedClass<RequestTransfer>()("RequestTransfer", {
  transferId: TransferId,
  from: AccountNumber,
  to: AccountNumber,
  amount: Amount
}) {}

/**
 * The money has left the sender.
 *
 * @since 0.1.0
 */
export class MarkInitiated extends Schema.TaggedClass<MarkInitiated>()("MarkInitiated", {}) {}

/**
 * The money has reached the receiver.
 *
 * @since 0.1.0
 */
export class MarkCompleted extends Schema.TaggedClass<MarkCompleted>()("MarkCompleted", {}) {}

/**
 * The receiver refused and the money went back to the sender.
 *
 * @since 0.1.0
 */
export class MarkReverted extends Schema.TaggedClass<MarkReverted>()("MarkReverted", { reason: Schema.NonEmptyString }) {}

/**
 * Ends a transfer that moved no money: one that was only requested, or was reverted.
 *
 * @since 0.1.0
 */
export class Cancel extends Schema.TaggedClass<Cancel>()("Cancel", { reason: Schema.NonEmptyString }) {}

/**
 * @since 0.1.0
 */
export const Command = Schema.Union([RequestTransfer, MarkInitiated, MarkCompleted, MarkReverted, Cancel])

/**
 * @since 0.1.0
 */
export type Command = typeof Command.Type

// -------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------

// Every event names its transfer, so a read model of transfers can follow them one by one.

/**
 * @since 0.1.0
 */
export class TransferRequested extends Schema.TaggedClass<TransferRequested>()("TransferRequested", {
  transferId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  amount: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class TransferInitiated extends Schema.TaggedClass<TransferInitiated>()("TransferInitiated", {
  transferId: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export class TransferCompleted extends Schema.TaggedClass<TransferCompleted>()("TransferCompleted", {
  transferId: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export class TransferReverted extends Schema.TaggedClass<TransferReverted>()("TransferReverted", {
  transferId: Schema.String,
  reason: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export class TransferCancelled extends Schema.TaggedClass<TransferCancelled>()("TransferCancelled", {
  transferId: Schema.String,
  reason: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export const Event = Schema.Union([TransferRequested, TransferInitiated, TransferCompleted, TransferReverted, TransferCancelled])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/**
 * The transfer id is taken: a transfer is requested once.
 *
 * @since 0.1.0
 */
export class TransferAlreadyExists extends Schema.TaggedError<TransferAlreadyExists>()("TransferAlreadyExists", {
  transferId: Schema.String,
  status: Status
}) {
  override get message() {
    return `Transfer ${this.transferId} already exists (${this.status})`
  }
}

/**
 * A transfer from an account to itself would move nothing.
 *
 * @since 0.1.0
 */
export class SameAccountTransfer extends Schema.TaggedError<SameAccountTransfer>()("SameAccountTransfer", {
  transferId: Schema.String,
  accountNumber: Schema.String
}) {
  override get message() {
    return `Transfer ${this.transferId} would move money from account ${this.accountNumber} to itself`
  }
}

/**
 * A status change on a transfer that was never requested.
 *
 * @since 0.1.0
 */
export class TransferNotFound extends Schema.TaggedError<TransferNotFound>()("TransferNotFound", {
  attempted: Status
}) {
  override get message() {
    return `No such transfer: it cannot become ${this.attempted} before it is requested`
  }
}

/**
 * A status change the status machine does not allow.
 *
 * @since 0.1.0
 */
export class IllegalTransition extends Schema.TaggedError<IllegalTransition>()("IllegalTransition", {
  transferId: Schema.String,
  from: Status,
  attempted: Status
}) {
  override get message() {
    return `Transfer ${this.transferId} cannot go from ${this.from} to ${this.attempted}`
  }
}

// -------------------------------------------------------------------------------------
// state
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export type State =
  | { readonly status: "none" }
  | {
    readonly status: Status
    readonly transferId: string
    readonly from: string
    readonly to: string
    /** In cents. */
    readonly amount: number
    /** Why it was reverted or cancelled. */
    readonly reason: string | undefined
  }

/** The status each status-changing command asks for. */
const targetOf = {
  MarkInitiated: "initiated",
  MarkCompleted: "completed",
  MarkReverted: "reverted",
  Cancel: "cancelled"
} as const satisfies Record<Exclude<Command["_tag"], "RequestTransfer">, Status>

// -------------------------------------------------------------------------------------
// the aggregate
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export const Transfer = Aggregate.make({
  name: "Transfer",
  command: Command,
  event: Event,
  initialState: { status: "none" } as State,
  decide: (command, state) =>
    Effect.gen(function*() {
      if (command._tag === "RequestTransfer") {
        const { amount, from, to, transferId } = command
        if (state.status !== "none") return yield* new TransferAlreadyExists({ transferId: state.transferId, status: state.status })
        if (from === to) return yield* new SameAccountTransfer({ transferId, accountNumber: from })
        return [new TransferRequested({ transferId, from, to, amount })]
      }
      const attempted = targetOf[command._tag]
      if (state.status === "none") return yield* new TransferNotFound({ attempted })
      const { transferId } = state
      // A repeated step (a process manager retrying) is already done.
      if (state.status === attempted) return []
      if (!transitions[state.status].includes(attempted)) {
        return yield* new IllegalTransition({ transferId, from: state.status, attempted })
      }
      switch (command._tag) {
        case "MarkInitiated":
          return [new TransferInitiated({ transferId })]
        case "MarkCompleted":
          return [new TransferCompleted({ transferId })]
        case "MarkReverted":
          return [new TransferReverted({ transferId, reason: command.reason })]
        case "Cancel":
          return [new TransferCancelled({ transferId, reason: command.reason })]
      }
    }),
  evolve: (state, event): State => {
    if (event._tag === "TransferRequested") {
      const { amount, from, to, transferId } = event
      return { status: "requested", transferId, from, to, amount, reason: undefined }
    }
    // Only a requested transfer changes status (decide sees to it); the guard keeps evolve total.
    if (state.status === "none") return state
    switch (event._tag) {
      case "TransferInitiated":
        return { ...state, status: "initiated" }
      case "TransferCompleted":
        return { ...state, status: "completed" }
      case "TransferReverted":
        return { ...state, status: "reverted", reason: event.reason }
      case "TransferCancelled":
        return { ...state, status: "cancelled", reason: event.reason }
    }
  }
})
