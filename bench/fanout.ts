/**
 * Figure 12: SSE fan-out. 1,000 clients hold a `GET /events` connection each (`Subscriptions`,
 * one shared `LogFeed`, the in-memory store) over real HTTP to a server in a child process
 * (`fanoutServer.ts`, so its heap holds the server alone); they read with `fetch` stream readers
 * in this process. Writers in the server's process then append events one at a time, and every
 * client must receive every event.
 *
 * Reported: the server's heap per connected client (after a full collection, connected and idle,
 * against the heap before the first connection) and the append-to-client latency over every
 * (event, client) pair, p50 and p99: from just before `append` is called to the client having
 * parsed the message.
 *
 * Baseline, in the same run: the same writers and events delivered to 1,000 `EventStore.subscribe`
 * streams in one process on the same store, no HTTP: what the clients would cost as in-process
 * subscribers. Its heap per subscriber is measured the same way.
 */
import { spawn } from "node:child_process"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { type Figure, lowerIsBetter, type Plan } from "./measure.ts"

export const eventType = "BenchFanout"
export const markerType = "BenchFanoutMarker"
/** Between two appends of one writer. */
export const spacingMs = 20

const clients = 1_000
const writers = 4
const script = fileURLToPath(new URL("./fanoutServer.ts", import.meta.url))

const now = () => performance.timeOrigin + performance.now()

/** A child process that answers each line it is sent with one JSON line. */
const child = (args: ReadonlyArray<string>) => {
  const process_ = spawn(process.execPath, ["--expose-gc", "--conditions=@facta/source", script, ...args], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = Readline.createInterface({ input: process_.stdout })[Symbol.asyncIterator]()
  const exited = new Promise<number | null>((resolve) => process_.once("exit", resolve))
  return {
    next: async <A>(): Promise<A> => {
      for (;;) {
        const line = await Promise.race([lines.next(), exited.then((code) => ({ done: true as const, value: `exited with ${code}` }))])
        if (line.done === true) throw new Error(`fanoutServer.ts ${args[0]}: ${line.value ?? "ended"}`)
        // The server's log lines ("Listening on ...") are not answers.
        if (line.value.startsWith("{")) return JSON.parse(line.value) as A
      }
    },
    send: (line: string) => void process_.stdin.write(`${line}\n`),
    exit: async () => {
      process_.stdin.end("exit\n")
      await exited
    }
  }
}

/** One SSE connection read with a `fetch` stream reader, parsing each message as it arrives. */
class Client {
  marked = false
  received = 0
  overflowed = false
  private rest = ""
  readonly controller = new AbortController()

  constructor(url: string, latencies: Array<number>) {
    void (async () => {
      const response = await fetch(`${url}/events`, { signal: this.controller.signal })
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        const messages = (this.rest + decoder.decode(value, { stream: true })).split("\n\n")
        this.rest = messages.pop()!
        for (const message of messages) {
          const type = /^event: (.*)$/m.exec(message)?.[1]
          if (type === markerType) this.marked = true
          else if (type === eventType) {
            const data = JSON.parse(/^data: (.*)$/m.exec(message)![1]!) as { readonly data: { readonly at: number } }
            latencies.push(now() - data.data.at)
            this.received++
          } else if (type === "overflow") this.overflowed = true
        }
      }
    })().catch((error: unknown) => {
      if (!this.controller.signal.aborted) throw error
    })
  }
}

const waitUntil = async (done: () => boolean, timeoutMs: number, what: string) => {
  const end = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > end) throw new Error(`figure 12: timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const percentile = (values: Array<number>, p: number) => {
  values.sort((a, b) => a - b)
  return values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? Number.NaN
}

interface Measured {
  readonly heapPerClient: number
  readonly p50: number
  readonly p99: number
  /** Clients that did not get every event, or overflowed. */
  readonly short: number
}

const measureSse = async (events: number): Promise<Measured> => {
  const server = child(["sse"])
  try {
    const { url, heap: before } = await server.next<{ readonly url: string; readonly heap: number }>()
    const latencies: Array<number> = []
    const connected = Array.from({ length: clients }, () => new Client(url, latencies))
    try {
      // Once every client has the marker, every one is subscribed.
      server.send("marker")
      await server.next()
      await waitUntil(() => connected.every((client) => client.marked), 60_000, "every client has the marker")
      server.send("heap")
      const { heap: after } = await server.next<{ readonly heap: number }>()
      server.send(`append ${events} ${writers}`)
      await server.next()
      await waitUntil(() => connected.every((client) => client.received >= events || client.overflowed), 60_000, "every client has every event")
      return {
        heapPerClient: (after - before) / clients,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        short: connected.filter((client) => client.received !== events || client.overflowed).length
      }
    } finally {
      for (const client of connected) client.controller.abort()
    }
  } finally {
    await server.exit()
  }
}

const measureBaseline = async (events: number): Promise<Measured> => {
  const side = child(["baseline", String(clients), String(events), String(writers)])
  try {
    const result = await side.next<{ readonly heapBefore: number; readonly heapAfter: number; readonly p50: number; readonly p99: number; readonly received: number }>()
    return {
      heapPerClient: (result.heapAfter - result.heapBefore) / clients,
      p50: result.p50,
      p99: result.p99,
      short: result.received === clients * events ? 0 : 1
    }
  } finally {
    await side.exit()
  }
}

export const figures = async (plan: Plan): Promise<Array<Figure>> => {
  const events = plan.quick ? 40 : 200
  const sse = await measureSse(events)
  const baseline = await measureBaseline(events)
  const title = `SSE fan-out: ${clients.toLocaleString("en-US")} clients over HTTP, one process`
  const delivery = sse.short === 0 ? "every client got every event" : `${sse.short} clients short of ${events} events`
  const note = `${events} events by ${writers} writers, ${spacingMs} ms apart each; ${delivery}; baseline: ${clients.toLocaleString("en-US")} in-process EventStore.subscribe streams`
  return [
    lowerIsBetter({ id: "12", title, store: "memory", metric: "heap/client", unit: "bytes", facta: sse.heapPerClient, baseline: baseline.heapPerClient, note }),
    lowerIsBetter({ id: "12", title, store: "memory", metric: "p50", unit: "ms", facta: sse.p50, baseline: baseline.p50, note }),
    lowerIsBetter({ id: "12", title, store: "memory", metric: "p99", unit: "ms", facta: sse.p99, baseline: baseline.p99, note })
  ]
}
