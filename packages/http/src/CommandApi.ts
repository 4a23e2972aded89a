/**
 * An aggregate's commands as `effect/http-api` endpoints. {@link endpoint} makes one endpoint of
 * one command Schema: its payload is the command without its `_tag` (the route names the
 * command), the path's `:id` names the stream, and its answers and errors are declared, so the
 * OpenAPI document and a generated `HttpApiClient` know them. {@link layer} runs every endpoint
 * of a group through a `CommandHandler`.
 *
 * | Outcome                                                     | Status                              |
 * | ----------------------------------------------------------- | ----------------------------------- |
 * | handled                                                     | 200, or the endpoint's `status`; `ETag: "<version>"`; the body's `position` is the log position of its last event (or the endpoint's `success` body) |
 * | a payload, path or header that fails its Schema             | 400 problem, `errors` lists each field path |
 * | `ValidationError`, `InvalidInput` (a NUL, a lone surrogate) | 400 problem, `errors` lists the path |
 * | `If-Match` names another version than the stream's, or is `*` and the stream has no events | 412 problem |
 * | conflicts outlasted the retries, `AppendConditionFailed`    | 409 problem                         |
 * | a declared domain error                                     | 422, or the status its Schema is annotated with |
 *
 * A request with an `Idempotency-Key` runs its command once per key and stream: repeated, it
 * appends nothing and answers what the first one did.
 *
 * The problems are the default; `PlainErrors` answers the same failures as
 * `{ error, message, issues? }` instead. A command that carries its aggregate's id takes it from
 * the path (`idField`), and an endpoint may answer another body of the command's result, such as
 * the state (`success`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Predicate, Schema, SchemaTransformation, Struct } from "effect"
import type { HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, type HttpApiGroup, HttpApiSchema } from "effect/http-api"
import type { Aggregate, ClosedStreams, CommandHandler, EventStore, RecordedEvent } from "@facta/core"
import { withCause } from "./internal/failureCause.ts"
import { withDefaultStatus } from "./internal/failures.ts"
import { PayloadSubject } from "./internal/payloadSubject.ts"
import { Position } from "./internal/position.ts"
import { badRequest, Conflict, PreconditionFailed } from "./Problems.ts"

/**
 * A stream version as an HTTP entity tag, `"3"`: what `ETag` answers and `If-Match` sends back.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EntityTag = Schema.String.check(
  Schema.isPattern(/^"(0|[1-9][0-9]{0,14})"$/, { expected: "a stream version in double quotes, such as \"3\"" })
).pipe(Schema.decodeTo(
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  SchemaTransformation.transform({
    decode: (tag: string) => Number(tag.slice(1, -1)),
    encode: (version: number) => `"${version}"`
  })
))

/**
 * What `If-Match` takes: a stream version as an entity tag (`"3"`: the command is decided on that
 * version or not at all), or `*` (RFC 9110: any version, as long as the stream has events; the
 * command's `expectedVersion` is then `"streamExists"`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const IfMatch = Schema.Union([Schema.Literal("*"), EntityTag])

/**
 * A command Schema an endpoint takes: a tagged struct or class, such as `Schema.TaggedClass`.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandSchema extends Schema.Top {
  readonly fields: Schema.Struct.Fields & { readonly _tag: Schema.tag<string> }
}

/**
 * The request body of a command's endpoint: the command's fields without `_tag`, and without the
 * field the path's id fills (`idField`), if any.
 *
 * @category models
 * @since 0.1.0
 */
export type Payload<C extends CommandSchema, IdField extends string = never> = Schema.Struct<Omit<C["fields"], "_tag" | IdField>>

/**
 * What a handled command answers instead of {@link ResultBody}: `body` makes it of the command
 * handler's result (the stream, its events, the state after them, the version), and `schema`
 * encodes it and describes it in the OpenAPI document.
 *
 * @category models
 * @since 0.1.0
 */
export interface SuccessOptions<A extends Aggregate.Any, Success extends Schema.Top> {
  readonly schema: Success
  readonly body: (result: CommandHandler.CommandResult<Aggregate.Event<A>, Aggregate.State<A>>) => Success["Type"]
}

/**
 * How a command is reached over HTTP.
 *
 * @category models
 * @since 0.1.0
 */
