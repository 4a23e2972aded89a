/**
 * `Limits` with problem details, the default format: a real server on a free port, real requests
 * with `fetch`.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { EventStore, InMemory } from "@facta/core"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { createServer } from "node:http"
import { Limits, Subscriptions } from "../src/index.ts"

class Echo extends HttpApiGroup.make("echo").add(
  HttpApiEndpoint.post("echo", "/echo", { payload: Schema.Struct({ text: Schema.String }), success: Schema.String }),
  HttpApiEndpoint.get("slow", "/slow", { success: Schema.String })
) {}

class Api extends HttpApi.make("limited").add(Echo).add(Subscriptions.group({ heartbeat: "100 millis" })).middleware(HttpApiMiddleware.ProblemDetails)
  .middleware(Limits.Limits)
{}

const routes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(HttpApiBuilder.group(Api, "echo", (handlers) =>
    handlers
      .handle("echo", ({ payload }) => Effect.succeed(payload.text))
      .handle("slow", () => Effect.as(Effect.sleep("5 seconds"), "done")))),
  Layer.provide(Subscriptions.layer(Api)),
  Layer.provide([Limits.layer({ maxBodyBytes: 100, timeout: "300 millis" }), HttpApiMiddleware.layerProblemDetails({ includeDetails: true })])
)

const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

const fresh = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`

const request = (method: "GET" | "POST", path: string, body?: string) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const url = `${HttpServer.formatAddress(server.address)}${path}`
    return yield* Effect.promise(async () => {
      const response = await fetch(url, body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body })
      const text = await response.text()
      return { status: response.status, contentType: response.headers.get("content-type"), body: text === "" ? undefined : JSON.parse(text) }
    })
  })

layer(server.pipe(Layer.provideMerge(InMemory.layer)), { excludeTestServices: true })("Limits with problem details", (it) => {
  describe("the body", () => {
    it.effect("a body within the limit is read; one over it is a 413 problem naming the limit", () =>
      Effect.gen(function*() {
        const small = yield* request("POST", "/echo", JSON.stringify({ text: "hello" }))
        assert.deepStrictEqual([small.status, small.body], [200, "hello"])
        const large = yield* request("POST", "/echo", JSON.stringify({ text: "x".repeat(200) }))
        assert.strictEqual(large.status, 413)
        assert.strictEqual(large.contentType, "application/problem+json")
        assert.deepStrictEqual(large.body, {
          type: "about:blank",
          status: 413,
          title: "Content Too Large",
          detail: "The request body is larger than 100 bytes",
          limit: 100
        })
      }))
  })

  describe("the timeout", () => {
    it.effect("a request slower than the timeout is a 503 problem naming it, answered when it passes", () =>
      Effect.gen(function*() {
        const started = Date.now()
        const slow = yield* request("GET", "/slow")
        assert.isBelow(Date.now() - started, 3000)
        assert.strictEqual(slow.status, 503)
        assert.strictEqual(slow.contentType, "application/problem+json")
        assert.deepStrictEqual(slow.body, {
          type: "about:blank",
          status: 503,
          title: "Service Unavailable",
          detail: "The service did not answer within 300ms",
          timeout: "300ms"
        })
      }))
  })

  it.effect("a streaming response streams on after the timeout", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const stream = fresh("late")
      // An event appended after the timeout has passed still reaches the open stream.
      const event = yield* Effect.promise(async () => {
        const response = await fetch(`${HttpServer.formatAddress(server.address)}/events?stream=${stream}`)
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
        return { status: response.status, reader }
      })
      assert.strictEqual(event.status, 200)
      yield* Effect.sleep("600 millis")
      yield* EventStore.EventStore.use((store) => store.append(stream, [{ type: "Late", data: {} }]))
      const received = yield* Effect.promise(async () => {
        let text = ""
        while (!text.includes("event: Late")) {
          const { done, value } = await event.reader.read()
          if (done) break
          text += value
        }
        await event.reader.cancel()
        return text
      })
      assert.include(received, "event: Late")
    }))

  it.effect("the OpenAPI document lists the 413 and the 503", () =>
    Effect.gen(function*() {
      const { body } = yield* request("GET", "/openapi.json")
      assert.includeMembers(Object.keys(body.paths["/echo"].post.responses), ["200", "400", "413", "503"])
    }))
})
