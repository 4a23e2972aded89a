/**
 * Embedded Postgres for Facta: an `effect/sql` `SqlClient` backed by an
 * in-process PGlite instance, so the Postgres stores written for the server
 * (`@effect/sql-pg`) run unchanged with no database server.
 *
 * Statements compile with `@effect/sql-pg`'s own compiler (`PgClient.makeCompiler`),
 * parameters get the types `@effect/sql-pg` would bind them with, and result
 * values and errors come back in the shapes `@effect/sql-pg` produces:
 *
 * - `int8` / `bigint` (and `count(*)`) → `bigint`, exact past 2^53; `int8[]` → `bigint[]`
 * - `json` / `jsonb` → parsed JSON; `numeric` → `string`; `bytea` → `Uint8Array`
 * - `timestamptz` → `Date`; `timestamp` → `Date` read as UTC; `date` → `"YYYY-MM-DD"`
 * - parameters are typed as `@effect/sql-pg` binds them: `boolean` → bool,
 *   `bigint` and integers past int4 → int8, other integers → int4, other
 *   numbers → float8, `Date` → timestamptz, `Uint8Array` → bytea, arrays →
 *   typed arrays, strings untyped (Postgres infers them from the statement),
 *   `PgTypes` parameters (e.g. `PgTypes.jsonb(value)`) as given
 * - `stream` fetches the whole result first: there is no cursor
 * - any database error → `SqlError` whose `reason` is classified from the
 *   SQLSTATE exactly like `@effect/sql-pg` (`23505` → `UniqueViolation`), and
 *   whose `reason.cause` is PGlite's `DatabaseError`, carrying `code`,
 *   `constraint`, `detail`, ... as the server error's cause does.
 *
 * PGlite is a single database session. Every statement outside a transaction
 * and every whole transaction holds one permit of a semaphore, so a
 * transaction never sees statements of other fibers. `interval`, `time` and
 * `timetz` come back as PGlite's text, unlike `@effect/sql-pg`.
 *
 * @since 0.1.0
 */
import { PGlite, type PGliteOptions, type Results } from "@electric-sql/pglite"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgTypes from "@effect/sql-pg/PgTypes"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Reactivity from "effect/reactivity/Reactivity"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Client from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
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
import * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"

/**
 * The runtime type identifier for `PgliteClient`.
 *
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId: TypeId = "~@facta/sql/PgliteClient"

/**
 * The type-level identifier for `PgliteClient`.
 *
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = "~@facta/sql/PgliteClient"

/**
 * A `SqlClient` running on an embedded PGlite database, with the JSON and
 * `LISTEN`/`NOTIFY` helpers of `PgClient` and access to the PGlite instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgliteClient extends Client.SqlClient {
  readonly [TypeId]: TypeId
  /**
   * The PGlite instance. Calling it directly bypasses the session lock, so a
   * call can land inside another fiber's transaction: prefer `withPglite`.
   */
  readonly pglite: PGlite
  /**
   * Runs `f` with the PGlite instance while holding the session: inside the
   * current transaction when called from one, otherwise exclusively.
   */
  readonly withPglite: <A>(f: (pglite: PGlite) => Promise<A>) => Effect.Effect<A, SqlError>
  /**
   * A `jsonb` parameter, compiled exactly like `PgClient.json`. Passing
   * `PgTypes.jsonb(value)` as a plain parameter works on both clients too.
   */
  readonly json: (value: unknown) => Statement.Fragment
  /**
   * Registers a listener on `channel` (case-sensitive, as with `PgClient`)
   * and returns a queue of notification payloads once `LISTEN` has run.
   * Closing the scope runs `UNLISTEN` when it was the last listener on the
   * channel, and shuts the queue down. Notifications arrive when the
   * notifying transaction commits. Channel names containing `"` are refused.
   */
  readonly listen: (channel: string) => Effect.Effect<Queue.Dequeue<string>, SqlError, Scope.Scope>
  /**
   * Sends `pg_notify(channel, payload)`. Inside a transaction it is part of
   * that transaction and is delivered when it commits.
   */
  readonly notify: (channel: string, payload: string) => Effect.Effect<void, SqlError>
}

/**
 * The service tag for `PgliteClient`.
 *
 * @since 0.1.0
 * @category services
 */
export const PgliteClient = Context.Service<PgliteClient>("@facta/sql/PgliteClient")

/**
 * Options for `make` and `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgliteClientConfig {
  /** Directory holding the database files; in memory when omitted. */
  readonly dataDir?: string | undefined
  /** PGlite's `relaxedDurability`: do not wait for the file system after each query. */
  readonly relaxedDurability?: boolean | undefined
  /** Further PGlite options, such as `extensions`; `dataDir`, `parsers` and `serializers` are set by the client. */
  readonly pgliteOptions?: Omit<PGliteOptions, "dataDir" | "parsers" | "serializers"> | undefined
  /** As in `PgClientConfig`. */
  readonly transformResultNames?: ((str: string) => string) | undefined
  /** As in `PgClientConfig`. */
  readonly transformQueryNames?: ((str: string) => string) | undefined
  /** As in `PgClientConfig`. */
  readonly transformJson?: boolean | undefined
  /** Extra attributes for the statement and transaction spans. */
  readonly spanAttributes?: Record<string, unknown> | undefined
}

