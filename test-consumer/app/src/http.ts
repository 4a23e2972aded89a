// The application over HTTP with @facta/http: the account's commands as endpoints, the log as a
// live Server-Sent Events stream, served on a free port, and driven by the typed client.
import { NodeHttpServer } from "@effect/platform-node"
import { CommandHandler, EventStore } from "@facta/core"
import { CommandApi, Subscriptions } from "@facta/http"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { createServer } from "node:http"
import { Account, AccountNotOpen, Deposit, Open } from "./Account.js"

const streamId = (id: string) => `account-${id}`

class Accounts extends HttpApiGroup.make("accounts").add(
  CommandApi.endpoint(Account, Open, { method: "PUT", path: "/accounts/:id", status: 201, streamId }),
  CommandApi.endpoint(Account, Deposit, { path: "/accounts/:id/deposit", streamId, errors: [AccountNotOpen] })
) {}

class Api extends HttpApi.make("consumer").add(Accounts).add(Subscriptions.group()).middleware(HttpApiMiddleware.ProblemDetails) {}

const routes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([CommandApi.layer(Api, "accounts", CommandHandler.make(Account)), Subscriptions.layer(Api)]),
  Layer.provide(HttpApiMiddleware.layerProblemDetails())
)

/** A real server on a free port of the loopback interface. */
export const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

const check = (what: string, actual: unknown, expected: unknown) =>
  JSON.stringify(actual) === JSON.stringify(expected)
    ? Effect.void
    : Effect.die(new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`))

/** Needs `server` and the stores. */
export const overHttp = (label: string) =>
  Effect.gen(function*() {
    const baseUrl = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
    const client = yield* HttpApiClient.make(Api, { baseUrl })
    const id = crypto.randomUUID()
    const opened = yield* client.accounts.Open({ params: { id }, headers: {}, payload: { owner: "Ada" } })
    yield* check(`${label}: the ETag of an opened account`, opened.headers.etag, 1)
    const deposited = yield* client.accounts.Deposit({ params: { id }, headers: { "if-match": 1 }, payload: { amount: 5 } })
    yield* check(`${label}: the events of a deposit`, deposited.body.events, [{ _tag: "Deposited", amount: 5 }])
    const stale = yield* Effect.flip(client.accounts.Deposit({ params: { id }, headers: { "if-match": 1 }, payload: { amount: 5 } }))
    yield* check(`${label}: a stale If-Match`, stale._tag, "PreconditionFailed")
    const refused = yield* Effect.flip(client.accounts.Deposit({ params: { id: crypto.randomUUID() }, headers: {}, payload: { amount: 5 } }))
    yield* check(`${label}: a domain error`, refused._tag, "AccountNotOpen")
    const invalid = yield* Effect.promise(() =>
      fetch(`${baseUrl}/accounts/${id}/deposit`, { method: "POST", headers: { "content-type": "application/json" }, body: "{\"amount\":-1}" })
    )
    yield* check(`${label}: invalid input`, [invalid.status, invalid.headers.get("content-type")], [400, "application/problem+json"])
    // The account's two events, live over SSE from the start of the log, through the client that resumes.
    const mine = yield* Subscriptions.follow(`${baseUrl}/events`, { types: ["Opened", "Deposited"] }).pipe(
      Stream.filter((event) => event.streamId === streamId(id)),
      Stream.take(2),
      Stream.runCollect,
      Effect.timeout("10 seconds")
    )
    yield* check(`${label}: the subscription`, mine.map((event) => event.type), ["Opened", "Deposited"])
    const stored = yield* EventStore.EventStore.use((store) => Stream.runCollect(store.readStream(streamId(id))))
    yield* check(`${label}: positions over SSE`, mine.map((event) => String(event.position)), stored.map((event) => String(event.position)))
    yield* Effect.log(`${label} over HTTP: ok`)
  }).pipe(Effect.provide(FetchHttpClient.layer))
