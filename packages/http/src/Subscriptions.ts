/**
 * The event log live over Server-Sent Events. {@link group} makes a `GET /events` endpoint (an
 * `effect/http-api` streaming endpoint, so the OpenAPI document shows it) and {@link layer} serves
 * it: every event after a position that passes the client's filter (a stream or a category, event
 * types, tags: see {@link Filter}), as it is appended, gap-free.
 *
 * Each message is one recorded event: `id:` its position, `event:` its type, `data:` its JSON
 * ({@link EventJson}). A client resumes exactly after the last id it got with the `Last-Event-ID`
 * header (what a browser's `EventSource` sends when it reconnects) or `?after=<position>`. A
 * `: keepalive` comment line is written every `heartbeat` so proxies keep an idle connection.
 * The server reads the log once for all its clients ({@link LogFeed}); a client resuming from an
 * older position reads its backlog from the store first, then joins the shared reader.
 * Each client has a buffer of `bufferSize` events between the log and its connection: when a
 * client reads too slowly for it to drain, the server ends the stream with an `overflow` message
 * ({@link OverflowJson}) rather than hold more, and the client resumes from its last id.
 *
 * {@link follow} is such a client: a `Stream` of the recorded events that reconnects after a
 * dropped connection or an overflow, and resumes after the last event it received.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Layer, Option, Ref, Schedule, Schema, SchemaTransformation, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpClient } from "effect/http"
import { type HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { EventQuery, EventStore, InvalidInput, type RecordedEvent } from "@facta/core"
import type { MiddlewareOf } from "./CommandApi.ts"
import { Position as WirePosition } from "./internal/position.ts"
import * as LogFeed from "./LogFeed.ts"

/**
 * A position in the log as the wire carries it: a decimal string, such as `"42"`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Position = WirePosition

/**
 * Event types as a query parameter: names separated by commas, `AccountOpened,Deposited`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Types = Schema.String.check(
  Schema.isPattern(/^[^,]+(,[^,]+)*$/, { expected: "event types separated by commas, such as \"AccountOpened,Deposited\"" })
).pipe(Schema.decodeTo(
  Schema.Array(Schema.String),
  SchemaTransformation.transform({
    decode: (types: string): ReadonlyArray<string> => types.split(","),
    encode: (types: ReadonlyArray<string>) => types.join(",")
  })
))

/**
 * Tags as a query parameter: tags separated by commas, `account:a,region:eu`. An event must
 * carry every one.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Tags = Schema.String.check(
  Schema.isPattern(/^[^,]+(,[^,]+)*$/, { expected: "tags separated by commas, such as \"account:a,region:eu\"" })
).pipe(Schema.decodeTo(
  Schema.Array(Schema.String),
  SchemaTransformation.transform({
    decode: (tags: string): ReadonlyArray<string> => tags.split(","),
    encode: (tags: ReadonlyArray<string>) => tags.join(",")
  })
))

/**
 * A stream id, or a category, as a query parameter: not empty, and no longer than a stream id.
 *
 * @category schemas
 * @since 0.1.0
 */
export const StreamName = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(InvalidInput.limits.streamIdLength))

/**
 * Which events a client is sent: each given part must hold (they combine with "and"). `stream`
 * is one stream; `category` the streams whose id is `<category>-<id>` (the convention the
 * project's stream ids follow), that is, starts with `category` and a hyphen; `types` and `tags`
 * are one `EventQuery` item: an event of one of the types (any type without `types`) that carries
 * every tag.
 *
 * @category models
 * @since 0.1.0
 */
