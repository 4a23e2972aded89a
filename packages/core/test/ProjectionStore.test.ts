import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { Documents, InMemory, ProjectionStore } from "@facta/core"

class AccountView extends Schema.Class<AccountView>("AccountView")({
  owner: Schema.String,
  balance: Schema.Int,
  openedAt: Schema.Date
}) {}

const accounts = Documents.make("accounts", AccountView)

describe("ProjectionStore", () => {
  it.effect("upserts, gets, lists in id order and deletes typed documents", () =>
    Effect.gen(function*() {
      const openedAt = new Date("2026-01-02T03:04:05.000Z")
      yield* accounts.upsert("b", new AccountView({ owner: "Bob", balance: 5, openedAt }))
      yield* accounts.upsert("a", new AccountView({ owner: "Ada", balance: 1, openedAt }))
      yield* accounts.upsert("a", new AccountView({ owner: "Ada", balance: 2, openedAt }))
      const ada = yield* accounts.get("a")
      assert.isTrue(Option.isSome(ada))
      const view = Option.getOrThrow(ada)
      assert.instanceOf(view, AccountView)
      assert.strictEqual(view.balance, 2)
      assert.strictEqual(view.openedAt.toISOString(), openedAt.toISOString())
      assert.deepStrictEqual((yield* accounts.list).map(({ document, id }) => [id, document.owner]), [["a", "Ada"], ["b", "Bob"]])
      yield* accounts.delete("a")
      assert.isTrue(Option.isNone(yield* accounts.get("a")))
      assert.isTrue(Option.isNone(yield* Documents.make("other", AccountView).get("b")))
    }).pipe(Effect.provide(InMemory.projectionStore)))

  it.effect("keeps documents as JSON and reports a stored document that no longer matches the schema", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      yield* accounts.upsert("a", new AccountView({ owner: "Ada", balance: 1, openedAt: new Date(0) }))
      assert.deepStrictEqual(Option.getOrThrow(yield* store.get("accounts", "a")), {
        owner: "Ada",
        balance: 1,
        openedAt: "1970-01-01T00:00:00.000Z"
      })
      yield* store.upsert("accounts", "broken", { owner: "Eve", balance: "lots" })
      const error = yield* Effect.flip(accounts.get("broken"))
      assert.strictEqual(error._tag, "DocumentSchemaError")
      assert.include(error.message, "broken")
      assert.include(error.message, "balance")
      const listError = yield* Effect.flip(accounts.list)
      assert.strictEqual(listError._tag, "DocumentSchemaError")
    }).pipe(Effect.provide(InMemory.projectionStore)))
})
