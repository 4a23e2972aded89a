/**
 * `@facta/console`: the operator's console, a web page over Facta's stores: streams and their
 * events, the live log, the processors with their lag, parked events, rebuilds and the readers'
 * gate (`OperatorConsole`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as OperatorConsole from "./OperatorConsole.ts"
