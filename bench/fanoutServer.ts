/**
 * Figure 12, the server's process, started by `fanout.ts` so its heap holds the server and nothing
 * else: `node --expose-gc bench/fanoutServer.ts <sse|baseline> <clients> <events> <writers>`.
 *
 * sse: an HTTP server on a free port serving `Subscriptions` (one shared `LogFeed`) over the
 * in-memory store. It prints `{"url", "heap"}` and then answers the parent's lines on stdin:
 * `marker` appends a marker event (the parent waits until every client has it: then every
 * client is subscribed), `heap` prints the heap after a full collection, `append` runs the
 * writers and prints when they are done.
 *
 * baseline: `clients` in-process `EventStore.subscribe` streams on the same store, the same
 * marker, heap readings and writers; it prints the heap before and after and the latencies.
 *
 * Each written event carries `at`, the wall-clock time (ms) just before its `append` was called,
 * so a receiver in any process on the machine can time its delivery.
 */
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { EventStore, InMemory } from "@facta/core"
import { Subscriptions } from "@facta/http"
import { createServer } from "node:http"
import * as Readline from "node:readline"
import { eventType, markerType, spacingMs } from "./fanout.ts"


const heapUsed = (): number => {
  if (globalThis.gc === undefined) throw new Error("run with node --expose-gc")
  globalThis.gc()
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

const now = () => performance.timeOrigin + performance.now()

/** `writers` writers, each appending its share of `events` one at a time, `spacingMs` apart. */
const write = (events: number, writers: number) =>
  Effect.flatMap(EventStore.EventStore, (store) =>
    Effect.forEach(Array.from({ length: writers }, (_, writer) => writer), (writer) =>
      Effect.forEach(Array.from({ length: Math.ceil(events / writers) }, (_, i) => i), (i) =>
        writer + i * writers >= events
          ? Effect.void
          : Effect.suspend(() => store.append(`fanout-${writer}`, [{ type: eventType, data: { i: writer + i * writers, at: now() } }])).pipe(
            Effect.andThen(Effect.sleep(spacingMs))
          ), { discard: true }), { concurrency: "unbounded", discard: true }))

const marker = Effect.flatMap(EventStore.EventStore, (store) => store.append("fanout-marker", [{ type: markerType, data: {} }]))

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

class Api extends HttpApi.make("fanout").add(Subscriptions.group()) {}

const sse = async () => {
  const server = HttpRouter.serve(
    HttpApiBuilder.layer(Api).pipe(Layer.provide(Subscriptions.layer(Api, { bufferSize: 1000 }))),
    { disableLogger: true }
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(InMemory.layer)
  )
  const runtime = ManagedRuntime.make(server)
  const url = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address)))
  const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
  say({ url, heap: heapUsed() })
  for await (const line of Readline.createInterface({ input: process.stdin })) {
    const [command, ...args] = line.trim().split(" ")
    if (command === "marker") {
      await runtime.runPromise(marker)
      say({ marker: true })
    } else if (command === "heap") {
      say({ heap: heapUsed() })
    } else if (command === "append") {
      await runtime.runPromise(write(Number(args[0]), Number(args[1])))
      say({ appended: Number(args[0]) })
    } else if (command === "exit") {
      break
    }
  }
  await runtime.dispose()
}

const baseline = async (clients: number, events: number, writers: number) => {
  const runtime = ManagedRuntime.make(InMemory.layer)
  const result = await runtime.runPromise(Effect.scoped(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const after = yield* store.head()
    const before = heapUsed()
    const latencies: Array<number> = []
    let marked = 0
    let received = 0
    for (let client = 0; client < clients; client++) {
      yield* store.subscribe({ after }).pipe(
        Stream.runForEach((event) =>
          Effect.sync(() => {
            if (event.type === markerType) marked++
            else {
              received++
              latencies.push(now() - (event.data as { readonly at: number }).at)
            }
          })
        ),
        Effect.forkScoped
      )
    }
    const waitFor = (done: () => boolean): Effect.Effect<void> =>
      Effect.suspend(() => done() ? Effect.void : Effect.andThen(Effect.sleep(1), waitFor(done)))
    yield* marker
    yield* waitFor(() => marked === clients)
    const after_ = heapUsed()
    yield* write(events, writers)
    yield* waitFor(() => received === clients * events).pipe(Effect.timeout("60 seconds"))
    latencies.sort((a, b) => a - b)
    return { heapBefore: before, heapAfter: after_, p50: percentile(latencies, 50), p99: percentile(latencies, 99), received }
  })))
  await runtime.dispose()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

const [side, clients, events, writers] = process.argv.slice(2)
if (side === "sse") await sse()
else if (side === "baseline") await baseline(Number(clients), Number(events), Number(writers))
else throw new Error("usage: fanoutServer.ts <sse|baseline> <clients> <events> <writers>")
