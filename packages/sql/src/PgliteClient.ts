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
 * Why not `@effect/sql-pglite`: its published builds (4.0.0 betas) import
 * `effect/unstable/sql/*` and `effect/unstable/reactivity/*`, which effect 4.1
 * no longer has (they are `effect/sql` and `effect/reactivity` now), so it
 * does not load beside the effect Facta runs on; and it leaves parameter types
 * and result parsing to PGlite's defaults, where the stores need the values
 * `@effect/sql-pg` gives (above) to run unchanged on both.
 *
 * The parts live beside it: `internal/pglite/values.ts` (parameters and
 * results), `errors.ts` (SQLSTATE classification, channel names) and
 * `connection.ts` (the session as an `effect/sql` connection).
 *
 * @since 0.1.0
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite"
import * as PgClient from "@effect/sql-pg/PgClient"
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
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import { commit, PgliteConnection } from "./internal/pglite/connection.ts"
import { toSqlError, validateChannel } from "./internal/pglite/errors.ts"
import { parsers } from "./internal/pglite/values.ts"

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
