/**
 * Hostile input: what every store refuses (see `InvalidInput`) and what it keeps exactly, with the
 * same outcome on each store. Refused input writes nothing.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Option, Stream } from "effect"
import { CheckpointStore } from "../CheckpointStore.ts"
import { type EventQuery, make as query } from "../EventQuery.ts"
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

/** What a refusal says: its subject, path and reason, the same on every store. */
type Refusal = readonly [subject: string, path: string, reason: string]

/**
 * The refusal an effect fails with. Hostile input is answered at once: a read still running after
 * ten seconds (a stream paging on forever) fails the test, as does any other error or a defect.
 */
const refusalOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.result(Effect.timeout(effect, "10 seconds")), (result): Refusal => {
    if (result._tag === "Success") return assert.fail(`expected InvalidInput, but it was accepted: ${String(result.success)}`)
    const invalid = result.failure as InvalidInput
    assert.strictEqual(invalid._tag, "InvalidInput", `expected InvalidInput, got ${String(result.failure)}`)
    return [invalid.subject, invalid.path, invalid.reason]
  })

const many = (count: number, prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}${i}`)

/**
 * Queries no store accepts: what is wrong, in the query as a whole (at a path under the query) or
 * in one of its items (named in the subject, at a path under the item). Made when a test runs.
 */
const badQueries = (): ReadonlyArray<readonly [what: string, query: unknown, where: string | undefined, path: string, reason: string]> => [
  ["20,000 items", { items: Array.from({ length: 20_000 }, (_, i) => ({ types: [`T${i}`], tags: [`t${i}`] })) }, undefined, ".items", `has 20000 items; at most ${limits.queryItems} are allowed`],
  ["one item too many", { items: Array.from({ length: limits.queryItems + 1 }, () => ({})) }, undefined, ".items", `has ${limits.queryItems + 1} items; at most ${limits.queryItems} are allowed`],
  ["40,000 types in one item", query({ types: many(40_000, "T") }), "item 1", "$.types", `has 40000 types; at most ${limits.typesPerRead} are allowed`],
  ["more tags than an event carries", query({ tags: many(limits.tagsPerEvent + 1, "t") }), "item 1", "$.tags", `has ${limits.tagsPerEvent + 1} tags; at most ${limits.tagsPerEvent} are allowed (no event carries more)`],
  [
    "more types and tags in all than the query size",
    { items: Array.from({ length: 11 }, (_, i) => ({ types: many(limits.typesPerRead, `T${i}-`) })) },
    undefined,
    ".items",
    `has ${11 * limits.typesPerRead} types and tags in all; at most ${limits.querySize} are allowed`
  ],
  ["a query that is null", null, undefined, "", "must be an object with items, not null"],
  ["a query that is a string", "course:c1", undefined, "", "must be an object with items, not a string"],
  ["items that are a string", { items: "course:c1" }, undefined, ".items", "must be an array of query items, not a string"],
  ["an item that is null", { items: [{ tags: ["a"] }, null] }, "item 2", "$", "must be an object with types and tags, not null"],
  ["tags that are a string", { items: [{ tags: "course:c1" }] }, "item 1", "$.tags", "must be an array of strings, not a string"],
  ["types that are a string", { items: [{ types: "CourseDefined" }] }, "item 1", "$.types", "must be an array of strings, not a string"],
  ["a type that is a number", { items: [{ types: ["A", 7] }] }, "type 2 of item 1", "$", "must be a string, not number"],
  ["a tag with NUL", { items: [{}, { tags: ["a\u0000"] }] }, "tag 1 of item 2", "$", "\"a\\u0000\" contains a NUL character (\\u0000)"]
]

/** Read options no store accepts, as every read of the log refuses them: where, and why. */
const badLogOptions = (): ReadonlyArray<readonly [options: unknown, path: string, reason: string]> => [
  [{ types: many(40_000, "T") }, "$.types", `has 40000 types; at most ${limits.typesPerRead} are allowed`],
  [{ types: many(limits.typesPerRead + 1, "T") }, "$.types", `has ${limits.typesPerRead + 1} types; at most ${limits.typesPerRead} are allowed`],
  [{ types: "Deposited" }, "$.types", "must be an array of strings, not a string"],
  [{ segment: { index: 2, count: 2 } }, "$.segment.index", "must be an integer from 0 to 1, not 2"],
  [{ segment: { index: -1, count: 2 } }, "$.segment.index", "must be an integer from 0 to 1, not -1"],
  [{ segment: { index: 0.5, count: 2 } }, "$.segment.index", "must be an integer from 0 to 1, not 0.5"],
  [{ segment: { index: 0, count: 0 } }, "$.segment.count", `must be an integer from 1 to ${limits.segments}, not 0`],
  [{ segment: { index: 0, count: limits.segments + 1 } }, "$.segment.count", `must be an integer from 1 to ${limits.segments}, not ${limits.segments + 1}`],
  [{ segment: null }, "$.segment", "must be an object with index and count, not null"],
  [5, "$", "must be an object, not a number"]
]
const badAfter: ReadonlyArray<readonly [options: unknown, path: string, reason: string]> = [
  [{ after: 5 }, "$.after", "must be a bigint (a position), not a number"],
  [{ after: -1n }, "$.after", "is -1; positions start at 0"]
]
/** Where a query read's marker may stand too: a read by query, an append condition. */
const badMarkers: ReadonlyArray<readonly [options: unknown, path: string, reason: string]> = [
  [{ after: 5 }, "$.after", "must be a bigint (a position) or a consistency marker, not a number"],
  [{ after: -1n }, "$.after", "is -1; positions start at 0"],
  [{ after: { position: 1 } }, "$.after", "is not a consistency marker: its position must be a bigint from 0"],
  [{ after: { position: 1n, snapshot: 7 } }, "$.after", "has a snapshot that is a number, not a string"]
]
const badBatchSizes: ReadonlyArray<readonly [options: unknown, path: string, reason: string]> = [0, -1, Number.NaN, 1.5, 1e12, Number.POSITIVE_INFINITY, "10"]
  .map((batchSize) => [{ batchSize }, "$.batchSize", `must be an integer from 1 to ${limits.batchSize}, not ${typeof batchSize === "string" ? "a string" : batchSize}`] as const)
const badFrom: ReadonlyArray<readonly [options: unknown, path: string, reason: string]> = [0, -5, 1.5, Number.NaN, "1"]
  .map((from) => [{ from }, "$.from", `must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, not ${typeof from === "string" ? "a string" : from}`] as const)

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

    it.effect("queries out of bounds or of the wrong shape get the same InvalidInput from every read, and a refused appendIf writes nothing", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = unique("hostile-query")
        const before = yield* store.head()
        for (const [what, hostile, where, path, reason] of badQueries()) {
          const asQuery = hostile as EventQuery
          const refusal: Refusal = where === undefined ? ["query", `$${path}`, reason] : [`${where} of the query`, path, reason]
          assert.deepStrictEqual(yield* refusalOf(store.readQueryPage(asQuery)), refusal, what)
          assert.deepStrictEqual(yield* refusalOf(Stream.runDrain(store.readQuery(asQuery))), refusal, what)
          const condition: Refusal = where === undefined
            ? ["append condition", `$.failIfEventsMatch${path}`, reason]
            : [`${where} of the append condition`, path, reason]
          assert.deepStrictEqual(
            yield* refusalOf(store.appendIf(streamId, [{ type: "Hostile", data: {} }], { failIfEventsMatch: asQuery })),
            condition,
            what
          )
        }
        const append = (condition: unknown) => store.appendIf(streamId, [{ type: "Hostile", data: {} }], condition as never)
        assert.deepStrictEqual(yield* refusalOf(append(null)), ["append condition", "$", "must be an object with failIfEventsMatch, not null"])
        for (const [options, path, reason] of badMarkers) {
          const condition = { failIfEventsMatch: query({ tags: [unique("t")] }), ...(options as object) }
          assert.deepStrictEqual(yield* refusalOf(append(condition)), ["append condition", path, reason])
        }
        assert.deepStrictEqual(yield* store.readStreamPage(streamId), [])
        assert.strictEqual(yield* store.head(), before, "a refused append wrote nothing")
      }))

    it.effect("read options out of bounds or of the wrong shape get the same InvalidInput from every read", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = unique("hostile-read")
        yield* store.append(streamId, [{ type: "Hostile", data: {} }])
        const logReads: ReadonlyArray<readonly [string, (options: never) => Effect.Effect<unknown, unknown>, ReadonlyArray<"after" | "batchSize">]> = [
          ["readPage", store.readPage, ["after", "batchSize"]],
          ["readAll", (options) => Stream.runDrain(store.readAll(options)), ["after", "batchSize"]],
          ["subscribe", (options) => Stream.runDrain(store.subscribe(options)), ["after", "batchSize"]],
          ["count", store.count, ["after"]],
          ["countCommitted", store.countCommitted, ["after"]],
          ["head", store.head, []]
        ]
        for (const [name, read, takes] of logReads) {
          const cases = [...badLogOptions(), ...(takes.includes("after") ? badAfter : []), ...(takes.includes("batchSize") ? badBatchSizes : [])]
          for (const [options, path, reason] of cases) {
            assert.deepStrictEqual(yield* refusalOf(read(options as never)), ["read options", path, reason], `${name} ${String(path)}`)
          }
          assert.deepStrictEqual(yield* refusalOf(read({ types: ["A", ""] } as never)), ["type 2 of the read options", "$", "is empty"], name)
        }
        for (const [options, path, reason] of [...badMarkers, ...badBatchSizes]) {
          assert.deepStrictEqual(yield* refusalOf(store.readQueryPage(query({}), options as never)), ["read options", path, reason])
          assert.deepStrictEqual(yield* refusalOf(Stream.runDrain(store.readQuery(query({}), options as never))), ["read options", path, reason])
        }
        for (const [options, path, reason] of [...badFrom, ...badBatchSizes]) {
          assert.deepStrictEqual(yield* refusalOf(store.readStreamPage(streamId, options as never)), ["read options", path, reason])
          assert.deepStrictEqual(yield* refusalOf(Stream.runDrain(store.readStream(streamId, options as never))), ["read options", path, reason])
        }
        const listings: ReadonlyArray<readonly [unknown, string, string]> = [
          ...badBatchSizes.map(([options, , reason]) => [{ limit: (options as { batchSize: unknown }).batchSize }, "$.limit", reason] as const),
          [{ prefix: "a\u0000" }, "$.prefix", "\"a\\u0000\" contains a NUL character (\\u0000)"],
          [{ after: "a\uD800" }, "$.after", "\"a\\ud800\" is not well-formed Unicode (a lone surrogate)"],
          [{ prefix: 7 }, "$.prefix", "must be a string, not number"]
        ]
        for (const [options, path, reason] of listings) {
          assert.deepStrictEqual(yield* refusalOf(store.listStreams(options as never)), ["list options", path, reason])
        }
      }))

    it.effect("a query and read options at exactly the limits are accepted and read what they match", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const prefix = unique("bounds")
        const types = many(limits.typesPerRead, `${prefix}-T`)
        const tags = many(limits.tagsPerEvent, `${prefix}:t`)
        const [tag, never] = [`${prefix}:a`, `${prefix}:never`]
        // Two items at their own limits, then items of one tag each that fill the query to its size.
        const fillers = limits.queryItems - 2
        let left = limits.querySize - (types.length + 1) - tags.length - fillers
        const filling = Array.from({ length: fillers }, (_, i) => {
          const count = Math.floor(left / (fillers - i))
          left -= count
          return { types: many(count, `${prefix}-F${i}-`), tags: [never] }
        })
        const bounded = query({ types, tags: [tag] }, { tags }, ...filling)
        assert.strictEqual(bounded.items.length, limits.queryItems)
        assert.strictEqual(bounded.items.reduce((size, item) => size + (item.types?.length ?? 0) + (item.tags?.length ?? 0), 0), limits.querySize)

        const written = yield* store.append(unique("bounds"), [
          { type: types[5]!, data: { n: 1 }, tags: [tag] },
          { type: `${prefix}-Other`, data: { n: 2 }, tags },
          { type: types[5]!, data: { n: 3 } },
          { type: `${prefix}-Other`, data: { n: 4 }, tags: tags.slice(1) }
        ])
        const [first, second, third] = written.events.map((event) => event.id)
        const page = yield* store.readQueryPage(bounded, { batchSize: limits.batchSize })
        assert.deepStrictEqual(page.events.map((event) => event.id), [first, second])
        assert.deepStrictEqual((yield* Stream.runCollect(store.readQuery(bounded))).map((event) => event.id), [first, second])
        yield* store.appendIf(unique("bounds"), [{ type: `${prefix}-Unrelated`, data: {} }], { failIfEventsMatch: bounded, after: page.next })
        const conflict = yield* Effect.flip(store.appendIf(unique("bounds"), [{ type: `${prefix}-Unrelated`, data: {} }], { failIfEventsMatch: bounded }))
        assert.strictEqual(conflict._tag === "AppendConditionFailed" ? conflict.eventId : conflict._tag, first)

        const ofTypes = yield* store.readPage({ types, batchSize: limits.batchSize })
        assert.deepStrictEqual(ofTypes.events.map((event) => event.id), [first, third])
        // Every event is in exactly one of the most segments a read may name.
        const counts = yield* Effect.forEach(
          Array.from({ length: limits.segments }, (_, index) => index),
          (index) => store.count({ types, segment: { index, count: limits.segments } })
        )
        assert.strictEqual(counts.reduce((sum, count) => sum + count, 0), 2)
        const last = { index: limits.segments - 1, count: limits.segments }
        assert.isTrue((yield* store.head({ types, segment: last })) >= 0n)
        const read = yield* store.readStreamPage(written.streamId, { from: Number.MAX_SAFE_INTEGER, batchSize: limits.batchSize })
        assert.deepStrictEqual(read, [])
      }))
  })
