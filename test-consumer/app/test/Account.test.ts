// @facta/core/testing as an application uses it.
import { describe, it } from "@effect/vitest"
import { InMemory } from "@facta/core"
import { AggregateTest, EventStoreConformance } from "@facta/core/testing"
import { Account, AccountNotOpen, Deposit, Deposited, Open, Opened } from "../src/Account.js"

describe("Account", () => {
  it.effect("opens an account", () =>
    AggregateTest.given(Account).when(new Open({ owner: "Ada" })).thenEvents(new Opened({ owner: "Ada" })))

  it.effect("deposits into an open account", () =>
    AggregateTest.given(Account, new Opened({ owner: "Ada" }))
      .when(new Deposit({ amount: 5 }))
      .thenEvents(new Deposited({ amount: 5 })))

  it.effect("refuses a deposit into an account that is not open", () =>
    AggregateTest.given(Account).when(new Deposit({ amount: 5 })).thenFails(new AccountNotOpen()))
})

EventStoreConformance.eventStoreConformance("memory", InMemory.eventStore)
