/**
 * `facta archive`, `facta delete` and `facta retention` as an operator runs them: a real
 * subprocess, against a Postgres server and an embedded data directory; what each prints, its
 * exit code, and what the stores hold afterwards.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore, StreamLifecycle } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, type Layer, Redacted, Stream } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `facta` with these arguments, as a process of its own. */
const facta = (args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      const { DATABASE_URL: _, ...inherited } = process.env
      execFile(process.execPath, ["--conditions=@facta/source", bin, ...args], { env: inherited, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    })
  )

const suite = (name: string, target: () => { readonly args: ReadonlyArray<string>; readonly stores: Layer.Layer<EventStore.EventStore | StreamLifecycle.StreamLifecycle, unknown> }) =>
  describe(`facta lifecycle on ${name}`, () => {
    it.effect("archive and delete close streams; appends are then refused; delete asks for --yes; archived shows what moved", () =>
      Effect.gen(function*() {
        const { args, stores } = target()
        const category = `cli${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
        yield* EventStore.EventStore.use((store) =>
          Effect.forEach(["a", "b"], (id) => store.append(`${category}-${id}`, [{ type: "Opened", data: {} }, { type: "Used", data: {} }]), { discard: true })
        ).pipe(Effect.provide(stores))

        const archived = yield* facta([...args, "archive", `${category}-a`, "--reason", "closed by support"])
        assert.strictEqual(archived.code, 0, archived.stderr)
        assert.match(archived.stdout, new RegExp(`${category}-a\\s+\\$StreamArchived\\s+3\\s+0`))
        const again = yield* facta([...args, "archive", `${category}-a`])
        assert.deepStrictEqual([again.code, again.stderr.trim()], [1, `facta: Stream "${category}-a" is archived (at version 3): it takes no more events`])

        const unconfirmed = yield* facta([...args, "delete", `${category}-b`])
        assert.strictEqual(unconfirmed.code, 1)
        assert.include(unconfirmed.stderr, "pass --yes to confirm")
        const deleted = yield* facta([...args, "--json", "delete", `${category}-b`, "--yes"])
        assert.strictEqual(deleted.code, 0, deleted.stderr)
        const json = JSON.parse(deleted.stdout) as { streamId: string; moved: number; marker: { type: string; version: number } }
        assert.deepStrictEqual([json.streamId, json.moved, json.marker.type, json.marker.version], [`${category}-b`, 2, "$StreamDeleted", 3])

        const after = yield* Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const archivedAppend = yield* Effect.flip(store.append(`${category}-a`, [{ type: "Late", data: {} }]))
          const deletedAppend = yield* Effect.flip(store.append(`${category}-b`, [{ type: "Late", data: {} }], { expectedVersion: "noStream" }))
          const moved = yield* Stream.runCollect((yield* StreamLifecycle.StreamLifecycle).readArchived(`${category}-b`))
          return { tags: [archivedAppend._tag, deletedAppend._tag], moved: moved.map((event) => event.type) }
        }).pipe(Effect.provide(stores))
        assert.deepStrictEqual(after, { tags: ["StreamArchived", "StreamDeleted"], moved: ["Opened", "Used"] })

        const shown = yield* facta([...args, "archived", `${category}-b`, "--from", "2"])
        assert.strictEqual(shown.code, 0, shown.stderr)
        assert.match(shown.stdout, /^VERSION\s+TYPE\s+RECORDED AT\s+DATA\n2\s+Used\s+\S+\s+\{\}\s*$/)
        const none = yield* facta([...args, "--json", "archived", `${category}-a`])
        assert.deepStrictEqual([none.code, JSON.parse(none.stdout)], [0, []])
      }), { timeout: 120_000 })

    it.effect("retention --dry-run reports what would move and moves nothing; without it, moves it", () =>
      Effect.gen(function*() {
        const { args, stores } = target()
        const category = `ret${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
        yield* EventStore.EventStore.use((store) =>
          Effect.forEach(["a", "b"], (id) => store.append(`${category}-${id}`, Array.from({ length: 5 }, (_, n) => ({ type: "Ticked", data: { n } }))), { discard: true })
        ).pipe(Effect.provide(stores))

        const dry = yield* facta([...args, "retention", category, "--max-count", "2", "--dry-run"])
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.match(dry.stdout, new RegExp(`${category}\\s+2\\s+6`))
        assert.include(dry.stdout, "Dry run: nothing moved")
        const versions = (id: string) => EventStore.EventStore.use((store) => store.readStreamPage(`${category}-${id}`)).pipe(
          Effect.map((events) => events.map((event) => event.version)),
          Effect.provide(stores)
        )
        assert.deepStrictEqual(yield* versions("a"), [1, 2, 3, 4, 5])

        const applied = yield* facta([...args, "--json", "retention", category, "--max-count", "2", "--batch-size", "2"])
        assert.strictEqual(applied.code, 0, applied.stderr)
        assert.deepStrictEqual(JSON.parse(applied.stdout), { dryRun: false, rules: [{ category, streams: 2, events: 6 }] })
        assert.deepStrictEqual(yield* versions("a"), [4, 5])
        assert.deepStrictEqual(yield* versions("b"), [4, 5])

        const wrong = yield* facta([...args, "retention", category])
        assert.strictEqual(wrong.code, 1)
        assert.include(wrong.stderr, "needs maxAge, maxCount or both")
        const badAge = yield* facta([...args, "retention", category, "--max-age", "a while"])
        assert.strictEqual(badAge.code, 1)
        assert.include(badAge.stderr, "maxAge")
      }), { timeout: 120_000 })
  })

let dataDir = ""
suite("an embedded data directory", () => {
  dataDir ||= join(mkdtempSync(join(tmpdir(), "facta-cli-lifecycle-")), "db")
  return { args: ["--data-dir", dataDir], stores: Embedded.layer({ dataDir }) }
})

suite("a Postgres server", () => {
  const url = inject("databaseUrl")
  return { args: ["--url", url, "--schema", "cli_lifecycle"], stores: Postgres.layer({ url: Redacted.make(url), schema: "cli_lifecycle" }) }
})

process.on("exit", () => {
  if (dataDir !== "") rmSync(join(dataDir, ".."), { recursive: true, force: true })
})
