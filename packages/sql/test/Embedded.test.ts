import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EventStore, ProjectionStore } from "@facta/core"
import { Embedded } from "@facta/sql"

const sequenceOf = (position: bigint) => position & ((1n << 64n) - 1n)

describe("Embedded.layer", () => {
  it.live("keeps events and documents in a data directory across restarts", () =>
    Effect.gen(function*() {
      const dataDir = mkdtempSync(join(tmpdir(), "facta-embedded-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      yield* Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        yield* store.append("kept", [{ type: "Kept", data: { n: 1 } }, { type: "Kept", data: { n: 2 } }])
        yield* (yield* ProjectionStore.ProjectionStore).upsert("views", "kept", { count: 2 })
      }).pipe(Effect.provide(Embedded.layer({ dataDir })))
      const reopened = yield* Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const events = yield* Stream.runCollect(store.readStream("kept"))
        const view = yield* (yield* ProjectionStore.ProjectionStore).get("views", "kept")
        const next = yield* store.append("kept", [{ type: "Kept", data: { n: 3 } }], { expectedVersion: 2 })
        return { events, view, next }
      }).pipe(Effect.provide(Embedded.layer({ dataDir })))
      assert.deepStrictEqual(reopened.events.map((e) => e.data), [{ n: 1 }, { n: 2 }])
      assert.deepStrictEqual(reopened.view._tag === "Some" ? reopened.view.value : undefined, { count: 2 })
      assert.strictEqual(reopened.next.version, 3)
    }), 60_000)

  it.live("keeps positions exact past 2^53", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`ALTER TABLE facta_events ALTER COLUMN position RESTART WITH 9007199254740993`
      const store = yield* EventStore.EventStore
      const written = yield* store.append("big", [{ type: "Big", data: { n: 1 } }, { type: "Big", data: { n: 2 } }])
      assert.deepStrictEqual(written.events.map((e) => sequenceOf(e.position)), [9007199254740993n, 9007199254740994n])
      const after = yield* Stream.runCollect(store.readAll({ after: written.events[0]!.position }))
      assert.deepStrictEqual(after.map((e) => e.data), [{ n: 2 }])
    }).pipe(Effect.provide(Embedded.layer())), 60_000)
})
