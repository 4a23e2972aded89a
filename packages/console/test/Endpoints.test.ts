/**
 * The console's endpoints without a browser: what they read, what they refuse (no token, a wrong
 * token, another site's page, another host's name, bad input) and the actions they run, on the
 * memory stores with the fixture's projection running.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime, Option } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { NodeHttpServer } from "@effect/platform-node"
import { InMemory } from "@facta/core"
import { createServer } from "node:http"
import { OperatorConsole } from "../src/index.ts"
import { request as httpRequest } from "node:http"
import { append, balances, cure, poison, processors, sicken, start } from "./fixtures.ts"

const token = "s3cret-console-token"

type Started = Awaited<ReturnType<typeof start>>

// The console's JSON, as the page reads it.
const jsonOf = (response: Response): Promise<any> => response.json()

/** A request with any headers, `Host` included (which `fetch` does not let a caller set). */
const raw = (url: string, options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string }) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? "GET", headers: options.headers }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
    })
    request.on("error", reject)
    request.end(options.body)
  })

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("the console with a token", () => {
  let app: Started
  let causeId = ""
  let effectId = ""
  const auth = { authorization: `Bearer ${token}` }

  beforeAll(async () => {
    app = await start({ token })
    const opened = await app.run(append("account-1", [{ type: "Opened", data: { _tag: "Opened", owner: "Ada" } }]))
    causeId = opened.events[0]!.id
    const deposited = await app.run(append("account-1", [
      { type: "Deposited", data: { _tag: "Deposited", amount: 5 }, metadata: { causationId: causeId, correlationId: causeId } }
    ]))
    effectId = deposited.events[0]!.id
    await app.run(append("account-2", [{ type: "Opened", data: { _tag: "Opened", owner: "Grace" } }]))
    await app.run(append("other-1", [{ type: "Opened", data: { _tag: "Opened", owner: "Alan" } }]))
  })
  afterAll(() => app.dispose())

  it("serves the page with a policy that allows only its own files", async () => {
    const response = await fetch(app.url)
    assert.strictEqual(response.status, 200)
    assert.include(await response.text(), "<script type=\"module\" src=\"console.js\">")
    assert.include(response.headers.get("content-security-policy") ?? "", "script-src 'self'")
    assert.strictEqual((await fetch(`${app.url}console.js`)).headers.get("content-type"), "text/javascript; charset=utf-8")
  })

  it("lists streams by prefix, a page at a time", async () => {
    const page = await jsonOf(await fetch(`${app.url}api/streams?prefix=account-&limit=1`))
    assert.deepStrictEqual(page.streams.map((stream: { streamId: string }) => stream.streamId), ["account-1"])
    assert.strictEqual(page.next, "account-1")
    const next = await jsonOf(await fetch(`${app.url}api/streams?prefix=account-&after=account-1`))
    assert.deepStrictEqual(next.streams.map((stream: { streamId: string }) => stream.streamId), ["account-2"])
  })

  it("pages through a stream and finds an event by id", async () => {
    const first = await jsonOf(await fetch(`${app.url}api/stream?id=account-1&limit=1`))
    assert.strictEqual(first.version, 2)
    assert.strictEqual(first.events[0].type, "Opened")
    assert.strictEqual(first.next, 2)
    const second = await jsonOf(await fetch(`${app.url}api/stream?id=account-1&from=2&limit=1`))
    assert.strictEqual(second.events[0].metadata.causationId, causeId)
    assert.strictEqual(second.next, null)
    const cause = await jsonOf(await fetch(`${app.url}api/event?id=${causeId}`))
    assert.strictEqual(cause.streamId, "account-1")
    assert.strictEqual(cause.version, 1)
    assert.strictEqual((await jsonOf(await fetch(`${app.url}api/event?id=${effectId}`))).type, "Deposited")
  })

  it("answers bad input with 400 and what was wrong", async () => {
    const cases: ReadonlyArray<[string, number, string]> = [
      ["api/stream", 400, "id: required"],
      ["api/stream?id=account-1&limit=abc", 400, "limit: expected a whole number from 1 to 500, got \"abc\""],
      ["api/stream?id=account-1&from=0", 400, "from: expected a whole number"],
      ["api/streams?limit=100000", 400, "limit: expected a whole number from 1 to 1000"],
      ["api/stream?id=nobody", 404, "No such stream: \"nobody\""],
      ["api/event?id=42", 404, "No event with id \"42\""],
      ["api/tail?types=", 400, "Bad filter"],
      ["api/tail?stream=a&category=b", 400, "give a stream or a category, not both"],
      ["api/tail?after=99999999999999999999999999", 400, "is beyond the end of the log"],
      ["api/jobs?id=99", 404, "No action \"99\""]
    ]
    for (const [path, status, message] of cases) {
      const response = await fetch(`${app.url}${path}`)
      assert.strictEqual(response.status, status, path)
      assert.include((await jsonOf(response)).error, message, path)
    }
    const notJson = await fetch(`${app.url}api/parked/drop`, { method: "POST", headers: auth, body: "{" })
    assert.strictEqual(notJson.status, 400)
    assert.include((await jsonOf(notJson)).error, "The body must be JSON")
    const missing = await post(`${app.url}api/parked/drop`, { processor: "console-balances" }, auth)
    assert.strictEqual(missing.status, 400)
    assert.include((await jsonOf(missing)).error, "event")
    const unknown = await post(`${app.url}api/rebuild`, { processor: "nope" }, auth)
    assert.strictEqual(unknown.status, 404)
    assert.include((await jsonOf(unknown)).error, "Unknown processor \"nope\"; the processors are console-balances")
  })

  it("refuses an action without the token, with a wrong one, or from another site", async () => {
    const body = { processor: "console-balances", event: "00000000-0000-4000-8000-000000000000" }
    const refused: ReadonlyArray<[Record<string, string>, number, string]> = [
      [{}, 401, "needs the console's token"],
      [{ authorization: "Bearer wrong" }, 401, "not this console's"],
      [{ ...auth, origin: "https://evil.example" }, 403, "origin https://evil.example"],
      [{ ...auth, origin: "null" }, 403, "origin null"],
      [{ ...auth, "sec-fetch-site": "cross-site" }, 403, "cross-site"],
      [{ ...auth, "sec-fetch-site": "same-site" }, 403, "same-site"]
    ]
    for (const [headers, status, message] of refused) {
      const response = await post(`${app.url}api/parked/drop`, body, headers)
      assert.strictEqual(response.status, status, JSON.stringify(headers))
      assert.include((await jsonOf(response)).error, message)
    }
    // The same request with the token and from the console's own page goes through (to a 404: nothing is parked).
    const own = await post(`${app.url}api/parked/drop`, body, { ...auth, origin: new URL(app.url).origin, "sec-fetch-site": "same-origin" })
    assert.strictEqual(own.status, 404)
    assert.include((await jsonOf(own)).error, "No parked event")
  })

  it("answers only requests that name its own host (DNS rebinding)", async () => {
    const { port } = new URL(app.url)
    const foreign = await raw(`${app.url}api/streams`, { headers: { host: `attacker.example:${port}` } })
    assert.strictEqual(foreign.status, 403)
    assert.include(JSON.parse(foreign.body).error, "host \"attacker.example:")
    const otherPort = await raw(`${app.url}api/streams`, { headers: { host: "127.0.0.1:1" } })
    assert.strictEqual(otherPort.status, 403)
    const action = await raw(`${app.url}api/rebuild`, {
      method: "POST",
      headers: { host: `attacker.example:${port}`, ...auth, "content-type": "application/json" },
      body: JSON.stringify({ processor: "console-balances" })
    })
    assert.strictEqual(action.status, 403)
    assert.strictEqual((await raw(`${app.url}api/streams`, { headers: { host: `localhost:${port}` } })).status, 200)
  })

  it("tells the page whether it may act", async () => {
    assert.deepStrictEqual(await jsonOf(await fetch(`${app.url}api/info`)), {
      actions: true,
      authorized: false,
      processors: ["console-balances"],
      gate: false
    })
    assert.strictEqual((await jsonOf(await fetch(`${app.url}api/info`, { headers: auth }))).authorized, true)
  })

  it("sends the live log as Server-Sent Events, filtered", async () => {
    const controller = new AbortController()
    const response = await fetch(`${app.url}api/tail?category=live`, { signal: controller.signal })
    assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    await reader.read()
    await app.run(append("elsewhere-1", [{ type: "Opened", data: { _tag: "Opened", owner: "skipped" } }]))
    await app.run(append("live-1", [{ type: "Opened", data: { _tag: "Opened", owner: "Live" } }]))
    while (!text.includes("\n\n") || !text.includes("data:")) text += decoder.decode((await reader.read()).value, { stream: true })
    controller.abort()
    assert.match(text, /id: \d+\ndata: \{.*"streamId":"live-1".*"owner":"Live"/)
    assert.notInclude(text, "skipped")
  })

  it("replays a parked event, and the projection catches up", async () => {
    sicken()
    await app.run(append("account-3", [
      { type: "Opened", data: { _tag: "Opened", owner: "Barbara" } },
      { type: "Deposited", data: { _tag: "Deposited", amount: poison } }
    ]))
    const parked = await until("the poison deposit to be parked", async () => {
      const { parked } = await jsonOf(await fetch(`${app.url}api/parked`))
      return parked.length > 0 ? parked : undefined
    })
    assert.include(parked[0].error, `deposit of ${poison} refused`)
    const processors = await jsonOf(await fetch(`${app.url}api/processors`))
    assert.strictEqual(processors.processors[0].parked, 1)
    cure()
    const replay = await post(`${app.url}api/parked/replay`, { processor: "console-balances", event: parked[0].event.id }, auth)
    assert.strictEqual(replay.status, 202)
    const job = await jsonOf(replay)
    assert.strictEqual(job.kind, "replay")
    // The running projection holds its lease: the replay waits until it stops.
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.strictEqual((await jsonOf(await fetch(`${app.url}api/jobs?id=${job.id}`))).state, "running")
    await app.stopProcessors()
    const done = await until("the replay to finish", async () => {
      const current = await jsonOf(await fetch(`${app.url}api/jobs?id=${job.id}`))
      return current.state === "running" ? undefined : current
    })
    assert.strictEqual(done.state, "done", done.detail)
    assert.strictEqual(done.done, 1)
    await app.startProcessors()
    assert.deepStrictEqual((await jsonOf(await fetch(`${app.url}api/parked`))).parked, [])
    const after = await until("the projection to catch up", async () => {
      const current = await jsonOf(await fetch(`${app.url}api/processors`))
      return current.processors[0].segments[0].lag === 0 && current.processors[0].parked === 0 ? current : undefined
    })
    assert.strictEqual(after.processors[0].segments[0].instances.some((instance: { state: string }) => instance.state === "live"), true)
    const balance = await app.run(balances.get("account-3"))
    assert.deepStrictEqual(balance, Option.some({ balance: poison }))
  })

  it("rebuilds blue-green, with progress to the end", async () => {
    const response = await post(`${app.url}api/rebuild`, { processor: "console-balances", blueGreen: true }, auth)
    assert.strictEqual(response.status, 202)
    const job = await jsonOf(response)
    assert.strictEqual(job.kind, "blue-green")
    const done = await until("the rebuild to finish", async () => {
      const current = await jsonOf(await fetch(`${app.url}api/jobs?id=${job.id}`))
      return current.state === "running" ? undefined : current
    })
    assert.strictEqual(done.state, "done", done.detail)
    assert.strictEqual(done.done, done.total)
    assert.include(done.detail, "switched to generation")
  })
})

describe("a halted processor", () => {
  let app: Started
  beforeAll(async () => {
    sicken()
    app = await start({ onPoison: "halt" })
  })
  afterAll(() => app.dispose())

  it("shows its state and its error, and its lag history grows", async () => {
    await app.run(append("account-h", [
      { type: "Opened", data: { _tag: "Opened", owner: "Halted" } },
      { type: "Deposited", data: { _tag: "Deposited", amount: poison } },
      { type: "Deposited", data: { _tag: "Deposited", amount: 1 } }
    ]))
    const halted = await until("the projection to halt", async () => {
      const { processors } = await jsonOf(await fetch(`${app.url}api/processors`))
      const segment = processors[0].segments[0]
      return segment.instances.some((instance: { state: string }) => instance.state === "halted") && segment.history.length >= 3 ? segment : undefined
    })
    const instance = halted.instances.find((instance: { state: string }) => instance.state === "halted")
    assert.include(instance.lastError, `deposit of ${poison} refused`)
    // The poison deposit and the one after it are still to handle.
    assert.strictEqual(halted.lag, 2)
    assert.strictEqual(halted.history.at(-1), 2)
  })
})

describe("the console without a token", () => {
  let app: Started
  beforeAll(async () => {
    app = await start({})
  })
  afterAll(() => app.dispose())

  it("is read-only: every action answers 403", async () => {
    for (const [path, body] of [
      ["api/rebuild", { processor: "console-balances" }],
      ["api/parked/replay", { processor: "console-balances" }],
      ["api/parked/drop", { processor: "console-balances", event: "x" }]
    ] as const) {
      const response = await post(`${app.url}${path}`, body, { authorization: "Bearer anything" })
      assert.strictEqual(response.status, 403, path)
      assert.include((await jsonOf(response)).error, "read-only")
    }
    assert.strictEqual((await jsonOf(await fetch(`${app.url}api/info`))).actions, false)
  })

  it("still reads", async () => {
    await app.run(Effect.asVoid(append("account-9", [{ type: "Opened", data: { _tag: "Opened", owner: "Edsger" } }])))
    const page = await jsonOf(await fetch(`${app.url}api/streams`))
    assert.deepStrictEqual(page.streams.map((stream: { streamId: string }) => stream.streamId), ["account-9"])
  })
})

describe("the console in an application's own server", () => {
  it("is served under its path, to the hosts it is given", async () => {
    const runtime = ManagedRuntime.make(
      HttpRouter.serve(OperatorConsole.layer({ processors, path: "/ops", hosts: ["ops.example.com"] }), { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provide(InMemory.layer)
      )
    )
    try {
      const base = HttpServer.formatAddress(await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address)))
      const named = { host: "ops.example.com" }
      const redirect = await raw(`${base}/ops`, { headers: named })
      assert.strictEqual(redirect.status, 308)
      const page = await raw(`${base}/ops/`, { headers: named })
      assert.strictEqual(page.status, 200)
      assert.include(page.body, "console.js")
      assert.strictEqual((await raw(`${base}/ops/console.js`, { headers: named })).status, 200)
      assert.deepStrictEqual(JSON.parse((await raw(`${base}/ops/api/streams`, { headers: named })).body), { streams: [], next: null })
      // Its own address is not among the names it was given.
      assert.strictEqual((await fetch(`${base}/ops/api/streams`)).status, 403)
      assert.strictEqual((await raw(`${base}/api/streams`, { headers: named })).status, 404)
    } finally {
      await runtime.dispose()
    }
  })
})
