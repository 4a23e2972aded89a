/**
 * Figure 13: a command over HTTP.
 *
 * Facta: the account's `Open` command as a `@facta/http` endpoint (`CommandApi.endpoint` in an
 * `HttpApi`, served by `HttpApiBuilder` with the problem-details middleware): the payload decoded
 * by its Schema, `If-Match` and `Idempotency-Key` read, the answer encoded with its `ETag`.
 * Baseline: the same command through a hand-written `effect/http` route, as an application
 * writes it without Facta's edge: read the JSON body, run it through the same `CommandHandler`
 * (which validates it with the command Schema), answer the same body and `ETag` as JSON.
 *
 * Both servers run in this process on the in-memory store (so the figure is the edge's cost, not
 * the store's), on real sockets; the client is `fetch` with keep-alive, 1 and 8 requests in
 * flight. Every request opens an account of its own, so each does the same work.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { CommandHandler, InMemory } from "@facta/core"
import { CommandApi } from "@facta/http"
import { createServer } from "node:http"
import { Account, Open } from "./account.ts"
import { durationOf, eventsPerSecond, type Figure, forDuration, interleave, type Plan } from "./measure.ts"

const streamId = (id: string) => `account-${id}`
const accounts = CommandHandler.make(Account)

class Accounts extends HttpApiGroup.make("accounts").add(
  CommandApi.endpoint(Account, Open, { method: "PUT", path: "/accounts/:id", status: 201, streamId })
) {}
class Api extends HttpApi.make("bench").add(Accounts).middleware(HttpApiMiddleware.ProblemDetails) {}

const facta = HttpApiBuilder.layer(Api).pipe(
  Layer.provide(CommandApi.layer(Api, "accounts", accounts)),
  Layer.provide(HttpApiMiddleware.layerProblemDetails())
)

/** What an application writes by hand for the same route. */
const handWritten = HttpRouter.add(
  "PUT",
  "/accounts/:id",
  Effect.gen(function*() {
    const { id = "" } = yield* HttpRouter.params
    const body = yield* (yield* HttpServerRequest.HttpServerRequest).json
    const result = yield* accounts.handle(streamId(id), { ...body as object, _tag: "Open" })
    return yield* HttpServerResponse.json(
      { streamId: result.streamId, version: result.version, events: result.events.map((event) => event.data) },
      { status: 201, headers: { etag: `"${result.version}"` } }
    )
  }).pipe(Effect.catch((error) => HttpServerResponse.json({ error: error._tag }, { status: 400 })))
)

/** A server of `routes` on a free port, on its own in-memory store; its base URL. */
const serve = <E, R>(routes: Layer.Layer<never, E, R>) => {
  const layer = HttpRouter.serve(routes, { disableLogger: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(InMemory.layer)
  ) as unknown as Layer.Layer<HttpServer.HttpServer, unknown>
  const runtime = ManagedRuntime.make(layer)
  return {
    url: runtime.runPromise(Effect.gen(function*() {
      return HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
    })),
    dispose: () => runtime.dispose()
  }
}

const open = (url: string, id: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/accounts/${id}`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{\"owner\":\"bench\"}" })
    await response.arrayBuffer()
    if (response.status !== 201) throw new Error(`PUT /accounts/${id} answered ${response.status}`)
  })

export const figures = async (plan: Plan): Promise<Array<Figure>> => {
  const servers = { facta: serve(facta), handWritten: serve(handWritten) }
  try {
    const urls = { facta: await servers.facta.url, handWritten: await servers.handWritten.url }
    const result: Array<Figure> = []
    for (const [id, clients] of [["13a", 1], ["13b", 8]] as const) {
      const side = (url: string, prefix: string) => (round: number) =>
        Effect.runPromise(forDuration(durationOf(plan, round), clients, (i) => open(url, `${prefix}-${round}-${i}`)))
      const rounds = await interleave(plan.rounds, side(urls.facta, `f${id}`), side(urls.handWritten, `h${id}`))
      result.push(eventsPerSecond({
        id,
        title: `a command over HTTP, ${clients} client${clients === 1 ? "" : "s"} (@facta/http vs a hand-written route)`,
        store: "memory",
        target: 0.9
      }, rounds))
    }
    return result
  } finally {
    await servers.facta.dispose()
    await servers.handWritten.dispose()
  }
}
