/**
 * The HTTP API: JSON in and out, on Effect's `HttpRouter`.
 *
 * | Route                     | Body                                                     | Success                            |
 * | ------------------------- | -------------------------------------------------------- | ---------------------------------- |
 * | `POST /todo/:id`          | `{ title, description?, due_date?, stakeholder_email? }` | 201, the todo                      |
 * | `PUT /todo/:id`           | any of those fields (`null` removes an optional one)     | 200, the todo                      |
 * | `POST /todo/:id/complete` | `{ completed_on }`                                       | 200, the todo                      |
 * | `POST /todo/:id/abandon`  | `{ abandoned_on }`                                       | 200, the todo                      |
 * | `GET /todos/outstanding`  |                                                          | 200, the outstanding todos         |
 * | `GET /todos/scheduled`    |                                                          | 200, those with a due date         |
 * | `GET /todos/completed`    |                                                          | 200, with their `completed_on`     |
 *
 * Errors answer with `{ "error": "<tag>", "message": "<what was wrong>" }`: 400 for input that
 * does not validate (the message and `issues` name each field) or that no store keeps (a NUL
 * or a lone surrogate in a string), 413 for a body over the limit (1 MiB unless configured),
 * 422 for a command that breaks a business rule, 409 when concurrent writers kept conflicting,
 * 404 for an unknown route and 500 only when the service itself failed.
 *
 * A write with an `Idempotency-Key` header is applied once per key: repeated (a client retrying
 * after a lost answer), it changes nothing and answers as the first time did.
 *
 * The routes stay thin. A write hands the request body, with the todo id from the path, to the
 * `CommandHandler`, which validates it with the command Schema before it loads the todo, so
 * malformed input is a 400 whether or not the todo exists. A read returns a list that the
 * projection keeps. The lists are eventually consistent: the projection follows the event log
 * in the background, so a list may not show a write for a few milliseconds after it was
 * acknowledged. The write's own response is the todo as that write left it.
 *
 * (`effect/http-api` would describe the same routes as a typed `HttpApi`, with OpenAPI docs. It
 * decodes payloads with its own Schemas and answers a decoding failure with an empty 400; here
 * the command Schemas are the single place where input is validated, and every error has a body.)
 *
 * @since 0.1.0
 */
import { ByteSize, Effect, Schema } from "effect"
import { type HttpBody, HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { CommandHandler, ValidationError } from "@facta/core"
import * as Projections from "./Projections.ts"
import * as Todo from "./Todo.ts"

/**
 * Handles the todo commands: validate, load, decide, append.
 *
 * @since 0.1.0
 */
export const todos = CommandHandler.make(Todo.Todo)

// -------------------------------------------------------------------------------------
// responses
// -------------------------------------------------------------------------------------

/**
 * The body of every error response.
 *
 * @since 0.1.0
 */
export interface ErrorBody {
  /** The error's tag, e.g. `ValidationError` or `TodoAlreadyCompleted`. */
  readonly error: string
  readonly message: string
  /** For validation errors: each failing field (dot-separated path) and what was wrong with it. */
  readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

// Error bodies hold only strings, which always serialise.
const respond = (status: number, body: ErrorBody) => Effect.succeed(HttpServerResponse.jsonUnsafe(body, { status }))

/**
 * The request body is larger than the service accepts.
 *
 * @since 0.1.0
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", { limit: Schema.Number }) {
  override get message() {
    return `The request body is larger than ${this.limit} bytes`
  }
}

/**
 * The largest request body the routes read, by default: 1 MiB.
 *
 * @since 0.1.0
 */
export const defaultMaxBodyBytes = 1024 * 1024

/**
 * What a route can fail with: a write's errors, the reads' store errors, and a response body
 * that would not serialise.
 *
 * @since 0.1.0
 */
export type ApiError =
  | Effect.Error<ReturnType<typeof todos.handle>>
  | Effect.Error<typeof Projections.outstanding>
  | HttpBody.HttpBodyError
  | PayloadTooLarge

/**
 * Turns a failure into its response: the client's mistakes are told as they are; the
 * service's own failures are logged and answered without their details.
 *
 * @since 0.1.0
 */
export const errorResponse = (error: ApiError) => {
  switch (error._tag) {
    case "ValidationError":
      return respond(400, {
        error: error._tag,
        message: error.message,
        issues: error.issues.map(({ message, path }) => ({ path: path.join("."), message }))
      })
    // A string no store keeps (NUL, a lone surrogate): the client's input, told as it is.
    case "InvalidInput":
      return respond(400, { error: error._tag, message: error.message })
    case "PayloadTooLarge":
      return respond(413, { error: error._tag, message: error.message })
    case "TodoAlreadyExists":
    case "TodoNotFound":
    case "TodoAlreadyCompleted":
    case "TodoAlreadyAbandoned":
      return respond(422, { error: error._tag, message: error.message })
    case "WrongExpectedVersion":
      return respond(409, { error: error._tag, message: `${error.message}; try again` })
    default:
      return Effect.logError("Request failed", error).pipe(
        Effect.andThen(respond(500, { error: "InternalError", message: "The service failed; try again later" }))
      )
  }
}

// -------------------------------------------------------------------------------------
// routes
// -------------------------------------------------------------------------------------

const JsonObject = Schema.Record(Schema.String, Schema.Unknown).annotate({ message: "Expected a JSON object" })
const decodeJsonObject = ValidationError.decoder(JsonObject, "request body")

/** The request body as a JSON object, read up to `maxBytes`; anything else is a validation error. */
const requestBody = (maxBytes: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const json = yield* request.json.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
      Effect.mapError((error) =>
        error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
          ? new PayloadTooLarge({ limit: maxBytes })
          : new ValidationError.ValidationError({
            subject: "request body",
            issues: [new ValidationError.FieldIssue({ path: [], message: "Expected valid JSON" })]
          })
      )
    )
    return yield* decodeJsonObject(json)
  })

