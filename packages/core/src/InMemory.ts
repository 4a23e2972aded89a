/**
 * Every store in memory, in one layer: for tests, playgrounds and single-process tools. The
 * semantics are those of the SQL stores (atomic appends, JSON data, transactional read models,
 * compare-and-set checkpoints, snapshots, one processor instance at a time); nothing survives the process.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import * as CheckpointStore from "./CheckpointStore.ts"
import * as EventStore from "./EventStore.ts"
import * as Lease from "./Lease.ts"
import * as ParkedEvents from "./ParkedEvents.ts"
import * as ProjectionStore from "./ProjectionStore.ts"
import * as SnapshotStore from "./SnapshotStore.ts"
import * as StatusBoard from "./StatusBoard.ts"
import * as Transactor from "./Transactor.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type Services =
  | EventStore.EventStore
  | ProjectionStore.ProjectionStore
  | CheckpointStore.CheckpointStore
  | SnapshotStore.SnapshotStore
  | Transactor.Transactor
  | Lease.Lease
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard

/**
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Services> = Layer.mergeAll(
  EventStore.layerMemory,
  ProjectionStore.layerMemory,
  CheckpointStore.layerMemory,
  SnapshotStore.layerMemory,
  Transactor.layerMemory,
  Lease.layerMemory,
  ParkedEvents.layerMemory,
  StatusBoard.layerMemory
)
