import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema, Stream } from "effect"
import { Aggregate, CommandHandler, EventStore, InMemory, ProcessManager, Processor, RecordedEvent } from "@facta/core"
import { Account, Withdraw } from "./fixtures/Account.ts"

class RequestPayout extends Schema.TaggedClass<RequestPayout>()("RequestPayout", { account: Schema.String, amount: Schema.Int }) {}
class CompletePayout extends Schema.TaggedClass<CompletePayout>()("CompletePayout", {}) {}
class RejectPayout extends Schema.TaggedClass<RejectPayout>()("RejectPayout", { reason: Schema.String }) {}
class PayoutRequested extends Schema.TaggedClass<PayoutRequested>()("PayoutRequested", { account: Schema.String, amount: Schema.Int }) {}
class PayoutCompleted extends Schema.TaggedClass<PayoutCompleted>()("PayoutCompleted", {}) {}
class PayoutRejected extends Schema.TaggedClass<PayoutRejected>()("PayoutRejected", { reason: Schema.String }) {}
class PayoutAlreadyClosed extends Schema.TaggedError<PayoutAlreadyClosed>()("PayoutAlreadyClosed", {}) {}

type Status = "none" | "requested" | "completed" | "rejected"

const Payout = Aggregate.make({
  name: "Payout",
  command: Schema.Union([RequestPayout, CompletePayout, RejectPayout]),
  event: Schema.Union([PayoutRequested, PayoutCompleted, PayoutRejected]),
  initialState: "none" as Status,
  decide: (command, status) =>
    Effect.gen(function*() {
      if (command._tag === "RequestPayout") return status === "none" ? [new PayoutRequested({ account: command.account, amount: command.amount })] : []
      if (status !== "requested") return yield* new PayoutAlreadyClosed()
      return command._tag === "CompletePayout" ? [new PayoutCompleted()] : [new PayoutRejected({ reason: command.reason })]
    }),
  evolve: (_, event): Status =>
    event._tag === "PayoutRequested" ? "requested" : event._tag === "PayoutCompleted" ? "completed" : "rejected"
})

const accounts = CommandHandler.make(Account)
const payouts = CommandHandler.make(Payout)

const PayoutState = Schema.Struct({ step: Schema.Literals(["started", "paid", "compensated"]), detail: Schema.String })

/** Withdraws the payout from the account; when the account refuses, rejects the payout instead. */
const payoutFlow = ProcessManager.make({
  name: "payouts",
  event: PayoutRequested,
  state: PayoutState,
  initialState: { step: "started", detail: "" },
  processId: (event) => event.streamId,
  handlers: {
    PayoutRequested: (event) =>
      accounts.execute(event.data.account, new Withdraw({ amount: event.data.amount }), { metadata: RecordedEvent.causedBy(event) }).pipe(
        Effect.andThen(payouts.execute(event.streamId, new CompletePayout(), { metadata: RecordedEvent.causedBy(event) })),
        Effect.as({ step: "paid" as const, detail: "" }),
        Effect.catchTags({
          InsufficientFunds: (error) =>
            payouts.execute(event.streamId, new RejectPayout({ reason: error.message }), { metadata: RecordedEvent.causedBy(event) }).pipe(
              Effect.as({ step: "compensated" as const, detail: "insufficient funds" })
            )
        })
      )
  }
})

describe("ProcessManager", () => {
  it.effect("dispatches commands per process, compensates a refused step, and keeps its state", () =>
    Effect.gen(function*() {
      yield* accounts.handle("acc", { _tag: "Open", owner: "Ada" })
      yield* accounts.handle("acc", { _tag: "Deposit", amount: 50 })
      const processors = yield* Processor.startAll([payoutFlow])
      yield* payouts.handle("payout-1", { _tag: "RequestPayout", account: "acc", amount: 30 }, { metadata: { correlationId: "flow-1" } })
      yield* payouts.handle("payout-2", { _tag: "RequestPayout", account: "acc", amount: 30 })
      yield* processors.whenCaughtUp
      assert.strictEqual((yield* payouts.load("payout-1")).state, "completed")
      assert.strictEqual((yield* payouts.load("payout-2")).state, "rejected")
      assert.strictEqual((yield* accounts.load("acc")).state.balance, 20)
      const states = payoutFlow.states
      assert.deepStrictEqual(yield* states.get("payout-1"), Option.some({ step: "paid", detail: "" }))
      assert.deepStrictEqual(yield* states.get("payout-2"), Option.some({ step: "compensated", detail: "insufficient funds" }))
      // The withdrawal carries the payout request's correlation id and names it as its cause.
      const store = yield* EventStore.EventStore
      const request = (yield* Stream.runCollect(store.readStream("payout-1")))[0]!
      const withdrawal = (yield* Stream.runCollect(store.readStream("acc"))).find((event) => event.type === "Withdrawn")!
      assert.strictEqual(withdrawal.metadata.correlationId, "flow-1")
      assert.strictEqual(withdrawal.metadata.causationId, request.id)
    }).pipe(Effect.scoped, Effect.provide(InMemory.layer)))
})
