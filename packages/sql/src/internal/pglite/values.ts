/**
 * Values between JavaScript and PGlite, as `@effect/sql-pg` maps them: the type each parameter
 * is bound with, and result parsers that turn PGlite's text into what the server client decodes.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes"

const OID = PgTypes.OID

/**
 * Result parsers that make PGlite's text values match what `@effect/sql-pg`
 * decodes from the binary protocol. Array types reuse these element parsers.
 */
export const parsers: Record<number, (text: string) => unknown> = {
  [OID.int8]: (text) => BigInt(text),
  [OID.date]: (text) => text,
  [OID.timestamptz]: (text) => isInfinity(text) ? new Date(Number.NaN) : new Date(text),
  [OID.timestamp]: (text) => isInfinity(text) ? new Date(Number.NaN) : new Date(`${text}Z`)
}

const isInfinity = (text: string): boolean => text === "infinity" || text === "-infinity"

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

interface Bound {
  readonly oid: number
  readonly value: unknown
}

const encodeJson = (value: unknown): string => {
  const text = JSON.stringify(value)
  if (text === undefined) throw new TypeError("Value cannot be serialised as JSON")
  return text
}

/** The parameter type `@effect/sql-pg` infers for a scalar; `0` lets Postgres decide. */
const bindScalar = (value: unknown): Bound => {
  if (PgTypes.isParameter(value)) {
    if (value.value === null || value.value === undefined) return { oid: value.oid, value: null }
    return value.oid === OID.json || value.oid === OID.jsonb
      ? { oid: value.oid, value: encodeJson(value.value) }
      : { oid: value.oid, value: value.value }
  }
  if (value === null || value === undefined) return { oid: 0, value: null }
  switch (typeof value) {
    case "boolean":
      return { oid: OID.bool, value }
    case "bigint":
      return { oid: OID.int8, value }
    case "number":
      if (Number.isInteger(value)) {
        if (value >= INT32_MIN && value <= INT32_MAX) return { oid: OID.int4, value }
        if (Number.isSafeInteger(value)) return { oid: OID.int8, value: BigInt(value) }
      }
      return { oid: OID.float8, value }
    case "string":
      return { oid: 0, value }
  }
  if (value instanceof Date) return { oid: OID.timestamptz, value }
  if (value instanceof Uint8Array) return { oid: OID.bytea, value }
  if (value instanceof Int8Array) {
    return { oid: OID.bytea, value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) }
  }
  throw new TypeError(`Cannot infer a PostgreSQL type for ${String(value)}`)
}

export const bindParameter = (value: unknown): Bound => {
  if (!Array.isArray(value)) return bindScalar(value)
  if (value.length === 0) return { oid: 0, value: "{}" }
  let elementOid: number | undefined
  const values: Array<unknown> = new Array(value.length)
  for (let index = 0; index < value.length; index++) {
    const element = value[index]
    if (Array.isArray(element)) throw new TypeError("Nested array parameters are not supported")
    const bound = bindScalar(element)
    let oid = bound.oid
    if (oid === 0) {
      if (bound.value === null) {
        values[index] = null
        continue
      }
      oid = OID.text
    }
    if (elementOid === undefined) elementOid = oid
    else if (elementOid !== oid) throw new TypeError("Array parameter elements must have the same inferred OID")
    values[index] = bound.value
  }
  if (elementOid === undefined) throw new TypeError("Cannot infer the type of an array containing only null values")
  const arrayOid = PgTypes.arrayOidFor(elementOid)
  if (arrayOid === undefined) throw new TypeError(`No array type known for element OID ${elementOid}`)
  return { oid: arrayOid, value: values }
}
