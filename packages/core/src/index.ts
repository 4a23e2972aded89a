/**
 * @facta/core: event sourcing and CQRS on Effect, without a database dependency.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Aggregate from "./Aggregate.ts"
/** @since 0.1.0 */
export * as CheckpointStore from "./CheckpointStore.ts"
/** @since 0.1.0 */
export * as CommandHandler from "./CommandHandler.ts"
/** @since 0.1.0 */
export * as EventStore from "./EventStore.ts"
/** @since 0.1.0 */
export * as ProjectionStore from "./ProjectionStore.ts"
/** @since 0.1.0 */
export * as RecordedEvent from "./RecordedEvent.ts"
/** @since 0.1.0 */
export * as ValidationError from "./ValidationError.ts"
