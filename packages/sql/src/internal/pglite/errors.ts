/**
 * PGlite's failures as the `SqlError`s `@effect/sql-pg` gives, classified by SQLSTATE; and the
 * channel names LISTEN and NOTIFY accept.
 */
import {
  AuthenticationError,
  AuthorizationError,
  ConnectionError,
  ConstraintError,
  DeadlockError,
  LockTimeoutError,
  SerializationError,
  SqlError,
  type SqlErrorReason,
  SqlSyntaxError,
  StatementTimeoutError,
  UniqueViolation,
  UnknownError
} from "effect/sql/SqlError"

const normalizeConstraint = (constraint: unknown): string => {
  if (typeof constraint !== "string") return "unknown"
  const normalized = constraint.trim()
  return normalized.length === 0 ? "unknown" : normalized
}

/** The SQLSTATE classification of `@effect/sql-pg`. */
const classify = (code: string | undefined, constraint: unknown, props: {
  readonly cause: unknown
  readonly message: string
  readonly operation: string
}): SqlErrorReason => {
  if (code !== undefined) {
    if (code.startsWith("08")) return new ConnectionError(props)
    if (code.startsWith("28")) return new AuthenticationError(props)
    if (code === "42501") return new AuthorizationError(props)
    if (code.startsWith("42")) return new SqlSyntaxError(props)
    if (code === "23505") return new UniqueViolation({ ...props, constraint: normalizeConstraint(constraint) })
    if (code.startsWith("23")) return new ConstraintError(props)
    if (code === "40P01") return new DeadlockError(props)
    if (code === "40001") return new SerializationError(props)
    if (code === "55P03") return new LockTimeoutError(props)
    if (code === "57014") return new StatementTimeoutError(props)
  }
  return new UnknownError(props)
}

const stringField = (cause: unknown, field: string): string | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  const value = (cause as Record<string, unknown>)[field]
  return typeof value === "string" ? value : undefined
}

export const toSqlError = (cause: unknown, message: string, operation: string): SqlError =>
  new SqlError({
    reason: classify(stringField(cause, "code"), stringField(cause, "constraint"), {
      cause,
      message: `PgliteClient: ${message}`,
      operation
    })
  })

const channelEncoder = new TextEncoder()

export const validateChannel = (channel: string, operation: string): SqlError | undefined => {
  const message = channelEncoder.encode(channel).byteLength > 63
    ? "PostgreSQL channel names must not exceed 63 UTF-8 bytes"
    : operation === "listen" && channel.includes("\"")
    ? "PgliteClient cannot listen on channel names containing '\"'"
    : undefined
  return message === undefined
    ? undefined
    : new SqlError({ reason: new UnknownError({ cause: new Error(message), message, operation }) })
}