// -----------------------------------------------------------------------------
// Types
// -----------------------------------------------------------------------------

const OID = PgTypes.OID

/**
 * Result parsers that make PGlite's text values match what `@effect/sql-pg`
 * decodes from the binary protocol. Array types reuse these element parsers.
 */
const parsers: Record<number, (text: string) => unknown> = {
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

const bindParameter = (value: unknown): Bound => {
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

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

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

const toSqlError = (cause: unknown, message: string, operation: string): SqlError =>
  new SqlError({
    reason: classify(stringField(cause, "code"), stringField(cause, "constraint"), {
      cause,
      message: `PgliteClient: ${message}`,
      operation
    })
  })

const channelEncoder = new TextEncoder()

const validateChannel = (channel: string, operation: string): SqlError | undefined => {
  const message = channelEncoder.encode(channel).byteLength > 63
    ? "PostgreSQL channel names must not exceed 63 UTF-8 bytes"
    : operation === "listen" && channel.includes("\"")
    ? "PgliteClient cannot listen on channel names containing '\"'"
    : undefined
  return message === undefined
    ? undefined
    : new SqlError({ reason: new UnknownError({ cause: new Error(message), message, operation }) })
}

// -----------------------------------------------------------------------------
// Connection
// -----------------------------------------------------------------------------

type TransformRows = (<A extends object>(row: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

class PgliteConnection implements Connection {
  readonly pglite: PGlite

  constructor(pglite: PGlite) {
    this.pglite = pglite
  }

  /**
   * One statement through PGlite's extended protocol. Uninterruptible: PGlite
   * cannot cancel a statement, and the session must not be handed to the next
   * fiber while one is still running.
   */
  run(
    sql: string,
    params: ReadonlyArray<unknown>,
    rowMode: "object" | "array"
  ): Effect.Effect<Results<Record<string, unknown>>, SqlError> {
    return Effect.uninterruptible(Effect.tryPromise({
      try: () => {
        const paramTypes: Array<number> = new Array(params.length)
        const values: Array<unknown> = new Array(params.length)
        for (let index = 0; index < params.length; index++) {
          const bound = bindParameter(params[index])
          paramTypes[index] = bound.oid
          values[index] = bound.value
        }
        return this.pglite.query<Record<string, unknown>>(sql, values, { rowMode, paramTypes })
      },
      catch: (cause) => toSqlError(cause, "Query failed", "query")
    }))
  }

  rows(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    const rows = Effect.map(this.run(sql, params, "object"), (result) => result.rows)
    return transformRows ? Effect.map(rows, transformRows) : rows
  }

  execute(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return this.rows(sql, params, transformRows)
  }
  executeRaw(sql: string, params: ReadonlyArray<unknown>) {
    return this.run(sql, params, "object")
  }
  /** PGlite has no cursor API here: the stream is the fully fetched result. */
  executeStream(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return Stream.fromArrayEffect(this.rows(sql, params, transformRows))
  }
  executeValues(sql: string, params: ReadonlyArray<unknown>) {
    return Effect.map(this.run(sql, params, "array"), (result) => result.rows as unknown as ReadonlyArray<ReadonlyArray<unknown>>)
  }
  executeValuesUnprepared(sql: string, params: ReadonlyArray<unknown>) {
    return this.executeValues(sql, params)
  }
  executeUnprepared(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    return this.rows(sql, params, transformRows)
  }
}

/** As in `@effect/sql-pg`: Postgres answers `ROLLBACK` to `COMMIT` in an aborted transaction. */
const commit = (conn: Connection): Effect.Effect<void, SqlError> =>
  Effect.flatMap(
    conn.executeRaw("COMMIT", []) as Effect.Effect<Results, SqlError>,
    (result) =>
      result.command === "ROLLBACK"
        ? Effect.fail(
          new SqlError({
            reason: new UnknownError({
              cause: new Error("COMMIT rolled back an aborted transaction"),
              message: "PgliteClient: COMMIT rolled back an aborted transaction",
              operation: "commit"
            })
          })
        )
        : Effect.void
  )

const PgJson = Statement.custom<Statement.Custom<"PgJson", unknown>>("PgJson")

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/** Opens the database, and closes it when the scope closes. */
const open = (options: PgliteClientConfig) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        PGlite.create({
          ...options.pgliteOptions,
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
          ...(options.relaxedDurability === undefined ? {} : { relaxedDurability: options.relaxedDurability }),
          parsers
        }),
      catch: (cause) =>
        new SqlError({
          reason: new ConnectionError({ cause, message: "PgliteClient: Failed to open PGlite", operation: "connect" })
        })
    }),
    (pglite) =>
      Effect.tryPromise(() => pglite.close()).pipe(
        Effect.ignore({ log: "Warn", message: "PgliteClient: Failed to close PGlite" })
      )
  )

/** A queue of the payloads notified on `channel`, listening until the scope closes. */
const listenOn = (
  withPglite: <A>(f: (pglite: PGlite) => Promise<A>) => Effect.Effect<A, SqlError>,
  channel: string
): Effect.Effect<Queue.Dequeue<string>, SqlError, Scope.Scope> => {
  const invalid = validateChannel(channel, "listen")
  if (invalid !== undefined) return Effect.fail(invalid)
  return Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const queue = yield* Queue.unbounded<string>()
      const onPayload = (payload: string) => {
        Queue.offerUnsafe(queue, payload)
      }
      yield* Effect.acquireRelease(
        restore(withPglite((db) => db.listen(`"${channel}"`, onPayload))).pipe(
          Effect.tapCause(() => Queue.shutdown(queue))
        ),
        // PGlite's own unlisten function would send the channel unquoted, which fails for a
        // schema-qualified name ("schema.table"): unlisten by the quoted name ourselves.
        () =>
          withPglite((db) => db.unlisten(`"${channel}"`, onPayload)).pipe(
            Effect.ignore({ log: "Warn", message: "PgliteClient: UNLISTEN failed" }),
            Effect.andThen(Queue.shutdown(queue))
          )
      )
      return queue as Queue.Dequeue<string>
    })
  )
}

