/**
 * An API with plain error bodies (`PlainErrors`) and limits (`Limits`), and commands that carry
 * their aggregate's id and answer their state (`idField`, `success`): a real server on a free
 * port, real requests with `fetch`, on the in-memory stores.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { Aggregate, CommandHandler, EventStore, InMemory } from "@facta/core"
import { createServer } from "node:http"
import { CommandApi, Limits, PlainErrors } from "../src/index.ts"

class OpenTicket extends Schema.TaggedClass<OpenTicket>()("OpenTicket", {
  ticket_id: Schema.String.check(Schema.isPattern(/^[a-z0-9-]+$/, { expected: "a ticket id of a-z, 0-9 and '-'" })),
  title: Schema.NonEmptyString
}) {}
class CloseTicket extends Schema.TaggedClass<CloseTicket>()("CloseTicket", { ticket_id: Schema.String }) {}
class TicketOpened extends Schema.TaggedClass<TicketOpened>()("TicketOpened", { ticket_id: Schema.String, title: Schema.String }) {}
class TicketClosed extends Schema.TaggedClass<TicketClosed>()("TicketClosed", { ticket_id: Schema.String }) {}
class TicketAlreadyOpen extends Schema.TaggedError<TicketAlreadyOpen>()("TicketAlreadyOpen", { ticket_id: Schema.String }) {
  override get message() {
    return `Ticket ${this.ticket_id} is already open`
  }
}
class TicketNotFound extends Schema.TaggedError<TicketNotFound>()("TicketNotFound", { ticket_id: Schema.String }, { httpApiStatus: 404 }) {
  override get message() {
    return `No ticket ${this.ticket_id}`
  }
}

const TicketState = Schema.Struct({ ticket_id: Schema.String, title: Schema.String, closed: Schema.Boolean })
type TicketState = typeof TicketState.Type | null

const Ticket = Aggregate.make({
  name: "Ticket",
  command: Schema.Union([OpenTicket, CloseTicket]),
  event: Schema.Union([TicketOpened, TicketClosed]),
  initialState: null as TicketState,
  decide: (command, state) =>
    Effect.gen(function*() {
      if (command._tag === "OpenTicket") {
        if (state !== null) return yield* new TicketAlreadyOpen({ ticket_id: command.ticket_id })
        return [new TicketOpened({ ticket_id: command.ticket_id, title: command.title })]
      }
      if (state === null) return yield* new TicketNotFound({ ticket_id: command.ticket_id })
      return [new TicketClosed({ ticket_id: command.ticket_id })]
    }),
  evolve: (state, event): TicketState =>
    event._tag === "TicketOpened"
      ? { ticket_id: event.ticket_id, title: event.title, closed: false }
      : state === null ? state : { ...state, closed: true }
})

const streamId = (id: string) => `ticket-${id}`
// The ticket as the command left it; a handled command always leaves one.
const success = { schema: TicketState, body: ({ state }: { readonly state: TicketState }) => state! }

class Tickets extends HttpApiGroup.make("tickets").add(
  CommandApi.endpoint(Ticket, OpenTicket, { path: "/tickets/:id", status: 201, streamId, idField: "ticket_id", success, errors: [TicketAlreadyOpen] }),
  CommandApi.endpoint(Ticket, CloseTicket, { path: "/tickets/:id/close", streamId, idField: "ticket_id", success, errors: [TicketNotFound] })
) {}

/** An endpoint slower than the limits allow, and one that fails in the service itself. */
class Slow extends HttpApiGroup.make("slow").add(
  HttpApiEndpoint.get("slow", "/slow", { success: Schema.String }),
  HttpApiEndpoint.get("broken", "/broken", { success: Schema.String })
) {}

// PlainErrors last: it tells the failures of Limits too.
class Api extends HttpApi.make("tickets").add(Tickets).add(Slow).middleware(Limits.Limits).middleware(PlainErrors.PlainErrors) {}

const routes = Layer.merge(HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }), PlainErrors.layerNotFound).pipe(
  Layer.provide([
    CommandApi.layer(Api, "tickets", CommandHandler.make(Ticket)),
    HttpApiBuilder.group(Api, "slow", (handlers) =>
      handlers
        .handle("slow", () => Effect.as(Effect.sleep("5 seconds"), "done"))
        .handle("broken", () => Effect.die(new Error("the disk is on fire"))))
  ]),
  Layer.provide([Limits.layer({ maxBodyBytes: 1000, timeout: "200 millis" }), PlainErrors.layer])
)

const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** Sends `body` as JSON (unless it is a string), or `raw` with only the headers given. */
const request = (method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}, raw?: string) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const url = `${HttpServer.formatAddress(server.address)}${path}`
    const init: RequestInit = raw !== undefined
      ? { method, headers, body: raw }
      : body === undefined
      ? { method, headers }
      : { method, headers: { ...headers, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(url, init)
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
    })
  })

