/**
 * What every store accepts, checked in one place before anything is written, so memory, PGlite
 * and a Postgres server give the same answer to the same input.
 *
 * - **Ids**: non-empty, well-formed Unicode (no lone surrogate), no NUL character. Stream ids and
 *   event types have at most {@link limits}`.streamIdLength` characters (the SQL stores index an
 *   md5 of them); projection names, document ids and processor names at most
 *   {@link limits}`.keyLength` (the SQL stores index them as they are, and a Postgres btree entry
 *   holds about 2.7 kB).
 * - **JSON** (event data and metadata, documents, snapshot states): `null`, booleans, finite
 *   numbers, strings, arrays and plain objects; strings and keys well-formed and NUL-free; no
 *   `__proto__` key; at most {@link limits}`.jsonDepth` levels deep and about
 *   {@link limits}`.jsonLength` characters of JSON text. Values with `toJSON` (a `Date`) are stored
 *   as what it returns; object properties that are `undefined` are left out, as `JSON.stringify`
 *   does.
 * - **Queries** (`readQuery`, `readQueryPage`, an append condition): an object whose `items` is an
 *   array of at most {@link limits}`.queryItems` objects; an item's `types` and `tags`, when given,
 *   are arrays of ids, at most {@link limits}`.typesPerRead` types and {@link limits}`.tagsPerEvent`
 *   tags (no event carries more), and the whole query names at most {@link limits}`.querySize`
 *   types and tags in all. A decision's items of any type name every event type it knows, so a
 *   decision may know up to {@link limits}`.typesPerRead` types.
 * - **Read options**: `types` as in a query item (a processor's types too, checked when it
 *   starts); `after` a `bigint` of at least 0; `batchSize` (and `listStreams`' `limit`) an integer
 *   from 1 to {@link limits}`.batchSize`; `from` a safe integer from 1; a `segment`'s `count` an
 *   integer from 1 to {@link limits}`.segments` and its `index` one from 0 to `count - 1`;
 *   `listStreams`' `prefix` and `after` stream ids, or empty.
 *
 * Anything else fails with {@link InvalidInput}, naming what was refused and the path to it,
 * before the store is asked: a query too large for a statement would otherwise fail as a store
 * error on one store and not on another, or overflow the stack building it. Postgres would refuse
 * NUL with a bare "query failed", and store a lone surrogate as U+FFFD, so two distinct ids would
 * land in one stream.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category constants
 * @since 0.1.0
 */
export const limits = {
  /** Characters (UTF-16 code units) in a stream id or an event type. */
  streamIdLength: 16_384,
  /** Characters (UTF-16 code units) in a projection name, a document id or a processor name. */
  keyLength: 256,
  /** Nesting levels of a JSON value: a scalar is 0, `[1]` is 1. */
  jsonDepth: 100,
  /** Characters of JSON text in one value (strings counted by their length, plus quotes). */
  jsonLength: 4 * 1024 * 1024,
  /**
   * Tags on one event (each a key: at most `keyLength` characters), and so in one query item:
   * no event could match more.
   */
  tagsPerEvent: 64,
  /** Items in one query. */
  queryItems: 100,
  /**
   * Event types one read names: a query item's `types`, or the `types` of `readAll`, `readPage`,
   * `count`, `countCommitted`, `subscribe` and `head` (a processor's event types).
   */
  typesPerRead: 1_000,
  /** Types and tags of all the items of one query, together. */
  querySize: 10_000,
  /** Events in one page of a read (its `batchSize`), or streams in one page of `listStreams`. */
  batchSize: 100_000,
  /** Segments a log is read in: a segment's `count`. */
  segments: 1_024
} as const

/**
 * Input no store accepts. `subject` says what it was (`stream id`, `data of event 1 ("Deposited")
 * of stream "account-7"`), `path` where inside it (`$.owner`; `$` for the value itself).
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  subject: Schema.String,
  path: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid ${this.subject}${this.path === "$" ? "" : ` at ${this.path}`}: ${this.reason}`
  }
}

/**
 * What a check is about, for its error: a string, or a function that makes it only when the
 * check fails (appends check every event, and most pass).
 *
 * @category models
 * @since 0.1.0
 */
