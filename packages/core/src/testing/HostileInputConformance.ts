/**
 * Hostile input: what every store refuses (see `InvalidInput`) and what it keeps exactly, with the
 * same outcome on each store. Refused input writes nothing.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { CheckpointStore } from "../CheckpointStore.ts"
import { EventStore } from "../EventStore.ts"
import { type InvalidInput, limits } from "../InvalidInput.ts"
import { ProjectionStore } from "../ProjectionStore.ts"
import { SnapshotStore } from "../SnapshotStore.ts"

/**
 * The services the suite runs on.
 *
 * @category models
 * @since 0.1.0
 */
export type Services = EventStore | ProjectionStore | CheckpointStore | SnapshotStore

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** Ids no store can keep faithfully: Postgres refuses NUL and turns a lone surrogate into U+FFFD. */
const badIds = (maxLength: number): ReadonlyArray<readonly [string, string]> => [
  ["", "is empty"],
  ["t\uD800", "lone surrogate"],
  ["t\uDBFF", "lone surrogate"],
  ["\uDC00t", "lone surrogate"],
  ["a\u0000b", "NUL"],
  ["x".repeat(maxLength + 1), "characters long"]
]
const badStreamIds = badIds(limits.streamIdLength)
const badKeys = badIds(limits.keyLength)

/** The longest key in bytes: random three-byte characters, which do not compress in an index. */
const worstKey = () => Array.from({ length: limits.keyLength }, () => String.fromCharCode(0x4e00 + Math.floor(Math.random() * 0x5000))).join("")

const nested = (levels: number): unknown => levels === 0 ? 1 : [nested(levels - 1)]

/** Event data, with the JSON path and a word of the reason every store must give. */
const badData: ReadonlyArray<readonly [string, unknown, string, string]> = [
  ["NUL in a string", { title: "a\u0000b" }, "$.title", "NUL"],
  ["NUL in a key", { ["k\u0000"]: 1 }, "$[\"k\\u0000\"]", "NUL"],
  ["a lone surrogate in a string", { list: ["ok", "t\uD800"] }, "$.list[1]", "lone surrogate"],
  ["a lone surrogate in a key", { outer: { ["\uDBFF"]: 1 } }, "$.outer[\"\\udbff\"]", "lone surrogate"],
  ["a __proto__ key", JSON.parse("{\"a\":{\"__proto__\":{\"x\":1}}}"), "$.a.__proto__", "__proto__"],
  ["NaN", { n: Number.NaN }, "$.n", "not a JSON number"],
  ["Infinity", { n: Number.POSITIVE_INFINITY }, "$.n", "not a JSON number"],
  ["a bigint", { n: 1n }, "$.n", "bigint"],
  ["a Map", { m: new Map([["a", 1]]) }, "$.m", "Map"],
  ["a function", { f: () => 1 }, "$.f", "function"],
  [`nesting past ${limits.jsonDepth} levels`, { deep: nested(limits.jsonDepth) }, `$.deep${"[0]".repeat(limits.jsonDepth - 1)}`, "levels deep"],
  ["more than the size limit", { text: "x".repeat(limits.jsonLength) }, "$", "longer than"]
]

/** Valid, if unusual, JSON that every store keeps exactly as given. */
const oddButValid = {
  separators: "\u2028\u2029",
  escapes: "quote \" backslash \\ newline \n tab \t",
  astral: "\uD83D\uDE00 ᚠ 𝄞",
  replacement: "\uFFFD",
  "": "an empty key",
  "a.b[c]": "a key with punctuation",
  constructor: "a key named constructor",
  numbers: [0, -1.5, 1e300, 2 ** 53 + 2, 5e-324],
  nothing: null,
  deep: nested(limits.jsonDepth - 1)
}

const refusedWith = (error: unknown, path: string, reason: string): InvalidInput => {
  const invalid = error as InvalidInput
  assert.strictEqual(invalid._tag, "InvalidInput", `expected InvalidInput, got ${String(error)}`)
  assert.strictEqual(invalid.path, path)
  assert.include(invalid.reason, reason)
  return invalid
}

/**
 * Registers the hostile-input suite for the stores `storeLayer` provides.
 *
 * @category testing
 * @since 0.1.0
 */
