/**
 * `@facta/http`: Facta over HTTP with `effect/http-api`. An aggregate's commands become typed
 * endpoints (`CommandApi`), and so does a decision's command, decided over the events its queries
 * match (`DecisionApi`); failures RFC 9457 problems (`Problems`), and the service's liveness
 * and readiness two more endpoints (`Health`), and the event log a live Server-Sent Events stream
 * that clients resume exactly where they left off (`Subscriptions`); a projection's documents are
 * read by id (with an `ETag`) or a page at a time, after a command's log position if asked
 * (`ReadModelApi`); the `HttpApi` they are part of gives the OpenAPI document and a typed
 * `HttpApiClient`.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as CommandApi from "./CommandApi.ts"

/**
 * @since 0.1.0
 */
export * as DecisionApi from "./DecisionApi.ts"

/**
 * @since 0.1.0
 */
export * as Health from "./Health.ts"

/**
 * @since 0.1.0
 */
export * as LogFeed from "./LogFeed.ts"

/**
 * @since 0.1.0
 */
export * as Problems from "./Problems.ts"

/**
 * @since 0.1.0
 */
export * as Subscriptions from "./Subscriptions.ts"

/**
 * @since 0.1.0
 */
export * as ReadModelApi from "./ReadModelApi.ts"

/**
 * @since 0.1.0
 */
export * as Limits from "./Limits.ts"

/**
 * @since 0.1.0
 */
export * as PlainErrors from "./PlainErrors.ts"