export interface RouteOptions<
  Path extends HttpRouter.PathInput,
  Method extends "POST" | "PUT" | "PATCH",
  Errors extends ReadonlyArray<Schema.Top>,
  A extends Aggregate.Any = Aggregate.Any,
  Success extends Schema.Top = ResultBody<Aggregate.Event<A>>,
  IdField extends string = never
> {
  /** The route; its `:id` names the stream, as `streamId` makes it. */
  readonly path: Path
  /** Default `POST`. */
  readonly method?: Method | undefined
  /** The stream the path's id names: keep the aggregate's category in front (`account-${id}`). */
  readonly streamId: (id: string) => string
  /** The status of a handled command: 200 (the default) or, for one that creates, 201. */
  readonly status?: 200 | 201 | undefined
  /** The path's `:id`; default any string. */
  readonly id?: Schema.Codec<string, string> | undefined
  /**
   * The domain errors the command may fail with, answered as themselves (their Schema's JSON)
   * with the status their Schema is annotated with (`httpApiStatus`), 422 when none. Another
   * domain error is a defect: a 500.
   */
  readonly errors?: Errors | undefined
  /**
   * A string field of the command that the path's id fills, for commands that carry their
   * aggregate's id (`todo_id`): it is left out of the request body (a body that has it anyway is
   * overruled by the path), and checked with the rest of the command, so an id its Schema refuses
   * is a 400 naming the field.
   */
  readonly idField?: IdField | undefined
  /** What a handled command answers; default {@link ResultBody}. */
  readonly success?: SuccessOptions<A, Success> | undefined
}

/** What `layer` needs to run an endpoint, carried by the endpoint itself. */
class CommandRoute extends Context.Service<CommandRoute, {
  readonly tag: string
  readonly payload: Schema.Top
  readonly streamId: (id: string) => string
  readonly errors: ReadonlyArray<Schema.Top>
  readonly idField: string | undefined
  readonly body: (result: CommandHandler.CommandResult<RecordedEvent.Tagged, unknown>) => unknown
}>()("@facta/http/CommandApi/CommandRoute") {}


/**
 * What a handled command answers: its stream, the version after it, the events it appended, and
 * the log position of the last of them (a decimal string; `null` when it appended none). A client
 * passes the position to a read model's query (`ReadModelApi`'s `?position=`) to read its own
 * write.
 *
 * @category schemas
 * @since 0.1.0
 */
export type ResultBody<Event> = Schema.Struct<{
  readonly streamId: Schema.String
  readonly version: Schema.Int
  readonly events: Schema.$Array<Schema.Codec<Event, unknown>>
  readonly position: Schema.NullOr<typeof Position>
}>

const resultBody = <Event>(event: Schema.Codec<Event, unknown>): ResultBody<Event> =>
  Schema.Struct({ streamId: Schema.String, version: Schema.Int, events: Schema.Array(event), position: Schema.NullOr(Position) })

const toResultBody = (result: CommandHandler.CommandResult<RecordedEvent.Tagged, unknown>) => ({
  streamId: result.streamId,
  version: result.version,
  events: result.events.map((event) => event.data),
  position: result.events.at(-1)?.position ?? null
})

/**
 * The headers a command's endpoint reads: `If-Match` (the version the client saw, or `*`) and
 * `Idempotency-Key` (the command's id).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Headers = Schema.Struct({
  "if-match": Schema.optional(IfMatch),
  "idempotency-key": Schema.optional(Schema.NonEmptyString)
})

/**
 * The endpoint {@link endpoint} makes of command `C` of aggregate `A`.
 *
 * @category models
 * @since 0.1.0
 */
export type Endpoint<
  A extends Aggregate.Any,
  C extends CommandSchema,
  Path extends string,
  Method extends "POST" | "PUT" | "PATCH",
  Errors extends ReadonlyArray<Schema.Top>,
  Success extends Schema.Top = ResultBody<Aggregate.Event<A>>,
  IdField extends string = never
> = HttpApiEndpoint.HttpApiEndpoint<
  C["fields"]["_tag"]["Type"],
  Method,
  Path,
  Schema.toCodecStringTree<Schema.Struct<{ readonly id: Schema.Codec<string, string> }>>,
  never,
  Schema.toCodecJson<Payload<C, IdField>>,
  Schema.toCodecStringTree<typeof Headers>,
  HttpApiSchema.WithHeaders<
    Schema.toCodecJson<Success>,
    Schema.toCodecStringTree<Schema.Struct<{ readonly etag: typeof EntityTag }>>
  >,
  Schema.toCodecJson<typeof HttpApiError.BadRequestProblem | typeof PreconditionFailed | typeof Conflict | Errors[number]>
