/**
 * Live subscriptions end to end: a real server on a free port, real connections with `fetch` (and
 * `Subscriptions.follow` through a proxy that cuts its connections), on the in-memory stores and
 * on a Postgres server. Each test appends events of types of its own, so the log the suite
 * shares shows each test only its events.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Redacted, Schedule, Stream } from "effect"
import { Sse } from "effect/encoding"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import { EventStore, InMemory, type RecordedEvent } from "@facta/core"
import { Postgres } from "@facta/sql"
import { createServer } from "node:http"
import * as Net from "node:net"
import { Subscriptions } from "../src/index.ts"

const bufferSize = 64

class Api extends HttpApi.make("log").add(Subscriptions.group({ heartbeat: "200 millis" })).middleware(HttpApiMiddleware.ProblemDetails) {}

const server = HttpRouter.serve(
  HttpApiBuilder.layer(Api).pipe(
    Layer.provide(Subscriptions.layer(Api, { bufferSize })),
    Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
  ),
  { disableLogger: true }
).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

/** A type no other test, and no other run on the same database, appends. */
const fresh = (name: string) => `${name}${crypto.randomUUID().slice(0, 8)}`

const baseUrl = Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address))

/** One SSE connection read as it arrives: its messages, its raw text, how it ended. */
class Connection {
  readonly messages: Array<Sse.Event> = []
  raw = ""
  status = 0
  readonly ended: Promise<void>
  private readonly controller = new AbortController()
  private readonly parser = Sse.makeParser((event) => {
    if (event._tag === "Event") this.messages.push(event)
  })
  /** Resolves to go on reading: a slow client holds it back. */
  private gate: Promise<void> = Promise.resolve()

  constructor(url: string, headers: Record<string, string>, options?: { readonly paused?: Promise<void> }) {
    if (options?.paused) this.gate = options.paused
    this.ended = (async () => {
      const response = await fetch(url, { headers, signal: this.controller.signal })
      this.status = response.status
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      await this.gate
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        const text = decoder.decode(value, { stream: true })
        this.raw += text
        this.parser.feed(text)
      }
    })().catch((error: unknown) => {
      if (!this.controller.signal.aborted) throw error
    })
  }

  get events() {
    return this.messages.filter((message) => message.event !== "overflow")
  }

  close() {
    this.controller.abort()
    return this.ended
  }
}

const connect = (query: string, headers: Record<string, string> = {}, options?: { readonly paused?: Promise<void> }) =>
  Effect.map(baseUrl, (url) => new Connection(`${url}/events${query}`, headers, options))

/** Waits, on the live clock, until `done` holds; fails after `timeout`. */
const until = (done: () => boolean, timeout: Duration.Input = "10 seconds") =>
  Effect.suspend(() => done() ? Effect.void : Effect.fail("not yet" as const)).pipe(
    Effect.retry(Schedule.spaced("10 millis")),
    Effect.timeout(timeout),
    Effect.orDie
  )

const append = (streamId: string, events: ReadonlyArray<RecordedEvent.UnsavedEvent>) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.append(streamId, events))

/** The log's events of these types, as the store reads them. */
const logOf = (types: ReadonlyArray<string>) =>
  Effect.flatMap(EventStore.EventStore, (store) => Stream.runCollect(store.readAll({ types })))

/** A recorded event as its message's `data:` carries it. */
const asJson = (event: RecordedEvent.RecordedEvent) => ({
  id: event.id,
  streamId: event.streamId,
  version: event.version,
  position: event.position.toString(),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: new Date(event.recordedAt.epochMilliseconds).toISOString(),
  ...(event.tags === undefined ? {} : { tags: event.tags })
})

const assertSameEvents = (messages: ReadonlyArray<Sse.Event>, log: ReadonlyArray<RecordedEvent.RecordedEvent>) => {
  assert.deepStrictEqual(messages.map((message) => message.id), log.map((event) => event.position.toString()))
  assert.deepStrictEqual(messages.map((message) => message.event), log.map((event) => event.type))
  assert.deepStrictEqual(messages.map((message) => JSON.parse(message.data)), log.map(asJson))
}

/**
 * `writers` writers each append `each` events, one at a time, to streams of their own: two in
 * three of type `type`, the others of `other`.
 */
