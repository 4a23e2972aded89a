/**
 * @facta/core: event sourcing and CQRS on Effect, without a database dependency.
 *
 * @module @facta/core
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Aggregate from "./Aggregate.ts"
/** @since 0.1.0 */
export * as BlueGreen from "./BlueGreen.ts"
/** @since 0.1.0 */
export * as CheckpointStore from "./CheckpointStore.ts"
/** @since 0.1.0 */
export * as ClosedStreams from "./ClosedStreams.ts"
/** @since 0.1.0 */
export * as CommandHandler from "./CommandHandler.ts"
/** @since 0.1.0 */
export * as Decision from "./Decision.ts"
/** @since 0.1.0 */
export * as DecisionHandler from "./DecisionHandler.ts"
/** @since 0.1.0 */
export * as Dispatcher from "./Dispatcher.ts"
/** @since 0.1.0 */
export * as Documents from "./Documents.ts"
/** @since 0.1.0 */
export * as Erasure from "./Erasure.ts"
export * as EventQuery from "./EventQuery.ts"
/** @since 0.1.0 */
export * as EventStore from "./EventStore.ts"
/** @since 0.1.0 */
export * as ProjectionStore from "./ProjectionStore.ts"
/** @since 0.1.0 */
export * as RecordedEvent from "./RecordedEvent.ts"
/** @since 0.1.0 */
export * as ValidationError from "./ValidationError.ts"
/** @since 0.1.0 */
export * as SnapshotStore from "./SnapshotStore.ts"
/** @since 0.1.0 */
export * as StatusBoard from "./StatusBoard.ts"
/** @since 0.1.0 */
export * as StreamLifecycle from "./StreamLifecycle.ts"
/** @since 0.1.0 */
export * as Transactor from "./Transactor.ts"
/** @since 0.1.0 */
export * as InMemory from "./InMemory.ts"
/** @since 0.1.0 */
export * as InvalidInput from "./InvalidInput.ts"
/** @since 0.1.0 */
export * as KeyStore from "./KeyStore.ts"
export * as Lease from "./Lease.ts"
/** @since 0.1.0 */
export * as LiveClock from "./LiveClock.ts"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.ts"
/** @since 0.1.0 */
export * as ParkedEvents from "./ParkedEvents.ts"
export * as PersonalData from "./PersonalData.ts"
/** @since 0.1.0 */
export * as Placement from "./Placement.ts"
/** @since 0.1.0 */
export * as ProcessManager from "./ProcessManager.ts"
/** @since 0.1.0 */
export * as Processor from "./Processor.ts"
/** @since 0.1.0 */
export * as Projection from "./Projection.ts"
/** @since 0.1.0 */
export * as Reactor from "./Reactor.ts"
