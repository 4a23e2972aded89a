/**
 * Error bodies as plain JSON, `{ "error": "<tag>", "message": "<what was wrong>" }`, for an API
 * whose clients expect that rather than RFC 9457 problems. It is an `effect/http-api`
 * middleware: add {@link PlainErrors} to the API after every other middleware (it tells their
 * failures too) and provide {@link layer}. Every failure of the endpoints it wraps is answered with
 * the status it would have had and a plain body; the OpenAPI document and a generated
 * `HttpApiClient` know the bodies by the classes below, one per status.
 *
 * | Failure                                                    | Status | `error`                               |
 * | ---------------------------------------------------------- | ------ | ------------------------------------- |
 * | a payload, path, query or header that fails its Schema     | 400    | `ValidationError`, with `issues`      |
 * | `ValidationError` or `InvalidInput` of a command           | 400    | its tag (`issues` for the former)     |
 * | `If-Match` not met; conflicts that outlasted the retries   | 412; 409 | `WrongExpectedVersion`, `AppendConditionFailed` |
 * | a body over `Limits`' size; its timeout                    | 413; 503 | `PayloadTooLarge`; `TimedOut`       |
 * | a body whose `Content-Type` the endpoint does not take     | 415    | `UnsupportedMediaType`                |
 * | a declared domain error                                    | its status (422 by default) | its `_tag`, with its `message` |
 * | another `Problems` problem (`DocumentNotFound`, `NotReady`, ...) | its status | its tag             |
 * | a response that does not encode, a defect                  | 500    | `InternalError`; logged, not told     |
 *
 * A validation error's `message` names what was validated and each failing field, as Facta's
 * `ValidationError` does: `Invalid command of Todo: title: Missing key; due_date: Expected a date
 * formatted as YYYY-MM-DD`, each `issues` entry a dot-separated `path` and its `message`. A body
 * that is not JSON is `Invalid request body: Expected valid JSON`; one that is not an object where
 * a command's fields are expected, `Invalid request body: Expected a JSON object`.
 *
 * A status without a class here (a domain error annotated 402, say) is answered as the error's
 * own Schema encodes it.
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, ErrorReporter, Layer, Predicate, Schema, SchemaIssue } from "effect"
import { HttpMethod, HttpRouter, HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "effect/http"
import { type HttpApiEndpoint, HttpApiError, HttpApiMiddleware } from "effect/http-api"
import { type InvalidInput, ValidationError } from "@facta/core"
import { causeOf } from "./internal/failureCause.ts"
import { statusOf } from "./internal/httpStatus.ts"
import { PayloadSubject } from "./internal/payloadSubject.ts"

/**
 * One failing field of a validation error: its dot-separated path (`""` for the whole value) and
 * what was wrong.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Issue = Schema.Struct({ path: Schema.String, message: Schema.String })

/**
 * The fields of every plain error body.
 *
 * @category schemas
 * @since 0.1.0
 */
export const fields = {
  /** The error's tag: `ValidationError`, `TodoAlreadyCompleted`, ... */
  error: Schema.String,
  message: Schema.String,
  /** A validation error's failing fields. */
  issues: Schema.optionalKey(Schema.Array(Issue))
}

/**
 * A plain error body, whatever its status.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorBody {
  readonly error: string
  readonly message: string
  readonly issues?: ReadonlyArray<typeof Issue.Type>
}

/** A client's mistake is not the service's failure: reporters skip it, as they skip 4xx problems. */
const clientError = { [ErrorReporter.ignore]: true }

/**
 * @category errors
 * @since 0.1.0
 */
