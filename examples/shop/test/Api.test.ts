/**
 * The shop's HTTP API end to end: a real server on a free port, real requests with `fetch`, on the
 * in-memory stores and on embedded Postgres (PGlite). The tests share one server per store, so
 * each uses product and order ids of its own.
 */
import { assert, layer } from "@effect/vitest"
import { InMemory } from "@facta/core"
import { Subscriptions } from "@facta/http"
import { Embedded } from "@facta/sql"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import * as Api from "../src/Api.ts"
import * as Order from "../src/Order.ts"
import * as Shop from "../src/Shop.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

const baseUrl = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  return HttpServer.formatAddress(server.address)
})

/** Sends a request to the server under test; `body` is sent as JSON. */
const request = (method: "GET" | "POST" | "PUT", path: string, body?: unknown) =>
  Effect.gen(function*() {
    const url = `${yield* baseUrl}${path}`
    const init: RequestInit = body === undefined
      ? { method }
      : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(url, init)
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
    })
  })

const addProduct = (productId: string, stock: number, name = "Kettle") => request("PUT", `/products/${productId}`, { productId, name, stock })
const placeOrder = (orderId: string, ...lines: ReadonlyArray<readonly [string, number]>) =>
  request("POST", "/orders", { orderId, customer: "Ada", lines: lines.map(([productId, quantity]) => ({ productId, quantity })) })

/** An id no other test, nor an earlier run, has used. */
const fresh = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