export interface Filter {
  readonly stream?: string | undefined
  readonly category?: string | undefined
  readonly types?: ReadonlyArray<string> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * The `EventQuery` of a filter's `types` and `tags`: one item.
 *
 * @category utilities
 * @since 0.1.0
 */
export const queryOf = (filter: Filter): EventQuery.EventQuery => EventQuery.make({ types: filter.types, tags: filter.tags })

/**
 * Whether an event passes a filter.
 *
 * @category predicates
 * @since 0.1.0
 */
export const matches = (filter: Filter): (event: RecordedEvent.RecordedEvent) => boolean => {
  const query = queryOf(filter)
  const prefix = filter.category === undefined ? undefined : `${filter.category}-`
  return (event) =>
    (filter.stream === undefined || event.streamId === filter.stream) &&
    (prefix === undefined || event.streamId.startsWith(prefix)) &&
    EventQuery.matches(query, event)
}

/**
 * A recorded event as the `data:` of its message: its position a decimal string, its time ISO 8601.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EventJson = Schema.Struct({
  id: Schema.String,
  streamId: Schema.String,
  version: Schema.Int,
  position: Position,
  type: Schema.String,
  data: Schema.Json,
  metadata: Schema.Record(Schema.String, Schema.Json),
  recordedAt: Schema.DateTimeUtcFromString,
  tags: Schema.optional(Schema.Array(Schema.String))
})

/**
 * The `data:` of the `overflow` message: the client read too slowly, so its stream ended.
 * `lastEventId` is the position to resume after (the last event it was sent).
 *
 * @category schemas
 * @since 0.1.0
 */
export const OverflowJson = Schema.Struct({
  lastEventId: Position,
  bufferSize: Schema.Int,
  detail: Schema.String
})

/**
 * The SSE message of one recorded event.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EventMessage = Schema.Struct({
  id: Position,
  event: Schema.String,
  data: Schema.fromJsonString(EventJson)
})

/**
 * The last message of a stream whose client read too slowly. It has no `id:`, so a client's last
 * event id stays the last event's position.
 *
 * @category schemas
 * @since 0.1.0
 */
export const OverflowMessage = Schema.Struct({
  event: Schema.Literal("overflow"),
  data: Schema.fromJsonString(OverflowJson)
})

/**
 * A message of the stream: a recorded event, or the overflow that ends it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Message = Schema.Union([EventMessage, OverflowMessage])

/**
 * A message of the stream, decoded.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * The query of the endpoint: the {@link Filter} (`stream` or `category`, `types` and `tags`
 * comma-separated) and `after` (a position).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Query = Schema.Struct({
  stream: Schema.optional(StreamName),
  category: Schema.optional(StreamName),
  types: Schema.optional(Types),
  tags: Schema.optional(Tags),
  after: Schema.optional(Position)
})

/**
 * The headers of the endpoint: `Last-Event-ID`, which wins over `?after=` (a browser reconnects
 * to the same URL, with the header).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Headers = Schema.Struct({
  "last-event-id": Schema.optional(Position)
})

/**
 * How the events endpoint is reached and how often it writes a heartbeat.
 *
 * @category models
 * @since 0.1.0
 */
export interface GroupOptions<Path extends `/${string}`> {
  /** Default `/events`. */
  readonly path?: Path | undefined
  /** How often a `: keepalive` comment is written. Default 15 seconds. */
  readonly heartbeat?: Duration.Input | undefined
}

/**
 * The group {@link group} makes: one endpoint, `events`.
 *
 * @category models
 * @since 0.1.0
 */
export type Group<Path extends string> = HttpApiGroup.HttpApiGroup<
  "subscriptions",
  HttpApiEndpoint.HttpApiEndpoint<
    "events",
    "GET",
    Path,
    never,
    typeof Query,
    never,
    typeof Headers,
    HttpApiSchema.StreamSse<typeof Message, Schema.Never>,
    typeof HttpApiError.BadRequestProblem
  >
>

/**
 * The `subscriptions` group with its `events` endpoint, to add to the application's `HttpApi`
 * and serve with {@link layer}.
 *
 * @category groups
 * @since 0.1.0
 */
export const group = <const Path extends `/${string}` = "/events">(options?: GroupOptions<Path>): Group<Path> =>
  HttpApiGroup.make("subscriptions").add(
    HttpApiEndpoint.get("events", (options?.path ?? "/events") as Path, {
      query: Query,
      headers: Headers,
      success: HttpApiSchema.StreamSse({ events: Message, keepAlive: options?.heartbeat ?? "15 seconds" }),
      error: HttpApiError.BadRequestProblem
    })
  ) as unknown as Group<Path>

/**
 * The store's read of a filter's backlog: by query when it names tags, the stream's own read for
 * one stream, else the log by type. It may give events the filter does not want; never miss one.
 *
 * @category constructors
 * @since 0.1.0
 */
export const backlog = (store: EventStore.EventStore["Service"], filter: Filter) =>
(after: bigint): Stream.Stream<RecordedEvent.RecordedEvent, EventStore.EventStoreError | InvalidInput.InvalidInput> =>
  filter.tags !== undefined && filter.tags.length > 0
    ? store.readQuery(queryOf(filter), { after })
    : filter.stream !== undefined
    ? store.readStream(filter.stream).pipe(Stream.filter((event) => event.position > after))
    : store.readAll({ after, types: filter.types })

/**
 * What one client is sent: every event after `after` that passes the filter, live, through the
 * shared reader `feed` (see {@link LogFeed}): a buffer of `bufferSize` events between the log and
 * the connection; when it is full the stream ends with an overflow message rather than hold more.
 *
 * @category constructors
 * @since 0.1.0
 */
export const messages = (feed: LogFeed.LogFeed, options: Filter & {
  readonly after?: bigint | undefined
  readonly bufferSize: number
}): Stream.Stream<Message, EventStore.EventStoreError | InvalidInput.InvalidInput, EventStore.EventStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    let lastSent = options.after ?? EventStore.start
    return feed.subscribe({
      after: lastSent,
      wanted: matches(options),
      backlog: backlog(store, options),
      bufferSize: options.bufferSize
    }).pipe(
      Stream.map((event): Message => {
        lastSent = event.position
        // The store keeps JSON data and metadata only.
        return { id: event.position, event: event.type, data: event as typeof EventJson.Type }
      }),
      Stream.catchTag("BufferFull", ({ bufferSize }) =>
        Stream.succeed<Message>({
          event: "overflow",
          data: {
            lastEventId: lastSent,
            bufferSize,
            detail: `the client read too slowly: its buffer of ${bufferSize} events filled; resume after ${lastSent}`
          }
        }))
    )
  }))

