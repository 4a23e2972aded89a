/**
 * Test helpers for Facta users and store implementers. Depends on `vitest` and `@effect/vitest`.
 *
 * @module @facta/core/testing
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AggregateTest from "./testing/AggregateTest.ts"
/** @since 0.1.0 */
export * as CheckpointStoreConformance from "./testing/CheckpointStoreConformance.ts"
/** @since 0.1.0 */
export * as CommandHandlerConformance from "./testing/CommandHandlerConformance.ts"
/** @since 0.1.0 */
export * as DecisionTest from "./testing/DecisionTest.ts"
/** @since 0.1.0 */
export * as ErasureConformance from "./testing/ErasureConformance.ts"
/** @since 0.1.0 */
export * as EventQueryConformance from "./testing/EventQueryConformance.ts"
/** @since 0.1.0 */
export * as EventStoreConformance from "./testing/EventStoreConformance.ts"
/** @since 0.1.0 */
export * as HostileInputConformance from "./testing/HostileInputConformance.ts"
/** @since 0.1.0 */
export * as ProjectionStoreConformance from "./testing/ProjectionStoreConformance.ts"
/** @since 0.1.0 */
export * as ProcessorConformance from "./testing/ProcessorConformance.ts"
/** @since 0.1.0 */
export * as SnapshotStoreConformance from "./testing/SnapshotStoreConformance.ts"
/** @since 0.1.0 */
export * as StreamLifecycleConformance from "./testing/StreamLifecycleConformance.ts"
/** @since 0.1.0 */
export * as UpcastingConformance from "./testing/UpcastingConformance.ts"
