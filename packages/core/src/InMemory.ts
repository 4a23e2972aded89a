/**
 * Every store in memory: for tests, playgrounds and single-process tools. The semantics are those
 * of the SQL stores (atomic appends, JSON data, transactional read models, compare-and-set
 * checkpoints, snapshots, one processor instance at a time); nothing survives the process.
 *
 * {@link layer} provides them all. Each store also has a layer of its own, for a test that needs
 * only some, or that wraps one: the stores that write inside a transaction join the one
 * {@link transactor} runs, whichever layer provided them.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import * as CheckpointStore from "./CheckpointStore.ts"
import * as EventStore from "./EventStore.ts"
import * as MemoryCheckpointStore from "./internal/memory/checkpointStore.ts"
import * as MemoryEventStore from "./internal/memory/eventStore.ts"
import * as MemoryLease from "./internal/memory/lease.ts"
import * as MemoryParkedEvents from "./internal/memory/parkedEvents.ts"
import * as MemoryProjectionStore from "./internal/memory/projectionStore.ts"
import * as MemorySnapshotStore from "./internal/memory/snapshotStore.ts"
import * as MemoryStatusBoard from "./internal/memory/statusBoard.ts"
import * as MemoryTransactor from "./internal/memory/transactor.ts"
import * as KeyStore from "./KeyStore.ts"
import * as Lease from "./Lease.ts"
import * as ParkedEvents from "./ParkedEvents.ts"
import * as ProjectionStore from "./ProjectionStore.ts"
import * as SnapshotStore from "./SnapshotStore.ts"
import * as StatusBoard from "./StatusBoard.ts"
import * as StreamLifecycle from "./StreamLifecycle.ts"
import * as Transactor from "./Transactor.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type Services =
  | EventStore.EventStore
  | StreamLifecycle.StreamLifecycle
  | ProjectionStore.ProjectionStore
  | CheckpointStore.CheckpointStore
  | SnapshotStore.SnapshotStore
  | Transactor.Transactor
  | Lease.Lease
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard
  | KeyStore.KeyStore

/**
 * The event store: streams, the log, conditional appends. Inside a transaction appends are held
 * until it commits, and other appends wait for it to end.
 *
 * @category layers
 * @since 0.1.0
 */
export const eventStore: Layer.Layer<EventStore.EventStore> = Layer.effect(EventStore.EventStore, MemoryEventStore.make)

/**
 * The event store and its streams' lifecycle (archive, delete, truncation, retention) over the
 * same log. In {@link layer}, a delete also removes the stream's snapshot.
 *
 * @category layers
 * @since 0.1.0
 */
export const eventStoreWithLifecycle: Layer.Layer<EventStore.EventStore | StreamLifecycle.StreamLifecycle> = Layer.effectContext(
  Effect.map(MemoryEventStore.makeWithLifecycle(), ({ lifecycle, store }) =>
    Context.make(EventStore.EventStore, store).pipe(Context.add(StreamLifecycle.StreamLifecycle, lifecycle)))
)

/** The event store, its lifecycle and the snapshot store, sharing what a delete removes. */
const eventsAndSnapshots: Layer.Layer<EventStore.EventStore | StreamLifecycle.StreamLifecycle | SnapshotStore.SnapshotStore> = Layer.effectContext(
  Effect.gen(function*() {
    const snapshots = yield* MemorySnapshotStore.makeWithRemoval
    const { lifecycle, store } = yield* MemoryEventStore.makeWithLifecycle(snapshots.remove)
    return Context.make(EventStore.EventStore, store).pipe(
      Context.add(StreamLifecycle.StreamLifecycle, lifecycle),
      Context.add(SnapshotStore.SnapshotStore, snapshots.store)
    )
  })
)

/**
 * Read models as JSON documents, by projection and generation.
 *
 * @category layers
 * @since 0.1.0
 */
export const projectionStore: Layer.Layer<ProjectionStore.ProjectionStore> = Layer.effect(
  ProjectionStore.ProjectionStore,
  MemoryProjectionStore.make
)

/**
 * Processors' checkpoints, moved by compare-and-set (checked again when a transaction commits).
 *
 * @category layers
 * @since 0.1.0
 */
export const checkpointStore: Layer.Layer<CheckpointStore.CheckpointStore> = Layer.effect(
  CheckpointStore.CheckpointStore,
  MemoryCheckpointStore.make
)

/**
 * Snapshots of aggregate state, as JSON.
 *
 * @category layers
 * @since 0.1.0
 */
export const snapshotStore: Layer.Layer<SnapshotStore.SnapshotStore> = Layer.effect(SnapshotStore.SnapshotStore, MemorySnapshotStore.make)

/**
 * Transactions over the memory stores: one at a time; their writes commit together or not at all.
 *
 * @category layers
 * @since 0.1.0
 */
export const transactor: Layer.Layer<Transactor.Transactor> = Layer.effect(Transactor.Transactor, MemoryTransactor.make)

/**
 * Leases as locks in the process.
 *
 * @category layers
 * @since 0.1.0
 */
export const lease: Layer.Layer<Lease.Lease> = Layer.effect(Lease.Lease, MemoryLease.make)

/**
 * Parked events and their audit.
 *
 * @category layers
 * @since 0.1.0
 */
export const parkedEvents: Layer.Layer<ParkedEvents.ParkedEvents> = Layer.effect(ParkedEvents.ParkedEvents, MemoryParkedEvents.make)

/**
 * The keys of personal data (see `PersonalData`).
 *
 * @category layers
 * @since 0.1.0
 */
export const keyStore: Layer.Layer<KeyStore.KeyStore> = KeyStore.layerMemory

/**
 * The processors' status reports, for this process.
 *
 * @category layers
 * @since 0.1.0
 */
export const statusBoard: Layer.Layer<StatusBoard.StatusBoard> = Layer.effect(StatusBoard.StatusBoard, MemoryStatusBoard.make)

/**
 * Every store above, in one layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Services> = Layer.mergeAll(
  keyStore,
  eventsAndSnapshots,
  projectionStore,
  checkpointStore,
  transactor,
  lease,
  parkedEvents,
  statusBoard
)