/** A parameter the endpoint refuses, as the problem a malformed one is. */
const refused = (path: ReadonlyArray<string>, message: string) =>
  new HttpApiError.BadRequestProblem({ detail: `${path.join(".")}: ${message}`, errors: [{ path, message }] })

/**
 * Serves the `subscriptions` group of `api`, made by {@link group}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <ApiId extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<ApiId, Groups> & ("subscriptions" extends HttpApiGroup.Identifier<Groups> ? unknown : "add Subscriptions.group() to the API"),
  options?: {
    /** How many events may wait for a client before its stream ends with `overflow`. Default 1,000. */
    readonly bufferSize?: number | undefined
  }
): Layer.Layer<HttpApiGroup.Service<ApiId, "subscriptions">, never, EventStore.EventStore | MiddlewareOf<Groups, "subscriptions">> =>
  HttpApiBuilder.group(api as unknown as HttpApi.HttpApi<ApiId, Group<string>>, "subscriptions", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      // One reader of the log for every client of this server.
      const feed = yield* LogFeed.make
      const bufferSize = Math.max(1, options?.bufferSize ?? 1000)
      return handlers.handle("events", ({ headers, query }) =>
        Effect.gen(function*() {
          if (query.stream !== undefined && query.category !== undefined) {
            return yield* refused(["query", "category"], "give a stream or a category, not both: a stream is in one category")
          }
          const after = headers["last-event-id"] ?? query.after
          // A position the log has not reached was not sent by this store: starting there would skip what comes before it.
          if (after !== undefined && after > EventStore.start && after > (yield* Effect.orDie(store.head()))) {
            const parameter = headers["last-event-id"] !== undefined ? ["headers", "last-event-id"] : ["query", "after"]
            return yield* refused(parameter, `position ${after} is beyond the end of the log`)
          }
          return messages(feed, { ...query, after, bufferSize }).pipe(
            // A store failure mid-stream ends the response; the client resumes from its last id.
            Stream.orDie,
            Stream.provideService(EventStore.EventStore, store)
          )
        }))
    })) as unknown as Layer.Layer<HttpApiGroup.Service<ApiId, "subscriptions">, never, EventStore.EventStore | MiddlewareOf<Groups, "subscriptions">>

