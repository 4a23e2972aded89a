/**
 * The bank as several processes on one Postgres: commands run in any process (optimistic
 * versions keep them right), and the processors' segments are placed by Effect Cluster, each
 * process a runner reached over a socket. The cluster says where a segment runs; its lease and
 * epoch, checked in every batch's transaction, say whether a commit counts.
 *
 * @since 0.1.0
 */
import { Processor } from "@facta/core"
import { SqlCluster } from "@facta/sql/cluster"
import { Layer } from "effect"
import * as Projections from "./Projections.ts"
import * as TransferFlow from "./TransferFlow.ts"

/**
 * The bank's processors when it runs as several processes: the views in 4 segments each (a view
 * is written from one stream, so its segments never share a document); the transfer saga in one,
 * since a process manager's state spans streams.
 *
 * @since 0.1.0
 */
export const processors = [
  TransferFlow.transferFlow,
  { ...Projections.accounts, segments: 4 },
  { ...Projections.transfers, segments: 4 }
] as const

/**
 * Placement by Effect Cluster for a runner listening on `port` on loopback. The runners find each
 * other in the table `<prefix>_runners` of the same database; a dead runner's segments move once
 * its heartbeat is 4 s old.
 *
 * @since 0.1.0
 */
export const placement = (options: { readonly port: number; readonly prefix: string }) =>
  SqlCluster.layer({ port: options.port, prefix: options.prefix, shardLockExpiration: "4 seconds" })

/**
 * The processors of one process of the bank, placed by the cluster.
 *
 * @since 0.1.0
 */
export const layer = (options: { readonly port: number; readonly prefix: string }) =>
  Processor.layer(processors).pipe(Layer.provide(placement(options)))