/**
 * Opens a PGlite database (in memory unless `dataDir` is given), closes it
 * when the scope closes, and returns a `PgliteClient` over it.
 *
 * Plain statements each hold the session for their duration; a transaction
 * (`withTransaction`, or `reserve`) holds it from `BEGIN` until it ends.
 * Nested `withTransaction` calls use savepoints. Work that waits on a fiber
 * that is outside the transaction but needs the database deadlocks, as with
 * any single-connection client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(
  options: PgliteClientConfig = {}
): Effect.fn.Return<PgliteClient, SqlError, Scope.Scope | Reactivity.Reactivity> {
  const pglite = yield* open(options)

  const connection = new PgliteConnection(pglite)
  const semaphore = yield* Semaphore.make(1)
  const lease: Effect.Effect<Connection, never, Scope.Scope> = Effect.uninterruptibleMask((restore) =>
    Effect.as(restore(semaphore.takeScoped(1)), connection)
  )

  const transformRows = options.transformResultNames
    ? Statement.defaultTransforms(options.transformResultNames, options.transformJson).array
    : undefined

  const client = yield* Client.make({
    acquirer: lease,
    borrower: (f) => semaphore.withPermit(f(connection)),
    transactionAcquirer: lease,
    compiler: PgClient.makeCompiler(options.transformQueryNames, options.transformJson),
    driver: "pglite",
    commit,
    // Postgres ends the transaction itself when COMMIT fails; this only
    // matters if it ever did not.
    onCommitFailure: (conn) =>
      pglite.isInTransaction() ? Effect.asVoid(conn.executeUnprepared("ROLLBACK", [], undefined)) : Effect.void,
    isTransaction: () => pglite.isInTransaction(),
    releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
    spanAttributes: [
      ...(options.spanAttributes ? Object.entries(options.spanAttributes) : []),
      ["db.system.name", "postgresql"],
      ["db.namespace", "postgres"],
      ["server.address", options.dataDir ?? "pglite:memory"]
    ],
    transformRows
  })

  const withPglite = <A>(f: (pglite: PGlite) => Promise<A>): Effect.Effect<A, SqlError> => {
    const run = Effect.uninterruptible(Effect.tryPromise({
      try: () => f(pglite),
      catch: (cause) => toSqlError(cause, "PGlite call failed", "pglite")
    }))
    return Effect.flatMap(
      Effect.serviceOption(client.transactionService),
      Option.match({ onNone: () => semaphore.withPermit(run), onSome: () => run })
    )
  }

  const notify = (channel: string, payload: string): Effect.Effect<void, SqlError> => {
    const invalid = validateChannel(channel, "notify")
    return invalid !== undefined
      ? Effect.fail(invalid)
      : Effect.asVoid(client`SELECT pg_notify(${channel}, ${payload})`.raw)
  }

  return Object.assign(client, {
    [TypeId]: TypeId as TypeId,
    pglite,
    withPglite,
    json: (value: unknown) => Statement.fragment([PgJson(value, undefined, undefined)]),
    listen: (channel: string) => listenOn(withPglite, channel),
    notify
  })
})

/**
 * Provides both `PgliteClient` and `SqlClient` from an acquisition effect.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFrom = <E, R>(
  acquire: Effect.Effect<PgliteClient, E, R>
): Layer.Layer<PgliteClient | Client.SqlClient, E, Exclude<R, Scope.Scope | Reactivity.Reactivity>> =>
  Layer.effectContext(
    Effect.map(acquire, (client) =>
      Context.make(PgliteClient, client).pipe(
        Context.add(Client.SqlClient, client)
      ))
  ).pipe(Layer.provide(Reactivity.layer)) as any

/**
 * A layer opening a PGlite database and providing it as `PgliteClient` and
 * `SqlClient`. The database closes when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: PgliteClientConfig = {}
): Layer.Layer<PgliteClient | Client.SqlClient, SqlError> => layerFrom(make(options))
