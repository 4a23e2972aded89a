/**
 * A decision's command as an `effect/http-api` endpoint. {@link endpoint} makes the endpoint of a
 * decision's command Schema: its payload is the command without its `_tag` (the route names the
 * command), and its answers and errors are declared, so the OpenAPI document and a generated
 * `HttpApiClient` know them. {@link layer} runs every endpoint of a group through a
 * `DecisionHandler`, which decides over the events its queries match and retries the whole cycle
 * when a concurrent write breaks its append condition.
 *
 * | Outcome                                                     | Status                              |
 * | ----------------------------------------------------------- | ----------------------------------- |
 * | decided                                                     | 200, or the endpoint's `status`; the body's `position` is the log position of its last event |
 * | a payload or header that fails its Schema                   | 400 problem, `errors` lists each field path |
 * | `ValidationError`, `InvalidInput` (a NUL, a lone surrogate) | 400 problem, `errors` lists the path |
 * | the condition still broken after the retries               | 409 problem                         |
 * | a declared domain error                                     | 422, or the status its Schema is annotated with |
 *
 * A decision reads a query, not a stream, so it has no version for an `ETag` or an `If-Match`.
 *
 * A request with an `Idempotency-Key` decides once per key and decision: its events carry the tag
 * `idempotency:<decision>:<key>`, which the decision also reads, in the same condition as its own
 * queries. Repeated, even at the same moment as the first, it appends nothing and answers the
 * events the first one appended. A request that appended nothing (refused, or decided no events)
 * left no trace: repeated, it is decided again.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, Stream, Struct } from "effect"
import type { HttpRouter } from "effect/http"
import { type HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, type HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Decision, DecisionHandler, EventQuery, EventStore, type RecordedEvent, ValidationError } from "@facta/core"
import type { CommandSchema, MiddlewareOf, Payload } from "./CommandApi.ts"
import { answerFailure, withDefaultStatus } from "./internal/failures.ts"
import { Position } from "./internal/position.ts"
import { Conflict } from "./Problems.ts"

/**
 * How a decision's command is reached over HTTP.
 *
 * @category models
 * @since 0.1.0
 */
export interface RouteOptions<Path extends HttpRouter.PathInput, Method extends "POST" | "PUT" | "PATCH", Errors extends ReadonlyArray<Schema.Top>> {
  /** The route. It takes no path parameters: the command names everything the decision needs. */
  readonly path: Path
  /** Default `POST`. */
  readonly method?: Method | undefined
  /** The status of a decided command: 200 (the default) or, for one that creates, 201. */
  readonly status?: 200 | 201 | undefined
  /**
   * The domain errors the decision may fail with, answered as themselves (their Schema's JSON)
   * with the status their Schema is annotated with (`httpApiStatus`), 422 when none. Another
   * domain error is a defect: a 500.
   */
  readonly errors?: Errors | undefined
}

/** What `layer` needs to run an endpoint, carried by the endpoint itself. */
class DecisionRoute extends Context.Service<DecisionRoute, {
  readonly tag: string
  readonly payload: Schema.Top
  readonly decision: string
  readonly errors: ReadonlyArray<Schema.Top>
}>()("@facta/http/DecisionApi/DecisionRoute") {}

/**
 * An idempotency key: 1 to 200 visible ASCII characters, such as a UUID. It becomes part of a
 * tag, which the stores keep to 256 characters.
 *
 * @category schemas
 * @since 0.1.0
 */
export const IdempotencyKey = Schema.String.check(
  Schema.isPattern(/^[\x21-\x7E]{1,200}$/, { expected: "an idempotency key: 1 to 200 visible ASCII characters" })
)

/**
 * The headers a decision's endpoint reads: `Idempotency-Key`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Headers = Schema.Struct({ "idempotency-key": Schema.optional(IdempotencyKey) })

/**
 * What a decided command answers: the stream its events went to, the events, and the log
 * position of the last of them (a decimal string; `null` when it appended none). A client passes
 * the position to a read model's query (`ReadModelApi`'s `?position=`) to read its own write.
 *
 * @category schemas
 * @since 0.1.0
 */
export type ResultBody<Event> = Schema.Struct<{
  readonly streamId: Schema.String
  readonly events: Schema.$Array<Schema.Codec<Event, unknown>>
  readonly position: Schema.NullOr<typeof Position>
}>

