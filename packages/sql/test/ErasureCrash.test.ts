/**
 * A crash between `Erasure.forget`'s two steps: a process records the intent and is killed
 * (SIGKILL) before it destroys the key. The data then still reads and the erasure is on record;
 * at the next start (`Erasure.layerCompletePending`) the erasure completes. Data is never left
 * unreadable without its record, and the erasure is never left undone.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { inject } from "vitest"
import { Erasure, EventStore, KeyStore, PersonalData, RecordedEvent } from "@facta/core"
import { ErasureConformance } from "@facta/core/testing"
import { Postgres } from "@facta/sql"

const { Transferred } = ErasureConformance
const transfers = RecordedEvent.codec(Transferred)
const child = join(import.meta.dirname, "fixtures", "forgetUntilKilled.ts")

/** Runs the child until it says it is destroying the key, then kills it with SIGKILL. */
const forgetAndKill = (url: string, schema: string, subject: string) =>
  Effect.promise(() =>
    new Promise<{ readonly signal: NodeJS.Signals | null; readonly said: string }>((resolve, reject) => {
      const forgetting = spawn(process.execPath, ["--conditions=@facta/source", child, url, schema, subject], { stdio: ["ignore", "pipe", "pipe"] })
      let said = ""
      let stderr = ""
      forgetting.stderr.on("data", (chunk) => stderr += String(chunk))
      forgetting.stdout.on("data", (chunk) => {
        said += String(chunk)
        if (said.includes("destroying the key")) forgetting.kill("SIGKILL")
      })
      forgetting.on("error", reject)
      forgetting.on("exit", (_, signal) => signal === "SIGKILL" ? resolve({ signal, said }) : reject(new Error(`the child exited on its own: ${stderr}`)))
    })
  )

describe("erasure across a crash", () => {
  it.live("killed between the intent and the key's destruction: the erasure is on record, and completes at the next start", () =>
    Effect.gen(function*() {
      const url = inject("databaseUrl")
      const stores = Postgres.layer({ url: Redacted.make(url), schema: "erasure_crash" })
      const run = crypto.randomUUID().slice(0, 8)
      const [subject, other, streamId] = [`ada-${run}`, `grace-${run}`, `ledger-${run}`]
      const names = Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const [event] = yield* transfers.decodeMany(yield* store.readStreamPage(streamId, { from: 1 }))
        return [Redacted.value(event!.data.payerName), Redacted.value(event!.data.payeeName)]
      })
      const event = new Transferred({ payerId: subject, payeeId: other, payerName: Redacted.make("Ada"), payeeName: Redacted.make("Grace"), amount: 1 })
      yield* Effect.gen(function*() {
        yield* (yield* EventStore.EventStore).append(streamId, [yield* transfers.encode(event)])
      }).pipe(Effect.provide(stores))

      const killed = yield* forgetAndKill(url, "erasure_crash", subject)
      assert.strictEqual(killed.signal, "SIGKILL")

      const afterCrash = yield* Effect.gen(function*() {
        const intent = yield* (yield* EventStore.EventStore).readStreamPage(PersonalData.forgottenStream(subject), { from: 1 })
        const key = (yield* (yield* KeyStore.KeyStore).keys([subject], { purpose: "decrypt" })).get(subject)
        return { intent: intent.map((event) => event.type), key: key?._tag, names: yield* names }
      }).pipe(Effect.provide(stores))
      assert.deepStrictEqual(afterCrash, { intent: ["$SubjectForgotten"], key: "Live", names: ["Ada", "Grace"] }, "on record, and still readable")

      // The next start: the application's layer completes what is pending before anything else.
      const restarted = yield* names.pipe(Effect.provide(Layer.provideMerge(Erasure.layerCompletePending, stores)))
      assert.deepStrictEqual(restarted, [ErasureConformance.forgottenName, "Grace"])
      const again = yield* Erasure.completePending.pipe(Effect.provide(stores))
      assert.notInclude(again, subject)
    }), 120_000)
})
