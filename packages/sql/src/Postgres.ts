/**
 * Facta on a Postgres server. `Postgres.layer({ url })` (or `Postgres.layerConfig`, reading
 * `Config`) opens an `@effect/sql-pg` pool, applies the migrations and provides the event,
 * projection, checkpoint and snapshot stores, the `Transactor` and the `Lease` processors need,
 * and the `SqlClient`, for read models of your own in the same transactions.
 * `Postgres.layerFromClient` builds the same on a `PgClient` the application already has, so the
 * application and Facta share one pool. Subscribers are woken by LISTEN/NOTIFY and poll as a
 * fallback.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Duration, Effect, Layer } from "effect"
import { type Migrator, SqlClient, type SqlError } from "effect/sql"
import type { CheckpointStore, EventStore, KeyStore, Lease, ParkedEvents, ProjectionStore, SnapshotStore, StatusBoard, StreamLifecycle, Transactor } from "@facta/core"
import * as Gate from "./Gate.ts"
import * as Migrations from "./Migrations.ts"
import * as SqlCheckpointStore from "./SqlCheckpointStore.ts"
import * as SqlEventStore from "./SqlEventStore.ts"
import * as SqlKeyStore from "./SqlKeyStore.ts"
import * as SqlLease from "./SqlLease.ts"
import * as SqlParkedEvents from "./SqlParkedEvents.ts"
import * as SqlProjectionStore from "./SqlProjectionStore.ts"
import * as SqlSnapshotStore from "./SqlSnapshotStore.ts"
import * as SqlStatusBoard from "./SqlStatusBoard.ts"
import * as SqlStreamLifecycle from "./SqlStreamLifecycle.ts"
import * as SqlTransactor from "./SqlTransactor.ts"
import type * as Retries from "./Retries.ts"
import type * as Tables from "./Tables.ts"

/**
 * Where Facta's tables live and how its stores and leases behave, whatever the client.
 *
 * @category models
 * @since 0.1.0
 */
export interface StoreOptions extends Tables.TableOptions, Retries.RetryOptions, SqlLease.Options, SqlTransactor.Options {
  /** How the keys of personal data are kept at rest (see `SqlKeyStore`). Default: as they are. */
  readonly keyWrapping?: SqlKeyStore.Options["keyWrapping"]
  /** How often subscribers poll when no notification arrives. Default 500ms. */
  readonly pollInterval?: SqlEventStore.Options["pollInterval"]
  /** Group commit of plain appends made at the same moment (see `SqlEventStore.Options`); on by default. */
  readonly groupCommit?: SqlEventStore.Options["groupCommit"]
  /** Single appends by a SQL function rather than a statement (see `SqlEventStore.Options`); off by default. */
  readonly appendByFunction?: SqlEventStore.Options["appendByFunction"]
  /**
   * Warn when a transaction has held the readers' gate this long (see `Gate.watchdog`); `false`
   * turns the watchdog off. Default: after 10 seconds.
   */
  readonly gateWarning?: Gate.WatchdogOptions | false | undefined
}

/**
 * Every `@effect/sql-pg` pool option (`url` or `host`/`port`/`database`/`username`/`password`,
 * `ssl`, `applicationName`, `maxConnections` (default 10), `idleTimeout`, `connectTimeout`, ...)
 * and Facta's own. Keep the URL and password `Redacted`: they then never reach a log.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends PgClient.PgPoolConfig, StoreOptions {}

/**
 * The stores and the `Transactor`, as every store layer provides them.
 *
 * @category models
 * @since 0.1.0
 */
export type Stores =
  | EventStore.EventStore
  | StreamLifecycle.StreamLifecycle
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard
  | ProjectionStore.ProjectionStore
  | CheckpointStore.CheckpointStore
  | SnapshotStore.SnapshotStore
  | Transactor.Transactor
  | KeyStore.KeyStore

/**
 * Why building the stores failed: a bad table option, a failed migration or a database error.
 *
 * @category models
 * @since 0.1.0
 */