/**
 * A route that runs one command on the todo named in the path. The path's id wins over any
 * `todo_id` in the body.
 */
const command = (tag: Todo.Command["_tag"], status: 200 | 201, maxBodyBytes: number) =>
  Effect.gen(function*() {
    const { id = "" } = yield* HttpRouter.params
    const body = yield* requestBody(maxBodyBytes)
    // A client that retries a request it got no answer to sends the same Idempotency-Key: the
    // command is then applied once, and the retry gets the first answer.
    const commandId = (yield* HttpServerRequest.HttpServerRequest).headers["idempotency-key"]
    const { state } = yield* todos.handle(Todo.streamId(id), { ...body, _tag: tag, todo_id: id }, commandId === undefined ? undefined : { commandId })
    return yield* HttpServerResponse.json(state, { status })
  }).pipe(Effect.catch(errorResponse))

/** A route that answers with one of the projection's lists. */
const list = <A, E extends ApiError, R>(items: Effect.Effect<ReadonlyArray<A>, E, R>) =>
  Effect.flatMap(items, (items) => HttpServerResponse.json(items)).pipe(Effect.catch(errorResponse))

/**
 * Every route of the API, as a layer for `HttpRouter.serve`. It needs the `EventStore` (for
 * writes) and the `ProjectionStore` (for reads). Request bodies over `maxBodyBytes` (default
 * {@link defaultMaxBodyBytes}) are refused with 413 without being read further.
 *
 * @since 0.1.0
 */
export const routesWith = (options?: { readonly maxBodyBytes?: number | undefined }) => {
  const maxBodyBytes = options?.maxBodyBytes ?? defaultMaxBodyBytes
  return HttpRouter.addAll([
    HttpRouter.route("POST", "/todo/:id", command("AddTodo", 201, maxBodyBytes)),
    HttpRouter.route("PUT", "/todo/:id", command("AmendTodo", 200, maxBodyBytes)),
    HttpRouter.route("POST", "/todo/:id/complete", command("CompleteTodo", 200, maxBodyBytes)),
    HttpRouter.route("POST", "/todo/:id/abandon", command("AbandonTodo", 200, maxBodyBytes)),
    HttpRouter.route("GET", "/todos/outstanding", list(Projections.outstanding)),
    HttpRouter.route("GET", "/todos/scheduled", list(Projections.scheduled)),
    HttpRouter.route("GET", "/todos/completed", list(Projections.completed)),
    HttpRouter.route("*", "*", (request) =>
      respond(404, { error: "NotFound", message: `No route for ${request.method} ${request.url}` }))
  ])
}

/**
 * The routes with the default body limit.
 *
 * @since 0.1.0
 */
export const routes = routesWith()