const fresh = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`

const eventsOf = (id: string) => Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readStream(streamId(id))))

const assertPlain = (reply: Reply, status: number, error: string, message: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.headers.get("content-type"), "application/json")
  assert.strictEqual(reply.body.error, error)
  assert.strictEqual(reply.body.message, message)
}

layer(server.pipe(Layer.provideMerge(InMemory.layer)), { excludeTestServices: true })("@facta/http with plain errors and limits", (it) => {
  describe("commands that carry their id and answer their state", () => {
    it.effect("the path's id fills the command's field, overruling the body; the answer is the state", () =>
      Effect.gen(function*() {
        const id = fresh("t")
        const opened = yield* request("POST", `/tickets/${id}`, { title: "Printer", ticket_id: "someone-else" })
        assert.strictEqual(opened.status, 201)
        assert.strictEqual(opened.headers.get("etag"), "\"1\"")
        assert.deepStrictEqual(opened.body, { ticket_id: id, title: "Printer", closed: false })
        assert.deepStrictEqual((yield* eventsOf(id)).map((event) => event.data), [{ ticket_id: id, title: "Printer" }])
        const closed = yield* request("POST", `/tickets/${id}/close`, {})
        assert.deepStrictEqual([closed.status, closed.body], [200, { ticket_id: id, title: "Printer", closed: true }])
      }))

    it.effect("an id the command's Schema refuses is a 400 naming the field", () =>
      Effect.gen(function*() {
        const refused = yield* request("POST", "/tickets/Not%20This", { title: "Printer" })
        assertPlain(refused, 400, "ValidationError", "Invalid command of Ticket: ticket_id: Expected a ticket id of a-z, 0-9 and '-'")
        assert.deepStrictEqual(refused.body.issues, [{ path: "ticket_id", message: "Expected a ticket id of a-z, 0-9 and '-'" }])
      }))

    it.effect("If-Match: * runs the command on a stream that has events, and is a 412 on one that has none", () =>
      Effect.gen(function*() {
        const id = fresh("star")
        assertPlain(
          yield* request("POST", `/tickets/${id}/close`, {}, { "if-match": "*" }),
          412,
          "WrongExpectedVersion",
          `Stream "${streamId(id)}": expected streamExists, actual version 0`
        )
        yield* request("POST", `/tickets/${id}`, { title: "Printer" })
        const closed = yield* request("POST", `/tickets/${id}/close`, {}, { "if-match": "*" })
        assert.strictEqual(closed.status, 200, JSON.stringify(closed.body))
        assert.strictEqual(closed.headers.get("etag"), "\"2\"")
      }))
  })

  describe("plain error bodies", () => {
    it.effect("a payload that fails its Schema names every field, as the command's validation does", () =>
      Effect.gen(function*() {
        const reply = yield* request("POST", `/tickets/${fresh("bad")}`, { title: 7 })
        assertPlain(reply, 400, "ValidationError", "Invalid command of Ticket: title: Expected string")
        assert.deepStrictEqual(reply.body.issues, [{ path: "title", message: "Expected string" }])
      }))

    it.effect("a body that is not JSON, or not an object, is refused as the request body", () =>
      Effect.gen(function*() {
        const id = fresh("body")
        assertPlain(yield* request("POST", `/tickets/${id}`, "{ not json"), 400, "ValidationError", "Invalid request body: Expected valid JSON")
        assertPlain(yield* request("POST", `/tickets/${id}`, ["a list"]), 400, "ValidationError", "Invalid request body: Expected a JSON object")
        assertPlain(yield* request("POST", `/tickets/${id}`), 400, "ValidationError", "Invalid request body: Expected a JSON object")
      }))

    it.effect("a body of a media type the endpoint does not take is a 415; JSON with parameters is JSON", () =>
      Effect.gen(function*() {
        const id = fresh("media")
        const body = JSON.stringify({ title: "Printer" })
        assertPlain(
          yield* request("POST", `/tickets/${id}`, undefined, { "content-type": "text/plain" }, body),
          415,
          "UnsupportedMediaType",
          "Unsupported content-type: text/plain"
        )
        assert.deepStrictEqual(yield* eventsOf(id), [])
        const json = yield* request("POST", `/tickets/${id}`, undefined, { "content-type": "Application/JSON; charset=utf-8" }, body)
        assert.strictEqual(json.status, 201, JSON.stringify(json.body))
      }))

    it.effect("a malformed If-Match is a 400 naming the header", () =>
      Effect.gen(function*() {
        const reply = yield* request("POST", `/tickets/${fresh("tag")}/close`, {}, { "if-match": "one" })
        assert.strictEqual(reply.status, 400)
        assert.strictEqual(reply.body.error, "ValidationError")
        assert.deepStrictEqual(reply.body.issues.map((issue: { path: string }) => issue.path), ["if-match"])
      }))

    it.effect("a string no store keeps is a 400 InvalidInput", () =>
      Effect.gen(function*() {
        const reply = yield* request("POST", `/tickets/${fresh("nul")}`, { title: "a\u0000b" })
        assert.strictEqual(reply.status, 400)
        assert.deepStrictEqual(Object.keys(reply.body), ["error", "message"])
        assert.strictEqual(reply.body.error, "InvalidInput")
        assert.include(reply.body.message, "NUL")
      }))

    it.effect("a domain error answers its tag and message, at 422 or its Schema's status", () =>
      Effect.gen(function*() {
        const id = fresh("twice")
        yield* request("POST", `/tickets/${id}`, { title: "Printer" })
        assertPlain(yield* request("POST", `/tickets/${id}`, { title: "Printer" }), 422, "TicketAlreadyOpen", `Ticket ${id} is already open`)
        const missing = fresh("missing")
        assertPlain(yield* request("POST", `/tickets/${missing}/close`, {}), 404, "TicketNotFound", `No ticket ${missing}`)
      }))

    it.effect("a defect is a 500 that tells nothing of it; an unknown route a 404", () =>
      Effect.gen(function*() {
        assertPlain(yield* request("GET", "/broken"), 500, "InternalError", "The service failed; try again later")
        assertPlain(yield* request("GET", "/nowhere"), 404, "NotFound", "No route for GET /nowhere")
      }))
  })

  describe("limits", () => {
    it.effect("a body over the limit is a 413, and nothing is written", () =>
      Effect.gen(function*() {
        const id = fresh("big")
        assertPlain(
          yield* request("POST", `/tickets/${id}`, { title: "x".repeat(2000) }),
          413,
          "PayloadTooLarge",
          "The request body is larger than 1000 bytes"
        )
        assert.deepStrictEqual(yield* eventsOf(id), [])
      }))

    it.effect("a body over the limit without a Content-Length is a 413 once its bytes pass it", () =>
      Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const id = fresh("chunked")
        const chunks = ["{\"title\":\"", "x".repeat(800), "x".repeat(800), "\"}"]
        const reply = yield* Effect.promise(async () => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk))
              controller.close()
            }
          })
          const response = await fetch(`${HttpServer.formatAddress(server.address)}/tickets/${id}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            duplex: "half"
          } as RequestInit)
          return { status: response.status, body: await response.json() as { readonly error: string } }
        })
        assert.strictEqual(reply.status, 413, JSON.stringify(reply.body))
        assert.strictEqual(reply.body.error, "PayloadTooLarge")
        assert.deepStrictEqual(yield* eventsOf(id), [])
      }))

    it.effect("a request that takes longer than the timeout is a 503", () =>
      Effect.gen(function*() {
        const started = Date.now()
        assertPlain(yield* request("GET", "/slow"), 503, "TimedOut", "The service did not answer within 200ms")
        assert.isBelow(Date.now() - started, 4000)
      }))
  })

  describe("the API's description", () => {
    it.effect("the OpenAPI document lists the plain bodies and the limits' statuses", () =>
      Effect.gen(function*() {
        const { body } = yield* request("GET", "/openapi.json")
        const open = body.paths["/tickets/{id}"].post
        assert.includeMembers(Object.keys(open.responses), ["201", "400", "409", "412", "413", "422", "500", "503"])
      }))

    it.effect("a typed HttpApiClient decodes the state and the plain errors", () =>
      Effect.gen(function*() {
        const server = yield* HttpServer.HttpServer
        const client = yield* HttpApiClient.make(Api, { baseUrl: HttpServer.formatAddress(server.address) })
        const id = fresh("client")
        const opened = yield* client.tickets.OpenTicket({ params: { id }, headers: {}, payload: { title: "Printer" } })
        assert.deepStrictEqual(opened.body, { ticket_id: id, title: "Printer", closed: false })
        const again = yield* Effect.flip(client.tickets.OpenTicket({ params: { id }, headers: {}, payload: { title: "Printer" } }))
        assert.instanceOf(again, PlainErrors.UnprocessableContent)
        if (again instanceof PlainErrors.UnprocessableContent) assert.strictEqual(again.error, "TicketAlreadyOpen")
        const closed = yield* client.tickets.CloseTicket({ params: { id }, headers: { "if-match": "*" }, payload: {} })
        assert.strictEqual(closed.headers.etag, 2)
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})
