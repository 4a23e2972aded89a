/**
 * The checks every store's input passes before any store sees it: ids, tags, queries, conditions,
 * read and list options, and appended events, against the limits `InvalidInput` documents. Each
 * answers the first thing wrong, as an `InvalidInput` naming where it is, or undefined.
 */
import { isMarkerType } from "../ClosedStreams.ts"
import { checkId, checkJson, InvalidInput, limits } from "../InvalidInput.ts"
import type { UnsavedEvent } from "../RecordedEvent.ts"

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The index of the first of the ids that is refused, or -1. */
const firstRefused = (ids: ReadonlyArray<unknown>, maxLength: number): number => {
  for (let i = 0; i < ids.length; i++) {
    if (checkId("", ids[i], maxLength) !== undefined) return i
  }
  return -1
}

/** The first of the ids that is refused, or undefined; `subject` names the id at an index. */
const checkIds = (ids: ReadonlyArray<unknown>, subject: (index: number) => string, maxLength: number): InvalidInput | undefined => {
  const refused = firstRefused(ids, maxLength)
  return refused < 0 ? undefined : checkId(subject(refused), ids[refused], maxLength)
}

const checkTags = (which: () => string, tags: ReadonlyArray<string> | undefined): InvalidInput | undefined => {
  if (tags === undefined) return undefined
  if (!Array.isArray(tags)) return new InvalidInput({ subject: `tags of ${which()}`, path: "$", reason: "must be an array of strings" })
  if (tags.length > limits.tagsPerEvent) {
    return new InvalidInput({ subject: `tags of ${which()}`, path: "$", reason: `${tags.length} tags; at most ${limits.tagsPerEvent} are allowed` })
  }
  return checkIds(tags, (i) => `tag ${i + 1} of ${which()}`, limits.keyLength)
}

/** What a value is, for a message: `null`, `a string`, `an array`. */
const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value === "undefined" ? "undefined" : `a ${typeof value}`

const refuse = (subject: string, path: string, reason: string) => new InvalidInput({ subject, path, reason })

/** Why a number is refused: not an integer from `min` to `max`; undefined when it is one. */
const integerProblem = (value: unknown, min: number, max: number): string | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? undefined
    : `must be an integer from ${min} to ${max}, not ${typeof value === "number" ? value : kindOf(value)}`

/** Why a position to read after (or a query read's marker) is refused, or undefined (for none too). */
const afterProblem = (after: unknown, markers = false): string | undefined => {
  if (after === undefined) return undefined
  if (markers && typeof after === "object" && after !== null) {
    const { position, snapshot } = after as { readonly position?: unknown; readonly snapshot?: unknown }
    if (snapshot !== undefined && typeof snapshot !== "string") return `has a snapshot that is ${kindOf(snapshot)}, not a string`
    return typeof position === "bigint" && position >= 0n ? undefined : `is not a consistency marker: its position must be a bigint from 0`
  }
  if (typeof after !== "bigint") return `must be a bigint (a position)${markers ? " or a consistency marker" : ""}, not ${kindOf(after)}`
  return after < 0n ? `is ${after}; positions start at 0` : undefined
}

/** Why a list of types or tags is refused (not an array, longer than `max`), or undefined. */
const listProblem = (list: unknown, what: "types" | "tags", max: number): string | undefined => {
  if (!Array.isArray(list)) return `must be an array of strings, not ${kindOf(list)}`
  if (list.length <= max) return undefined
  return `has ${list.length} ${what}; at most ${max} are allowed${what === "tags" ? " (no event carries more)" : ""}`
}

/**
 * The first thing wrong with a query (its shape, its size, then each type and tag), or undefined.
 * `name` is what the query is to the caller ("query", "append condition"); `root` is where it is
 * in what the caller gave. The sizes are checked before any SQL is built: a statement cannot bind
 * more than 32,767 values, and thousands of items overflow the stack building it.
 */
export const checkQuery = (name: string, root: string, query: unknown): InvalidInput | undefined => {
  if (typeof query !== "object" || query === null) return refuse(name, root, `must be an object with items, not ${kindOf(query)}`)
  const given: unknown = (query as { readonly items?: unknown }).items
  if (!Array.isArray(given)) return refuse(name, `${root}.items`, `must be an array of query items, not ${kindOf(given)}`)
  const items = given as ReadonlyArray<unknown>
  if (items.length > limits.queryItems) return refuse(name, `${root}.items`, `has ${items.length} items; at most ${limits.queryItems} are allowed`)
  let size = 0
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      return refuse(`item ${i + 1} of the ${name}`, "$", `must be an object with types and tags, not ${kindOf(item)}`)
    }
    const { tags, types } = item as { readonly types?: unknown; readonly tags?: unknown }
    const typesProblem = types === undefined ? undefined : listProblem(types, "types", limits.typesPerRead)
    if (typesProblem !== undefined) return refuse(`item ${i + 1} of the ${name}`, "$.types", typesProblem)
    const tagsProblem = tags === undefined ? undefined : listProblem(tags, "tags", limits.tagsPerEvent)
    if (tagsProblem !== undefined) return refuse(`item ${i + 1} of the ${name}`, "$.tags", tagsProblem)
    size += (types as ReadonlyArray<unknown> | undefined)?.length ?? 0
    size += (tags as ReadonlyArray<unknown> | undefined)?.length ?? 0
  }
  if (size > limits.querySize) return refuse(name, `${root}.items`, `has ${size} types and tags in all; at most ${limits.querySize} are allowed`)
  for (let i = 0; i < items.length; i++) {
    // Arrays or absent: checked above.
    const { tags, types } = items[i] as { readonly types?: ReadonlyArray<unknown>; readonly tags?: ReadonlyArray<unknown> }
    if (types !== undefined) {
      const type = firstRefused(types, limits.streamIdLength)
      if (type >= 0) return checkId(`type ${type + 1} of item ${i + 1} of the ${name}`, types[type], limits.streamIdLength)
    }
    if (tags !== undefined) {
      const tag = firstRefused(tags, limits.keyLength)
      if (tag >= 0) return checkId(`tag ${tag + 1} of item ${i + 1} of the ${name}`, tags[tag], limits.keyLength)
    }
  }
  return undefined
}

