/**
 * The failures of the HTTP edge as RFC 9457 problems (`application/problem+json`), declared with
 * `HttpApiError.Problem`, so endpoints that name them render them, document them in OpenAPI and
 * decode them in a generated client. A request that fails its Schemas is Effect's own
 * `HttpApiError.BadRequestProblem`, whose `errors` member lists each field path and what was
 * wrong; {@link badRequest} makes the same problem of Facta's `ValidationError` and `InvalidInput`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ProblemDetails } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { EventStore, type InvalidInput, type ValidationError } from "@facta/core"
import { Position } from "./internal/position.ts"

/**
 * The stream is not at the version the request's `If-Match` named: someone wrote to it since the
 * client read it. Nothing was written; the client reads again and decides anew.
 *
 * @category errors
 * @since 0.1.0
 */
export class PreconditionFailed extends HttpApiError.Problem<PreconditionFailed>()("PreconditionFailed", {
  type: ProblemDetails.blankType,
  status: 412,
  title: "Precondition Failed"
}, {
  streamId: Schema.String,
  expected: EventStore.ExpectedVersion,
  actual: Schema.Int
}) {}

/**
 * Concurrent writers kept conflicting with the command until its retries ran out, or an append
 * condition broke. Nothing was written; trying again later may succeed.
 *
 * @category errors
 * @since 0.1.0
 */
export class Conflict extends HttpApiError.Problem<Conflict>()("Conflict", {
  type: ProblemDetails.blankType,
  status: 409,
  title: "Conflict"
}, {
  streamId: Schema.String
}) {}

/**
 * The service cannot serve now: a processor halted, or the event store cannot be reached.
 * `reasons` says each.
 *
 * @category errors
 * @since 0.1.0
 */
export class NotReady extends HttpApiError.Problem<NotReady>()("NotReady", {
  type: ProblemDetails.blankType,
  status: 503,
  title: "Service Unavailable"
}, {
  reasons: Schema.Array(Schema.String)
}) {}

/**
 * No document of the read model has the id the path names.
 *
 * @category errors
 * @since 0.1.0
 */
export class DocumentNotFound extends HttpApiError.Problem<DocumentNotFound>()("DocumentNotFound", {
  type: ProblemDetails.blankType,
  status: 404,
  title: "Not Found"
}, {
  projection: Schema.String,
  id: Schema.String
}) {}

/**
 * The query asked to read after a log position (`?position=`), and the projection had not
 * handled every event up to it before the server stopped waiting: the read model is behind (a
 * slow or halted projection). Nothing was read; asking again later may succeed.
 *
 * @category errors
 * @since 0.1.0
 */
export class ProjectionBehind extends HttpApiError.Problem<ProjectionBehind>()("ProjectionBehind", {
  type: ProblemDetails.blankType,
  status: 503,
  title: "Service Unavailable"
}, {
  projection: Schema.String,
  position: Position
}) {}

/**
 * The request's body is larger than the server reads (`Limits`' `maxBodyBytes`). Nothing was
 * done; the body was not read further.
 *
 * @category errors
 * @since 0.1.0
 */
export class PayloadTooLarge extends HttpApiError.Problem<PayloadTooLarge>()("PayloadTooLarge", {
  type: ProblemDetails.blankType,
  status: 413,
  title: "Content Too Large"
}, {
  limit: Schema.Int
}) {}

/**
 * The server did not answer the request within its time (`Limits`' `timeout`), and stopped
 * working on it. A command may or may not have been written: one sent with an `Idempotency-Key`
 * is safe to send again with it.
 *
 * @category errors
 * @since 0.1.0
 */
export class TimedOut extends HttpApiError.Problem<TimedOut>()("TimedOut", {
  type: ProblemDetails.blankType,
  status: 503,
  title: "Service Unavailable"
}, {
  timeout: Schema.String
}) {}

const segment = /\.([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g

/** `$.owner.names[0]["a b"]` as `["owner", "names", 0, "a b"]`: the path `InvalidInput` writes, as a list. */
const pathSegments = (path: string): Array<string | number> =>
  Array.from(path.matchAll(segment), ([, name, index, quoted]) =>
    name ?? (index === undefined ? JSON.parse(quoted!) as string : Number(index)))

/**
 * A client's input that Facta refused, as the problem a request failing its Schemas is: a
 * `ValidationError`'s issues under `payload`, an `InvalidInput`'s path in the value its `detail`
 * names (a string no store keeps: a NUL, a lone surrogate).
 *
 * @category constructors
 * @since 0.1.0
 */
export const badRequest = (error: ValidationError.ValidationError | InvalidInput.InvalidInput): HttpApiError.BadRequestProblem =>
  error._tag === "ValidationError"
    ? new HttpApiError.BadRequestProblem({
      detail: error.message,
      errors: error.issues.map(({ message, path }) => ({ path: ["payload", ...path], message }))
    })
    : new HttpApiError.BadRequestProblem({
      detail: error.message,
      errors: [{ path: pathSegments(error.path), message: error.reason }]
    })
