import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { Aggregate } from "@facta/core"
import { AggregateTest } from "@facta/core/testing"
import {
  Account,
  AccountAlreadyOpen,
  AccountNotOpen,
  Command,
  Deposit,
  Deposited,
  Event,
  InsufficientFunds,
  Open,
  Opened,
  Withdraw,
  Withdrawn
} from "./fixtures/Account.ts"

/** What the account should do, written independently of decide/evolve. */
const model = (state: { open: boolean; balance: number }, command: Command) => {
  switch (command._tag) {
    case "Open":
      return state.open ? undefined : { open: true, balance: 0 }
    case "Deposit":
      return state.open ? { open: true, balance: state.balance + command.amount } : undefined
    case "Withdraw":
      return state.open && state.balance >= command.amount ? { open: true, balance: state.balance - command.amount } : undefined
  }
}

describe("Aggregate", () => {
  it.effect("decides events for accepted commands and domain errors for rejected ones", () =>
    Effect.gen(function*() {
      yield* AggregateTest.given(Account).when(new Open({ owner: "Ada" })).thenEvents(new Opened({ owner: "Ada" }))
      yield* AggregateTest.given(Account, new Opened({ owner: "Ada" })).when(new Open({ owner: "Bob" })).thenFails(new AccountAlreadyOpen())
      yield* AggregateTest.given(Account).when(new Deposit({ amount: 5 })).thenFails(new AccountNotOpen())
      const state = yield* AggregateTest.given(Account, new Opened({ owner: "Ada" }), new Deposited({ amount: 10 }))
        .when(new Withdraw({ amount: 10 }))
        .thenEvents(new Withdrawn({ amount: 10 }))
      assert.strictEqual(state.balance, 0)
      yield* AggregateTest.given(Account, new Opened({ owner: "Ada" }), new Deposited({ amount: 10 }))
        .when(new Withdraw({ amount: 11 }))
        .thenFails((error) => error instanceof InsufficientFunds && error.balance === 10 && error.requested === 11)
    }))

  it.effect("the given/when/then helper gives the tags the decided events are stored with on a stream", () =>
    Effect.gen(function*() {
      const Tagged = Aggregate.make({
        ...Account,
        tags: (event, streamId) => event._tag === "Opened" ? [`account:${streamId}`, `owner:${event.owner}`] : [`account:${streamId}`]
      })
      assert.deepStrictEqual(yield* AggregateTest.given(Tagged).when(new Open({ owner: "Ada" })).tags("account-1"), [["account:account-1", "owner:Ada"]])
      const deposit = AggregateTest.given(Tagged, new Opened({ owner: "Ada" })).when(new Deposit({ amount: 3 }))
      assert.deepStrictEqual(yield* deposit.tags("account-2"), [["account:account-2"]])
      assert.deepStrictEqual(yield* AggregateTest.given(Account).when(new Open({ owner: "Ada" })).tags("account-1"), [[]])
      assert.deepStrictEqual(yield* Effect.flip(AggregateTest.given(Tagged).when(new Deposit({ amount: 3 })).tags("account-1")), new AccountNotOpen())
    }))

  it.effect("the given/when/then helper reports a wrong expectation", () =>
    Effect.gen(function*() {
      const scenario = AggregateTest.given(Account, new Opened({ owner: "Ada" })).when(new Deposit({ amount: 3 }))
      const wrongEvents = yield* Effect.exit(scenario.thenEvents(new Deposited({ amount: 4 })))
      assert.isTrue(wrongEvents._tag === "Failure")
      const wrongError = yield* Effect.exit(scenario.thenFails(new AccountNotOpen()))
      assert.isTrue(wrongError._tag === "Failure")
    }))

  it.effect.prop(
    "folding the events decide emits gives the state decide expects, and rejected commands emit nothing",
    [Schema.Array(Command)],
    ([commands]) =>
      Effect.gen(function*() {
        let state = Account.initialState
        let expected = { open: false, balance: 0 }
        for (const command of commands) {
          const outcome = yield* Effect.result(Account.decide(command, state))
          const next = model(expected, command)
          if (next === undefined) {
            assert.isTrue(Result.isFailure(outcome), `${command._tag} should be rejected in ${JSON.stringify(expected)}`)
            continue
          }
          assert.isTrue(Result.isSuccess(outcome), `${command._tag} should be accepted in ${JSON.stringify(expected)}`)
          state = Aggregate.fold(Account, Result.getOrThrow(outcome), state)
          expected = next
          assert.deepStrictEqual({ open: state.open, balance: state.balance }, expected)
        }
      })
  )

  it.prop("evolve is deterministic and leaves its inputs untouched", [Schema.Array(Event)], ([events]) => {
    const before = JSON.stringify(events)
    const first = Aggregate.fold(Account, events)
    const second = Aggregate.fold(Account, events)
    assert.deepStrictEqual(first, second)
    assert.strictEqual(JSON.stringify(events), before)
  })

  it("fold continues from a given state", () => {
    const opened = Aggregate.fold(Account, [new Opened({ owner: "Ada" }), new Deposited({ amount: 7 })])
    assert.deepStrictEqual(Aggregate.fold(Account, [new Withdrawn({ amount: 2 })], opened), { open: true, owner: "Ada", balance: 5 })
  })
})
