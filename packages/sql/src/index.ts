/**
 * @facta/sql: Facta's stores on Postgres, on a server or embedded.
 *
 * @module @facta/sql
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Embedded from "./Embedded.ts"
/** @since 0.1.0 */
export * as Gate from "./Gate.ts"
/** @since 0.1.0 */
export * as Migrations from "./Migrations.ts"
/** @since 0.1.0 */
export * as PgliteClient from "./PgliteClient.ts"
/** @since 0.1.0 */
export * as Postgres from "./Postgres.ts"
/** @since 0.1.0 */
export * as Retries from "./Retries.ts"
/** @since 0.1.0 */
export * as SqlCheckpointStore from "./SqlCheckpointStore.ts"
/** @since 0.1.0 */
export * as SqlEventStore from "./SqlEventStore.ts"
/** @since 0.1.0 */
export * as SqlLease from "./SqlLease.ts"
/** @since 0.1.0 */
export * as SqlParkedEvents from "./SqlParkedEvents.ts"
/** @since 0.1.0 */
export * as SqlProjectionStore from "./SqlProjectionStore.ts"
/** @since 0.1.0 */
export * as SqlKeyStore from "./SqlKeyStore.ts"
/** @since 0.1.0 */
export * as SqlSnapshotStore from "./SqlSnapshotStore.ts"
/** @since 0.1.0 */
export * as SqlStatusBoard from "./SqlStatusBoard.ts"
/** @since 0.1.0 */
export * as SqlStreamLifecycle from "./SqlStreamLifecycle.ts"
/** @since 0.1.0 */
export * as SqlTransactor from "./SqlTransactor.ts"
/** @since 0.1.0 */
export * as Tables from "./Tables.ts"
