import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { Documents, EventStore, InMemory, Processor, Projection, ProjectionStore } from "@facta/core"

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

  it.effect("pages typed documents in id order, naming where the next page starts; a stored document off its schema fails the page", () =>
    Effect.gen(function*() {
      const store = yield* ProjectionStore.ProjectionStore
      const openedAt = new Date("2026-01-02T03:04:05.000Z")
      for (const id of ["c", "a", "b"]) yield* accounts.upsert(id, new AccountView({ owner: id, balance: 1, openedAt }))
      const first = yield* accounts.page({ limit: 2 })
      assert.deepStrictEqual(first.documents.map(({ id }) => id), ["a", "b"])
      assert.instanceOf(first.documents[0]!.document, AccountView)
      assert.strictEqual(first.documents[0]!.document.openedAt.toISOString(), openedAt.toISOString())
      assert.strictEqual(first.next, "b")
      const last = yield* accounts.page({ after: first.next, limit: 2 })
      assert.deepStrictEqual([last.documents.map(({ id }) => id), last.next], [["c"], undefined])
      yield* store.upsert("accounts", "d", { owner: "Eve", balance: "lots" })
      const error = yield* Effect.flip(accounts.page({ after: "c", limit: 2 }))
      assert.strictEqual(error._tag, "DocumentSchemaError")
      assert.strictEqual((yield* Effect.flip(accounts.page({ limit: 0 })))._tag, "InvalidInput")
    }).pipe(Effect.provide(InMemory.projectionStore)))

  it.effect("a page read inside a processor's batch includes the batch's own writes", () =>
    Effect.gen(function*() {
      const seen = documentsSeen()
      const handle = yield* Processor.start(seen.projection)
      yield* EventStore.EventStore.use((store) => store.append("counter-1", [{ type: "Counted", data: {} }, { type: "Counted", data: {} }]))
      yield* handle.whenCaughtUp
      // Each event's page saw the document its own handler wrote just before, in the same batch.
      assert.deepStrictEqual(seen.pages, [["counter-1"], ["counter-1"]])
      assert.deepStrictEqual(yield* seen.counts.get("counter-1"), Option.some({ n: 2 }))
    }).pipe(Effect.scoped, Effect.provide(InMemory.layer)))
})

const documentsSeen = () => {
  const counts = Documents.make("counts", Schema.Struct({ n: Schema.Int }))
  const pages: Array<ReadonlyArray<string>> = []
  const projection = Projection.make({
    name: "counts",
    event: Schema.TaggedStruct("Counted", {}),
    documents: [counts],
    handlers: {
      Counted: ({ streamId }) =>
        Effect.gen(function*() {
          yield* counts.update(streamId, (current) => ({ n: Option.match(current, { onNone: () => 1, onSome: ({ n }) => n + 1 }) }))
          const page = yield* counts.page({ limit: 10 })
          pages.push(page.documents.map(({ id }) => id))
        })
    }
  })
  return { counts, pages, projection }
}
