/**
 * Facta embedded in the process on PGlite (Postgres compiled to WebAssembly): no server to run.
 * `Embedded.layer()` keeps everything in memory; `Embedded.layer({ dataDir })` keeps it in a
 * directory, and `Embedded.layerConfig` reads the options from `Config`. It runs the same SQL as
 * the server layer, with the same guarantees; PGlite is one session, so statements and
 * transactions take turns.
 *
 * @since 0.1.0
 */
import { Config, Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { InMemory, type Lease } from "@facta/core"
import * as PgliteClient from "./PgliteClient.ts"
import * as Postgres from "./Postgres.ts"
import type * as SqlEventStore from "./SqlEventStore.ts"
import type * as SqlKeyStore from "./SqlKeyStore.ts"
import type * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions {
  /** Where the database lives; in memory when absent. */
  readonly dataDir?: string | undefined
  /** PGlite's `relaxedDurability`: do not wait for the file system after each query. */
  readonly relaxedDurability?: boolean | undefined
  /** How often subscribers poll when no notification arrives. Default 500ms. */
  readonly pollInterval?: SqlEventStore.Options["pollInterval"]
  /** Group commit of plain appends made at the same moment (see `SqlEventStore.Options`); on by default. */
  readonly groupCommit?: SqlEventStore.Options["groupCommit"]
  /** How the keys of personal data are kept at rest (see `SqlKeyStore`). Default: as they are. */
  readonly keyWrapping?: SqlKeyStore.Options["keyWrapping"]
}

/**
 * The stores, the `Transactor` and an in-process `Lease` on PGlite; the `PgliteClient` and
 * `SqlClient` stay available to the application.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Options
): Layer.Layer<Postgres.Stores | Lease.Lease | PgliteClient.PgliteClient | SqlClient.SqlClient, Postgres.LayerError> =>
  Layer.unwrap(Effect.map(PgliteClient.PgliteClient, (pglite) =>
    // PGlite runs in this process alone: a lock in the process is the lease.
    Layer.merge(Postgres.stores({ ...options, listen: (channel) => pglite.listen(channel), appendByFunction: true }), InMemory.lease)
  )).pipe(
    Layer.provideMerge(PgliteClient.layer({
      ...(options?.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options?.relaxedDurability === undefined ? {} : { relaxedDurability: options.relaxedDurability })
    }))
  )

/**
 * {@link layer}, configured by `Config`, e.g. `Embedded.layerConfig({ dataDir: Config.String("DATA_DIR") })`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Wrap<Options>
): Layer.Layer<Postgres.Stores | Lease.Lease | PgliteClient.PgliteClient | SqlClient.SqlClient, Postgres.LayerError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(Config.unwrap(config), layer))