/**
 * The server refused the subscription (a 4xx: a malformed position or filter); following again
 * would be refused too.
 *
 * @category errors
 * @since 0.1.0
 */
export class SubscriptionRefused extends Schema.TaggedError<SubscriptionRefused>()("SubscriptionRefused", {
  status: Schema.Int,
  detail: Schema.String
}) {}

/**
 * How {@link follow} subscribes and reconnects.
 *
 * @category models
 * @since 0.1.0
 */
export interface FollowOptions extends Filter {
  /** Start after this position; default the start of the log. */
  readonly after?: bigint | undefined
  /** When to reconnect after a dropped connection; the first event received resets it. Default every second. */
  readonly reconnect?: Schedule.Schedule<unknown, unknown> | undefined
}

/** Ends one connection's stream; the next connection resumes. */
class Reconnect extends Schema.TaggedError<Reconnect>()("Reconnect", {}) {}

/**
 * The events of an events endpoint at `url` (such as `http://localhost:3000/events`), each once,
 * in order: after a dropped connection or an overflow it reconnects with `Last-Event-ID`, the
 * position of the last event it received.
 *
 * @category constructors
 * @since 0.1.0
 */
export const follow = (url: string, options?: FollowOptions): Stream.Stream<RecordedEvent.RecordedEvent, SubscriptionRefused, HttpClient.HttpClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const last = yield* Ref.make(Option.fromUndefinedOr(options?.after))
    const listed = (values: ReadonlyArray<string> | undefined) => values === undefined || values.length === 0 ? undefined : values.join(",")
    const urlParams = Object.fromEntries(
      Object.entries({
        stream: options?.stream,
        category: options?.category,
        types: listed(options?.types),
        tags: listed(options?.tags)
      }).filter((entry): entry is [string, string] => entry[1] !== undefined)
    )
    const reconnect: Schedule.Schedule<unknown, Reconnect | SubscriptionRefused> = options?.reconnect ?? Schedule.spaced("1 second")
    const connection = Stream.unwrap(Effect.gen(function*() {
      const after = yield* Ref.get(last)
      const response = yield* client.get(url, {
        urlParams,
        headers: Option.isSome(after) ? { "last-event-id": after.value.toString() } : {}
      })
      if (response.status >= 400 && response.status < 500) {
        const detail = yield* Effect.orElseSucceed(response.text, () => "")
        return yield* new SubscriptionRefused({ status: response.status, detail })
      }
      if (response.status !== 200) return yield* new Reconnect()
      return response.stream
    })).pipe(
      Stream.decodeText,
      Stream.pipeThroughChannel(Sse.decodeSchema(Message)),
      Stream.flatMap((message) => "id" in message ? Stream.succeed(message) : Stream.fail(new Reconnect())),
      // Positions only grow; one at or before the last received was already emitted.
      Stream.filterEffect((message) =>
        Ref.modify(last, (previous) =>
          Option.isSome(previous) && message.id <= previous.value ? [false, previous] : [true, Option.some(message.id)])
      ),
      Stream.map((message) => message.data),
      // The server ends a live stream only when it overflows or goes away: connect again.
      Stream.concat(Stream.fail(new Reconnect())),
      Stream.catchIf((error) => error._tag !== "SubscriptionRefused", () => Stream.fail(new Reconnect()))
    )
    return connection.pipe(
      // A refusal would be refused again: only a dropped connection is retried.
      Stream.retry(Schedule.while(reconnect, ({ input }) => input._tag === "Reconnect")),
      Stream.catchTag("Reconnect", () => Stream.empty)
    ) as Stream.Stream<RecordedEvent.RecordedEvent, SubscriptionRefused>
  }))
