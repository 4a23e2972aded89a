/**
 * Facta on a Postgres server, in one line: `Postgres.layer({ url: Redacted.make(...) })` connects
 * through `@effect/sql-pg`, applies the migrations and provides the event, projection,
 * checkpoint and snapshot stores, the `Transactor` and the `Lease` processors need (and the `SqlClient`, for
 * read models of your own in the same transactions). Subscribers are woken by LISTEN/NOTIFY and
 * poll as a fallback.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Redacted } from "effect"
import * as Migrations from "./Migrations.ts"
import * as SqlCheckpointStore from "./SqlCheckpointStore.ts"
import * as SqlEventStore from "./SqlEventStore.ts"
import * as SqlLease from "./SqlLease.ts"
import * as SqlProjectionStore from "./SqlProjectionStore.ts"
import * as SqlSnapshotStore from "./SqlSnapshotStore.ts"
import * as SqlTransactor from "./SqlTransactor.ts"
import type * as Tables from "./Tables.ts"

/**
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions, SqlLease.Options {
  /** The connection URL; kept `Redacted` so it never reaches a log. */
  readonly url: Redacted.Redacted<string>
  /** Pool size. Default 10. */
  readonly maxConnections?: number | undefined
  /** How often subscribers poll when no notification arrives. Default 500ms. */
  readonly pollInterval?: SqlEventStore.Options["pollInterval"]
}

/**
 * The stores and the read-side `Transactor` on the `SqlClient` in context, after the migrations;
 * for a client you build yourself. Add a `Lease` layer to run processors.
 *
 * @since 0.1.0
 */
export const stores = (options?: SqlEventStore.Options) =>
  Layer.mergeAll(
    SqlEventStore.layer(options),
    SqlProjectionStore.layer(options),
    SqlCheckpointStore.layer(options),
    SqlSnapshotStore.layer(options),
    SqlTransactor.layer()
  ).pipe(Layer.provide(Migrations.layer(options)))

/**
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  Layer.unwrap(Effect.map(PgClient.PgClient, (pg) =>
    Layer.merge(stores({ ...options, listen: (channel) => pg.listen(channel) }), SqlLease.layer(options))
  )).pipe(
    Layer.provideMerge(PgClient.layer({ url: options.url, maxConnections: options.maxConnections ?? 10 }))
  )
