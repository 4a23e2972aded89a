/**
 * The service end to end: a real server on a free port, real HTTP requests with `fetch`, and
 * the processors running beside it. The same suite runs on the in-memory stores, on embedded
 * Postgres and, when `DATABASE_URL` is set, on that Postgres server.
 *
 * Lists are eventually consistent, so a test waits for the processors (`whenCaughtUp`) before it
 * reads one. The suite shares one server; each test uses its own todo ids and looks only at them.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Option, Redacted, Ref, Schema, Stream } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { EventStore, InMemory, Processor } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { PlainErrors } from "@facta/http"
import { type ErrorBody, TodoApi } from "../src/Api.ts"
import type { TodoItem } from "../src/Projections.ts"
import { notificationStreamId, Notifier, SentNotifications } from "../src/Notifications.ts"
import * as Server from "../src/Server.ts"
import { streamId } from "../src/Todo.ts"

// -------------------------------------------------------------------------------------
// a small HTTP client
// -------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly body: unknown
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
      // Every answer of the service has a JSON body; a bare one (from below the routes) is kept as text.
      try {
        return { status: response.status, body: JSON.parse(text) }
      } catch {
        return { status: response.status, body: text }
      }
    })
  })

/** A path segment for any string; a lone surrogate, which has no UTF-8, is sent as the bytes ED BF BF. */
const pathSegment = (id: string) =>
  Array.from(id, (char) => {
    try {
      return encodeURIComponent(char)
    } catch {
      return "%ED%BF%BF"
    }
  }).join("")

const post = (path: string, body?: unknown) => request("POST", path, body)
const put = (path: string, body?: unknown) => request("PUT", path, body)

/** An item of any of the lists (only completed ones have `completed_on`). */
type ListItem = TodoItem & { readonly completed_on?: string }

/** Reads a list once every event appended so far has reached it, keeping only the given todos. */
const list = (name: "outstanding" | "scheduled" | "completed", ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const processors = yield* Processor.Processors
    yield* processors.whenCaughtUp
    const { body, status } = yield* request("GET", `/todos/${name}`)
    assert.strictEqual(status, 200)
    assert.isArray(body)
    return (body as ReadonlyArray<ListItem>).filter((item) => ids.includes(item.todo_id))
  })

const idsOf = (items: ReadonlyArray<{ readonly todo_id: string }>) => items.map((item) => item.todo_id)

/** Ids no other test uses. */
const fresh = (...names: ReadonlyArray<string>) => {
  const run = crypto.randomUUID().slice(0, 8)
  return names.map((name) => `${name}-${run}`)
}

const assertError = (reply: Reply, status: number, error: string, message: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  const body = reply.body as ErrorBody
  assert.strictEqual(body.error, error)
  assert.strictEqual(body.message, message)
}

const eventsOf = (stream: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readStream(stream)))

// -------------------------------------------------------------------------------------
// the suite
// -------------------------------------------------------------------------------------

