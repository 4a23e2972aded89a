/**
 * @facta/cli: `facta`, the command line for operating Facta's stores.
 *
 * @module @facta/cli
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.ts"