/** The first thing wrong with an append condition, or undefined. */
export const checkCondition = (condition: unknown): InvalidInput | undefined => {
  const name = "append condition"
  if (typeof condition !== "object" || condition === null) return refuse(name, "$", `must be an object with failIfEventsMatch, not ${kindOf(condition)}`)
  const { after, failIfEventsMatch } = condition as { readonly after?: unknown; readonly failIfEventsMatch?: unknown }
  const problem = afterProblem(after, true)
  return problem !== undefined ? refuse(name, "$.after", problem) : checkQuery(name, "$.failIfEventsMatch", failIfEventsMatch)
}

/** The first thing wrong with a read's options (see `EventStore.checkReadOptions`), or undefined. */
export const checkReadOptions = (name: string, options: unknown, markers = false): InvalidInput | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) return refuse(name, "$", `must be an object, not ${kindOf(options)}`)
  const { after, batchSize, from, segment, types } = options as {
    readonly after?: unknown
    readonly from?: unknown
    readonly batchSize?: unknown
    readonly types?: unknown
    readonly segment?: unknown
  }
  const problem = afterProblem(after, markers)
  if (problem !== undefined) return refuse(name, "$.after", problem)
  const fromProblem = from === undefined ? undefined : integerProblem(from, 1, Number.MAX_SAFE_INTEGER)
  if (fromProblem !== undefined) return refuse(name, "$.from", fromProblem)
  const batchProblem = batchSize === undefined ? undefined : integerProblem(batchSize, 1, limits.batchSize)
  if (batchProblem !== undefined) return refuse(name, "$.batchSize", batchProblem)
  if (segment !== undefined) {
    if (typeof segment !== "object" || segment === null) return refuse(name, "$.segment", `must be an object with index and count, not ${kindOf(segment)}`)
    const { count, index } = segment as { readonly index?: unknown; readonly count?: unknown }
    const countProblem = integerProblem(count, 1, limits.segments)
    if (countProblem !== undefined) return refuse(name, "$.segment.count", countProblem)
    const indexProblem = integerProblem(index, 0, Number(count) - 1)
    if (indexProblem !== undefined) return refuse(name, "$.segment.index", indexProblem)
  }
  if (types === undefined) return undefined
  const typesProblem = listProblem(types, "types", limits.typesPerRead)
  if (typesProblem !== undefined) return refuse(name, "$.types", typesProblem)
  return checkIds(types as ReadonlyArray<unknown>, (i) => `type ${i + 1} of the ${name}`, limits.streamIdLength)
}

/** The first thing wrong with `listStreams`' options, or undefined. */
export const checkListOptions = (options: unknown): InvalidInput | undefined => {
  const name = "list options"
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) return refuse(name, "$", `must be an object, not ${kindOf(options)}`)
  const { after, limit, prefix } = options as { readonly prefix?: unknown; readonly after?: unknown; readonly limit?: unknown }
  const limitProblem = limit === undefined ? undefined : integerProblem(limit, 1, limits.batchSize)
  if (limitProblem !== undefined) return refuse(name, "$.limit", limitProblem)
  // Stream ids that sort or start the listing; empty ones are no bound at all.
  const invalidPrefix = prefix === undefined || prefix === "" ? undefined : checkId(name, prefix, limits.streamIdLength)
  if (invalidPrefix !== undefined) return refuse(name, "$.prefix", invalidPrefix.reason)
  const invalidAfter = after === undefined || after === "" ? undefined : checkId(name, after, limits.streamIdLength)
  return invalidAfter === undefined ? undefined : refuse(name, "$.after", invalidAfter.reason)
}

/** The first thing wrong with an append's input (see `InvalidInput`), or undefined. */
export const checkAppend = (streamId: string, events: ReadonlyArray<UnsavedEvent>): InvalidInput | undefined => {
  const invalidId = checkId("stream id", streamId, limits.streamIdLength)
  if (invalidId !== undefined) return invalidId
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    // The subjects are made only for an error: most events pass.
    const which = () => `event ${i + 1} of ${events.length} for stream ${JSON.stringify(streamId)}`
    const invalidType = checkId(() => `type of ${which()}`, event.type, limits.streamIdLength)
    if (invalidType !== undefined) return invalidType
    if (isMarkerType(event.type)) {
      return new InvalidInput({ subject: `type of ${which()}`, path: "$", reason: `"${event.type}" is reserved for the markers of archived and deleted streams` })
    }
    if (event.id != null && (typeof event.id !== "string" || !uuid.test(event.id))) {
      return new InvalidInput({ subject: `id of ${which()}`, path: "$", reason: `${JSON.stringify(event.id)} is not a UUID` })
    }
    const invalidTags = checkTags(which, event.tags)
    if (invalidTags !== undefined) return invalidTags
    const invalid = checkJson(() => `data of ${which()} (${JSON.stringify(event.type)})`, event.data) ??
      (event.metadata === undefined ? undefined : checkJson(() => `metadata of ${which()} (${JSON.stringify(event.type)})`, event.metadata))
    if (invalid !== undefined) return invalid
  }
  return undefined
}