const resultBody = <Event>(event: Schema.Codec<Event, unknown>): ResultBody<Event> =>
  Schema.Struct({ streamId: Schema.String, events: Schema.Array(event), position: Schema.NullOr(Position) })

/**
 * Any decision, as {@link endpoint} takes it.
 *
 * @category models
 * @since 0.1.0
 */
export type Any = Decision.Decision<any, any, any, any>

/** The events a decision decides and reads. */
type EventOf<D extends Any> = D extends Decision.Decision<any, infer Event, any, any> ? Event : never

/** The command a decision decides. */
type CommandOf<D extends Any> = D extends Decision.Decision<infer Command, any, any, any> ? Command : never

/**
 * The endpoint {@link endpoint} makes of command `C` of decision `D`.
 *
 * @category models
 * @since 0.1.0
 */
export type Endpoint<
  D extends Any,
  C extends CommandSchema,
  Path extends string,
  Method extends "POST" | "PUT" | "PATCH",
  Errors extends ReadonlyArray<Schema.Top>
> = HttpApiEndpoint.HttpApiEndpoint<
  C["fields"]["_tag"]["Type"],
  Method,
  Path,
  never,
  never,
  Schema.toCodecJson<Payload<C>>,
  Schema.toCodecStringTree<typeof Headers>,
  Schema.toCodecJson<ResultBody<EventOf<D>>>,
  Schema.toCodecJson<typeof HttpApiError.BadRequestProblem | typeof Conflict | Errors[number]>
>

/**
 * The command of a decision as an endpoint, named by the command's `_tag`: `command` is the
 * decision's command Schema (or, for a decision of several commands, one of them). Add it to an
 * `HttpApiGroup` and serve the group with {@link layer}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const endpoint = <
  D extends Any,
  C extends CommandSchema & { readonly Type: CommandOf<D> },
  const Path extends HttpRouter.PathInput,
  const Errors extends ReadonlyArray<Schema.Top> = [],
  const Method extends "POST" | "PUT" | "PATCH" = "POST"
>(decision: D, command: C, options: RouteOptions<Path, Method, Errors>): Endpoint<D, C, Path, Method, Errors> => {
  const tag: string = command.fields._tag.ast.literal as string
  const payload: Schema.Top = Schema.Struct(Struct.omit(command.fields, ["_tag"]))
  const errors: ReadonlyArray<Schema.Top> = (options.errors ?? []).map(withDefaultStatus)
  // Built on the schemas' common types; `Endpoint` states what the generic call makes of them.
  const made = HttpApiEndpoint.make(options.method ?? "POST")(tag, options.path as `/${string}`, {
    headers: Headers,
    payload,
    success: resultBody(decision.event as Schema.Codec<unknown, unknown>).pipe(HttpApiSchema.status(options.status ?? 200)),
    error: [HttpApiError.BadRequestProblem, Conflict, ...errors]
  }).annotate(DecisionRoute, { tag, payload, decision: decision.name, errors })
  return made as unknown as Endpoint<D, C, Path, Method, Errors>
}

/** The body of a decided command. */
const answer = (streamId: string, events: ReadonlyArray<RecordedEvent.RecordedEvent<unknown>>) => ({
  streamId,
  events: events.map((event) => event.data),
  position: events.at(-1)?.position ?? null
})

/** The request a decision endpoint's handler sees. */
interface DecisionRequest {
  readonly payload: unknown
  readonly headers: { readonly "idempotency-key"?: string | undefined }
}

/**
 * The tag the events decided for a request with an `Idempotency-Key` carry.
 *
 * @category utilities
 * @since 0.1.0
 */
export const idempotencyTag = (decision: string, key: string): string => `idempotency:${decision}:${key}`

/** The state's key of whether a request with the idempotency key was decided before. */
const handledKey = "@facta/http/DecisionApi/handled"

/**
 * The decision, for one idempotency key: it also reads the events tagged with the key, decides
 * nothing when there are some, and tags what it decides with the key. The key's query is part of
 * the append condition, so of two requests with one key at the same moment one appends and the
 * other, decided again, finds its events.
 */
