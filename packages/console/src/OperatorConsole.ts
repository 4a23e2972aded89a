/**
 * The operator's console: a web page over Facta's stores, for the questions operators ask all
 * day. What happened to this stream (its events, their data and metadata, the events that caused
 * them)? What is committing now (the live log, over `@facta/http`'s Server-Sent Events)? Why is
 * this projection behind (every processor and segment with its instances, state, checkpoint, lag
 * and a sparkline of its lag; a halted one with its error)? What is parked, and why (with
 * *replay* and *drop*)? Rebuild it, in place or blue-green, and watch the progress. Who holds the
 * readers' gate?
 *
 * {@link layer} adds the page and its JSON endpoints to an application's `HttpRouter`, under
 * `path` (default `/console`); {@link serve} runs them as a server of their own, as
 * `facta console` does.
 *
 * Read-only unless given a `token`: every action is a `POST` that must carry
 * `Authorization: Bearer <token>` (a header no cross-site form can send) and come from the
 * console's own page (`Origin` and `Sec-Fetch-Site` are checked too). Without a token the page
 * shows no action buttons and the actions answer 403. {@link serve} binds to `127.0.0.1` unless
 * told otherwise and answers only requests whose `Host` names it, so a page on another domain
 * that resolves to this address (DNS rebinding) is refused. Actions are audited: parked events'
 * replays and drops in `ParkedEvents`' audit, as `facta parked` records them; rebuilds in the log.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import {
  CheckpointStore,
  EventStore,
  InvalidInput,
  ParkedEvents,
  Processor,
  type ProjectionStore,
  type RecordedEvent,
  StatusBoard
} from "@facta/core"
import { LogFeed, Subscriptions } from "@facta/http"
import { Cause, DateTime, Duration, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import { HttpRouter, HttpServer, type HttpServerError, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { NetAddress } from "effect/net"
import { createServer } from "node:http"
import * as Assets from "./internal/assets.ts"
import { authorize, crossSite, hostCheck, type Refusal } from "./internal/guard.ts"
import * as Jobs from "./internal/jobs.ts"
import { error, eventJson, json } from "./internal/json.ts"
import * as LagHistory from "./internal/lagHistory.ts"

/**
 * A transaction holding the readers' gate, as `Gate.holders` of `@facta/sql` lists it.
 *
 * @category models
 * @since 0.1.0
 */
export interface GateHolder {
  readonly pid: number
  readonly transaction: string
  readonly ageSeconds: number
  readonly state?: string | null | undefined
  readonly application?: string | null | undefined
  readonly query?: string | null | undefined
}

/**
 * What the console shows and allows.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<P extends ReadonlyArray<Processor.Any> = ReadonlyArray<Processor.Any>, RX = never> {
  /** The application's processors: their lag is counted by their event types; they can be rebuilt and their parked events replayed. */
  readonly processors?: P | undefined
  /** Enables the actions (replay, drop, rebuild): a request must carry it as `Authorization: Bearer <token>`. */
  readonly token?: Redacted.Redacted<string> | string | undefined
  /** Where the console is mounted. Default `/console`. */
  readonly path?: `/${string}` | undefined
  /**
   * The `Host` headers to answer (such as `"ops.example.com"` or `"localhost:3000"`), or a test
   * of one. Default: any, for an application's own server to decide; {@link serve} allows only
   * the address it is bound to.
   */
  readonly hosts?: ReadonlyArray<string> | ((host: string | undefined) => boolean) | undefined
  /** Who holds the readers' gate: `Gate.holders()` of `@facta/sql` (the gate is Postgres's). Without it the page says the store has none. */
  readonly gate?: Effect.Effect<ReadonlyArray<GateHolder>, unknown, RX> | undefined
  /**
   * Finds an event by id, for the links from an event to its causation and correlation. Default:
   * reads the log from the start until it is found, fine for the memory store;
   * `SqlEventStore.readEvent` of `@facta/sql` asks Postgres.
   */
  readonly findEvent?: ((id: string) => Effect.Effect<RecordedEvent.RecordedEvent | undefined, unknown, RX>) | undefined
  /** How often each processor's lag is measured for its sparkline. Default every 5 seconds. */
  readonly sampleEvery?: Duration.Input | undefined
  /** How many lag samples the sparkline shows. Default 60. */
  readonly samples?: number | undefined
}

/**
 * What the console reads and runs: the stores, and for rebuilds what the processors need.
 *
 * @category models
 * @since 0.1.0
 */
export type Requirements =
  | EventStore.EventStore
  | CheckpointStore.CheckpointStore
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard
  | ProjectionStore.ProjectionStore
  | Processor.Requirements