export type Subject = string | (() => string)

const subjectOf = (subject: Subject) => typeof subject === "string" ? subject : subject()

/** `String.prototype.isWellFormed` (ES2024, Node 20): no lone surrogate. */
const isWellFormed = (value: string) => (value as unknown as { isWellFormed(): boolean }).isWellFormed()

/** Why a string is refused, or undefined. */
const stringProblem = (value: string): string | undefined => {
  if (value.includes("\u0000")) return "contains a NUL character (\\u0000)"
  if (!isWellFormed(value)) return "is not well-formed Unicode (a lone surrogate)"
  return undefined
}

/** Quotes a string for a message, escaping what would not print. */
const show = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)

/**
 * Checks an id of at most `maxLength` characters: undefined when it is accepted.
 *
 * @category validation
 * @since 0.1.0
 */
export const checkId = (subject: Subject, id: unknown, maxLength: number): InvalidInput | undefined => {
  const problem = idProblem(id, maxLength)
  return problem === undefined ? undefined : new InvalidInput({ subject: subjectOf(subject), path: "$", reason: problem })
}

/** Why an id is refused, or undefined; allocates nothing for one that is accepted (most are). */
const idProblem = (id: unknown, maxLength: number): string | undefined => {
  if (typeof id !== "string") return `must be a string, not ${id === null ? "null" : typeof id}`
  if (id.length === 0) return "is empty"
  if (id.length > maxLength) return `is ${id.length} characters long; at most ${maxLength} are allowed`
  const problem = stringProblem(id)
  return problem === undefined ? undefined : `${show(id)} ${problem}`
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const pathOf = (parent: string, key: string | number) =>
  typeof key === "number" ? `${parent}[${key}]` : identifier.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`

const isPlainObject = (value: object) => {
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/**
 * Checks a JSON value: undefined when it is accepted. `undefined` itself stands for `null`.
 *
 * @category validation
 * @since 0.1.0
 */
export const checkJson = (subject: Subject, value: unknown): InvalidInput | undefined => {
  let length = 0
  const refuse = (path: string, reason: string) => new InvalidInput({ subject: subjectOf(subject), path, reason })
  const walk = (value: unknown, path: string, depth: number): InvalidInput | undefined => {
    if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
      value = (value as { toJSON: () => unknown }).toJSON()
    }
    switch (typeof value) {
      case "undefined":
        length += 4
        return undefined
      case "boolean":
        length += 5
        return undefined
      case "number":
        if (!Number.isFinite(value)) return refuse(path, `${value} is not a JSON number`)
        length += 8
        return undefined
      case "string": {
        length += value.length + 2
        const problem = stringProblem(value)
        return problem === undefined ? undefined : refuse(path, `the string ${show(value)} ${problem}`)
      }
      case "object": {
        if (value === null) {
          length += 4
          return undefined
        }
        if (depth >= limits.jsonDepth) return refuse(path, `is nested more than ${limits.jsonDepth} levels deep`)
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const found = walk(value[i], pathOf(path, i), depth + 1)
            if (found !== undefined) return found
          }
          length += value.length + 2
        } else {
          if (!isPlainObject(value)) return refuse(path, `a ${value.constructor?.name ?? "non-plain"} object is not JSON`)
          for (const key of Object.keys(value)) {
            const child = (value as Record<string, unknown>)[key]
            if (child === undefined) continue
            const keyPath = pathOf(path, key)
            if (key === "__proto__") return refuse(keyPath, "the key \"__proto__\" is not stored faithfully")
            const problem = stringProblem(key)
            if (problem !== undefined) return refuse(keyPath, `the key ${show(key)} ${problem}`)
            length += key.length + 4
            const found = walk(child, keyPath, depth + 1)
            if (found !== undefined) return found
          }
          length += 2
        }
        return length > limits.jsonLength
          ? refuse(path, `is longer than ${limits.jsonLength} characters of JSON`)
          : undefined
      }
      default:
        return refuse(path, `a ${typeof value} is not JSON`)
    }
  }
  const found = walk(value, "$", 0)
  if (found !== undefined) return found
  return length > limits.jsonLength ? refuse("$", `is longer than ${limits.jsonLength} characters of JSON`) : undefined
}
