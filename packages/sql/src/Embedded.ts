/**
 * Facta embedded in the process on PGlite (Postgres compiled to WebAssembly): no server to run.
 * `Embedded.layer()` keeps everything in memory; `Embedded.layer({ dataDir })` keeps it in a
 * directory. It runs the same SQL as the server layer, with the same guarantees; PGlite is one
 * session, so statements and transactions take turns.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { Lease } from "@facta/core"
import * as PgliteClient from "./PgliteClient.ts"
import * as Postgres from "./Postgres.ts"
import type * as SqlEventStore from "./SqlEventStore.ts"
import type * as Tables from "./Tables.ts"

/**
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions {
  /** Where the database lives; in memory when absent. */
  readonly dataDir?: string | undefined
  /** How often subscribers poll when no notification arrives. Default 500ms. */
  readonly pollInterval?: SqlEventStore.Options["pollInterval"]
}

/**
 * @since 0.1.0
 */
export const layer = (options?: Options) =>
  Layer.unwrap(Effect.map(PgliteClient.PgliteClient, (pglite) =>
    // PGlite is one session, where advisory locks would not exclude anyone: lease in the process.
    Layer.merge(Postgres.stores({ ...options, listen: (channel) => pglite.listen(channel) }), Layer.effect(Lease.Lease, Lease.makeMemory))
  )).pipe(
    Layer.provideMerge(PgliteClient.layer(options?.dataDir === undefined ? {} : { dataDir: options.dataDir }))
  )
