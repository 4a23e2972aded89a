/**
 * The HTTP API: JSON in and out, an `effect/http-api` `HttpApi` made with `@facta/http`.
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
 * | `GET /openapi.json`       |                                                          | 200, the OpenAPI document          |
 *
 * Errors answer with `{ "error": "<tag>", "message": "<what was wrong>" }` (`PlainErrors`): 400
 * for input that does not validate (the message and `issues` name each field) or that no store
 * keeps (a NUL or a lone surrogate in a string), 413 for a body over the limit (1 MiB unless
 * configured), 422 for a command that breaks a business rule, 409 when concurrent writers kept
 * conflicting, 412 when `If-Match` names another version, 404 for an unknown route, 415 for a
 * body sent as another type than JSON, 503 for a request that took longer than its timeout, and
 * 500 only when the service itself failed.
 *
 * A write with an `Idempotency-Key` header is applied once per key: repeated (a client retrying
 * after a lost answer), it changes nothing and answers as the first time did. A write with
 * `If-Match: "<version>"` (the `ETag` of an earlier answer) is applied only on that version of
 * the todo, with `If-Match: *` only on a todo that exists.
 *
 * A write's body is checked against the command's Schema before the todo is loaded, so malformed
 * input is a 400 whether or not the todo exists; the todo's id comes from the path. A read
 * returns a list that the projection keeps. The lists are eventually consistent: the projection
 * follows the event log in the background, so a list may not show a write for a few milliseconds
 * after it was acknowledged. The write's own response is the todo as that write left it.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { CommandHandler } from "@facta/core"
import { CommandApi, Limits, PlainErrors } from "@facta/http"
import * as Projections from "./Projections.ts"
import * as Todo from "./Todo.ts"

/**
 * Handles the todo commands: validate, load, decide, append.
 *
 * @since 0.1.0
 */
export const todos = CommandHandler.make(Todo.Todo)

/**
 * The body of every error response.
 *
 * @since 0.1.0
 */
export type ErrorBody = PlainErrors.ErrorBody

/**
 * A todo as a write answers it: as the write left it.
 *
 * @since 0.1.0
 */
export const TodoBody = Schema.Union([
  Schema.Struct({ ...Projections.TodoItem.fields, status: Schema.Literal("outstanding") }),
  Schema.Struct({ ...Projections.TodoItem.fields, status: Schema.Literal("completed"), completed_on: Schema.String }),
  Schema.Struct({ ...Projections.TodoItem.fields, status: Schema.Literal("abandoned"), abandoned_on: Schema.String })
])

// Every command names a todo that exists once it is handled.
const answer = { schema: TodoBody, body: ({ state }: { readonly state: Todo.State }) => state as typeof TodoBody.Type }
const route = { streamId: Todo.streamId, idField: "todo_id", success: answer } as const
const refusals = [Todo.TodoNotFound, Todo.TodoAlreadyCompleted, Todo.TodoAlreadyAbandoned]

/**
 * The writes: one endpoint per command.
 *
 * @since 0.1.0
 */
export class Writes extends HttpApiGroup.make("todos").add(
  CommandApi.endpoint(Todo.Todo, Todo.AddTodo, { ...route, path: "/todo/:id", status: 201, errors: [Todo.TodoAlreadyExists] }),
  CommandApi.endpoint(Todo.Todo, Todo.AmendTodo, { ...route, path: "/todo/:id", method: "PUT", errors: refusals }),
  CommandApi.endpoint(Todo.Todo, Todo.CompleteTodo, { ...route, path: "/todo/:id/complete", errors: refusals }),
  CommandApi.endpoint(Todo.Todo, Todo.AbandonTodo, { ...route, path: "/todo/:id/abandon", errors: refusals })
) {}

/**
 * The reads: the projection's lists.
 *
 * @since 0.1.0
 */
export class Lists extends HttpApiGroup.make("lists").add(
  HttpApiEndpoint.get("outstanding", "/todos/outstanding", { success: Schema.Array(Projections.TodoItem) }),
  HttpApiEndpoint.get("scheduled", "/todos/scheduled", { success: Schema.Array(Projections.TodoItem) }),
  HttpApiEndpoint.get("completed", "/todos/completed", { success: Schema.Array(Projections.CompletedTodoItem) })
) {}

/**
 * The whole API. `PlainErrors` comes last, so it tells the failures of `Limits` too.
 *
 * @since 0.1.0
 */
export class TodoApi extends HttpApi.make("todo").add(Writes).add(Lists).middleware(Limits.Limits).middleware(PlainErrors.PlainErrors) {}

// A store that fails is the service's failure: a 500.
const lists = HttpApiBuilder.group(TodoApi, "lists", (handlers) =>
  handlers
    .handle("outstanding", () => Effect.orDie(Projections.outstanding))
    .handle("scheduled", () => Effect.orDie(Projections.scheduled))
    .handle("completed", () => Effect.orDie(Projections.completed)))

/**
 * Every route of the API, as a layer for `HttpRouter.serve`. It needs the `EventStore` (for
 * writes) and the `ProjectionStore` (for reads). Request bodies over `maxBodyBytes` (default
 * 1 MiB) are refused with 413 without being read further; a request that takes longer than
 * `timeout` (default 30 seconds) is answered 503.
 *
 * @since 0.1.0
 */
export const routesWith = (options?: Limits.Options) =>
  Layer.merge(HttpApiBuilder.layer(TodoApi, { openapiPath: "/openapi.json" }), PlainErrors.layerNotFound).pipe(
    Layer.provide([CommandApi.layer(TodoApi, "todos", todos), lists]),
    Layer.provide([Limits.layer(options), PlainErrors.layer])
  )

/**
 * The routes with the default limits.
 *
 * @since 0.1.0
 */
export const routes = routesWith()
