/**
 * The command endpoints and the health checks end to end: a real server on a free port, real
 * requests with `fetch` (and one suite with the typed `HttpApiClient`), on the in-memory stores
 * and on a Postgres server. The suite shares one server per store; each test uses its own
 * account ids.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule, Schema, Stream } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import { EventStore, InMemory, Processor, Projection, StreamLifecycle } from "@facta/core"
import { Postgres } from "@facta/sql"
import { Api, server, streamId } from "./fixtures.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** Sends a request to the server under test; `body` is sent as JSON unless it is a string. */
const request = (method: "GET" | "POST" | "PUT", path: string, body?: unknown, headers: Record<string, string> = {}) =>
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

const open = (id: string, owner = "Ada", headers: Record<string, string> = {}) => request("PUT", `/accounts/${id}`, { owner }, headers)
const deposit = (id: string, amount: unknown, headers: Record<string, string> = {}) =>
  request("POST", `/accounts/${id}/deposit`, { amount }, headers)

/** Ids no other test, and no other run on the same database, uses. */
const fresh = (name: string) => `${name}-${crypto.randomUUID().slice(0, 8)}`

const eventsOf = (id: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readStream(streamId(id))))

const assertProblem = (reply: Reply, status: number) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.headers.get("content-type"), "application/problem+json")
  assert.strictEqual(reply.body.status, status)
  assert.strictEqual(reply.body.type, "about:blank")
  assert.isString(reply.body.title)
}

/** A processor that halts on the first event of its own type, which a test appends to make the service not ready. */
const haltingProcessor = () => {
  const type = fresh("Poisoned")
  const Poisoned = Schema.TaggedStruct(type, {})
  // The handlers' type is keyed by a tag known only at run time, so the processor is typed here.
  const processor = Projection.make({
    name: fresh("watcher"),
    event: Poisoned,
    handlers: { [type]: () => Effect.fail("cannot handle this event" as const) } as Projection.Handlers<typeof Poisoned.Type>,
    reset: Effect.void
  }) as Processor.Processor<unknown, never>
  return { type, layer: Processor.layer([processor], { retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 2 })) }) }
}