const keyed = <Command, Event extends RecordedEvent.Tagged, DomainError>(
  decision: Decision.Decision<Command, Event, Record<string, Decision.StateOf<any, Event>>, DomainError>,
  tag: string
) =>
  Decision.make({
    ...decision,
    state: (command: Command): Record<string, Decision.StateOf<any, Event>> => ({
      ...decision.state(command),
      [handledKey]: Decision.projection<boolean, Event>({ query: EventQuery.make({ tags: [tag] }), initial: false, evolve: () => true })
    }),
    decide: (command, state) => state[handledKey] === true ? Effect.succeed([]) : decision.decide(command, state),
    tags: (event) => [...decision.tags(event), tag]
  })

/**
 * Serves the group `group` of `api`, whose endpoints were all made by {@link endpoint} for the
 * decision of `handler`. Each request decides its command, with the retries of `handler`;
 * `Idempotency-Key` makes it decide once per key.
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
  P extends Record<string, Decision.StateOf<any, Event>>,
  DomainError
>(
  api: HttpApi.HttpApi<ApiId, Groups>,
  group: Name,
  handler: DecisionHandler.Handler<Command, Event, P, DomainError>
): Layer.Layer<HttpApiGroup.Service<ApiId, Name>, never, EventStore.EventStore | MiddlewareOf<Groups, Name>> =>
  HttpApiBuilder.group(api, group, (handlers) =>
    Effect.gen(function*() {
      // The handlers run with the layer's services: the store.
      const context = yield* Effect.context<EventStore.EventStore>()
      const store = yield* EventStore.EventStore
      // The keyed variant changes the decision's projections; its own type is the original's.
      const decision = handler.decision as unknown as Decision.Decision<Command, Event, Record<string, Decision.StateOf<any, Event>>, DomainError>
      let all = handlers as unknown as {
        handle: (identifier: string, handle: (request: DecisionRequest) => Effect.Effect<unknown, unknown, unknown>) => typeof all
      }
      for (const endpoint of Object.values((api.groups as unknown as Record<string, HttpApiGroup.Top>)[group]!.endpoints)) {
        const route = Context.getOption(endpoint.annotations as Context.Context<DecisionRoute>, DecisionRoute)
        if (route._tag === "None") {
          return yield* Effect.die(new Error(`Endpoint "${endpoint.identifier}" of group "${group}" was not made by DecisionApi.endpoint`))
        }
        const { errors, payload, tag } = route.value
        if (route.value.decision !== decision.name) {
          return yield* Effect.die(
            new Error(`Endpoint "${endpoint.identifier}" of group "${group}" is decision "${route.value.decision}"'s, not "${decision.name}"'s`)
          )
        }
        const encode = Schema.encodeUnknownEffect(payload as Schema.Codec<unknown, unknown>)
        const decode = ValidationError.decoder(decision.command, `command of ${decision.name}`)
        all = all.handle(endpoint.identifier, (request) =>
          Effect.gen(function*() {
            const fields = yield* Effect.orDie(encode(request.payload))
            const command = yield* decode({ ...fields as object, _tag: tag })
            const streamId = decision.streamId(command)
            const key = request.headers["idempotency-key"]
            if (key === undefined) return answer(streamId, (yield* handler.execute(command)).events)
            const keyTag = idempotencyTag(decision.name, key)
            const decided = yield* DecisionHandler.make(keyed(decision, keyTag), { retry: handler.retry }).execute(command, { commandId: key })
            if (decided.state[handledKey] !== true) return answer(streamId, decided.events)
            // Decided before: answer the events that request appended.
            const recorded = yield* Stream.runCollect(store.readQuery(EventQuery.make({ tags: [keyTag] })))
            const events = (yield* Effect.forEach(recorded, decision.events.decodeAll)).flat()
            // Its stream: a repeat with another payload names another stream, and is answered the first one's.
            return answer(events[0]?.streamId ?? streamId, events)
          }).pipe(
            Effect.catch((error) => answerFailure(error, errors)),
            Effect.provideContext(context)
          ))
      }
      return all as unknown as HttpApiBuilder.Handlers<never>
    })) as unknown as Layer.Layer<HttpApiGroup.Service<ApiId, Name>, never, EventStore.EventStore | MiddlewareOf<Groups, Name>>