export const hostileInputConformance = <E>(name: string, storeLayer: Layer.Layer<Services, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`Hostile input: ${name}`, (it) => {
    it.effect("stream ids no store keeps faithfully are refused for appends and reads, and nothing is written", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const before = yield* store.head()
        for (const [id, reason] of badStreamIds) {
          const refused = refusedWith(yield* Effect.flip(store.append(id, [{ type: "Hostile", data: {} }])), "$", reason)
          assert.strictEqual(refused.subject, "stream id")
          refusedWith(yield* Effect.flip(store.readStreamPage(id)), "$", reason)
        }
        assert.strictEqual(yield* store.head(), before, "a refused append wrote nothing")
      }))

    it.effect("unusual but valid stream ids are kept apart and read back as written", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const prefix = unique("odd")
        const ids = ["t\uFFFD", "t\uD83D\uDE00", " ", "ᚠ/b:c", "\u2028", "tab\t", "'; DROP TABLE x; --", "é", "e\u0301"].map((id) =>
          `${prefix}${id}`
        )
        ids.push("y".repeat(limits.streamIdLength - prefix.length))
        for (const [index, id] of ids.entries()) {
          yield* store.append(id, [{ type: "Odd", data: { index } }], { expectedVersion: "noStream" })
        }
        for (const [index, id] of ids.entries()) {
          const read = yield* store.readStreamPage(id)
          assert.deepStrictEqual(read.map((event) => [event.streamId, event.data]), [[id, { index }]])
        }
      }))

    it.effect("event data no store keeps faithfully is refused, naming the event and the JSON path", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = unique("hostile-data")
        for (const [what, data, path, reason] of badData) {
          const refused = refusedWith(yield* Effect.flip(store.append(streamId, [{ type: "Hostile", data }])), path, reason)
          assert.include(refused.subject, `data of event 1 of 1 for stream "${streamId}"`, what)
        }
        assert.deepStrictEqual(yield* store.readStreamPage(streamId), [])
      }))

    it.effect("a batch with one refused event writes none of it; metadata, types and ids are checked too", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = unique("hostile-batch")
        const good = { type: "Fine", data: { ok: true } }
        const batch = refusedWith(yield* Effect.flip(store.append(streamId, [good, { type: "Bad", data: { x: "\u0000" } }])), "$.x", "NUL")
        assert.include(batch.subject, "data of event 2 of 2")
        const metadata = refusedWith(yield* Effect.flip(store.append(streamId, [{ ...good, metadata: { ["\uD800"]: 1 } }])), "$[\"\\ud800\"]", "lone surrogate")
        assert.include(metadata.subject, "metadata of event 1 of 1")
        const type = refusedWith(yield* Effect.flip(store.append(streamId, [good, { type: "T\u0000", data: {} }])), "$", "NUL")
        assert.include(type.subject, "type of event 2 of 2")
        const id = refusedWith(yield* Effect.flip(store.append(streamId, [{ ...good, id: "not-a-uuid" }])), "$", "not a UUID")
        assert.include(id.subject, "id of event 1 of 1")
        assert.deepStrictEqual(yield* store.readStreamPage(streamId), [])
      }))

    it.effect("valid but unusual JSON is stored and read back exactly", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = unique("odd-json")
        yield* store.append(streamId, [{ type: "Odd", data: oddButValid, metadata: { note: "\u2028\uD83D\uDE00" } }])
        const [read] = yield* store.readStreamPage(streamId)
        assert.deepStrictEqual(read?.data, oddButValid)
        assert.strictEqual(read?.metadata["note"], "\u2028\uD83D\uDE00")
      }))

    it.effect("documents: bad projection names, ids and documents are refused, and a refused batch writes nothing", () =>
      Effect.gen(function*() {
        const store = yield* ProjectionStore
        const projection = unique("hostile-docs")
        for (const [id, reason] of badKeys) {
          refusedWith(yield* Effect.flip(store.upsert(projection, id, { ok: true })), "$", reason)
          refusedWith(yield* Effect.flip(store.get(projection, id)), "$", reason)
          refusedWith(yield* Effect.flip(store.list(id)), "$", reason)
        }
        for (const [, data, path, reason] of badData) {
          const refused = refusedWith(yield* Effect.flip(store.upsert(projection, "d", data)), path, reason)
          assert.include(refused.subject, `document "d" of projection "${projection}"`)
        }
        refusedWith(
          yield* Effect.flip(store.upsertMany(projection, [{ id: "fine", document: { ok: true } }, { id: "bad", document: { x: "\u0000" } }])),
          "$.x",
          "NUL"
        )
        assert.deepStrictEqual(yield* store.list(projection), [])
        yield* store.upsert(projection, "t\uFFFD", oddButValid)
        assert.deepStrictEqual(Option.getOrUndefined(yield* store.get(projection, "t\uFFFD")), oddButValid)
        // The longest name and id, in the characters that take the most bytes, fit every store.
        const [name, id] = [worstKey(), worstKey()]
        yield* store.upsert(name, id, { ok: true })
        assert.deepStrictEqual(yield* store.list(name), [{ id, document: { ok: true } }])
      }))

    it.effect("checkpoints and snapshots: bad names, stream ids and states are refused", () =>
      Effect.gen(function*() {
        const checkpoints = yield* CheckpointStore
        const snapshots = yield* SnapshotStore
        for (const [id, reason] of badKeys) {
          refusedWith(yield* Effect.flip(checkpoints.get(id)), "$", reason)
          refusedWith(yield* Effect.flip(checkpoints.set(id, 0n, 1n)), "$", reason)
        }
        for (const [id, reason] of badStreamIds) {
          refusedWith(yield* Effect.flip(snapshots.load(id)), "$", reason)
          refusedWith(yield* Effect.flip(snapshots.save({ streamId: id, schemaVersion: 1, version: 1, state: {} })), "$", reason)
        }
        const longest = worstKey()
        yield* checkpoints.set(longest, 0n, 7n)
        assert.strictEqual(yield* checkpoints.get(longest), 7n)
        const streamId = unique("hostile-snapshot")
        for (const [, state, path, reason] of badData) {
          refusedWith(yield* Effect.flip(snapshots.save({ streamId, schemaVersion: 1, version: 1, state })), path, reason)
        }
        assert.isTrue(Option.isNone(yield* snapshots.load(streamId)))
        yield* snapshots.save({ streamId, schemaVersion: 1, version: 1, state: oddButValid })
        assert.deepStrictEqual(Option.getOrUndefined(yield* snapshots.load(streamId))?.state, oddButValid)
      }))
  })
