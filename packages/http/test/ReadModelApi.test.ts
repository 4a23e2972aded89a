/**
 * Read models end to end: a real server on a free port, real requests with `fetch` (and one test
 * with the typed `HttpApiClient`), on the in-memory stores and on a Postgres server. The accounts'
 * view is written by a running projection whose deposits are slow, so a read that does not wait
 * for a command's position sees the view before it; the catalog is written by the tests
 * themselves, for exact pages.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import { Documents, InMemory, Processor, Projection } from "@facta/core"
import { Postgres } from "@facta/sql"
import { createServer } from "node:http"
import { CommandApi, ReadModelApi } from "../src/index.ts"
import { Account, Accounts, handler } from "./fixtures.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** Sends a request to the server under test; `body` is sent as JSON. */
const request = (method: "GET" | "POST" | "PUT", path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const url = `${HttpServer.formatAddress(server.address)}${path}`
    const init: RequestInit = body === undefined
      ? { method, headers }
      : { method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) }
    return yield* Effect.promise(async (): Promise<Reply> => {
      const response = await fetch(url, init)
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
    })
  })

/** Ids no other test, and no other run on the same database, uses. */
const fresh = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`

const assertProblem = (reply: Reply, status: number) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
  assert.strictEqual(reply.body.status, status)
  assert.isString(reply.body.title)
}

class AccountView extends Schema.Class<AccountView>("AccountView")({ owner: Schema.String, balance: Schema.Int }) {}

// Names of their own per run: a Postgres database outlives it.
const run = crypto.randomUUID().slice(0, 8)
const views = Documents.make(`account-views-${run}`, AccountView)
const catalog = Documents.make(`catalog-${run}`, Schema.Struct({ title: Schema.String, tags: Schema.Array(Schema.String) }))

/** How long the projection takes over a deposit: long enough that a read not waiting for it comes first. */
const slowDeposit = "1 second"

const idOf = (streamId: string) => streamId.slice("account-".length)

/** The accounts' view, slow on deposits. */
const projection = Projection.make({
  name: `account-views-${run}`,
  event: Account.event,
  documents: [views],
  handlers: {
    AccountOpened: ({ data, streamId }) => views.upsert(idOf(streamId), new AccountView({ owner: data.owner, balance: 0 })),
    Deposited: ({ data, streamId }) =>
      Effect.andThen(
        Effect.sleep(slowDeposit),
        views.update(idOf(streamId), (current) => new AccountView({ owner: Option.getOrThrow(current).owner, balance: data.balance }))
      )
  }
})

/** A projection of the same events that never runs: a read that waits for it waits in vain. */
const dormant = Projection.make({
  name: `dormant-${run}`,
  event: Account.event,
  handlers: { AccountOpened: () => Effect.void }
})

class Reads extends HttpApiGroup.make("reads").add(
  ReadModelApi.get("account", views, { path: "/views/accounts/:id", projection }),
  ReadModelApi.list("accounts", views, { path: "/views/accounts", projection }),
  ReadModelApi.get("dormantAccount", views, { path: "/dormant/accounts/:id", projection: dormant }),
  ReadModelApi.list("catalog", catalog, { path: "/catalog", projection, defaultLimit: 3, maxLimit: 5 })
) {}

class Api extends HttpApi.make("bank-reads").add(Accounts).add(Reads).middleware(HttpApiMiddleware.ProblemDetails) {}

const timeout = "4 seconds"

const routes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([CommandApi.layer(Api, "accounts", handler), ReadModelApi.layer(Api, "reads", { timeout })]),
  Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
)

const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

const open = (id: string, owner = "Ada") => request("PUT", `/accounts/${id}`, { owner })
const deposit = (id: string, amount: number) => request("POST", `/accounts/${id}/deposit`, { amount })

const suite = <E>(name: string, stores: Layer.Layer<InMemory.Services, E>) =>
  layer(server.pipe(Layer.provideMerge(Processor.layer([projection])), Layer.provideMerge(stores)), {
    excludeTestServices: true,
    timeout: "60 seconds"
  })(`ReadModelApi on ${name}`, (it) => {
    describe("one document", () => {
      it.effect("answers the document with a strong ETag; If-None-Match naming it is a 304 with no body; a change changes it", () =>
        Effect.gen(function*() {
          const id = fresh("etag")
          const opened = yield* open(id, "Ada")
          const first = yield* request("GET", `/views/accounts/${id}?position=${opened.body.position}`)
          assert.strictEqual(first.status, 200, JSON.stringify(first.body))
          assert.deepStrictEqual(first.body, { owner: "Ada", balance: 0 })
          const etag = first.headers.get("etag")!
          assert.match(etag, /^"[0-9a-f]{32}"$/)
          // The same document, the same tag.
          assert.strictEqual((yield* request("GET", `/views/accounts/${id}`)).headers.get("etag"), etag)
          for (const header of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
            const unchanged = yield* request("GET", `/views/accounts/${id}`, undefined, { "if-none-match": header })
            assert.deepStrictEqual([unchanged.status, unchanged.body, unchanged.headers.get("etag")], [304, undefined, etag], header)
          }
          const deposited = yield* deposit(id, 25)
          const changed = yield* request("GET", `/views/accounts/${id}?position=${deposited.body.position}`, undefined, { "if-none-match": etag })
          assert.strictEqual(changed.status, 200)
          assert.deepStrictEqual(changed.body, { owner: "Ada", balance: 25 })
          assert.notStrictEqual(changed.headers.get("etag"), etag)
          const other = yield* request("GET", `/views/accounts/${id}`, undefined, { "if-none-match": "\"something-else\"" })
          assert.strictEqual(other.status, 200)
        }))

      it.effect("an id with no document is a 404 problem naming it; one with a NUL a 400 naming params.id", () =>
        Effect.gen(function*() {
          const id = fresh("nobody")
          const missing = yield* request("GET", `/views/accounts/${id}`)
          assertProblem(missing, 404)
          assert.include(missing.body, { projection: views.name, id })
          // An id no store keeps is the request's fault, named.
          const nul = yield* request("GET", "/views/accounts/a%00b")
          assertProblem(nul, 400)
          assert.deepStrictEqual(nul.body.errors[0].path, ["params", "id"])
          assert.include(nul.body.errors[0].message, "NUL")
        }))
    })

    describe("read your writes", () => {
      it.effect("a query with the command's position sees its effect; the same query without it comes before the slow projection", () =>
        Effect.gen(function*() {
          const id = fresh("ryw")
          const opened = yield* open(id, "Grace")
          assert.strictEqual((yield* request("GET", `/views/accounts/${id}?position=${opened.body.position}`)).status, 200)
          const deposited = yield* deposit(id, 40)
          assert.match(deposited.body.position, /^[0-9]+$/)
          const stale = yield* request("GET", `/views/accounts/${id}`)
          assert.deepStrictEqual(stale.body, { owner: "Grace", balance: 0 }, "without waiting, the deposit is not in the view yet")
          const fresher = yield* request("GET", `/views/accounts/${id}?position=${deposited.body.position}`)
          assert.deepStrictEqual([fresher.status, fresher.body], [200, { owner: "Grace", balance: 40 }])
          // A list waits the same way.
          const again = yield* deposit(id, 2)
          const listed = yield* request("GET", `/views/accounts?position=${again.body.position}&limit=500`)
          assert.strictEqual(listed.status, 200)
          const mine = listed.body.documents.find((entry: { id: string }) => entry.id === id)
          assert.deepStrictEqual(mine, { id, document: { owner: "Grace", balance: 42 } })
        }))

      it.effect("a projection that does not handle the position within the timeout is a 503 problem naming it and the position", () =>
        Effect.gen(function*() {
          const id = fresh("late")
          const opened = yield* open(id)
          const started = Date.now()
          const late = yield* request("GET", `/dormant/accounts/${id}?position=${opened.body.position}`)
          assertProblem(late, 503)
          assert.include(late.body, { projection: dormant.name, position: opened.body.position })
          assert.isAtLeast(Date.now() - started, 3900, "it waited for the timeout")
          // Without a position it reads at once.
          const id2 = fresh("late")
          const opened2 = yield* open(id2)
          yield* request("GET", `/views/accounts/${id2}?position=${opened2.body.position}`)
          assert.strictEqual((yield* request("GET", `/dormant/accounts/${id2}`)).status, 200)
        }))
    })

    describe("pages", () => {
      it.effect("lists the documents a page at a time in order of id, each page naming where the next starts", () =>
        Effect.gen(function*() {
          const items = ["kiwi", "apple", "fig", "banana", "cherry", "date", "elder"]
          for (const id of items) yield* catalog.upsert(id, { title: id.toUpperCase(), tags: [id[0]!] })
          const entry = (id: string) => ({ id, document: { title: id.toUpperCase(), tags: [id[0]!] } })
          const first = yield* request("GET", "/catalog")
          assert.deepStrictEqual(first.body, { documents: ["apple", "banana", "cherry"].map(entry), next: "cherry" })
          const second = yield* request("GET", `/catalog?after=${first.body.next}`)
          assert.deepStrictEqual(second.body, { documents: ["date", "elder", "fig"].map(entry), next: "fig" })
          const last = yield* request("GET", `/catalog?after=${second.body.next}`)
          assert.deepStrictEqual(last.body, { documents: [entry("kiwi")], next: null })
          const wide = yield* request("GET", "/catalog?limit=5&after=banana")
          assert.deepStrictEqual(wide.body, { documents: ["cherry", "date", "elder", "fig", "kiwi"].map(entry), next: null })
          const exact = yield* request("GET", "/catalog?limit=2&after=elder")
          assert.deepStrictEqual(exact.body, { documents: ["fig", "kiwi"].map(entry), next: null })
        }))

      it.effect("a limit that is not an integer from 1 to the maximum, or an empty cursor or a malformed position, is a 400 problem naming it", () =>
        Effect.gen(function*() {
          for (const limit of ["0", "6", "-1", "1.5", "ten", ""]) {
            const refused = yield* request("GET", `/catalog?limit=${limit}`)
            assertProblem(refused, 400)
            assert.deepStrictEqual(refused.body.errors.map((issue: { path: unknown }) => issue.path), [["query", "limit"]], limit)
          }
          const cursor = yield* request("GET", "/catalog?after=")
          assertProblem(cursor, 400)
          assert.deepStrictEqual(cursor.body.errors[0].path, ["query", "after"])
          for (const position of ["-1", "x", "01"]) {
            const refused = yield* request("GET", `/views/accounts/${fresh("any")}?position=${position}`)
            assertProblem(refused, 400)
            assert.deepStrictEqual(refused.body.errors[0].path, ["query", "position"], position)
          }
        }))
    })

    describe("the API's description", () => {
      it.effect("the OpenAPI document names the read models' routes, their parameters and every status they answer", () =>
        Effect.gen(function*() {
          const { body } = yield* request("GET", "/openapi.json")
          const one = body.paths["/views/accounts/{id}"].get
          assert.sameMembers(Object.keys(one.responses), ["200", "304", "400", "404", "500", "503"])
          assert.sameMembers(one.parameters.map((parameter: { name: string }) => parameter.name), ["id", "position", "if-none-match"])
          assert.isDefined(one.responses["200"].headers.etag)
          const page = body.paths["/catalog"].get
          assert.sameMembers(Object.keys(page.responses), ["200", "400", "500", "503"])
          assert.sameMembers(page.parameters.map((parameter: { name: string }) => parameter.name), ["limit", "after", "position"])
        }))

      it.effect("a typed HttpApiClient reads a command's effect after its position, pages, and decodes 304 and 404", () =>
        Effect.gen(function*() {
          const server = yield* HttpServer.HttpServer
          const client = yield* HttpApiClient.make(Api, { baseUrl: HttpServer.formatAddress(server.address) })
          const id = fresh("client")
          yield* client.accounts.OpenAccount({ params: { id }, headers: {}, payload: { owner: "Lin" } })
          const deposited = yield* client.accounts.Deposit({ params: { id }, headers: {}, payload: { amount: 9 } })
          const position = deposited.body.position
          assert.isNotNull(position)
          const read = yield* client.reads.account({ params: { id }, query: { position: position! }, headers: {} })
          assert.isDefined(read)
          assert.deepStrictEqual(read!.body, new AccountView({ owner: "Lin", balance: 9 }))
          const unchanged = yield* client.reads.account({ params: { id }, query: {}, headers: { "if-none-match": read!.headers.etag } })
          assert.isUndefined(unchanged)
          const missing = yield* Effect.flip(client.reads.account({ params: { id: fresh("nobody") }, query: {}, headers: {} }))
          assert.strictEqual(missing._tag, "DocumentNotFound")
          // As the page test writes them.
          yield* catalog.upsert("apple", { title: "APPLE", tags: ["a"] })
          yield* catalog.upsert("banana", { title: "BANANA", tags: ["b"] })
          const page = yield* client.reads.catalog({ query: { limit: 1 } })
          assert.deepStrictEqual(page.documents.map((entry) => entry.id), ["apple"])
          assert.strictEqual(page.next, "apple")
        }).pipe(Effect.provide(FetchHttpClient.layer)))
    })
  })

suite("memory", InMemory.layer)
suite("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "http_read_models" }))