/** A request the console refuses, with the status to answer. */
class Refused extends Schema.TaggedError<Refused>()("Refused", { status: Schema.Int, message: Schema.String }) {}

const refuse = (status: number, message: string) => new Refused({ status, message })

const ReplayBody = Schema.Struct({ processor: Schema.String, event: Schema.optional(Schema.String) })
const DropBody = Schema.Struct({ processor: Schema.String, event: Schema.String })
const RebuildBody = Schema.Struct({ processor: Schema.String, blueGreen: Schema.optional(Schema.Boolean) })

/** A request's body as `schema`, or a 400 that says what is wrong with it. */
const bodyOf = <S extends Schema.Top & { readonly DecodingServices: never }>(request: HttpServerRequest.HttpServerRequest, schema: S) =>
  request.json.pipe(
    Effect.mapError(() => refuse(400, "The body must be JSON, such as {\"processor\": \"accounts\"}")),
    Effect.flatMap((body) => Schema.decodeUnknownEffect(schema)(body)),
    Effect.mapError((cause) => cause instanceof Refused ? cause : refuse(400, `Bad body: ${cause.message.replace(/\s+/g, " ")}`))
  ) as Effect.Effect<S["Type"], Refused>

/** A whole number from the query, within bounds, or a 400 naming the parameter. */
const integer = (params: URLSearchParams, name: string, fallback: number, min: number, max: number) => {
  const text = params.get(name)
  if (text === null || text === "") return Effect.succeed(fallback)
  const value = Number(text)
  return Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : Effect.fail(refuse(400, `${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`))
}

/** A text parameter of the query, required. */
const required = (params: URLSearchParams, name: string) => {
  const value = params.get(name)
  return value === null || value === ""
    ? Effect.fail(refuse(400, `${name}: required`))
    : Effect.succeed(value)
}

/** One line for the operator, from a failure that is not a refusal. */
const failureMessage = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message.split("\n")[0]! : String(error)
}

const headersOf = (request: HttpServerRequest.HttpServerRequest): Readonly<Record<string, string | undefined>> => request.headers

const secondsBetween = (updatedAt: DateTime.Utc, now: DateTime.Utc) => Math.max(0, Math.round(Duration.toSeconds(DateTime.distance(updatedAt, now))))

