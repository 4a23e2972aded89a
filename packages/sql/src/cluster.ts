/**
 * @facta/sql/cluster: processors' segments placed by Effect Cluster, its runners on the
 * application's Postgres. Needs the optional peer dependency `@effect/platform-node`.
 *
 * @module @facta/sql/cluster
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SqlCluster from "./SqlCluster.ts"