>

/**
 * One command of an aggregate as an endpoint, named by the command's `_tag`. Add it to an
 * `HttpApiGroup` and serve the group with {@link layer}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const endpoint = <
  A extends Aggregate.Any,
  C extends CommandSchema & { readonly Type: Aggregate.Command<A> },
  const Path extends HttpRouter.PathInput & `${string}/:id${string}`,
  const Errors extends ReadonlyArray<Schema.Top> = [],
  const Method extends "POST" | "PUT" | "PATCH" = "POST",
  Success extends Schema.Top = ResultBody<Aggregate.Event<A>>,
  const IdField extends Exclude<keyof C["fields"] & string, "_tag"> = never
>(
  aggregate: A,
  command: C,
  options: RouteOptions<Path, Method, Errors, A, Success, IdField>
): Endpoint<A, C, Path, Method, Errors, Success, IdField> => {
  const tag: string = command.fields._tag.ast.literal as string
  const idField: string | undefined = options.idField
  const payload: Schema.Top = Schema.Struct(Struct.omit(command.fields, idField === undefined ? ["_tag"] : ["_tag", idField]))
  const errors: ReadonlyArray<Schema.Top> = (options.errors ?? []).map(withDefaultStatus)
  const success: Schema.Top = options.success?.schema ?? resultBody(aggregate.event as Schema.Codec<Aggregate.Event<A>, unknown>)
  const body = success.pipe(HttpApiSchema.status(options.status ?? 200))
  // Built on the schemas' common types; `Endpoint` states what the generic call makes of them.
  const made = HttpApiEndpoint.make(options.method ?? "POST")(tag, options.path as `/${string}`, {
    params: { id: options.id ?? Schema.String },
    headers: Headers,
    payload,
    success: HttpApiSchema.WithHeaders(body, { etag: EntityTag }),
    error: [HttpApiError.BadRequestProblem, PreconditionFailed, Conflict, ...errors]
  })
    .annotate(CommandRoute, {
      tag,
      payload,
      streamId: options.streamId,
      errors,
      idField,
      body: (options.success?.body ?? toResultBody) as (result: CommandHandler.CommandResult<RecordedEvent.Tagged, unknown>) => unknown
    })
    // Every failing field is named, as the command handler's own validation names them.
    .annotate(HttpApi.PayloadParseOptions, { errors: "all" })
    .annotate(PayloadSubject, `command of ${aggregate.name}`)
  return made as unknown as Endpoint<A, C, Path, Method, Errors, Success, IdField>
}

/** The request a command endpoint's handler sees. */
interface CommandRequest {
  readonly params: { readonly id: string }
  readonly payload: unknown
  readonly headers: { readonly "if-match"?: number | "*" | undefined; readonly "idempotency-key"?: string | undefined }
  readonly endpoint: HttpApiEndpoint.Top
}

/** A failure of the command handler as the endpoint answers it; one it does not declare is a defect. */
const answerFailure = (error: unknown, request: CommandRequest, declared: ReadonlyArray<Schema.Top>) => {
  // Each problem keeps the error it tells of as its `cause`, for an API that answers another format.
  if (Predicate.isTagged(error, "ValidationError") || Predicate.isTagged(error, "InvalidInput")) {
    return Effect.fail(withCause(badRequest(error as Parameters<typeof badRequest>[0]), error))
  }
  if (Predicate.isTagged(error, "WrongExpectedVersion")) {
    const conflict = error as EventStore.WrongExpectedVersion
    return Effect.fail(withCause(
      request.headers["if-match"] === undefined
        ? new Conflict({ streamId: conflict.streamId, detail: `${conflict.message}; try again` })
        : new PreconditionFailed({ streamId: conflict.streamId, expected: conflict.expected, actual: conflict.actual, detail: conflict.message }),
      error
    ))
  }
  if (Predicate.isTagged(error, "AppendConditionFailed")) {
    const failed = error as EventStore.AppendConditionFailed
    return Effect.fail(withCause(new Conflict({ streamId: failed.streamId, detail: `${failed.message}; try again` }), error))
  }
  // A closed stream takes no more events: trying again cannot help.
  if (Predicate.isTagged(error, "StreamArchived") || Predicate.isTagged(error, "StreamDeleted")) {
    const closed = error as ClosedStreams.StreamClosed
    return Effect.fail(withCause(new Conflict({ streamId: closed.streamId, detail: closed.message }), error))
  }
  return declared.some((schema) => Schema.is(schema)(error)) ? Effect.fail(error) : Effect.die(error)
}

