/**
 * A decision's commands end to end: a real server on a free port, real requests with `fetch`
 * (and one test with the typed `HttpApiClient`), on the in-memory stores and on a Postgres server.
 * The suite shares one server per store; each test uses its own product and reservation ids.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import { EventQuery, EventStore, InMemory } from "@facta/core"
import { Postgres } from "@facta/sql"
import { Api, server, skuTag } from "./decisions.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** Sends a request to the server under test; `body` is sent as JSON unless it is a string. */
const request = (method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const url = `${HttpServer.formatAddress(server.address)}${path}`
    const init: RequestInit = body === undefined
      ? { method, headers }
      : { method, headers: { ...headers, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(url, init)
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
    })
  })

const addStock = (sku: string, quantity: number) => request("POST", "/stock", { sku, quantity })
const reserve = (reservationId: string, sku: string, quantity = 1, headers: Record<string, string> = {}, customer = "Ada") =>
  request("POST", "/reservations", { reservationId, sku, customer, quantity }, headers)

/** Ids no other test, and no other run on the same database, uses. */
const fresh = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`

/** The events about a product, in log order. */
const eventsOf = (sku: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readQuery(EventQuery.make({ tags: [skuTag(sku)] }))))

const assertProblem = (reply: Reply, status: number) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
  assert.strictEqual(reply.body.status, status)
  assert.strictEqual(reply.body.type, "about:blank")
  assert.isString(reply.body.title)
}

const suite = <E>(name: string, stores: Layer.Layer<InMemory.Services, E>) =>
  layer(server.pipe(Layer.provideMerge(stores)), { excludeTestServices: true, timeout: "60 seconds" })(
    `@facta/http decisions on ${name}`,
    (it) => {
      describe("decisions", () => {
        it.effect("a decided command answers its status, its stream, the events it appended and the position of the last", () =>
          Effect.gen(function*() {
            const sku = fresh("kettle")
            const added = yield* addStock(sku, 5)
            assert.strictEqual(added.status, 201, JSON.stringify(added.body))
            // No stream version: a decision reads a query.
            assert.isNull(added.headers.get("etag"))
            const reservation = fresh("r")
            const reserved = yield* reserve(reservation, sku, 2)
            assert.strictEqual(reserved.status, 200, JSON.stringify(reserved.body))
            const stored = yield* eventsOf(sku)
            assert.deepStrictEqual(added.body, {
              streamId: `sku-${sku}`,
              events: [{ _tag: "StockAdded", sku, quantity: 5 }],
              position: stored[0]!.position.toString()
            })
            assert.deepStrictEqual(reserved.body, {
              streamId: `reservation-${reservation}`,
              events: [{ _tag: "Reserved", reservationId: reservation, sku, customer: "Ada", quantity: 2 }],
              position: stored[1]!.position.toString()
            })
            assert.deepStrictEqual(stored[1]!.tags, [skuTag(sku)])
          }))

        it.effect("a payload that fails the command's Schema is a 400 problem naming each field, and nothing is stored", () =>
          Effect.gen(function*() {
            const sku = fresh("invalid")
            yield* addStock(sku, 5)
            const wrong = yield* request("POST", "/reservations", { reservationId: fresh("r"), sku, customer: "Ada", quantity: "two" })
            assertProblem(wrong, 400)
            assert.deepStrictEqual(wrong.body.errors.map((issue: { path: unknown }) => issue.path), [["payload", "quantity"]])
            const missing = yield* request("POST", "/reservations", { reservationId: fresh("r"), sku, quantity: 1 })
            assertProblem(missing, 400)
            assert.deepStrictEqual(missing.body.errors, [{ path: ["payload", "customer"], message: "Missing key" }])
            assert.strictEqual((yield* eventsOf(sku)).length, 1)
          }))

        it.effect("a ValidationError of the decision's own command Schema is a 400 problem with its field path", () =>
          Effect.gen(function*() {
            const sku = fresh("same")
            yield* addStock(sku, 5)
            const refused = yield* reserve(sku, sku)
            assertProblem(refused, 400)
            assert.deepStrictEqual(refused.body.errors, [{ path: ["payload", "reservationId"], message: "a reservation's id may not be its product's" }])
            assert.strictEqual((yield* eventsOf(sku)).length, 1)
          }))

        it.effect("a string no store keeps (a NUL, a lone surrogate) is a 400 problem with its path, and nothing is stored", () =>
          Effect.gen(function*() {
            const sku = fresh("nul")
            yield* addStock(sku, 5)
            const nul = yield* reserve(fresh("r"), sku, 1, {}, "A\u0000da")
            assertProblem(nul, 400)
            assert.include(nul.body.detail, "NUL")
            assert.deepStrictEqual(nul.body.errors.map((issue: { path: unknown }) => issue.path), [["customer"]])
            const lone = yield* reserve(fresh("r"), sku, 1, {}, "A\uD800da")
            assertProblem(lone, 400)
            assert.include(lone.body.errors[0].message, "lone surrogate")
            assert.strictEqual((yield* eventsOf(sku)).length, 1)
          }))

        it.effect("a condition still broken after the retries is a 409 problem", () =>
          Effect.gen(function*() {
            const sku = fresh("busy")
            yield* addStock(sku, 5)
            const contended = yield* reserve(`${fresh("r")}-contended`, sku)
            assertProblem(contended, 409)
            assert.include(contended.body.detail, "try again")
            assert.strictEqual((yield* eventsOf(sku)).length, 1)
          }))

        it.effect("a domain error answers as itself: 422 by default or the status its Schema names; an undeclared one is a 500", () =>
          Effect.gen(function*() {
            const sku = fresh("few")
            yield* addStock(sku, 2)
            const short = yield* reserve(fresh("r"), sku, 3)
            assert.strictEqual(short.status, 422)
            assert.deepStrictEqual(short.body, { _tag: "OutOfStock", sku, available: 2 })
            const unknown = fresh("nothing")
            const missing = yield* reserve(fresh("r"), unknown)
            assert.strictEqual(missing.status, 404)
            assert.deepStrictEqual(missing.body, { _tag: "UnknownSku", sku: unknown })
            const embargoed = yield* reserve(fresh("r"), fresh("embargoed"))
            assert.strictEqual(embargoed.status, 500)
            assert.strictEqual((yield* eventsOf(sku)).length, 1)
          }))

        it.effect("ten deciders race over HTTP for the last 3 units: exactly 3 reserve, 7 are refused for stock, none fails", () =>
          Effect.gen(function*() {
            const sku = fresh("last")
            yield* addStock(sku, 3)
            const replies = yield* Effect.forEach(
              Array.from({ length: 10 }, (_, i) => `${sku}-r${i}`),
              (reservation) => reserve(reservation, sku),
              { concurrency: "unbounded" }
            )
            const statuses = replies.map((reply) => reply.status)
            assert.strictEqual(statuses.filter((status) => status === 200).length, 3, JSON.stringify(statuses))
            assert.strictEqual(statuses.filter((status) => status === 422).length, 7, JSON.stringify(statuses))
            for (const reply of replies.filter((reply) => reply.status === 422)) {
              assert.deepStrictEqual(reply.body, { _tag: "OutOfStock", sku, available: 0 })
            }
            const reserved = (yield* eventsOf(sku)).filter((event) => event.type === "Reserved")
            assert.strictEqual(reserved.length, 3)
          }))
      })

      describe("Idempotency-Key", () => {
        it.effect("a request repeated with its key appends once and answers what the first one did", () =>
          Effect.gen(function*() {
            const sku = fresh("keyed")
            yield* addStock(sku, 5)
            const key = { "idempotency-key": crypto.randomUUID() }
            const first = yield* reserve(fresh("r"), sku, 2, key)
            assert.strictEqual(first.status, 200, JSON.stringify(first.body))
            yield* reserve(fresh("r"), sku, 1)
            // Answered as the first time, though the stock has moved on since.
            const repeated = yield* reserve(fresh("r"), sku, 2, key)
            assert.deepStrictEqual([repeated.status, repeated.body], [200, first.body])
            const stored = yield* eventsOf(sku)
            assert.strictEqual(stored.length, 3)
            assert.strictEqual(stored[1]!.metadata.commandId, key["idempotency-key"])
            // Without the key, the same request is another reservation.
            assert.strictEqual((yield* reserve(fresh("r"), sku, 2)).status, 200)
            assert.strictEqual((yield* reserve(fresh("r"), sku, 2)).status, 422)
          }))

        it.effect("five requests with one key at the same moment: one appends, all answer its events", () =>
          Effect.gen(function*() {
            const sku = fresh("once")
            yield* addStock(sku, 100)
            const key = { "idempotency-key": crypto.randomUUID() }
            const replies = yield* Effect.forEach(
              Array.from({ length: 5 }, (_, i) => `${sku}-r${i}`),
              (reservation) => reserve(reservation, sku, 1, key),
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(replies.map((reply) => reply.status), [200, 200, 200, 200, 200])
            for (const reply of replies) assert.deepStrictEqual(reply.body, replies[0]!.body)
            assert.strictEqual((yield* eventsOf(sku)).filter((event) => event.type === "Reserved").length, 1)
          }))

        it.effect("a refused request leaves no trace: repeated with its key once the stock is there, it is decided again", () =>
          Effect.gen(function*() {
            const sku = fresh("later")
            const key = { "idempotency-key": crypto.randomUUID() }
            const reservation = fresh("r")
            assert.strictEqual((yield* reserve(reservation, sku, 1, key)).status, 404)
            yield* addStock(sku, 1)
            assert.strictEqual((yield* reserve(reservation, sku, 1, key)).status, 200)
          }))

        it.effect("a malformed key is a 400 problem naming the header", () =>
          Effect.gen(function*() {
            const spaced = yield* reserve(fresh("r"), fresh("x"), 1, { "idempotency-key": "two words" })
            assertProblem(spaced, 400)
            assert.deepStrictEqual(spaced.body.errors[0].path, ["headers", "idempotency-key"])
            const long = yield* reserve(fresh("r"), fresh("x"), 1, { "idempotency-key": "k".repeat(201) })
            assertProblem(long, 400)
          }))
      })

      describe("the API's description", () => {
        it.effect("the OpenAPI document names the decision's routes, payloads, header and every status they answer", () =>
          Effect.gen(function*() {
            const { body, status } = yield* request("GET", "/openapi.json")
            assert.strictEqual(status, 200)
            const reservations = body.paths["/reservations"].post
            assert.sameMembers(Object.keys(reservations.responses), ["200", "400", "404", "409", "422", "500"])
            assert.deepStrictEqual(reservations.parameters.map((parameter: { name: string }) => parameter.name), ["idempotency-key"])
            assert.isDefined(reservations.requestBody.content["application/json"])
            assert.sameMembers(Object.keys(body.paths["/stock"].post.responses), ["201", "400", "409", "500"])
          }))

        it.effect("a typed HttpApiClient decides the commands and decodes their answers and errors", () =>
          Effect.gen(function*() {
            const server = yield* HttpServer.HttpServer
            const client = yield* HttpApiClient.make(Api, { baseUrl: HttpServer.formatAddress(server.address) })
            const sku = fresh("client")
            const added = yield* client.stock.AddStock({ headers: {}, payload: { sku, quantity: 1 } })
            assert.deepStrictEqual(added.events.map((event) => event._tag), ["StockAdded"])
            // Decoded: a log position as a `bigint`.
            assert.strictEqual(typeof added.position, "bigint")
            const reserved = yield* client.stock.Reserve({ headers: { "idempotency-key": fresh("k") }, payload: { reservationId: fresh("r"), sku, customer: "Grace", quantity: 1 } })
            assert.strictEqual(reserved.streamId.startsWith("reservation-"), true)
            const short = yield* Effect.flip(client.stock.Reserve({ headers: {}, payload: { reservationId: fresh("r"), sku, customer: "Grace", quantity: 1 } }))
            assert.strictEqual(short._tag, "OutOfStock")
            if (short._tag === "OutOfStock") assert.strictEqual(short.available, 0)
          }).pipe(Effect.provide(FetchHttpClient.layer)))
      })
    }
  )

suite("memory", InMemory.layer)
suite("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "http_decisions" }))