const suite = <E>(name: string, stores: Layer.Layer<InMemory.Services, E>) => {
  const halting = haltingProcessor()
  return layer(server.pipe(Layer.provideMerge(halting.layer), Layer.provideMerge(stores)), {
    excludeTestServices: true,
    timeout: "60 seconds"
  })(`@facta/http on ${name}`, (it) => {
    describe("commands", () => {
      it.effect("a handled command answers its status, the version as ETag, and the events it appended", () =>
        Effect.gen(function*() {
          const id = fresh("ok")
          const opened = yield* open(id)
          assert.strictEqual(opened.status, 201, JSON.stringify(opened.body))
          assert.strictEqual(opened.headers.get("etag"), "\"1\"")
          const stored = yield* eventsOf(id)
          // The position of its last event, as a decimal string: what a read model's query waits for.
          assert.deepStrictEqual(opened.body, {
            streamId: streamId(id),
            version: 1,
            events: [{ _tag: "AccountOpened", owner: "Ada" }],
            position: stored[0]!.position.toString()
          })
          const deposited = yield* deposit(id, 30)
          assert.strictEqual(deposited.status, 200)
          assert.strictEqual(deposited.headers.get("etag"), "\"2\"")
          assert.deepStrictEqual(deposited.body.events, [{ _tag: "Deposited", amount: 30, balance: 30 }])
          assert.strictEqual(deposited.body.position, (yield* eventsOf(id))[1]!.position.toString())
        }))

      it.effect("a payload that fails the command's Schema is a 400 problem naming each field, and nothing is stored", () =>
        Effect.gen(function*() {
          const id = fresh("invalid")
          yield* open(id)
          const wrongType = yield* deposit(id, "thirty")
          assertProblem(wrongType, 400)
          assert.deepStrictEqual(wrongType.body.errors.map((issue: { path: unknown }) => issue.path), [["payload", "amount"]])
          const negative = yield* deposit(id, -5)
          assertProblem(negative, 400)
          assert.deepStrictEqual(negative.body.errors[0].path, ["payload", "amount"])
          assert.include(negative.body.errors[0].message, "greater than 0")
          const missing = yield* request("PUT", `/accounts/${fresh("missing")}`, {})
          assertProblem(missing, 400)
          assert.deepStrictEqual(missing.body.errors, [{ path: ["payload", "owner"], message: "Missing key" }])
          assert.strictEqual((yield* eventsOf(id)).length, 1)
        }))

      it.effect("a string no store keeps (a NUL, a lone surrogate) is a 400 problem with its path, and nothing is stored", () =>
        Effect.gen(function*() {
          const nul = fresh("nul")
          const refused = yield* open(nul, "A\u0000da")
          assertProblem(refused, 400)
          assert.include(refused.body.detail, "NUL")
          assert.deepStrictEqual(refused.body.errors.map((issue: { path: unknown }) => issue.path), [["owner"]])
          const surrogate = fresh("surrogate")
          const lone = yield* open(surrogate, "A\uD800da")
          assertProblem(lone, 400)
          assert.include(lone.body.errors[0].message, "lone surrogate")
          assert.deepStrictEqual(yield* eventsOf(nul), [])
          assert.deepStrictEqual(yield* eventsOf(surrogate), [])
        }))

      it.effect("If-Match decides on the version the client saw: a match appends, a mismatch is a 412 problem", () =>
        Effect.gen(function*() {
          const id = fresh("match")
          yield* open(id)
          const matched = yield* deposit(id, 10, { "if-match": "\"1\"" })
          assert.strictEqual(matched.status, 200)
          assert.strictEqual(matched.headers.get("etag"), "\"2\"")
          const stale = yield* deposit(id, 10, { "if-match": "\"1\"" })
          assertProblem(stale, 412)
          assert.include(stale.body, { streamId: streamId(id), expected: 1, actual: 2 })
          assert.strictEqual((yield* eventsOf(id)).length, 2)
          const malformed = yield* deposit(id, 10, { "if-match": "one" })
          assertProblem(malformed, 400)
          assert.deepStrictEqual(malformed.body.errors[0].path, ["headers", "if-match"])
        }))

      it.effect("If-Match: * runs the command on any version of a stream that has events, and is a 412 problem on one that has none", () =>
        Effect.gen(function*() {
          const id = fresh("star")
          const none = yield* deposit(id, 10, { "if-match": "*" })
          assertProblem(none, 412)
          assert.include(none.body, { streamId: streamId(id), expected: "streamExists", actual: 0 })
          yield* open(id)
          yield* deposit(id, 1)
          const any = yield* deposit(id, 10, { "if-match": "*" })
          assert.strictEqual(any.status, 200, JSON.stringify(any.body))
          assert.strictEqual(any.headers.get("etag"), "\"3\"")
        }))

      it.effect("conflicts that outlast the retries, and a broken append condition, are 409 problems", () =>
        Effect.gen(function*() {
          const contended = yield* open(`${fresh("busy")}-contended`)
          assertProblem(contended, 409)
          assert.include(contended.body.detail, "try again")
          const id = `${fresh("ledger")}-conditioned`
          const conditioned = yield* open(id)
          assertProblem(conditioned, 409)
          assert.strictEqual(conditioned.body.streamId, `${streamId(id)}-ledger`)
        }))

      it.effect("a command on an archived or deleted stream is a 409 problem naming the stream, and stores nothing", () =>
        Effect.gen(function*() {
          const [archived, deleted] = [fresh("archived"), fresh("deleted")]
          yield* open(archived)
          yield* open(deleted)
          const lifecycle = yield* StreamLifecycle.StreamLifecycle
          yield* lifecycle.archive(streamId(archived))
          yield* lifecycle.delete(streamId(deleted))
          const refused = yield* deposit(archived, 10)
          assertProblem(refused, 409)
          assert.strictEqual(refused.body.streamId, streamId(archived))
          assert.include(refused.body.detail, "archived")
          assertProblem(yield* deposit(deleted, 10), 409)
          assertProblem(yield* open(deleted), 409)
          assert.strictEqual((yield* eventsOf(archived)).length, 2)
        }))

      it.effect("a domain error answers as itself: 422 by default, or the status its Schema names", () =>
        Effect.gen(function*() {
          const id = fresh("rules")
          yield* open(id)
          const again = yield* open(id)
          assert.strictEqual(again.status, 422)
          assert.deepStrictEqual(again.body, { _tag: "AccountAlreadyOpen" })
          const overdrawn = yield* request("POST", `/accounts/${id}/withdraw`, { amount: 5 })
          assert.strictEqual(overdrawn.status, 422)
          assert.deepStrictEqual(overdrawn.body, { _tag: "InsufficientFunds", balance: 0, requested: 5 })
          const unopened = yield* deposit(fresh("nobody"), 5)
          assert.strictEqual(unopened.status, 404)
          assert.deepStrictEqual(unopened.body, { _tag: "AccountNotFound" })
        }))

      it.effect("a request repeated with its Idempotency-Key appends once and answers what the first one did", () =>
        Effect.gen(function*() {
          const id = fresh("retried")
          const key = { "idempotency-key": `open-${id}` }
          const first = yield* open(id, "Ada", key)
          const repeated = yield* open(id, "Ada", key)
          assert.deepStrictEqual([repeated.status, repeated.headers.get("etag"), repeated.body], [201, "\"1\"", first.body])
          const paid = yield* deposit(id, 7, { "idempotency-key": `pay-${id}` })
          yield* deposit(id, 1)
          // Answered as the first time, though the stream has moved on since.
          const paidAgain = yield* deposit(id, 7, { "idempotency-key": `pay-${id}` })
          assert.deepStrictEqual([paidAgain.headers.get("etag"), paidAgain.body], ["\"2\"", paid.body])
          assert.strictEqual((yield* eventsOf(id)).length, 3)
          // Without the key, the same request is another command, which the rules refuse.
          assert.strictEqual((yield* open(id)).status, 422)
        }))
    })

    describe("the API's description", () => {
      it.effect("the OpenAPI document names every route, its payload, its headers and every status it answers", () =>
        Effect.gen(function*() {
          const { body, status } = yield* request("GET", "/openapi.json")
          assert.strictEqual(status, 200)
          const withdraw = body.paths["/accounts/{id}/withdraw"].post
          assert.sameMembers(Object.keys(withdraw.responses), ["200", "400", "404", "409", "412", "422", "500"])
          assert.sameMembers(withdraw.parameters.map((parameter: { name: string }) => parameter.name), ["id", "if-match", "idempotency-key"])
          assert.isDefined(withdraw.requestBody.content["application/json"])
          assert.includeMembers(Object.keys(body.paths["/accounts/{id}"].put.responses), ["201", "422"])
          assert.includeMembers(Object.keys(body.paths), ["/health/live", "/health/ready"])
        }))

      it.effect("a typed HttpApiClient drives the commands and decodes their answers and errors", () =>
        Effect.gen(function*() {
          const server = yield* HttpServer.HttpServer
          const client = yield* HttpApiClient.make(Api, { baseUrl: HttpServer.formatAddress(server.address) })
          const id = fresh("client")
          const opened = yield* client.accounts.OpenAccount({ params: { id }, headers: {}, payload: { owner: "Grace" } })
          assert.strictEqual(opened.headers.etag, 1)
          assert.deepStrictEqual(opened.body.events.map((event) => event._tag), ["AccountOpened"])
          const deposited = yield* client.accounts.Deposit({ params: { id }, headers: { "if-match": 1 }, payload: { amount: 40 } })
          assert.strictEqual(deposited.headers.etag, 2)
          const stale = yield* Effect.flip(client.accounts.Deposit({ params: { id }, headers: { "if-match": 1 }, payload: { amount: 1 } }))
          assert.strictEqual(stale._tag, "PreconditionFailed")
          const overdrawn = yield* Effect.flip(client.accounts.Withdraw({ params: { id }, headers: {}, payload: { amount: 50 } }))
          assert.strictEqual(overdrawn._tag, "InsufficientFunds")
          if (overdrawn._tag === "InsufficientFunds") assert.strictEqual(overdrawn.balance, 40)
        }).pipe(Effect.provide(FetchHttpClient.layer)))
    })

    describe("health", () => {
      it.effect("live answers 200; ready answers 200 with the processors, then 503 naming the halt once one halts", () =>
        Effect.gen(function*() {
          const live = yield* request("GET", "/health/live")
          assert.deepStrictEqual([live.status, live.body], [200, { status: "live" }])
          const ready = yield* request("GET", "/health/ready")
          assert.strictEqual(ready.status, 200, JSON.stringify(ready.body))
          assert.strictEqual(ready.body.status, "ready")
          assert.strictEqual(ready.body.processors.length, 1)
          yield* EventStore.EventStore.use((store) => store.append(fresh("poison"), [{ type: halting.type, data: {} }]))
          yield* Processor.Processors.use((processors) => processors.whenHalted)
          const halted = yield* request("GET", "/health/ready")
          assertProblem(halted, 503)
          assert.strictEqual(halted.body.reasons.length, 1)
          assert.include(halted.body.reasons[0], "cannot handle this event")
          // Live all the same: the process serves.
          assert.strictEqual((yield* request("GET", "/health/live")).status, 200)
        }))
    })
  })
}

suite("memory", InMemory.layer)

/** The store as the health checks see it: it cannot be reached. */
const unreachable = Layer.effect(
  EventStore.EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return { ...store, head: () => Effect.fail(new EventStore.EventStoreError({ message: "connection refused" })) }
  })
)

layer(server.pipe(Layer.provide(unreachable), Layer.provideMerge(InMemory.layer)), { excludeTestServices: true })(
  "@facta/http with the event store out of reach",
  (it) => {
    it.effect("ready answers 503 naming the store, live still 200", () =>
      Effect.gen(function*() {
        const ready = yield* request("GET", "/health/ready")
        assertProblem(ready, 503)
        assert.deepStrictEqual(ready.body.reasons, ["event store unreachable: connection refused"])
        assert.strictEqual((yield* request("GET", "/health/live")).status, 200)
      }))
  }
)
suite("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "http_commands" }))
