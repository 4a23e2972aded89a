import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { InMemory } from "@facta/core"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Bank from "../src/Bank.ts"
import * as Telemetry from "../src/Telemetry.ts"

/** A stand-in OpenTelemetry collector on a random local port, keeping the bodies it is sent, by path. */
const collector = Effect.gen(function*() {
  const received = new Map<string, Array<string>>()
  const server = yield* Effect.acquireRelease(
    Effect.sync(() =>
      createServer((request, response) => {
        let body = ""
        request.on("data", (chunk) => (body += chunk))
        request.on("end", () => {
          const path = request.url ?? ""
          received.set(path, [...(received.get(path) ?? []), body])
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
    ),
    (server) => Effect.sync(() => server.close())
  )
  yield* Effect.callback<void>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.void))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, received }
})

describe("Telemetry", () => {
  it.live("exports Facta's spans and metrics to an OpenTelemetry collector", () =>
    Effect.gen(function*() {
      const { received, url } = yield* collector
      yield* Effect.gen(function*() {
        const bank = yield* Bank.Bank
        yield* bank.dispatch("openAccount", { accountNumber: "T-1", owner: "Ada" })
        yield* bank.dispatch("deposit", { accountNumber: "T-1", amount: 500 })
      }).pipe(
        Effect.provide(Bank.layer(InMemory.layer)),
        // Releasing the exporter flushes what it holds.
        Effect.provide(Telemetry.layer(url, { exportInterval: "100 millis" }))
      )
      const traces = (received.get("/v1/traces") ?? []).join("\n")
      const metrics = (received.get("/v1/metrics") ?? []).join("\n")
      assert.include(traces, "CommandHandler.execute")
      assert.include(traces, "EventStore.append")
      assert.include(traces, "BankAccount")
      assert.include(metrics, "facta_commands_total")
      assert.include(metrics, "facta_events_appended_total")
    }).pipe(Effect.scoped))
})
