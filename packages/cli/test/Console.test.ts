/**
 * `facta console` as an operator runs it: a process of its own on a Postgres server, printing the
 * URL it serves; the page's endpoints over the same stores as the other commands, the
 * application's processors, the readers' gate, and actions only with the token.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@facta/core"
import { Postgres } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, Redacted } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { inject } from "vitest"

/** An application's own bin, with a projection (`cli-counter`). */
const appBin = join(import.meta.dirname, "fixtures", "facta.ts")

/** Starts `facta console` and resolves with its URL (the line it prints) and a way to stop it. */
const serve = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ readonly line: string; readonly url: string; readonly stop: () => void }>((resolve, reject) => {
    const { DATABASE_URL: _, FACTA_CONSOLE_TOKEN: __, ...inherited } = process.env
    const child = spawn(process.execPath, ["--conditions=@facta/source", appBin, ...args], { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`facta console printed no URL in time: ${stdout}${stderr}`))
    }, 60_000)
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /The console is at (http:\/\/\S+?\/)(#token=\S+)? /.exec(stdout)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ line: stdout.trim(), url: match[1]!, stop: () => child.kill("SIGINT") })
      }
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`facta console exited (${code}): ${stderr.trim()}`))
    })
  })

// The JSON the console answers.
const get = (url: string, init?: RequestInit): Promise<{ readonly status: number; readonly body: any }> =>
  fetch(url, init).then(async (response) => ({ status: response.status, body: await response.json() }))

describe("facta console", () => {
  it.effect("serves the stores and the application's processors, read-only without a token", () =>
    Effect.gen(function*() {
      const url = inject("databaseUrl")
      const prefix = `console${crypto.randomUUID().slice(0, 8)}`
      yield* Effect.provide(
        Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          yield* store.append(`${prefix}-a`, [{ type: "Counted", data: { _tag: "Counted", n: 1 } }])
        }),
        Postgres.layer({ url: Redacted.make(url) })
      )
      const readOnly = yield* Effect.promise(() => serve(["--url", url, "console", "--port", "0"]))
      try {
        assert.include(readOnly.line, "read-only")
        assert.match(readOnly.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
        const streams = yield* Effect.promise(() => get(`${readOnly.url}api/streams?prefix=${prefix}`))
        assert.deepStrictEqual(streams.body.streams.map((stream: { streamId: string }) => stream.streamId), [`${prefix}-a`])
        const processors = yield* Effect.promise(() => get(`${readOnly.url}api/processors`))
        assert.deepStrictEqual(processors.body.processors.map((processor: { name: string }) => processor.name), ["cli-counter", "cli-split"])
        const gate = yield* Effect.promise(() => get(`${readOnly.url}api/gate`))
        assert.strictEqual(gate.body.available, true)
        const rebuild = yield* Effect.promise(() => get(`${readOnly.url}api/rebuild`, { method: "POST", body: "{}", headers: { authorization: "Bearer x" } }))
        assert.strictEqual(rebuild.status, 403)
      } finally {
        readOnly.stop()
      }

      const withToken = yield* Effect.promise(() => serve(["--url", url, "console", "--port", "0"], { FACTA_CONSOLE_TOKEN: "from-the-environment" }))
      try {
        assert.include(withToken.line, "#token=from-the-environment")
        const refused = yield* Effect.promise(() => get(`${withToken.url}api/rebuild`, { method: "POST", body: JSON.stringify({ processor: "cli-counter" }) }))
        assert.strictEqual(refused.status, 401)
        const info = yield* Effect.promise(() => get(`${withToken.url}api/info`, { headers: { authorization: "Bearer from-the-environment" } }))
        assert.deepStrictEqual([info.body.actions, info.body.authorized], [true, true])
      } finally {
        withToken.stop()
      }
    }), 120_000)
})