/**
 * Adds the console to the application's `HttpRouter`: the page at `path` (default `/console/`)
 * and its JSON endpoints under `path/api/`. Its lag sampler and its rebuilds run in the layer's
 * scope.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const P extends ReadonlyArray<Processor.Any> = readonly [], RX = never>(
  options?: Options<P, RX>
): Layer.Layer<never, never, HttpRouter.HttpRouter | Requirements | Processor.ContextOf<P[number]> | RX> =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const known: ReadonlyArray<Processor.Any> = options?.processors ?? []
      const base = (options?.path ?? "/console").replace(/\/+$/, "")
      const token = options?.token === undefined ? undefined : Redacted.isRedacted(options.token) ? Redacted.value(options.token) : options.token
      const actions = token !== undefined && token !== ""
      const hosts = options?.hosts
      const allowHost = hosts === undefined
        ? () => true
        : typeof hosts === "function"
        ? hosts
        : (host: string | undefined) => host !== undefined && hosts.some((allowed) => allowed.toLowerCase() === host.toLowerCase())

      const context = yield* Effect.context<Requirements | RX>()
      const store = yield* EventStore.EventStore
      const checkpoints = yield* CheckpointStore.CheckpointStore
      const parked = yield* ParkedEvents.ParkedEvents
      const board = yield* StatusBoard.StatusBoard
      const assets = Assets.load()
      const feed = yield* LogFeed.make
      const segments = LagHistory.segmentsOf(known)
      const lags = yield* LagHistory.make({
        segments,
        every: options?.sampleEvery ?? "5 seconds",
        size: Math.max(2, options?.samples ?? 60)
      })
      const jobs = yield* Jobs.make(lags.sample)

      const processorNamed = (name: string) => {
        const processor = known.find((processor) => processor.name === name)
        return processor !== undefined ? Effect.succeed(processor as Processor.Processor<unknown, Requirements>) : Effect.fail(refuse(
          404,
          known.length === 0
            ? `Unknown processor "${name}": this console was given no processors`
            : `Unknown processor "${name}"; the processors are ${known.map((processor) => processor.name).join(", ")}`
        ))
      }

      /** Serves a request: checks its host (and for an action, its token and origin), answers failures as `{ error }`. */
      const handle = (
        action: boolean,
        body: (request: HttpServerRequest.HttpServerRequest, params: URLSearchParams) => Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, Requirements | RX>
      ) =>
      (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          const headers = headersOf(request)
          if (!allowHost(headers["host"])) {
            return yield* refuse(403, `Refused: host ${JSON.stringify(headers["host"] ?? "")} is not this console's (DNS rebinding?)`)
          }
          if (action) {
            const refusal: Refusal | undefined = authorize(token, headers["authorization"]) ?? crossSite(headers)
            if (refusal !== undefined) return yield* refuse(refusal.status, refusal.message)
          }
          return yield* body(request, new URL(request.url, "http://console").searchParams)
        }).pipe(
          Effect.catchCause((cause) => {
            const failure = Cause.squash(cause)
            if (failure instanceof Refused) return error(failure.status, failure.message)
            if (failure instanceof InvalidInput.InvalidInput) return error(400, failure.message)
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
            return Effect.andThen(
              Effect.logWarning("console: a request failed", cause),
              error(500, failureMessage(cause))
            )
          }),
          Effect.provideContext(context)
        )

      const get = (path: string, body: Parameters<typeof handle>[1]) => router.add("GET", `${base}${path}` as HttpRouter.PathInput, handle(false, body))
      const post = (path: string, body: Parameters<typeof handle>[1]) => router.add("POST", `${base}${path}` as HttpRouter.PathInput, handle(true, body))

      // The page: `path/` with its files beside it, so the page's relative URLs work under any path.
      const page = (name: string) =>
        handle(false, () => {
          const asset = assets.get(name)!
          return Effect.succeed(HttpServerResponse.text(asset.body, { contentType: asset.contentType, headers: Assets.securityHeaders }))
        })
      // The router takes `path` and `path/` for one route: `path` is sent on to `path/`.
      yield* router.add("GET", (base === "" ? "/" : `${base}/`) as HttpRouter.PathInput, (request) =>
        new URL(request.url, "http://console").pathname.endsWith("/")
          ? page("index.html")(request)
          : handle(false, () => Effect.succeed(HttpServerResponse.redirect(`${base}/`, { status: 308 })))(request))
      for (const name of Assets.files) {
        if (name !== "index.html") yield* router.add("GET", `${base}/${name}` as HttpRouter.PathInput, page(name))
      }

      yield* get("/api/info", (request) =>
        json({
          actions,
          // Whether this request carried the token: the page shows the actions only then.
          authorized: actions && authorize(token, headersOf(request)["authorization"]) === undefined,
          processors: known.map((processor) => processor.name),
          gate: options?.gate !== undefined
        }))

      yield* get("/api/streams", (_, params) =>
        Effect.gen(function*() {
          const limit = yield* integer(params, "limit", 50, 1, 1000)
          const page = yield* store.listStreams({ prefix: params.get("prefix") ?? "", after: params.get("after") ?? undefined, limit })
          return yield* json({
            streams: page.streams.map((stream) => ({ ...stream, position: stream.position.toString() })),
            next: page.next ?? null
          })
        }))

      yield* get("/api/stream", (_, params) =>
        Effect.gen(function*() {
          const id = yield* required(params, "id")
          const from = yield* integer(params, "from", 1, 1, Number.MAX_SAFE_INTEGER)
          const limit = yield* integer(params, "limit", 20, 1, 500)
          const version = yield* store.streamVersion(id)
          if (version === 0) return yield* refuse(404, `No such stream: ${JSON.stringify(id)}`)
          const events = yield* store.readStreamPage(id, { from, batchSize: limit })
          return yield* json({
            streamId: id,
            version,
            from,
            events: events.map(eventJson),
            next: from + events.length <= version ? from + events.length : null,
            previous: from > 1 ? Math.max(1, from - limit) : null
          })
        }))

      const findEvent = options?.findEvent ?? ((id: string) =>
        store.readAll().pipe(
          Stream.filter((event) => event.id === id),
          Stream.runHead,
          Effect.map(Option.getOrUndefined)
        ))

      yield* get("/api/event", (_, params) =>
        Effect.gen(function*() {
          const id = yield* required(params, "id")
          const event = yield* findEvent(id)
          if (event === undefined) return yield* refuse(404, `No event with id ${JSON.stringify(id)} in the log (it may name a command)`)
          return yield* json(eventJson(event))
        }))

      yield* get("/api/processors", () =>
        Effect.gen(function*() {
          const reports = yield* board.list
          const stored = yield* checkpoints.list
          const waiting = yield* parked.list()
          const now = yield* DateTime.now
          const missing = segments.filter((segment) => lags.latest(segment.name) === undefined)
          if (missing.length > 0) yield* lags.sample
          const instancesOf = (name: string) =>
            reports.filter((report) => report.processor === name).map((report) => ({
              instance: report.instance,
              state: report.state,
              secondsAgo: secondsBetween(report.updatedAt, now),
              lastError: report.lastError ?? null
            }))
          const listed = known.map((processor) => ({
            name: processor.name,
            kind: processor.kind,
            types: processor.types,
            parked: waiting.filter((entry) => entry.processor === processor.name).length,
            busy: jobs.running(processor.name)?.id ?? null,
            blueGreen: (processor.segments ?? 1) === 1 && (processor.documents?.length ?? 0) > 0,
            segments: segments.filter((segment) => segment.processor === processor.name).map((segment) => {
              const sample = lags.latest(segment.name)
              const checkpoint = sample?.checkpoint ?? stored.find((entry) => entry.processor === segment.name)?.position ?? EventStore.start
              return {
                name: segment.name,
                checkpoint: store.gaugeOf(checkpoint),
                lag: sample?.lag ?? null,
                history: sample?.history ?? [],
                instances: instancesOf(segment.name)
              }
            })
          }))
          // Checkpoints of processors this console was not given (another application's, a blue-green shadow).
          const names = new Set(segments.map((segment) => segment.name))
          const others = stored.filter((entry) => !names.has(entry.processor)).map((entry) => ({
            name: entry.processor,
            checkpoint: store.gaugeOf(entry.position),
            instances: instancesOf(entry.processor)
          }))
          return yield* json({ processors: listed, others, head: store.gaugeOf(yield* store.head()) })
        }))

      yield* get("/api/parked", (_, params) =>
        Effect.gen(function*() {
          const entries = yield* parked.list(params.get("processor") ?? undefined)
          return yield* json({
            parked: entries.map((entry) => ({
              processor: entry.processor,
              event: eventJson(entry.event),
              error: entry.error,
              parkedAt: DateTime.formatIso(entry.parkedAt)
            }))
          })
        }))

      yield* get("/api/jobs", (_, params) => {
        const id = params.get("id")
        if (id === null) return json({ jobs: jobs.list() })
        const job = jobs.get(id)
        return job === undefined ? Effect.fail(refuse(404, `No action ${JSON.stringify(id)}`)) : json(job)
      })

      yield* get("/api/gate", () =>
        options?.gate === undefined
          ? json({ available: false, holders: [] })
          : Effect.flatMap(options.gate, (holders) => json({ available: true, holders })))

      yield* get("/api/tail", (request, params) =>
        Effect.gen(function*() {
          const query = yield* Schema.decodeUnknownEffect(Subscriptions.Query)(Object.fromEntries(params)).pipe(
            Effect.mapError((cause) => refuse(400, `Bad filter: ${cause.message.replace(/\s+/g, " ")}`))
          )
          if (query.stream !== undefined && query.category !== undefined) return yield* refuse(400, "category: give a stream or a category, not both")
          const resume = headersOf(request)["last-event-id"]
          const head = yield* store.head()
          const after = resume !== undefined && /^\d+$/.test(resume) ? BigInt(resume) : query.after ?? head
          // A position the log has not reached was not sent by this store: starting there would skip what comes before it.
          if (after > head) return yield* refuse(400, `after: position ${after} is beyond the end of the log`)
          const encoder = new TextEncoder()
          const encode = Schema.encodeSync(Subscriptions.Message)
          const messages = Subscriptions.messages(feed, { ...query, after, bufferSize: 1000 }).pipe(
            Stream.map((message) => {
              const wire = encode(message)
              // An event goes without its `event:` line, so a browser's EventSource hands every one to `onmessage`.
              return encoder.encode("id" in wire ? `id: ${wire.id}\ndata: ${wire.data}\n\n` : `event: ${wire.event}\ndata: ${wire.data}\n\n`)
            }),
            // A comment now and then keeps proxies from closing an idle connection.
            Stream.merge(Stream.tick("15 seconds").pipe(Stream.map(() => encoder.encode(": keepalive\n\n"))), { haltStrategy: "left" }),
            Stream.orDie,
            Stream.provideService(EventStore.EventStore, store)
          )
          return HttpServerResponse.stream(Stream.concat(Stream.succeed(encoder.encode(": connected\n\n")), messages), {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
          })
        }))

      const who = (request: HttpServerRequest.HttpServerRequest) =>
        `${Option.getOrElse(request.remoteAddress, () => "?")} (${headersOf(request)["user-agent"]?.slice(0, 60) ?? "no user agent"})`

      yield* post("/api/parked/replay", (request) =>
        Effect.gen(function*() {
          const body = yield* bodyOf(request, ReplayBody)
          const processor = yield* processorNamed(body.processor)
          if (body.event !== undefined && !(yield* parked.list(processor.name)).some((entry) => entry.event.id === body.event)) {
            return yield* refuse(404, `No parked event ${body.event} of processor "${processor.name}"`)
          }
          const running = jobs.running(processor.name)
          if (running !== undefined) return yield* refuse(409, `Processor "${processor.name}" is busy: ${running.kind} ${running.id} is running`)
          yield* Effect.logInfo(`console: replaying ${body.event ?? "every parked event"} of ${processor.name}, for ${who(request)}`)
          // It takes the processor's lease: it waits, as a job, while a running instance holds it.
          return yield* json(yield* jobs.replay(processor, body.event), 202)
        }))

      yield* post("/api/parked/drop", (request) =>
        Effect.gen(function*() {
          const body = yield* bodyOf(request, DropBody)
          yield* Effect.logInfo(`console: dropping parked event ${body.event} of ${body.processor}, for ${who(request)}`)
          const dropped = yield* parked.remove(body.processor, body.event, "dropped")
          if (!dropped) return yield* refuse(404, `No parked event ${body.event} of processor "${body.processor}"`)
          return yield* json({ dropped: { processor: body.processor, event: body.event } })
        }))

      yield* post("/api/rebuild", (request) =>
        Effect.gen(function*() {
          const body = yield* bodyOf(request, RebuildBody)
          const processor = yield* processorNamed(body.processor)
          const blueGreen = body.blueGreen === true
          if (blueGreen && (processor.segments ?? 1) > 1) {
            return yield* refuse(400, `Processor "${processor.name}" runs in segments: rebuild it in place; blue-green does not split`)
          }
          if (blueGreen && (processor.documents?.length ?? 0) === 0) {
            return yield* refuse(400, `Processor "${processor.name}" declares no documents: a blue-green rebuild needs them`)
          }
          const running = jobs.running(processor.name)
          if (running !== undefined) return yield* refuse(409, `Processor "${processor.name}" is busy: ${running.kind} ${running.id} is running`)
          yield* Effect.logInfo(`console: ${blueGreen ? "blue-green rebuild" : "rebuild"} of ${processor.name}, for ${who(request)}`)
          const job = yield* jobs.rebuild(processor, blueGreen)
          return yield* json(job, 202)
        }))
    })
  ) as Layer.Layer<never, never, HttpRouter.HttpRouter | Requirements | Processor.ContextOf<P[number]> | RX>