const writers = (type: string, other: string, options: { readonly writers: number; readonly each: number }) =>
  Effect.forEach(Array.from({ length: options.writers }, (_, writer) => writer), (writer) =>
    Effect.forEach(Array.from({ length: options.each }, (_, i) => i), (i) =>
      append(`writer-${type}-${writer}`, [{ type: i % 3 === 2 ? other : type, data: { writer, i } }]).pipe(
        Effect.andThen(Effect.sleep(`${Math.floor(Math.random() * 20)} millis`))
      ), { discard: true }), { concurrency: "unbounded", discard: true })

/** A TCP proxy to `target` that cuts each connection after a random 20 to 120 ms. */
const cuttingProxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ readonly server: Net.Server; readonly url: string; readonly connections: () => number }>((resolve) => {
        let connections = 0
        const server = Net.createServer((client) => {
          connections++
          const upstream = Net.connect(Number(target.port), target.hostname)
          client.pipe(upstream).on("error", () => {})
          upstream.pipe(client).on("error", () => {})
          client.on("error", () => upstream.destroy())
          upstream.on("error", () => client.destroy())
          setTimeout(() => {
            client.destroy()
            upstream.destroy()
          }, 20 + Math.random() * 100)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as Net.AddressInfo
          resolve({ server, url: `http://127.0.0.1:${port}`, connections: () => connections })
        })
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const suite = <E>(name: string, stores: Layer.Layer<InMemory.Services, E>) =>
  layer(server.pipe(Layer.provideMerge(stores)), { excludeTestServices: true, timeout: "60 seconds" })(
    `live subscriptions on ${name}`,
    (it) => {
      describe("the stream", () => {
        it.effect("a client receives the events appended before and after it connects, of the types it asked for", () =>
          Effect.gen(function*() {
            const [opened, deposited, ignored] = [fresh("Opened"), fresh("Deposited"), fresh("Ignored")]
            const id = fresh("account-")
            yield* append(id, [{ type: opened, data: { owner: "Ada" } }, { type: ignored, data: {} }])
            yield* append(`${id}-tagged`, [{ type: deposited, data: { amount: 5 }, tags: ["account:a"] }])
            const connection = yield* connect(`?types=${opened},${deposited}`)
            yield* until(() => connection.events.length === 2)
            yield* append(id, [{ type: deposited, data: { amount: 7 } }, { type: ignored, data: {} }, { type: deposited, data: { amount: 1 } }])
            yield* until(() => connection.events.length === 4)
            // Time for a message that should not come.
            yield* Effect.sleep("100 millis")
            yield* Effect.promise(() => connection.close())
            assert.strictEqual(connection.status, 200)
            const log = yield* logOf([opened, deposited])
            assert.strictEqual(log.length, 4)
            assertSameEvents(connection.events, log)
            assert.deepStrictEqual(JSON.parse(connection.events[1]!.data).tags, ["account:a"])
          }))

        it.effect("Last-Event-ID and ?after= resume exactly after their position; the header wins over the query", () =>
          Effect.gen(function*() {
            const type = fresh("Resumed")
            yield* append(fresh("resumed-"), Array.from({ length: 10 }, (_, i) => ({ type, data: { i } })))
            const log = yield* logOf([type])
            const after = log[3]!.position
            const byHeader = yield* connect(`?types=${type}`, { "last-event-id": after.toString() })
            const byQuery = yield* connect(`?types=${type}&after=${after}`)
            const both = yield* connect(`?types=${type}&after=${log[0]!.position}`, { "last-event-id": log[7]!.position.toString() })
            yield* until(() => byHeader.events.length >= 6 && byQuery.events.length >= 6 && both.events.length >= 2)
            yield* Effect.sleep("100 millis")
            yield* Effect.promise(() => Promise.all([byHeader.close(), byQuery.close(), both.close()]))
            assertSameEvents(byHeader.events, log.slice(4))
            assertSameEvents(byQuery.events, log.slice(4))
            assertSameEvents(both.events, log.slice(8))
          }))

        it.effect("a malformed Last-Event-ID, ?after= or ?types= is a 400 problem", () =>
          Effect.gen(function*() {
            const url = yield* baseUrl
            const problem = (path: string, headers: Record<string, string> = {}) =>
              Effect.promise(async () => {
                const response = await fetch(`${url}${path}`, { headers })
                return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() as { errors: Array<{ path: unknown }> } }
              })
            for (const [path, headers, field] of [
              ["/events", { "last-event-id": "abc" }, ["headers", "last-event-id"]],
              ["/events", { "last-event-id": "-1" }, ["headers", "last-event-id"]],
              ["/events", { "last-event-id": "1.5" }, ["headers", "last-event-id"]],
              ["/events?after=12x", {}, ["query", "after"]],
              ["/events?types=A,,B", {}, ["query", "types"]]
            ] as const) {
              const reply = yield* problem(path, headers)
              assert.strictEqual(reply.status, 400, JSON.stringify(reply.body))
              assert.strictEqual(reply.contentType, "application/problem+json")
              assert.deepStrictEqual(reply.body.errors[0].path, field)
            }
          }))

        it.effect("heartbeats arrive as comment lines while the stream is idle", () =>
          Effect.gen(function*() {
            const connection = yield* connect(`?types=${fresh("Quiet")}`)
            yield* Effect.sleep("750 millis")
            yield* Effect.promise(() => connection.close())
            assert.strictEqual(connection.status, 200)
            assert.isAtLeast(connection.raw.split(": keepalive\n\n").length - 1, 2, JSON.stringify(connection.raw))
            assert.deepStrictEqual(connection.messages, [])
          }))
      })

      describe("filters", () => {
        it.effect("?stream=, ?category=, ?tags= and ?types= send exactly their events, before and after connecting, and resume mid-stream exactly", () =>
          Effect.gen(function*() {
            const [type, other] = [fresh("Filtered"), fresh("Unwanted")]
            const [tagA, tagB] = [fresh("a:"), fresh("b:")]
            const category = fresh("cat")
            const [one, two] = [`${category}-1`, `${category}-2`]
            // Not in the category: another prefix, and the category's name alone.
            const [outside, bare] = [`${category}x-1`, category]
            const batch = (n: number) =>
              Effect.gen(function*() {
                yield* append(one, [{ type, data: { n }, tags: [tagA, tagB] }, { type: other, data: { n }, tags: [tagA] }])
                yield* append(two, [{ type, data: { n }, tags: [tagA] }, { type: other, data: { n } }])
                yield* append(outside, [{ type, data: { n }, tags: [tagA, tagB] }])
                yield* append(bare, [{ type, data: { n }, tags: [tagB] }])
              })
            const has = (event: RecordedEvent.RecordedEvent, ...tags: Array<string>) => tags.every((tag) => event.tags?.includes(tag) ?? false)
            const cases: ReadonlyArray<readonly [string, (event: RecordedEvent.RecordedEvent) => boolean]> = [
              [`?stream=${one}`, (event) => event.streamId === one],
              [`?stream=${two}&types=${other}`, (event) => event.streamId === two && event.type === other],
              [`?category=${category}`, (event) => event.streamId === one || event.streamId === two],
              [`?category=${category}&types=${type}`, (event) => (event.streamId === one || event.streamId === two) && event.type === type],
              [`?tags=${tagA},${tagB}`, (event) => has(event, tagA, tagB)],
              [`?tags=${tagA}&types=${other}`, (event) => has(event, tagA) && event.type === other],
              [`?category=${category}&tags=${tagA}`, (event) => (event.streamId === one || event.streamId === two) && has(event, tagA)]
            ]
            yield* batch(0)
            const connections = yield* Effect.forEach(cases, ([query]) => connect(query))
            const expectedNow = (wanted: (event: RecordedEvent.RecordedEvent) => boolean) =>
              Effect.map(logOf([type, other]), (log) => log.filter(wanted))
            for (const [i, [, wanted]] of cases.entries()) {
              const expected = yield* expectedNow(wanted)
              yield* until(() => connections[i]!.events.length >= expected.length)
            }
            yield* batch(1)
            yield* batch(2)
            for (const [i, [, wanted]] of cases.entries()) {
              const expected = yield* expectedNow(wanted)
              assert.isAtLeast(expected.length, 3, cases[i]![0])
              yield* until(() => connections[i]!.events.length >= expected.length)
            }
            // Time for a message that should not come.
            yield* Effect.sleep("100 millis")
            yield* Effect.promise(() => Promise.all(connections.map((connection) => connection.close())))
            for (const [i, [query, wanted]] of cases.entries()) {
              const expected = yield* expectedNow(wanted)
              assertSameEvents(connections[i]!.events, expected)
              // Resuming after an event mid-stream sends exactly the rest.
              const middle = Math.floor(expected.length / 2)
              const resumed = yield* connect(query, { "last-event-id": expected[middle]!.position.toString() })
              yield* until(() => resumed.events.length >= expected.length - middle - 1)
              yield* Effect.sleep("100 millis")
              yield* Effect.promise(() => resumed.close())
              assertSameEvents(resumed.events, expected.slice(middle + 1))
            }
          }))

        it.effect("a stream with a category, or an empty or malformed stream, category or tags, is a 400 problem naming the parameter", () =>
          Effect.gen(function*() {
            const url = yield* baseUrl
            for (const [query, parameter] of [
              ["?stream=account-1&category=account", "category"],
              ["?stream=", "stream"],
              ["?category=", "category"],
              ["?tags=a,,b", "tags"],
              ["?tags=", "tags"]
            ] as const) {
              const reply = yield* Effect.promise(async () => {
                const response = await fetch(`${url}/events${query}`)
                return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() as { errors: Array<{ path: unknown }> } }
              })
              assert.strictEqual(reply.status, 400, `${query}: ${JSON.stringify(reply.body)}`)
              assert.strictEqual(reply.contentType, "application/problem+json")
              assert.deepStrictEqual(reply.body.errors[0].path, ["query", parameter], query)
            }
          }))

        it.effect("Subscriptions.follow passes its filter", () =>
          Effect.gen(function*() {
            const type = fresh("Followed")
            const category = fresh("follow")
            const tag = fresh("t:")
            yield* append(`${category}-1`, [{ type, data: { i: 0 }, tags: [tag] }, { type, data: { i: 1 } }])
            yield* append(`${category}x-1`, [{ type, data: { i: 2 }, tags: [tag] }])
            yield* append(`${category}-2`, [{ type, data: { i: 3 }, tags: [tag] }])
            const followed = yield* Subscriptions.follow(`${yield* baseUrl}/events`, { category, tags: [tag] }).pipe(
              Stream.take(2),
              Stream.runCollect,
              Effect.provide(FetchHttpClient.layer),
              Effect.timeout("10 seconds")
            )
            assert.deepStrictEqual(followed.map((event) => event.data), [{ i: 0 }, { i: 3 }])
          }))
      })

      describe("the shared reader", () => {
        it.effect("50 clients with random filters and resume points, connecting while writers append, each get exactly their events, in order, once", () =>
          Effect.gen(function*() {
            const [type, other] = [fresh("Shared"), fresh("Other")]
            const tag = fresh("t:")
            const streamOf = (writer: number) => `shared-${type}-${writer}`
            const write = (writers: number, each: number) =>
              Effect.forEach(Array.from({ length: writers }, (_, writer) => writer), (writer) =>
                Effect.forEach(Array.from({ length: each }, (_, i) => i), (i) =>
                  append(streamOf(writer), [{ type: i % 3 === 2 ? other : type, data: { writer, i }, ...(i % 2 === 0 ? { tags: [tag] } : {}) }]).pipe(
                    Effect.andThen(Effect.sleep(`${Math.floor(Math.random() * 10)} millis`))
                  ), { discard: true }), { concurrency: "unbounded", discard: true })
            const filters: ReadonlyArray<readonly [string, (event: RecordedEvent.RecordedEvent) => boolean]> = [
              [`?types=${type}`, (event) => event.type === type],
              [`?stream=${streamOf(1)}`, (event) => event.streamId === streamOf(1)],
              [`?category=shared-${type}&types=${other}`, (event) => event.type === other],
              [`?tags=${tag}`, (event) => event.tags?.includes(tag) ?? false],
              [`?tags=${tag}&types=${type}`, (event) => event.type === type && (event.tags?.includes(tag) ?? false)],
              [`?category=shared-${type}`, () => true]
            ]
            yield* write(4, 15)
            const writing = yield* Effect.forkChild(write(5, 60))
            /** A client that reconnects after an overflow with its last id, keeping every message. */
            const client = (query: string, after: string | undefined) => {
              const received: Array<Sse.Event> = []
              let current: Connection | undefined
              let stopped = false
              const running = Effect.gen(function*() {
                while (!stopped) {
                  const last = received.at(-1)?.id ?? after
                  current = yield* connect(query, last === undefined ? {} : { "last-event-id": last })
                  const connection = current
                  yield* Effect.promise(() => connection.ended)
                  received.push(...connection.events)
                  current = undefined
                }
              })
              return {
                running,
                count: () => received.length + (current?.events.length ?? 0),
                // The loop keeps the closed connection's messages and stops.
                stop: (fiber: Fiber.Fiber<void>) =>
                  Effect.promise(async () => {
                    stopped = true
                    await current?.close()
                  }).pipe(Effect.andThen(Fiber.join(fiber)), Effect.as(received))
              }
            }
            const clients: Array<{
              readonly filter: number
              readonly after: bigint | undefined
              readonly client: ReturnType<typeof client>
              readonly fiber: Fiber.Fiber<void>
            }> = []
            for (let i = 0; i < 50; i++) {
              const log = yield* logOf([type, other])
              const filter = Math.floor(Math.random() * filters.length)
              // From the start, or after an event already written (a resuming client).
              const at = Math.floor(Math.random() * (log.length + 1)) - 1
              const after = at < 0 ? undefined : log[at]!.position
              const one = client(filters[filter]![0], after?.toString())
              const fiber = yield* Effect.forkChild(one.running)
              clients.push({ filter, after, client: one, fiber })
              yield* Effect.sleep(`${Math.floor(Math.random() * 20)} millis`)
            }
            yield* Fiber.join(writing)
            const log = yield* logOf([type, other])
            assert.strictEqual(log.length, 4 * 15 + 5 * 60)
            const expectedOf = ({ filter, after }: typeof clients[number]) =>
              log.filter((event) => (after === undefined || event.position > after) && filters[filter]![1](event))
            for (const one of clients) {
              const expected = expectedOf(one)
              yield* until(() => one.client.count() >= expected.length, "30 seconds")
            }
            // Time for a message that should not come.
            yield* Effect.sleep("100 millis")
            for (const one of clients) {
              const received = yield* one.client.stop(one.fiber)
              assertSameEvents(received, expectedOf(one))
            }
          }), { timeout: 90_000 })

        it.effect("a position beyond the end of the log is a 400 problem naming where it came from", () =>
          Effect.gen(function*() {
            const url = yield* baseUrl
            const head = yield* Effect.flatMap(EventStore.EventStore, (store) => store.head())
            const beyond = (head + 1000n).toString()
            for (const [query, headers, field] of [
              [`?after=${beyond}`, {}, ["query", "after"]],
              ["", { "last-event-id": beyond }, ["headers", "last-event-id"]]
            ] as const) {
              const reply = yield* Effect.promise(async () => {
                const response = await fetch(`${url}/events${query}`, { headers })
                return { status: response.status, body: await response.json() as { errors: Array<{ path: unknown }> } }
              })
              assert.strictEqual(reply.status, 400, JSON.stringify(reply.body))
              assert.deepStrictEqual(reply.body.errors[0].path, field)
            }
          }))
      })

      describe("exactness", () => {
        it.effect("a client cut off at random points many times, resuming with its last id, gets each event once, in order", () =>
          Effect.gen(function*() {
            const [type, other] = [fresh("Written"), fresh("Other")]
            const writing = yield* Effect.forkChild(writers(type, other, { writers: 10, each: 150 }))
            const received: Array<Sse.Event> = []
            let disconnects = 0
            let done = false
            while (!done) {
              const last = received.at(-1)?.id
              const connection = yield* connect(`?types=${type}`, last === undefined ? {} : { "last-event-id": last })
              // Cut after a random while (before, during or after a message) while the writers
              // run and until 100 cuts; then let each connection run longer, so the rest arrives
              // however slow the machine is.
              const cutting = writing.pollUnsafe() === undefined || disconnects < 100
              const open = cutting ? Duration.millis(5 + Math.floor(Math.random() * 40)) : Duration.seconds(3)
              yield* Effect.race(Effect.sleep(open), Effect.promise(() => connection.ended))
              yield* Effect.promise(() => connection.close())
              received.push(...connection.events)
              // A long connection that brought nothing while events remain has lost some: say which.
              if (!cutting && connection.events.length === 0) assertSameEvents(received, yield* logOf([type]))
              // An overflow ends a connection too; only the client's own cuts count.
              if (cutting && !connection.messages.some((message) => message.event === "overflow")) disconnects++
              done = writing.pollUnsafe() !== undefined && disconnects >= 100 &&
                received.length >= (yield* logOf([type])).length
            }
            yield* Fiber.join(writing)
            const log = yield* logOf([type])
            assert.strictEqual(log.length, 1000)
            assertSameEvents(received, log)
            assert.isAtLeast(disconnects, 100)
          }), { timeout: 90_000 })

        it.effect("Subscriptions.follow through a connection cut every 20-120 ms emits each event once, in order", () =>
          Effect.gen(function*() {
            const [type, other] = [fresh("Followed"), fresh("Other")]
            const proxy = yield* cuttingProxy(new URL(yield* baseUrl))
            const following = yield* Subscriptions.follow(`${proxy.url}/events`, {
              types: [type],
              reconnect: Schedule.spaced("5 millis")
            }).pipe(Stream.take(1000), Stream.runCollect, Effect.provide(FetchHttpClient.layer), Effect.forkChild)
            yield* writers(type, other, { writers: 10, each: 150 })
            const followed = yield* Fiber.join(following).pipe(Effect.timeout("60 seconds"))
            const log = yield* logOf([type])
            assert.strictEqual(log.length, 1000)
            assert.deepStrictEqual(followed.map((event) => event.position), log.map((event) => event.position))
            assert.deepStrictEqual(followed.map((event) => event.data), log.map((event) => event.data))
            assert.deepStrictEqual(followed.map((event) => event.id), log.map((event) => event.id))
            assert.isAtLeast(proxy.connections(), 10)
          }), { timeout: 90_000 })
      })

      describe("slow clients", () => {
        it.effect("a client that does not read is cut off with an overflow message, and resuming from its last id loses nothing", () =>
          Effect.gen(function*() {
            const type = fresh("Bulky")
            const resume = yield* Deferred.make<void>()
            const slow = yield* connect(`?types=${type}`, {}, { paused: Effect.runPromise(Deferred.await(resume)) })
            // Enough data to fill the socket's buffers, and then the server's.
            const padding = "x".repeat(16_384)
            const stream = fresh("bulky-")
            for (let batch = 0; batch < 40; batch++) {
              yield* append(stream, Array.from({ length: 25 }, (_, i) => ({ type, data: { i: batch * 25 + i, padding } })))
            }
            yield* Effect.sleep("300 millis")
            yield* Deferred.succeed(resume, undefined)
            yield* Effect.promise(() => slow.ended)
            const overflow = slow.messages.at(-1)!
            assert.strictEqual(overflow.event, "overflow", overflow.data)
            // No id of its own: the last event id stays the last event's.
            assert.match(slow.raw, /\n\nevent: overflow\ndata: [^\n]*\n\n$/)
            const last = slow.events.at(-1)!.id!
            assert.deepStrictEqual(JSON.parse(overflow.data).lastEventId, last)
            assert.strictEqual(JSON.parse(overflow.data).bufferSize, bufferSize)
            assert.isBelow(slow.events.length, 1000)
            // A resumed client may be cut again while it catches up on large events; each time it resumes.
            const received = [...slow.events]
            while (received.length < 1000) {
              const rest = yield* connect(`?types=${type}`, { "last-event-id": received.at(-1)!.id! })
              yield* until(() => received.length + rest.events.length >= 1000 || rest.messages.some((m) => m.event === "overflow"))
              yield* Effect.promise(() => rest.close())
              received.push(...rest.events)
            }
            const log = yield* logOf([type])
            assertSameEvents(received, log)
          }), { timeout: 90_000 })
      })
    }
  )

suite("memory", InMemory.layer)

suite("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "http_subscriptions" }))