const onStores = <E>(name: string, stores: Layer.Layer<Shop.Stores, E>) =>
  layer(Api.server({ port: 0, host: "127.0.0.1" }).pipe(Layer.provideMerge(Shop.layer(stores))), {
    excludeTestServices: true,
    timeout: "120 seconds"
  })(`the shop's HTTP API on ${name}`, (it) => {
    it.effect("products are added and restocked; a second add is refused, and a body naming another product is a 400", () =>
      Effect.gen(function*() {
        const kettle = fresh("kettle")
        const added = yield* addProduct(kettle, 5)
        assert.strictEqual(added.status, 201, JSON.stringify(added.body))
        assert.deepStrictEqual(added.body.events, [{ _tag: "ProductAdded", productId: kettle, name: "Kettle", stock: 5 }])
        assert.strictEqual(added.headers.get("etag"), "\"1\"")
        const again = yield* addProduct(kettle, 9)
        assert.deepStrictEqual([again.status, again.body], [422, { _tag: "ProductExists", productId: kettle }])
        const restocked = yield* request("POST", `/products/${kettle}/restock`, { productId: kettle, quantity: 2 })
        assert.strictEqual(restocked.status, 200)
        assert.strictEqual(restocked.body.version, 2)
        const unknown = fresh("teapot")
        const missing = yield* request("POST", `/products/${unknown}/restock`, { productId: unknown, quantity: 2 })
        assert.deepStrictEqual([missing.status, missing.body], [422, { _tag: "ProductNotFound", productId: unknown }])
        const other = yield* request("PUT", `/products/${fresh("mug")}`, { productId: kettle, name: "Mug", stock: 1 })
        assert.strictEqual(other.status, 400)
        assert.deepStrictEqual(other.body.errors, [{ path: ["payload", "productId"], message: "must be the product the path names" }])
      }))

    it.effect("an order is placed, refused for stock or as a repeat, and its stock level is read after its position", () =>
      Effect.gen(function*() {
        const toaster = fresh("toaster")
        yield* addProduct(toaster, 3, "Toaster")
        const orderId = fresh("o")
        const placed = yield* placeOrder(orderId, [toaster, 2])
        assert.strictEqual(placed.status, 201, JSON.stringify(placed.body))
        assert.strictEqual(placed.body.streamId, Order.streamId(orderId))
        assert.deepStrictEqual(placed.body.events, [{ _tag: "OrderPlaced", orderId, customer: "Ada", lines: [{ productId: toaster, quantity: 2 }] }])
        const level = yield* request("GET", `/stock-levels/${toaster}?position=${placed.body.position}`)
        assert.strictEqual(level.status, 200)
        assert.deepStrictEqual(level.body, { productId: toaster, name: "Toaster", stocked: 3, ordered: 2, available: 1 })
        const short = yield* placeOrder(fresh("o"), [toaster, 2])
        assert.deepStrictEqual([short.status, short.body], [422, { _tag: "OutOfStock", productId: toaster, available: 1, requested: 2 }])
        const repeat = yield* placeOrder(orderId, [toaster, 1])
        assert.deepStrictEqual([repeat.status, repeat.body], [422, { _tag: "OrderExists", orderId }])
        const twice = yield* placeOrder(fresh("o"), [toaster, 1], [toaster, 1])
        assert.strictEqual(twice.status, 400)
        assert.deepStrictEqual(twice.body.errors[0].path, ["payload", "lines"])
        const page = yield* request("GET", "/stock-levels?limit=500")
        assert.strictEqual(page.status, 200)
        assert.isTrue(page.body.documents.some((entry: { id: string }) => entry.id === toaster))
      }))

    it.effect("twelve buyers race over HTTP for the last 3 kettles: 3 orders are placed, 9 refused for stock, none fails", () =>
      Effect.gen(function*() {
        const kettle = fresh("kettle")
        yield* addProduct(kettle, 3)
        const replies = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => `${kettle}-buyer-${i}`),
          (orderId) => placeOrder(orderId, [kettle, 1]),
          { concurrency: "unbounded" }
        )
        const statuses = replies.map((reply) => reply.status)
        assert.strictEqual(statuses.filter((status) => status === 201).length, 3, JSON.stringify(statuses))
        assert.strictEqual(statuses.filter((status) => status === 422).length, 9, JSON.stringify(statuses))
        const last = replies.filter((reply) => reply.status === 201).map((reply) => BigInt(reply.body.position)).reduce((a, b) => a > b ? a : b)
        const level = yield* request("GET", `/stock-levels/${kettle}?position=${last}`)
        assert.strictEqual(level.body.available, 0)
      }))

    it.effect("the log is followed live: an order's event comes over Server-Sent Events", () =>
      Effect.gen(function*() {
        const mug = fresh("mug")
        yield* addProduct(mug, 1, "Mug")
        const orderId = fresh("o")
        yield* placeOrder(orderId, [mug, 1])
        const [event] = yield* Subscriptions.follow(`${yield* baseUrl}/events`, { stream: Order.streamId(orderId) }).pipe(
          Stream.take(1),
          Stream.runCollect
        )
        assert.strictEqual(event!.type, "OrderPlaced")
        assert.deepStrictEqual(event!.data, { orderId, customer: "Ada", lines: [{ productId: mug, quantity: 1 }] })
      }).pipe(Effect.provide(FetchHttpClient.layer)))

    it.effect("health answers ready with the shop's processors, and the OpenAPI document lists every route and has a page at /docs", () =>
      Effect.gen(function*() {
        const ready = yield* request("GET", "/health/ready")
        assert.strictEqual(ready.status, 200, JSON.stringify(ready.body))
        assert.sameMembers(ready.body.processors.map((processor: { name: string }) => processor.name), ["order-confirmations", "stock-levels"])
        const { body } = yield* request("GET", "/openapi.json")
        assert.sameMembers(Object.keys(body.paths), [
          "/products/{id}",
          "/products/{id}/restock",
          "/orders",
          "/stock-levels/{id}",
          "/stock-levels",
          "/health/live",
          "/health/ready",
          "/events"
        ])
        assert.sameMembers(Object.keys(body.paths["/orders"].post.responses), ["201", "400", "409", "422", "500"])
        // A page to read and try the document, served with it.
        const docs = yield* Effect.flatMap(baseUrl, (url) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}/docs`)
            return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
          }))
        assert.strictEqual(docs.status, 200)
        assert.include(docs.type, "text/html")
        assert.include(docs.text, "/orders")
      }))
  })

onStores("memory", InMemory.layer)
onStores("embedded PGlite", Embedded.layer())