/**
 * The middleware (and what it needs) of the endpoints of group `Name`: the routes are built with it.
 *
 * @category utility types
 * @since 0.1.0
 */
export type MiddlewareOf<Groups extends HttpApiGroup.Constraint, Name extends string> =
  | HttpApiEndpoint.Middleware<HttpApiGroup.Endpoints<HttpApiGroup.WithIdentifier<Groups, Name>>>
  | HttpApiEndpoint.MiddlewareServices<HttpApiGroup.Endpoints<HttpApiGroup.WithIdentifier<Groups, Name>>>

/**
 * Serves the group `group` of `api`, whose endpoints were all made by {@link endpoint} for the
 * aggregate of `handler`. Each request runs its command with the path's stream, `If-Match` as the
 * expected version (`*`: `"streamExists"`) and `Idempotency-Key` as the command id.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <
  ApiId extends string,
  Groups extends HttpApiGroup.Constraint,
  const Name extends HttpApiGroup.Identifier<Groups>,
  Command,
  Event extends RecordedEvent.Tagged,
  State,
  DomainError,
  E,
  R
>(
  api: HttpApi.HttpApi<ApiId, Groups>,
  group: Name,
  handler: CommandHandler.CommandHandler<Command, Event, State, DomainError, E, R>
): Layer.Layer<HttpApiGroup.Service<ApiId, Name>, never, EventStore.EventStore | Exclude<R, EventStore.EventStore> | MiddlewareOf<Groups, Name>> =>
  // The endpoints are only known at run time here; `endpoint` typed each of them.
  HttpApiBuilder.group(api, group, (handlers) =>
    Effect.gen(function*() {
      // The handlers run with the layer's services: the store and what the command handler needs.
      const context = yield* Effect.context<EventStore.EventStore | R>()
      let all = handlers as unknown as {
        handle: (identifier: string, handle: (request: CommandRequest) => Effect.Effect<unknown, unknown, unknown>) => typeof all
      }
      for (const endpoint of Object.values((api.groups as unknown as Record<string, HttpApiGroup.Top>)[group]!.endpoints)) {
        const route = Context.getOption(endpoint.annotations as Context.Context<CommandRoute>, CommandRoute)
        if (route._tag === "None") {
          return yield* Effect.die(new Error(`Endpoint "${endpoint.identifier}" of group "${group}" was not made by CommandApi.endpoint`))
        }
        const { body, errors, idField, payload, streamId, tag } = route.value
        const encode = Schema.encodeUnknownEffect(payload as Schema.Codec<unknown, unknown>)
        all = all.handle(endpoint.identifier, (request) =>
          Effect.gen(function*() {
            const fields = yield* Effect.orDie(encode(request.payload))
            const ifMatch = request.headers["if-match"]
            const commandId = request.headers["idempotency-key"]
            const command = { ...fields as object, ...(idField === undefined ? {} : { [idField]: request.params.id }), _tag: tag }
            const result = yield* handler.handle(streamId(request.params.id), command, {
              ...(ifMatch === undefined ? {} : { expectedVersion: ifMatch === "*" ? "streamExists" as const : ifMatch }),
              ...(commandId === undefined ? {} : { commandId })
            })
            return HttpApiSchema.withHeaders({
              body: body(result as CommandHandler.CommandResult<RecordedEvent.Tagged, unknown>),
              headers: { etag: result.version }
            })
          }).pipe(
            Effect.catch((error) => answerFailure(error, request, errors)),
            Effect.provideContext(context)
          ))
      }
      return all as unknown as HttpApiBuilder.Handlers<never>
    })) as unknown as Layer.Layer<HttpApiGroup.Service<ApiId, Name>, never, EventStore.EventStore | Exclude<R, EventStore.EventStore> | MiddlewareOf<Groups, Name>>