export class BadRequest extends Schema.Error<BadRequest>("@facta/http/PlainErrors/BadRequest")(fields, { httpApiStatus: 400, description: "Bad Request" }) {}
Object.assign(BadRequest.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class NotFound extends Schema.Error<NotFound>("@facta/http/PlainErrors/NotFound")(fields, { httpApiStatus: 404, description: "Not Found" }) {}
Object.assign(NotFound.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class Conflict extends Schema.Error<Conflict>("@facta/http/PlainErrors/Conflict")(fields, { httpApiStatus: 409, description: "Conflict" }) {}
Object.assign(Conflict.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class PreconditionFailed extends Schema.Error<PreconditionFailed>("@facta/http/PlainErrors/PreconditionFailed")(fields, {
  httpApiStatus: 412,
  description: "Precondition Failed"
}) {}
Object.assign(PreconditionFailed.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class ContentTooLarge extends Schema.Error<ContentTooLarge>("@facta/http/PlainErrors/ContentTooLarge")(fields, {
  httpApiStatus: 413,
  description: "Content Too Large"
}) {}
Object.assign(ContentTooLarge.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("@facta/http/PlainErrors/UnsupportedMediaType")(fields, {
  httpApiStatus: 415,
  description: "Unsupported Media Type"
}) {}
Object.assign(UnsupportedMediaType.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class UnprocessableContent extends Schema.Error<UnprocessableContent>("@facta/http/PlainErrors/UnprocessableContent")(fields, {
  httpApiStatus: 422,
  description: "Unprocessable Content"
}) {}
Object.assign(UnprocessableContent.prototype, clientError)

/**
 * @category errors
 * @since 0.1.0
 */
export class InternalError extends Schema.Error<InternalError>("@facta/http/PlainErrors/InternalError")(fields, {
  httpApiStatus: 500,
  description: "Internal Server Error"
}) {}

/**
 * @category errors
 * @since 0.1.0
 */
export class ServiceUnavailable extends Schema.Error<ServiceUnavailable>("@facta/http/PlainErrors/ServiceUnavailable")(fields, {
  httpApiStatus: 503,
  description: "Service Unavailable"
}) {}

const byStatus: ReadonlyMap<number, new(body: ErrorBody) => PlainError> = new Map<number, new(body: ErrorBody) => PlainError>([
  [400, BadRequest],
  [404, NotFound],
  [409, Conflict],
  [412, PreconditionFailed],
  [413, ContentTooLarge],
  [415, UnsupportedMediaType],
  [422, UnprocessableContent],
  [500, InternalError],
  [503, ServiceUnavailable]
])

/**
 * Any of the plain errors.
 *
 * @category models
 * @since 0.1.0
 */
export type PlainError =
  | BadRequest
  | NotFound
  | Conflict
  | PreconditionFailed
  | ContentTooLarge
  | UnsupportedMediaType
  | UnprocessableContent
  | InternalError
  | ServiceUnavailable

const isPlain = (error: unknown): error is PlainError => Array.from(byStatus.values()).some((plain) => error instanceof plain)

/**
 * The middleware. Its errors are declared, so the OpenAPI document and a generated client know
 * every plain body.
 *
 * @category middleware
 * @since 0.1.0
 */
export class PlainErrors extends HttpApiMiddleware.Service<PlainErrors>()("@facta/http/PlainErrors", {
  error: [BadRequest, NotFound, Conflict, PreconditionFailed, ContentTooLarge, UnsupportedMediaType, UnprocessableContent, InternalError, ServiceUnavailable]
}) {}

const internalError = () => new InternalError({ error: "InternalError", message: "The service failed; try again later" })

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The body of a validation error: Facta's `ValidationError` says the message. */
const validation = (error: ValidationError.ValidationError): ErrorBody => ({
  error: error._tag,
  message: error.message,
  issues: error.issues.map(({ message, path }) => ({ path: path.join("."), message }))
})

const slotSubjects = { Params: "path parameters", Query: "query parameters", Headers: "headers", Payload: "request body" } as const

/** A request that failed its Schemas, told as a `ValidationError` of what it failed. */
const schemaFailure = (error: HttpApiError.HttpApiSchemaError, endpoint: HttpApiEndpoint.Top): ErrorBody => {
  const issues = formatIssues((error.cause as { readonly issue: SchemaIssue.Issue }).issue).issues.map(({ message, path }) => ({
    path: (path ?? []).map((segment) => {
      const key = typeof segment === "object" ? segment.key : segment
      return typeof key === "number" ? key : String(key)
    }),
    message
  }))
  const slot = error.kind as keyof typeof slotSubjects
  const command = Context.getOrUndefined(endpoint.annotations, PayloadSubject)
  // A body that does not parse, or is not the object a command's fields are in, is wrong as a whole.
  const wholeBody = slot === "Payload" && issues.length === 1 && issues[0]!.path.length === 0
  const wholeBodyMessage = (message: string) =>
    message === notJson ? "Expected valid JSON" : command === undefined ? message : "Expected a JSON object"
  return validation(
    new ValidationError.ValidationError({
      subject: slot === "Payload" && !wholeBody ? command ?? slotSubjects.Payload : slotSubjects[slot] ?? slot,
      issues: issues.map(({ message, path }) => new ValidationError.FieldIssue({ path, message: wholeBody ? wholeBodyMessage(message) : message }))
    })
  )
}

/** What `effect/http-api` says of a body that is not JSON. */
const notJson = "Expected a valid JSON body"

/** Its status and plain body, or `undefined` for a failure this format does not tell. */
const plainOf = (error: unknown, endpoint: HttpApiEndpoint.Top): { readonly status: number; readonly body: ErrorBody } | undefined => {
  if (HttpApiError.HttpApiSchemaError.is(error)) {
    return error.kind === "Body" || error.kind === "ResponseHeaders" ? undefined : { status: 400, body: schemaFailure(error, endpoint) }
  }
  const cause = causeOf(error)
  if (Predicate.isTagged(cause, "ValidationError")) return { status: 400, body: validation(cause as ValidationError.ValidationError) }
  // A string no store keeps: its message names the value and what was wrong with it.
  if (Predicate.isTagged(cause, "InvalidInput")) return { status: 400, body: { error: "InvalidInput", message: (cause as InvalidInput.InvalidInput).message } }
  if (error instanceof HttpApiError.BadRequestProblem) {
    return {
      status: 400,
      body: {
        error: "ValidationError",
        message: error.detail ?? error.title,
        issues: (error.errors ?? []).map(({ message, path }) => ({ path: path.join("."), message }))
      }
    }
  }
  // A problem (`Problems`, `HttpApiError.Problem`): its status, told by the error it was made of.
  if (Predicate.hasProperty(error, "status") && typeof error.status === "number" && Predicate.hasProperty(error, "title")) {
    const detail = Predicate.hasProperty(error, "detail") && typeof error.detail === "string" ? error.detail : String(error.title)
    const tag = Predicate.hasProperty(cause, "_tag") && typeof cause._tag === "string"
      ? cause._tag
      : Predicate.hasProperty(error, "_tag") ? String(error._tag) : "Error"
    return { status: error.status, body: { error: tag, message: detail } }
  }
  // A domain error the endpoint declares, at the status its Schema names.
  const declared = Array.from(endpoint.error).find((schema) => Schema.is(schema)(error))
  if (declared !== undefined && Predicate.hasProperty(error, "_tag")) {
    const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
      ? error.message
      : String(error._tag)
    return { status: statusOf(declared) ?? 500, body: { error: String(error._tag), message } }
  }
  return undefined
}

/** The refusal of a body whose media type the endpoint does not take (absent, it is JSON), if it is one. */
const unsupportedMediaType = (endpoint: HttpApiEndpoint.Top, request: HttpServerRequest.HttpServerRequest) => {
  if (endpoint.payload.size === 0 || !HttpMethod.hasBody(request.method)) return undefined
  const header = request.headers["content-type"] ?? "application/json"
  const semicolon = header.indexOf(";")
  const mediaType = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase()
  return endpoint.payload.has(mediaType)
    ? undefined
    : new UnsupportedMediaType({ error: "UnsupportedMediaType", message: `Unsupported content-type: ${mediaType}` })
}

/**
 * Provides {@link PlainErrors}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PlainErrors> = Layer.succeed(PlainErrors, (httpEffect, { endpoint }) =>
  Effect.gen(function*() {
    // `effect/http-api` answers an unsupported body with a text of its own; this tells it in the format.
    const unsupported = unsupportedMediaType(endpoint, yield* HttpServerRequest.HttpServerRequest)
    if (unsupported !== undefined) return yield* unsupported
    return yield* httpEffect
  }).pipe(
    Effect.catch((error: unknown) => {
      if (isPlain(error)) return Effect.fail(error)
      if (HttpApiError.HttpApiSchemaError.is(error) && (error.kind === "Body" || error.kind === "ResponseHeaders")) {
        return Effect.andThen(ErrorReporter.report(Cause.fail(error)), Effect.fail(internalError()))
      }
      const plain = plainOf(error, endpoint)
      const Plain = plain === undefined ? undefined : byStatus.get(plain.status)
      // `unhandled` is what the endpoint itself declares; left as it is, it is answered as itself.
      return Plain === undefined ? Effect.fail(error as never) : Effect.fail(new Plain(plain!.body))
    }),
    // A defect is the service's own failure: logged, and answered without its details. One that
    // is an answer of its own (an `HttpServerError`) stays one.
    Effect.catchDefect((defect) =>
      HttpServerRespondable.isRespondable(defect)
        ? Effect.die(defect)
        : Effect.andThen(Effect.logError("Request failed", defect), Effect.fail(internalError())))
  ))

/**
 * A route answering every request no other route takes with a 404 in the same format:
 * `{ "error": "NotFound", "message": "No route for GET /somewhere" }`. Serve it beside the API's
 * routes (`Layer.merge` with `HttpApiBuilder.layer(api)`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNotFound = HttpRouter.add("*", "*", (request) =>
  Effect.succeed(HttpServerResponse.jsonUnsafe(
    { error: "NotFound", message: `No route for ${request.method} ${request.url}` } satisfies ErrorBody,
    { status: 404 }
  )))
