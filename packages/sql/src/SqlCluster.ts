/**
 * Processors' segments placed by Effect Cluster, its runners kept on the application's Postgres
 * and reaching each other over sockets (`NodeClusterSocket` of `@effect/platform-node`, an
 * optional peer dependency to install for this module). Each process is a runner; the cluster
 * moves segments as runners join and leave, and each segment's lease and epoch still decide
 * whether its commits count (see `Placement` in `@facta/core`).
 *
 * ```ts
 * const app = Processor.layer(processors).pipe(
 *   Layer.provide(SqlCluster.layer({ port: 34431 })),
 *   Layer.provide(Postgres.layer({ url }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { Placement } from "@facta/core"
import { Duration, Layer, Option } from "effect"
import { MessageStorage, RunnerAddress, ShardingConfig, SqlRunnerStorage } from "effect/cluster"
import type { SqlClient } from "effect/sql"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** This runner's port; the others connect to it. */
  readonly port: number
  /** The host the others reach this runner at. Default "localhost". */
  readonly host?: string | undefined
  /** The runners' tables are `<prefix>_runners` and `<prefix>_locks`. Default "facta_cluster". */
  readonly prefix?: string | undefined
  /**
   * How old a runner's last heartbeat may be before its shards, and the segments on them, move
   * to the others. Default 6 s (Effect Cluster's own is 35 s); the heartbeat comes every third
   * of it. A segment that moves also waits for its lease to lapse, if it has not already.
   */
  readonly shardLockExpiration?: Duration.Input | undefined
  /** Any other setting of Effect Cluster's sharding. */
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * The `Placement` of a runner of this process. No cluster messages are persisted: Facta sends
 * none (`MessageStorage.layerNoop`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Placement.Placement, unknown, SqlClient.SqlClient> => {
  const expiration = Duration.fromInputUnsafe(options.shardLockExpiration ?? "6 seconds")
  const config: Partial<ShardingConfig.ShardingConfig["Service"]> = {
    runnerAddress: Option.some(RunnerAddress.make(options.host ?? "localhost", options.port)),
    shardLockExpiration: expiration,
    shardLockRefreshInterval: Duration.divideUnsafe(expiration, 3),
    refreshAssignmentsInterval: "500 millis",
    ...options.sharding
  }
  return Placement.cluster().pipe(
    Layer.provide(NodeClusterSocket.layer({ storage: "byo", shardingConfig: config })),
    Layer.provide(MessageStorage.layerNoop),
    Layer.provide(SqlRunnerStorage.layerWith({ prefix: options.prefix ?? "facta_cluster" })),
    Layer.provide(ShardingConfig.layer(config))
  )
}