const apiSuite = <E>(name: string, stores: Layer.Layer<InMemory.Services, E>) =>
  layer(
    Server.layer({ port: 0, host: "127.0.0.1", logRequests: false }).pipe(
      Layer.provideMerge(Notifier.layerTest),
      Layer.provideMerge(stores)
    ),
    { excludeTestServices: true, timeout: "60 seconds" }
  )(`the todo API on ${name}`, (it) => {
    describe("writes", () => {
      it.effect("adds a todo: 201 with the todo, which then is outstanding", () =>
        Effect.gen(function*() {
          const [id] = fresh("add")
          const reply = yield* post(`/todo/${id}`, { title: "Write the report", description: "Two pages" })
          assert.strictEqual(reply.status, 201)
          assert.deepStrictEqual(reply.body, {
            todo_id: id,
            title: "Write the report",
            description: "Two pages",
            due_date: null,
            stakeholder_email: null,
            status: "outstanding"
          })
          assert.deepStrictEqual(yield* list("outstanding", [id!]), [
            { todo_id: id, title: "Write the report", description: "Two pages", due_date: null, stakeholder_email: null }
          ])
          assert.deepStrictEqual(yield* list("scheduled", [id!]), [])
          assert.deepStrictEqual(yield* list("completed", [id!]), [])
        }))

      it.effect("lists only todos with a due date as scheduled, soonest first", () =>
        Effect.gen(function*() {
          const [late, early, never] = fresh("late", "early", "never")
          assert.strictEqual((yield* post(`/todo/${late}`, { title: "Late", due_date: "2025-12-01" })).status, 201)
          assert.strictEqual((yield* post(`/todo/${early}`, { title: "Early", due_date: "2025-01-15" })).status, 201)
          assert.strictEqual((yield* post(`/todo/${never}`, { title: "Someday" })).status, 201)
          const ids = [late!, early!, never!]
          assert.deepStrictEqual(idsOf(yield* list("scheduled", ids)), [early, late])
          assert.sameMembers(idsOf(yield* list("outstanding", ids)), ids)
        }))

      it.effect("amends any field: 200 with the todo; null removes a due date, which unschedules it", () =>
        Effect.gen(function*() {
          const [id] = fresh("amend")
          yield* post(`/todo/${id}`, { title: "Draft", due_date: "2025-03-01" })
          const amended = yield* put(`/todo/${id}`, { title: "Final", stakeholder_email: "ada@example.com" })
          assert.strictEqual(amended.status, 200)
          assert.deepStrictEqual(amended.body, {
            todo_id: id,
            title: "Final",
            description: null,
            due_date: "2025-03-01",
            stakeholder_email: "ada@example.com",
            status: "outstanding"
          })
          assert.deepStrictEqual(yield* list("scheduled", [id!]), [
            { todo_id: id, title: "Final", description: null, due_date: "2025-03-01", stakeholder_email: "ada@example.com" }
          ])
          assert.strictEqual((yield* put(`/todo/${id}`, { due_date: null })).status, 200)
          assert.deepStrictEqual(yield* list("scheduled", [id!]), [])
          assert.deepStrictEqual(yield* list("outstanding", [id!]), [
            { todo_id: id, title: "Final", description: null, due_date: null, stakeholder_email: "ada@example.com" }
          ])
        }))

      it.effect("an amendment that changes nothing stores nothing", () =>
        Effect.gen(function*() {
          const [id] = fresh("same")
          yield* post(`/todo/${id}`, { title: "Same" })
          assert.strictEqual((yield* put(`/todo/${id}`, { title: "Same" })).status, 200)
          assert.deepStrictEqual((yield* eventsOf(streamId(id!))).map((event) => event.type), ["TodoAdded"])
        }))

      it.effect("completes a todo: it leaves outstanding and scheduled, and is listed as completed", () =>
        Effect.gen(function*() {
          const [id] = fresh("complete")
          yield* post(`/todo/${id}`, { title: "Ship it", due_date: "2025-03-01" })
          const reply = yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" })
          assert.strictEqual(reply.status, 200)
          assert.deepInclude(reply.body, { status: "completed", completed_on: "2025-02-27" })
          assert.deepStrictEqual(yield* list("outstanding", [id!]), [])
          assert.deepStrictEqual(yield* list("scheduled", [id!]), [])
          assert.deepStrictEqual(yield* list("completed", [id!]), [
            {
              todo_id: id,
              title: "Ship it",
              description: null,
              due_date: "2025-03-01",
              stakeholder_email: null,
              completed_on: "2025-02-27"
            }
          ])
        }))

      it.effect("abandons a todo: it leaves every list", () =>
        Effect.gen(function*() {
          const [id] = fresh("abandon")
          yield* post(`/todo/${id}`, { title: "Maybe", due_date: "2025-03-01" })
          const reply = yield* post(`/todo/${id}/abandon`, { abandoned_on: "2025-02-27" })
          assert.strictEqual(reply.status, 200)
          assert.deepInclude(reply.body, { status: "abandoned", abandoned_on: "2025-02-27" })
          for (const name of ["outstanding", "scheduled", "completed"] as const) {
            assert.deepStrictEqual(yield* list(name, [id!]), [], name)
          }
        }))

      it.effect("takes the todo id from the path, not from the body", () =>
        Effect.gen(function*() {
          const [id, other] = fresh("path", "body")
          assert.strictEqual((yield* post(`/todo/${id}`, { title: "Mine", todo_id: other })).status, 201)
          assert.deepStrictEqual(idsOf(yield* list("outstanding", [id!, other!])), [id])
        }))
    })

    describe("business rules: 422", () => {
      it.effect("refuses to add a todo twice", () =>
        Effect.gen(function*() {
          const [id] = fresh("twice")
          yield* post(`/todo/${id}`, { title: "Once" })
          assertError(yield* post(`/todo/${id}`, { title: "Twice" }), 422, "TodoAlreadyExists", `Todo "${id}" already exists`)
        }))

      it.effect("of concurrent adds of one todo, exactly one wins", () =>
        Effect.gen(function*() {
          const [id] = fresh("race")
          const replies = yield* Effect.forEach(
            [1, 2, 3, 4, 5],
            (n) => post(`/todo/${id}`, { title: `Contender ${n}` }),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(replies.map((reply) => reply.status).sort(), [201, 422, 422, 422, 422])
          assert.deepStrictEqual((yield* eventsOf(streamId(id!))).map((event) => event.type), ["TodoAdded"])
        }))

      it.effect("refuses to touch a todo that does not exist", () =>
        Effect.gen(function*() {
          const [id] = fresh("missing")
          const message = `Todo "${id}" does not exist`
          assertError(yield* put(`/todo/${id}`, { title: "New" }), 422, "TodoNotFound", message)
          assertError(yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" }), 422, "TodoNotFound", message)
          assertError(yield* post(`/todo/${id}/abandon`, { abandoned_on: "2025-02-27" }), 422, "TodoNotFound", message)
        }))

      it.effect("refuses to amend or complete a completed todo, and says so", () =>
        Effect.gen(function*() {
          const [id] = fresh("done")
          yield* post(`/todo/${id}`, { title: "Done" })
          yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" })
          const message = `Todo "${id}" is already completed (on 2025-02-27)`
          assertError(yield* put(`/todo/${id}`, { title: "Again" }), 422, "TodoAlreadyCompleted", message)
          assertError(yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-28" }), 422, "TodoAlreadyCompleted", message)
        }))

      it.effect("refuses to amend or complete an abandoned todo, and says so", () =>
        Effect.gen(function*() {
          const [id] = fresh("dropped")
          yield* post(`/todo/${id}`, { title: "Dropped" })
          yield* post(`/todo/${id}/abandon`, { abandoned_on: "2025-02-27" })
          const message = `Todo "${id}" is already abandoned (on 2025-02-27)`
          assertError(yield* put(`/todo/${id}`, { title: "Again" }), 422, "TodoAlreadyAbandoned", message)
          assertError(yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-28" }), 422, "TodoAlreadyAbandoned", message)
        }))
    })

    describe("validation: 400", () => {
      it.effect("names every invalid field", () =>
        Effect.gen(function*() {
          const [id] = fresh("invalid")
          const reply = yield* post(`/todo/${id}`, { description: 7, due_date: "2025-02-30", stakeholder_email: "ada" })
          assertError(
            reply,
            400,
            "ValidationError",
            "Invalid command of Todo: title: Missing key; description: Expected string | null; due_date: Expected a real calendar date, got 2025-02-30; stakeholder_email: Expected an email address"
          )
          assert.deepStrictEqual((reply.body as ErrorBody).issues, [
            { path: "title", message: "Missing key" },
            { path: "description", message: "Expected string | null" },
            { path: "due_date", message: "Expected a real calendar date, got 2025-02-30" },
            { path: "stakeholder_email", message: "Expected an email address" }
          ])
          assert.deepStrictEqual(yield* eventsOf(streamId(id!)), [])
        }))

      it.effect("refuses a blank title, a malformed date and a missing completion date", () =>
        Effect.gen(function*() {
          const [id] = fresh("dates")
          yield* post(`/todo/${id}`, { title: "Dates" })
          assertError(yield* put(`/todo/${id}`, { title: " " }), 400, "ValidationError", "Invalid command of Todo: title: Expected a title that is not blank")
          assertError(
            yield* put(`/todo/${id}`, { due_date: "03/01/2025" }),
            400,
            "ValidationError",
            "Invalid command of Todo: due_date: Expected a date formatted as YYYY-MM-DD"
          )
          assertError(yield* post(`/todo/${id}/complete`, {}), 400, "ValidationError", "Invalid command of Todo: completed_on: Missing key")
          assertError(yield* post(`/todo/${id}/abandon`, {}), 400, "ValidationError", "Invalid command of Todo: abandoned_on: Missing key")
        }))

      it.effect("validates before applying business rules", () =>
        Effect.gen(function*() {
          const [missing, done] = fresh("missing", "done")
          // The todo does not exist, but the input is checked first.
          assertError(
            yield* post(`/todo/${missing}/complete`, { completed_on: "yesterday" }),
            400,
            "ValidationError",
            "Invalid command of Todo: completed_on: Expected a date formatted as YYYY-MM-DD"
          )
          // The todo is completed, but the input is checked first.
          yield* post(`/todo/${done}`, { title: "Done" })
          yield* post(`/todo/${done}/complete`, { completed_on: "2025-02-27" })
          assertError(
            yield* put(`/todo/${done}`, { title: "" }),
            400,
            "ValidationError",
            "Invalid command of Todo: title: Expected a title that is not blank"
          )
        }))

      it.effect("refuses a body that is not a JSON object, and an id that is not one", () =>
        Effect.gen(function*() {
          const [id] = fresh("body")
          assertError(yield* post(`/todo/${id}`, "{ not json"), 400, "ValidationError", "Invalid request body: Expected valid JSON")
          assertError(yield* post(`/todo/${id}`, ["a list"]), 400, "ValidationError", "Invalid request body: Expected a JSON object")
          assertError(yield* post(`/todo/${id}`), 400, "ValidationError", "Invalid request body: Expected a JSON object")
          const badId = yield* post(`/todo/${id}%20and%20more`, { title: "Spaces in the id" })
          assert.strictEqual(badId.status, 400)
          assert.deepStrictEqual((badId.body as ErrorBody).issues?.map((issue) => issue.path), ["todo_id"])
        }))

      it.effect("answers an unknown route with 404", () =>
        Effect.gen(function*() {
          assertError(yield* request("GET", "/todos/someday"), 404, "NotFound", "No route for GET /todos/someday")
        }))
    })

    describe("hostile input: never a 500", () => {
      it.effect("a body over the limit is refused with 413", () =>
        Effect.gen(function*() {
          const [id] = fresh("big")
          assertError(yield* post(`/todo/${id}`, { title: "x".repeat(1_500_000) }), 413, "PayloadTooLarge", "The request body is larger than 1048576 bytes")
          assert.deepStrictEqual(yield* eventsOf(streamId(id!)), [])
        }))

      it.effect("strings no store keeps (NUL, a lone surrogate) are refused with 400 naming the field, and nothing is stored", () =>
        Effect.gen(function*() {
          const [nul, surrogate] = fresh("nul", "surrogate")
          const refused = yield* post(`/todo/${nul}`, { title: "a\u0000b" })
          assert.strictEqual(refused.status, 400)
          assert.strictEqual((refused.body as ErrorBody).error, "InvalidInput")
          assert.include((refused.body as ErrorBody).message, "at $.title")
          // JSON.stringify writes a lone surrogate as the escape \ud800, which the server reads back.
          const lone = yield* post(`/todo/${surrogate}`, { title: "t\uD800", description: "fine" })
          assert.strictEqual(lone.status, 400)
          assert.include((lone.body as ErrorBody).message, "lone surrogate")
          assert.deepStrictEqual(yield* eventsOf(streamId(nul!)), [])
          assert.deepStrictEqual(yield* eventsOf(streamId(surrogate!)), [])
        }))

      it.effect("no todo id reaches another aggregate's stream", () =>
        Effect.gen(function*() {
          const [id] = fresh("owner")
          yield* post(`/todo/${id}`, { title: "Tell someone", stakeholder_email: `${id}@example.com` })
          yield* post(`/todo/${id}/complete`, { completed_on: "2025-03-01" })
          yield* Processor.Processors.use((processors) => processors.whenCaughtUp)
          assert.strictEqual((yield* eventsOf(notificationStreamId(id!))).length, 1)
          // Ids shaped like the reactor's stream land in the todo category all the same.
          for (const lookalike of [`notification-${id}`, `-${id}`, `notifications-${id}`]) {
            const added = yield* post(`/todo/${lookalike}`, { title: "A lookalike" })
            assert.strictEqual(added.status, 201, lookalike)
            assert.strictEqual((yield* eventsOf(streamId(lookalike))).length, 1)
          }
          assert.strictEqual((yield* eventsOf(notificationStreamId(id!))).length, 1)
        }))

      it.effect("a write repeated with its Idempotency-Key is applied once and answered as the first time", () =>
        Effect.gen(function*() {
          const [id] = fresh("retried")
          const key = { "idempotency-key": `add-${id}` }
          const first = yield* request("POST", `/todo/${id}`, { title: "Once" }, key)
          assert.strictEqual(first.status, 201)
          const again = yield* request("POST", `/todo/${id}`, { title: "Once" }, key)
          assert.deepStrictEqual([again.status, again.body], [201, first.body])
          assert.strictEqual((yield* eventsOf(streamId(id!))).length, 1)
          // Without the key, the same request is a second command, which the rules refuse.
          assert.strictEqual((yield* post(`/todo/${id}`, { title: "Once" })).status, 422)
        }))

      it.effect("fuzzed requests to every write route answer 4xx or 2xx, never 5xx", () =>
        Effect.gen(function*() {
          const run = crypto.randomUUID().slice(0, 8)
          const nasty = Schema.Literals(["", " ", "\u0000", "t\uD800", "\uDFFF", "2025-02-30", "2025-03-01", "a@b.c", "x".repeat(300), "😀"])
          const value = Schema.Union([Schema.String, nasty, Schema.Number, Schema.Boolean, Schema.Null, Schema.Array(Schema.String)])
          // Well-formed ids and titles in the mix, so fuzzed values also reach the store.
          const ids = Schema.Literals(Array.from({ length: 20 }, (_, i) => `fuzz-${run}-${i}`))
          const body = Schema.Struct({
            title: Schema.Union([Schema.Literal("Buy milk"), value]),
            description: Schema.optionalKey(value),
            due_date: Schema.optionalKey(value),
            stakeholder_email: Schema.optionalKey(value),
            completed_on: Schema.optionalKey(value),
            abandoned_on: Schema.optionalKey(value),
            todo_id: Schema.optionalKey(value)
          })
          const requests = Arbitrary.all({
            route: Arbitrary.schema(Schema.Literals(["POST /todo/:id", "PUT /todo/:id", "POST /todo/:id/complete", "POST /todo/:id/abandon"])),
            id: Arbitrary.schema(Schema.Union([ids, Schema.String, nasty])),
            body: Arbitrary.schema(Schema.Union([body, value]))
          })
          const statuses: Array<number> = []
          const result = yield* Arbitrary.checkEffect(requests, ({ body, id, route }) =>
            Effect.gen(function*() {
              const [method, path] = route.split(" ") as ["POST" | "PUT", string]
              const reply = yield* request(method, path.replace(":id", pathSegment(id === "" ? "e" : id)), JSON.stringify(body))
              statuses.push(reply.status)
              return reply.status < 500
            }), { runs: 150, seed: 1 })
          assert.isUndefined(Arbitrary.formatCheckFailure(result))
          assert.isTrue(statuses.some((status) => status === 201), "some fuzzed requests succeed")
          assert.isTrue(statuses.some((status) => status === 400), "some are refused")
        }), { timeout: 120_000 })
    })

    describe("the API's description", () => {
      it.effect("the OpenAPI document names every route and the statuses it answers", () =>
        Effect.gen(function*() {
          const { body, status } = yield* request("GET", "/openapi.json")
          assert.strictEqual(status, 200)
          const paths = (body as { readonly paths: Record<string, Record<string, { readonly responses: Record<string, unknown> }>> }).paths
          assert.sameMembers(Object.keys(paths), ["/todo/{id}", "/todo/{id}/complete", "/todo/{id}/abandon", "/todos/outstanding", "/todos/scheduled", "/todos/completed"])
          assert.includeMembers(Object.keys(paths["/todo/{id}"]!["post"]!.responses), ["201", "400", "409", "412", "413", "422", "500", "503"])
          assert.includeMembers(Object.keys(paths["/todo/{id}"]!["put"]!.responses), ["200", "400", "422"])
          assert.includeMembers(Object.keys(paths["/todos/completed"]!["get"]!.responses), ["200", "500"])
        }))

      it.effect("a typed HttpApiClient drives the API: the todo, its version, the lists and the errors", () =>
        Effect.gen(function*() {
          const server = yield* HttpServer.HttpServer
          const client = yield* HttpApiClient.make(TodoApi, { baseUrl: HttpServer.formatAddress(server.address) })
          const [id] = fresh("client")
          const added = yield* client.todos.AddTodo({ params: { id: id! }, headers: {}, payload: { title: "Typed", due_date: "2025-04-01" } })
          assert.deepStrictEqual(added.body, {
            todo_id: id!,
            title: "Typed",
            description: null,
            due_date: "2025-04-01",
            stakeholder_email: null,
            status: "outstanding"
          })
          assert.strictEqual(added.headers.etag, 1)
          // Amended only on the version the client saw.
          const stale = yield* Effect.flip(client.todos.AmendTodo({ params: { id: id! }, headers: { "if-match": 0 }, payload: { title: "Stale" } }))
          assert.instanceOf(stale, PlainErrors.PreconditionFailed)
          const amended = yield* client.todos.AmendTodo({ params: { id: id! }, headers: { "if-match": 1 }, payload: { title: "Typed twice" } })
          assert.strictEqual(amended.headers.etag, 2)
          const completed = yield* client.todos.CompleteTodo({ params: { id: id! }, headers: { "if-match": "*" }, payload: { completed_on: "2025-03-30" } })
          assert.deepInclude(completed.body, { status: "completed", completed_on: "2025-03-30", title: "Typed twice" })
          const refused = yield* Effect.flip(client.todos.AbandonTodo({ params: { id: id! }, headers: {}, payload: { abandoned_on: "2025-03-31" } }))
          assert.instanceOf(refused, PlainErrors.UnprocessableContent)
          if (refused instanceof PlainErrors.UnprocessableContent) assert.strictEqual(refused.error, "TodoAlreadyCompleted")
          yield* Processor.Processors.use((processors) => processors.whenCaughtUp)
          const listed = (yield* client.lists.completed()).filter((item) => item.todo_id === id)
          assert.deepStrictEqual(listed.map((item) => [item.title, item.completed_on]), [["Typed twice", "2025-03-30"]])
        }).pipe(Effect.provide(FetchHttpClient.layer)))
    })

    describe("notifying stakeholders", () => {
      it.effect("tells the stakeholder once when a todo is completed, and records it as caused by the completion", () =>
        Effect.gen(function*() {
          const [id] = fresh("notify")
          const email = `${id}@example.com`
          yield* post(`/todo/${id}`, { title: "Report", stakeholder_email: email })
          yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" })
          const processors = yield* Processor.Processors
          yield* processors.whenCaughtUp

          const completion = (yield* eventsOf(streamId(id!))).find((event) => event.type === "TodoCompleted")!
          const sent = (yield* Ref.get(yield* SentNotifications)).filter((notification) => notification.email === email)
          assert.deepStrictEqual(sent, [{
            email,
            message: `Todo "Report" (${id}) was completed on 2025-02-27.`,
            idempotencyKey: `stakeholder-notifier:${completion.id}`
          }])

          const recorded = yield* eventsOf(notificationStreamId(id!))
          assert.strictEqual(recorded.length, 1)
          assert.strictEqual(recorded[0]!.type, "StakeholderNotified")
          assert.deepStrictEqual(recorded[0]!.data, { todo_id: id, email })
          assert.strictEqual(recorded[0]!.metadata.causationId, completion.id)
          assert.isString(completion.metadata.correlationId)
          assert.strictEqual(recorded[0]!.metadata.correlationId, completion.metadata.correlationId)
        }))

      it.effect("notifies nobody twice when the reactor sees a completion again", () =>
        Effect.gen(function*() {
          const [id] = fresh("replay")
          const email = `${id}@example.com`
          yield* post(`/todo/${id}`, { title: "Replay", stakeholder_email: email })
          yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" })
          const processors = yield* Processor.Processors
          yield* processors.whenCaughtUp
          // A rebuild replays the whole log through the reactor: every completion is delivered again.
          const reactor = processors.get("stakeholder-notifier")
          assert.isTrue(Option.isSome(reactor))
          if (Option.isNone(reactor)) return
          yield* reactor.value.rebuild
          yield* processors.whenCaughtUp

          const sent = (yield* Ref.get(yield* SentNotifications)).filter((notification) => notification.email === email)
          assert.strictEqual(sent.length, 1)
          assert.strictEqual((yield* eventsOf(notificationStreamId(id!))).length, 1)
        }))

      it.effect("does nothing when the completed todo has no stakeholder email", () =>
        Effect.gen(function*() {
          const [id, witness] = fresh("quiet", "witness")
          yield* post(`/todo/${id}`, { title: "Quiet" })
          yield* post(`/todo/${id}/complete`, { completed_on: "2025-02-27" })
          // A later completion with an email: once it is notified, the quiet one was handled too.
          yield* post(`/todo/${witness}`, { title: "Witness", stakeholder_email: `${witness}@example.com` })
          yield* post(`/todo/${witness}/complete`, { completed_on: "2025-02-27" })
          const processors = yield* Processor.Processors
          yield* processors.whenCaughtUp

          const sent = yield* Ref.get(yield* SentNotifications)
          assert.isFalse(sent.some((notification) => notification.message.includes(`(${id})`)))
          assert.isTrue(sent.some((notification) => notification.email === `${witness}@example.com`))
          assert.deepStrictEqual(yield* eventsOf(notificationStreamId(id!)), [])
          assert.strictEqual((yield* eventsOf(notificationStreamId(witness!))).length, 1)
        }))
    })
  })

apiSuite("memory", InMemory.layer)
apiSuite("embedded Postgres", Embedded.layer())
// On a Postgres server too, when one is given, in a schema of its own.
const databaseUrl = process.env["DATABASE_URL"]
if (databaseUrl !== undefined) {
  apiSuite("a Postgres server", Postgres.layer({ url: Redacted.make(databaseUrl), schema: "todo_example" }))
}
