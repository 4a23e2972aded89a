/**
 * The behaviour every {@link ProjectionStore} implementation must show. Tests use fresh projection
 * names, so they can share one database with other tests.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import * as ProjectionStore from "../ProjectionStore.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/**
 * Registers the conformance suite for the store that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const projectionStoreConformance = <E>(name: string, storeLayer: Layer.Layer<ProjectionStore.ProjectionStore, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`ProjectionStore conformance: ${name}`, (it) => {
    it.effect("upserts, gets, overwrites and deletes documents by projection and id", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const [accounts, others] = [unique("accounts"), unique("others")]
        yield* store.upsert(accounts, "a-1", { owner: "Ada", balance: 10 })
        yield* store.upsert(others, "a-1", { unrelated: true })
        assert.deepStrictEqual(yield* store.get(accounts, "a-1"), Option.some({ owner: "Ada", balance: 10 }))
        yield* store.upsert(accounts, "a-1", { owner: "Ada", balance: 12 })
        assert.deepStrictEqual(yield* store.get(accounts, "a-1"), Option.some({ owner: "Ada", balance: 12 }))
        yield* store.delete(accounts, "a-1")
        assert.isTrue(Option.isNone(yield* store.get(accounts, "a-1")))
        assert.deepStrictEqual(yield* store.get(others, "a-1"), Option.some({ unrelated: true }))
        yield* store.delete(accounts, "never-existed")
      }))

    it.effect("lists a projection's documents ordered by id", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const projection = unique("listed")
        for (const id of ["b", "c", "a"]) yield* store.upsert(projection, id, { id })
        assert.deepStrictEqual(yield* store.list(projection), [
          { id: "a", document: { id: "a" } },
          { id: "b", document: { id: "b" } },
          { id: "c", document: { id: "c" } }
        ])
        assert.deepStrictEqual(yield* store.list(unique("empty")), [])
      }))

    it.effect("lists a page at a time, ordered by id as list orders them, each page naming where the next starts", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const [projection, other] = [unique("paged"), unique("paged-other")]
        // By UTF-8 bytes "\uffff" comes before "😀" (a surrogate pair), though not by UTF-16 code units.
        const ids = ["b", "a", "a b", "\uffff", "😀", "c", "B"]
        for (const id of ids) yield* store.upsert(projection, id, { id })
        yield* store.upsert(other, "a0", { id: "a0" })
        const ordered = ["B", "a", "a b", "b", "c", "\uffff", "😀"]
        assert.deepStrictEqual((yield* store.list(projection)).map(({ id }) => id), ordered)
        const pages: Array<ReadonlyArray<string>> = []
        let after: string | undefined = undefined
        do {
          const page: ProjectionStore.DocumentPage = yield* store.listPage(projection, { after, limit: 3 })
          pages.push(page.documents.map(({ id }) => id))
          for (const { document, id } of page.documents) assert.deepStrictEqual(document, { id })
          after = page.next
        } while (after !== undefined)
        assert.deepStrictEqual(pages, [["B", "a", "a b"], ["b", "c", "\uffff"], ["😀"]])
        // A page that ends exactly at the last document names no next page.
        assert.deepStrictEqual(yield* store.listPage(projection, { after: "b", limit: 3 }), {
          documents: [{ id: "c", document: { id: "c" } }, { id: "\uffff", document: { id: "\uffff" } }, { id: "😀", document: { id: "😀" } }],
          next: undefined
        })
        // A cursor need not be a stored id.
        assert.deepStrictEqual((yield* store.listPage(projection, { after: "a c", limit: 1 })).documents.map(({ id }) => id), ["b"])
        assert.deepStrictEqual(yield* store.listPage(unique("empty"), { limit: 10 }), { documents: [], next: undefined })
      }))

    it.effect("refuses a page limit outside 1 to limits.batchSize, or a cursor no id can be, with InvalidInput", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const projection = unique("paged-refused")
        for (const limit of [0, -1, 1.5, Number.NaN, 100_001]) {
          const error = yield* Effect.flip(store.listPage(projection, { limit }))
          assert.strictEqual(error._tag, "InvalidInput")
          if (error._tag === "InvalidInput") assert.strictEqual(error.path, "$.limit")
        }
        const error = yield* Effect.flip(store.listPage(projection, { after: "a\u0000", limit: 1 }))
        assert.strictEqual(error._tag, "InvalidInput")
        if (error._tag === "InvalidInput") assert.strictEqual(error.path, "$.after")
      }))

    it.effect("clears one projection's documents and leaves the others", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const [cleared, kept] = [unique("cleared"), unique("kept")]
        yield* store.upsert(cleared, "a", { n: 1 })
        yield* store.upsert(cleared, "b", { n: 2 })
        yield* store.upsert(kept, "a", { n: 3 })
        yield* store.clear(cleared)
        assert.deepStrictEqual(yield* store.list(cleared), [])
        assert.deepStrictEqual(yield* store.list(kept), [{ id: "a", document: { n: 3 } }])
      }))

    it.effect("keeps ids and JSON documents verbatim", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const projection = unique(`it's "odd"; --`)
        const id = `ünï ✓ 😀 ' " ; ${"x".repeat(200)}`
        const document = { text: "quotes ' \" ; -- \\ ✓ 😀", list: [1, 2.5, null, true, { deep: [] }], big: "9007199254740993" }
        yield* store.upsert(projection, id, document)
        assert.deepStrictEqual(yield* store.get(projection, id), Option.some(document))
        assert.deepStrictEqual(yield* store.list(projection), [{ id, document }])
      }))

    it.effect("reads, writes and deletes many documents at once", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const [projection, other] = [unique("many"), unique("many-other")]
        const odd = `it's "odd"; -- ✓`
        yield* store.upsert(projection, "kept", { n: 0 })
        yield* store.upsert(other, "a", { n: -1 })
        yield* store.upsertMany(projection, [
          { id: "a", document: { n: 1 } },
          { id: odd, document: { text: odd } },
          { id: "a", document: { n: 2 } },
          { id: "kept", document: { n: 3 } }
        ])
        const found = yield* store.getMany(projection, ["a", odd, "missing", "kept"])
        assert.deepStrictEqual(
          [...found].sort(([a], [b]) => a < b ? -1 : 1),
          [["a", { n: 2 }], [odd, { text: odd }], ["kept", { n: 3 }]]
        )
        assert.strictEqual((yield* store.getMany(projection, [])).size, 0)
        yield* store.upsertMany(projection, [])
        yield* store.deleteMany(projection, ["a", odd, "missing"])
        yield* store.deleteMany(projection, [])
        assert.deepStrictEqual(yield* store.list(projection), [{ id: "kept", document: { n: 3 } }])
        assert.deepStrictEqual(yield* store.list(other), [{ id: "a", document: { n: -1 } }])
      }))

    it.effect("writes none of many documents when one is not JSON (InvalidInput)", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const projection = unique("many-not-json")
        const error = yield* Effect.flip(store.upsertMany(projection, [{ id: "a", document: { n: 1 } }, { id: "b", document: { n: 1n } }]))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.deepStrictEqual(yield* store.list(projection), [])
      }))

    it.effect("fails with InvalidInput on a document that is not JSON", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const projection = unique("not-json")
        const error = yield* Effect.flip(store.upsert(projection, "a", { amount: 1n }))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.isTrue(Option.isNone(yield* store.get(projection, "a")))
      }))
    it.effect("keeps generations apart; readers see the live one, which a switch moves for every named projection", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore.ProjectionStore
        const [first, second] = [unique("generations"), unique("generations")]
        yield* store.upsert(first, "a", { v: 0 })
        yield* store.upsertMany(first, [{ id: "a", document: { v: 1 } }, { id: "b", document: { v: 1 } }], 1)
        yield* store.upsert(second, "a", { v: 1 }, 1)
        assert.strictEqual(yield* store.liveGeneration(first), 0)
        assert.deepStrictEqual(yield* store.list(first), [{ id: "a", document: { v: 0 } }])
        assert.deepStrictEqual(yield* store.get(first, "b"), Option.none())
        assert.deepStrictEqual(yield* store.get(first, "b", 1), Option.some({ v: 1 }))
        yield* store.switchGeneration([first, second], 1)
        assert.strictEqual(yield* store.liveGeneration(first), 1)
        assert.strictEqual(yield* store.liveGeneration(second), 1)
        assert.deepStrictEqual(yield* store.list(first), [{ id: "a", document: { v: 1 } }, { id: "b", document: { v: 1 } }])
        assert.deepStrictEqual([...(yield* store.getMany(second, ["a"]))], [["a", { v: 1 }]])
        // Writes without a generation go to the live one; the old one is still there until cleared.
        yield* store.upsert(first, "c", { v: 1 })
        yield* store.delete(first, "a")
        assert.deepStrictEqual((yield* store.list(first)).map(({ id }) => id), ["b", "c"])
        assert.deepStrictEqual(yield* store.list(first, 0), [{ id: "a", document: { v: 0 } }])
        yield* store.clear(first, 0)
        assert.deepStrictEqual(yield* store.list(first, 0), [])
        assert.deepStrictEqual((yield* store.list(first)).map(({ id }) => id), ["b", "c"])
      }))
  })