/**
 * Where {@link serve} listens.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServeOptions<P extends ReadonlyArray<Processor.Any> = ReadonlyArray<Processor.Any>, RX = never> extends Omit<Options<P, RX>, "hosts"> {
  /** Default 7700; 0 picks a free port. */
  readonly port?: number | undefined
  /** Default `127.0.0.1`: only this machine. */
  readonly host?: string | undefined
  /** More `Host` names to answer besides the bound address (a name the server is reached by). */
  readonly hosts?: ReadonlyArray<string> | undefined
}

/**
 * The console as a server of its own, at `/` unless `path` says otherwise: `facta console`.
 * It answers only requests whose `Host` names the address it listens on.
 *
 * @category running
 * @since 0.1.0
 */
export const serve = <const P extends ReadonlyArray<Processor.Any> = readonly [], RX = never>(
  options?: ServeOptions<P, RX>
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Requirements | Processor.ContextOf<P[number]> | RX> => {
  const host = options?.host ?? "127.0.0.1"
  const app = Layer.unwrap(Effect.map(HttpServer.HttpServer, (server) => {
    const port = "port" in server.address ? server.address.port : 0
    return layer({ ...options, path: options?.path ?? "/", hosts: hostCheck({ host, port }, options?.hosts) })
  }))
  return HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options?.port ?? 7700, host }))
  ) as unknown as Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Requirements | Processor.ContextOf<P[number]> | RX>
}

/**
 * The URL the console is reached at, from the server's address and the mount path.
 *
 * @category utilities
 * @since 0.1.0
 */
export const urlOf = (address: NetAddress.SocketAddress, path = "/"): string => {
  const base = HttpServer.formatAddress(address).replace("0.0.0.0", "127.0.0.1")
  return `${base}${path.endsWith("/") ? path : `${path}/`}`
}