export type LayerError = Tables.InvalidTableOptions | Migrator.MigrationError | SqlError.SqlError

/**
 * The stores and the read-side `Transactor` on the `SqlClient` in context, after the migrations;
 * for a client you build yourself. Add a `Lease` layer to run processors; without `listen`,
 * subscribers poll; with `transactions`, read-side transactions are bounded (see `SqlTransactor`).
 *
 * @category layers
 * @since 0.1.0
 */
export const stores = (
  options?: SqlEventStore.Options & SqlKeyStore.Options & { readonly transactions?: SqlTransactor.Options | undefined }
): Layer.Layer<Stores, LayerError, SqlClient.SqlClient> =>
  Layer.mergeAll(
    SqlKeyStore.layer(options),
    SqlEventStore.layer(options),
    SqlStreamLifecycle.layer(options),
    SqlProjectionStore.layer(options),
    SqlCheckpointStore.layer(options),
    SqlSnapshotStore.layer(options),
    SqlParkedEvents.layer(options),
    SqlStatusBoard.layer(options),
    SqlTransactor.layer(options?.transactions, options)
  ).pipe(Layer.provide(Migrations.layer(options)))

/**
 * The stores, the bounded `Transactor` and the expiring `Lease` on the `PgClient` the
 * application already has: one pool for the application and Facta, with LISTEN/NOTIFY wake-ups.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromClient = (options?: StoreOptions): Layer.Layer<Stores | Lease.Lease, LayerError, PgClient.PgClient> =>
  Layer.unwrap(Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    // LISTEN holds a connection for as long as it listens: on a pool of one it would hold the only
    // one and every statement would wait for ever, so there subscribers poll instead.
    const { max } = yield* pg.poolStats
    if (max < 2) {
      yield* Effect.logWarning(
        `A pool of ${max} connection: subscribers and processors poll every ${Duration.format(Duration.fromInputUnsafe(options?.pollInterval ?? "500 millis"))} rather than LISTEN, which would hold the only connection; a pool of 2 or more listens`
      )
    }
    return Layer.mergeAll(
      stores({
        ...options,
        ...(max < 2 ? {} : { listen: (channel: string) => pg.listen(channel) }),
        transactions: { idleInTransactionTimeout: options?.idleInTransactionTimeout, statementTimeout: options?.statementTimeout }
      }),
      SqlLease.layer(options),
      options?.gateWarning === false ? Layer.empty : Layer.effectDiscard(Gate.watchdog({ ...options?.gateWarning, schema: options?.schema, tablePrefix: options?.tablePrefix }))
    ).pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, pg)))
  }))

/**
 * A pool of its own, the stores, the `Transactor` and the `Lease`; the `PgClient` and
 * `SqlClient` stay available to the application.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Stores | Lease.Lease | PgClient.PgClient | SqlClient.SqlClient, LayerError> => {
  // The pool gets the pool's options only; the stores read theirs from the whole.
  const {
    gateWarning: _gateWarning,
    idleInTransactionTimeout: _idleInTransactionTimeout,
    leaseDuration: _leaseDuration,
    pollInterval: _pollInterval,
    renewInterval: _renewInterval,
    retry: _retry,
    retryInterval: _retryInterval,
    schema: _schema,
    statementTimeout: _statementTimeout,
    tablePrefix: _tablePrefix,
    ...client
  } = options
  const store: StoreOptions = options
  return layerFromClient(store).pipe(
    Layer.provideMerge(PgClient.layer({ ...client, maxConnections: client.maxConnections ?? 10 }))
  )
}

/**
 * {@link layer}, configured by `Config`: pass a `Config` per option, or one `Config` of them all.
 *
 * ```ts
 * Postgres.layerConfig({
 *   url: Config.Redacted("DATABASE_URL"),
 *   applicationName: Config.succeed("billing"),
 *   maxConnections: Config.Int("DATABASE_POOL_SIZE").pipe(Config.withDefault(10))
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<Stores | Lease.Lease | PgClient.PgClient | SqlClient.SqlClient, LayerError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(Config.unwrap(config), layer))
