/**
 * The `facta` command line as an operator runs it: a real subprocess, against a real Postgres
 * server and against an embedded data directory. Each command's output and exit code.
 */
import { assert, describe, it } from "@effect/vitest"
import { CheckpointStore, Documents, EventStore, type KeyStore, ParkedEvents, PersonalData, type ProjectionStore, RecordedEvent, type SnapshotStore } from "@facta/core"
import { ErasureConformance } from "@facta/core/testing"
import { Embedded, Postgres } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, Fiber, type Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"

const bin = join(import.meta.dirname, "..", "src", "bin.ts")
/** An application's own bin, with a projection (`cli-counter`). */
const appBin = join(import.meta.dirname, "fixtures", "facta.ts")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `facta` with these arguments, as a process of its own (no DATABASE_URL unless given). */
const facta = (args: ReadonlyArray<string>, env: Record<string, string> = {}, program = bin) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      const { DATABASE_URL: _, ...inherited } = process.env
      execFile(process.execPath, ["--conditions=@facta/source", program, ...args], { env: { ...inherited, ...env }, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    })
  )

/** Two streams, a checkpoint: what the commands then show. */
const seed = (prefix: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    yield* store.append(`${prefix}-a`, [{ type: "Opened", data: { owner: "Ada" } }, { type: "Deposited", data: { amount: 5 } }])
    yield* store.append(`${prefix}-b`, [{ type: "Opened", data: { owner: "Grace" } }])
    yield* (yield* CheckpointStore.CheckpointStore).set(`${prefix}-view`, 0n, (yield* store.readStreamPage(`${prefix}-a`))[0]!.position)
  })

const suite = (name: string, target: () => {
  readonly args: ReadonlyArray<string>
  /** Whether this process can query while the CLI runs (a server; not an embedded directory). */
  readonly shared: boolean
  readonly stores: Layer.Layer<
    EventStore.EventStore | CheckpointStore.CheckpointStore | ProjectionStore.ProjectionStore | ParkedEvents.ParkedEvents | KeyStore.KeyStore | SnapshotStore.SnapshotStore,
    unknown
  > }) =>
  describe(`facta on ${name}`, () => {
    it.effect("streams, stream, processors: tables, JSON and exit codes", () =>
      Effect.gen(function*() {
        const { args, stores } = target()
        const prefix = `cli${crypto.randomUUID().slice(0, 8)}`
        yield* Effect.provide(seed(prefix), stores)

        const listed = yield* facta([...args, "streams", "--prefix", prefix])
        assert.strictEqual(listed.code, 0, listed.stderr)
        const lines = listed.stdout.trim().split("\n")
        assert.match(lines[0]!, /^STREAM\s+VERSION\s+LAST POSITION$/)
        assert.match(lines[1]!, new RegExp(`^${prefix}-a\\s+2\\s+\\d+$`))
        assert.match(lines[2]!, new RegExp(`^${prefix}-b\\s+1\\s+\\d+$`))

        const paged = yield* facta([...args, "--json", "streams", "--prefix", prefix, "--limit", "1"])
        const page = JSON.parse(paged.stdout) as { streams: Array<{ streamId: string; version: number }>; next: string }
        assert.deepStrictEqual([page.streams.map((stream) => [stream.streamId, stream.version]), page.next], [[[`${prefix}-a`, 2]], `${prefix}-a`])

        const shown = yield* facta([...args, "stream", `${prefix}-a`, "--from", "2"])
        assert.strictEqual(shown.code, 0, shown.stderr)
        assert.match(shown.stdout, /^VERSION\s+TYPE\s+RECORDED AT\s+DATA\n2\s+Deposited\s+\S+\s+\{"amount":5\}\s*$/)

        const missing = yield* facta([...args, "stream", `${prefix}-nope`])
        assert.deepStrictEqual([missing.code, missing.stderr.trim()], [1, `facta: No such stream: "${prefix}-nope"`])

        const processors = yield* facta([...args, "--json", "processors"])
        const rows = JSON.parse(processors.stdout) as Array<{ processor: string; lag: number }>
        const view = rows.find((row) => row.processor === `${prefix}-view`)
        assert.isDefined(view)
        assert.isAtLeast(view!.lag, 2, "the events after its checkpoint, of every type")

        const migrated = yield* facta([...args, "migrate"])
        assert.strictEqual(migrated.code, 0, migrated.stderr)

        const tailed = yield* facta([...args, "tail", "--from-start", "--types", "Deposited", "--limit", "1"])
        assert.strictEqual(tailed.code, 0, tailed.stderr)
        assert.match(tailed.stdout.trim(), new RegExp(`^\\d+  ${prefix}-a@2  Deposited  \\{"amount":5\\}$`))
      }), { timeout: 120_000 })

    it.effect("parked list, replay (in the application's bin) and drop", () =>
      Effect.gen(function*() {
        const { args, stores } = target()
        const prefix = `pk${crypto.randomUUID().slice(0, 8)}`
        const [kept, dropped] = yield* Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const parked = yield* ParkedEvents.ParkedEvents
          const kept = (yield* store.append(`${prefix}-kept`, [{ type: "Counted", data: { n: 1 } }])).events[0]!
          const dropped = (yield* store.append(`${prefix}-dropped`, [{ type: "Counted", data: { n: 1 } }])).events[0]!
          yield* parked.park("cli-counter", kept, "Error: the mailer was down")
          yield* parked.park("cli-counter", dropped, "Error: not wanted")
          return [kept, dropped] as const
        }).pipe(Effect.provide(stores))

        const listed = yield* facta([...args, "--json", "parked", "list", "--processor", "cli-counter"])
        assert.strictEqual(listed.code, 0, listed.stderr)
        const entries = JSON.parse(listed.stdout) as Array<{ event: { id: string }; error: string }>
        assert.includeMembers(entries.map((entry) => entry.event.id), [kept.id, dropped.id])

        const drop = yield* facta([...args, "parked", "drop", "cli-counter", dropped.id])
        assert.strictEqual(drop.code, 0, drop.stderr)
        const again = yield* facta([...args, "parked", "drop", "cli-counter", dropped.id])
        assert.deepStrictEqual([again.code, again.stderr.trim()], [1, `facta: No parked event ${dropped.id} of processor "cli-counter"`])

        const replay = yield* facta([...args, "parked", "replay", "cli-counter", "--event", kept.id], {}, appBin)
        assert.deepStrictEqual([replay.code, replay.stdout.trim()], [0, "replayed 1 parked event of cli-counter"], replay.stderr)
        const counted = yield* Effect.provide(Documents.make("cli-counts", Schema.Struct({ events: Schema.Int })).get(`${prefix}-kept`), stores)
        assert.deepStrictEqual(counted, Option.some({ events: 1 }))
        const left = yield* facta([...args, "--json", "parked", "list", "--processor", "cli-counter"])
        const ids = (JSON.parse(left.stdout) as Array<{ event: { id: string } }>).map((entry) => entry.event.id)
        assert.notInclude(ids, kept.id)
        assert.notInclude(ids, dropped.id)
      }), { timeout: 120_000 })

    it.live("rebuild: replays the log into a processor of the application's bin, with progress lines; in place and blue-green", () =>
      Effect.gen(function*() {
        const { args, shared, stores } = target()
        const prefix = `rb${crypto.randomUUID().slice(0, 8)}`
        const total = yield* Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          for (let batch = 0; batch < 100; batch++) {
            yield* store.append(`${prefix}-${batch}`, Array.from({ length: 500 }, () => ({ type: "Counted", data: { n: 1 } })))
          }
          return yield* store.count({ types: ["Counted"] })
        }).pipe(Effect.provide(stores))
        const rebuilt = yield* facta([...args, "rebuild", "cli-counter"], {}, appBin)
        assert.strictEqual(rebuilt.code, 0, rebuilt.stderr)
        const lines = rebuilt.stdout.trim().split("\n")
        for (const line of lines.slice(0, -1)) assert.match(line, /^rebuilding cli-counter: [\d,]+ of [\d,]+ events \(\d+%\), [\d,]+ events\/s/)
        assert.match(lines[lines.length - 1]!, new RegExp(`^rebuilt cli-counter: ${total.toLocaleString("en")} events in [\\d.]+ s`))
        const counted = yield* Effect.provide(Documents.make("cli-counts", Schema.Struct({ events: Schema.Int })).get(`${prefix}-3`), stores)
        assert.deepStrictEqual(counted, Option.some({ events: 500 }))

        // Blue-green: queries go on during the rebuild and see the whole read model throughout. (An
        // embedded data directory has one process at a time, so there only the command runs.)
        const query = Documents.make("cli-counts", Schema.Struct({ events: Schema.Int })).get(`${prefix}-3`)
        const answers: Array<string> = []
        const pauses: Array<number> = []
        const querying = shared
          ? yield* Effect.forkChild(Effect.provide(Effect.forever(Effect.gen(function*() {
            const started = performance.now()
            const answer = yield* query
            pauses.push(performance.now() - started)
            answers.push(JSON.stringify(answer))
            yield* Effect.sleep("2 millis")
          })), stores))
          : undefined
        while (shared && answers.length < 3) yield* Effect.sleep("5 millis")
        const blueGreen = yield* facta([...args, "rebuild", "cli-counter", "--blue-green"], {}, appBin)
        if (querying !== undefined) yield* Fiber.interrupt(querying)
        assert.strictEqual(blueGreen.code, 0, blueGreen.stderr)
        const output = blueGreen.stdout.trim().split("\n")
        assert.strictEqual(output[0], "building generation 1 of cli-counter as cli-counter#1; readers keep the current one")
        for (const line of output.slice(1, -2)) assert.match(line, /^rebuilding cli-counter#1: [\d,]+ of [\d,]+ events \(\d+%\)/)
        assert.match(output[output.length - 2]!, new RegExp(`^rebuilt cli-counter#1: ${total.toLocaleString("en")} events in [\\d.]+ s`))
        assert.strictEqual(output[output.length - 1], "switched cli-counter to generation 1; the previous generation is dropped")
        if (shared) {
          assert.isAbove(answers.length, 10)
          assert.deepStrictEqual([...new Set(answers)], [JSON.stringify(Option.some({ events: 500 }))], "a query saw a missing or partial read model")
          yield* Effect.logInfo(`blue-green switch: ${answers.length} queries, the longest ${Math.max(...pauses).toFixed(1)} ms`)
        }
        assert.deepStrictEqual(yield* Effect.provide(query, stores), Option.some({ events: 500 }))

        const unknown = yield* facta([...args, "rebuild", "nope"], {}, appBin)
        assert.deepStrictEqual([unknown.code, unknown.stderr.trim()], [1, `facta: Unknown processor "nope"; the processors are cli-counter, cli-split`])
      }), { timeout: 180_000 })

    it.effect("forget: records the erasure, destroys the key (the fields read as placeholders), says so when done already", () =>
      Effect.gen(function*() {
        const { args, stores } = target()
        const run = crypto.randomUUID().slice(0, 8)
        const [ada, grace, streamId] = [`ada-${run}`, `grace-${run}`, `cli-ledger-${run}`]
        const transfers = RecordedEvent.codec(ErasureConformance.Transferred)
        const names = Effect.gen(function*() {
          const page = yield* (yield* EventStore.EventStore).readStreamPage(streamId, { from: 1 })
          return (yield* transfers.decodeMany(page)).map((event) => [Redacted.value(event.data.payerName), Redacted.value(event.data.payeeName)])
        })
        yield* Effect.gen(function*() {
          const event = new ErasureConformance.Transferred({ payerId: ada, payeeId: grace, payerName: Redacted.make("Ada"), payeeName: Redacted.make("Grace"), amount: 1 })
          yield* (yield* EventStore.EventStore).append(streamId, [yield* transfers.encode(event)])
          // An erasure a crashed process left on record, its key still there: the next forget completes it.
          yield* (yield* EventStore.EventStore).append(PersonalData.forgottenStream(grace), [{ type: "$SubjectForgotten", data: { subject: grace } }])
        }).pipe(Effect.provide(stores))

        const forgotten = yield* facta([...args, "forget", ada])
        assert.strictEqual(forgotten.code, 0, forgotten.stderr)
        assert.match(forgotten.stdout, new RegExp(`^SUBJECT\\s+RECORDED\\s+KEY DESTROYED\\n${ada}\\s+now\\s+now\\n`))
        assert.include(forgotten.stdout, `also completed the pending erasure of ${grace}`)
        assert.deepStrictEqual(yield* Effect.provide(names, stores), [[ErasureConformance.forgottenName, ErasureConformance.forgottenName]])

        const again = yield* facta([...args, "--json", "forget", ada])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.deepStrictEqual(JSON.parse(again.stdout), { subject: ada, recorded: false, keyDestroyed: false, completedPending: [] })

        const empty = yield* facta([...args, "forget", ""])
        assert.strictEqual(empty.code, 1)
        assert.include(empty.stderr, "data subject")
      }), { timeout: 120_000 })
  })

let dataDir = ""
suite("an embedded data directory", () => {
  dataDir ||= join(mkdtempSync(join(tmpdir(), "facta-cli-")), "db")
  return { args: ["--data-dir", dataDir], shared: false, stores: Embedded.layer({ dataDir }) }
})

suite("a Postgres server", () => {
  const url = inject("databaseUrl")
  return { args: ["--url", url, "--schema", "cli"], shared: true, stores: Postgres.layer({ url: Redacted.make(url), schema: "cli" }) }
})

describe("facta, wrong", () => {
  it.effect("no database, a bad flag, an unreachable server: one line on stderr, a non-zero exit, no password", () =>
    Effect.gen(function*() {
      const none = yield* facta(["streams"])
      assert.deepStrictEqual([none.code, none.stderr.trim()], [1, "facta: No database: pass --url, set DATABASE_URL, or pass --data-dir"])
      const flag = yield* facta(["streams", "--bogus"])
      assert.strictEqual(flag.code, 2)
      assert.include(flag.stderr, "facta: Unrecognized flag: --bogus")
      const down = yield* facta(["streams"], { DATABASE_URL: "postgres://ada:s3cret-pw@127.0.0.1:1/facta" })
      assert.strictEqual(down.code, 1)
      assert.match(down.stderr.trim(), /^facta: .*Failed to connect.*ECONNREFUSED/)
      assert.notInclude(down.stdout + down.stderr, "s3cret-pw")
      assert.strictEqual(down.stderr.trim().split("\n").length, 1)
    }), { timeout: 60_000 })

  it.effect("processors: a processor in segments is listed by segment, each behind by its own streams' events", () =>
    Effect.gen(function*() {
      const url = inject("databaseUrl")
      const schema = `cli_split_${crypto.randomUUID().slice(0, 8)}`
      yield* EventStore.EventStore.use((store) =>
        Effect.forEach([1, 2, 3, 4, 5, 6], (i) => store.append(`split-${i}`, [{ type: "Split", data: {} }]), { discard: true })
      ).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(url), schema })))
      const listed = yield* facta(["--url", url, "--schema", schema, "--json", "processors"], {}, appBin)
      assert.strictEqual(listed.code, 0, listed.stderr)
      const rows = (JSON.parse(listed.stdout) as Array<{ processor: string; kind?: string; lag: number }>).filter((row) => row.processor.startsWith("cli-split"))
      assert.deepStrictEqual(rows.map((row) => [row.processor, row.kind]), [["cli-split[0/2]", "projection"], ["cli-split[1/2]", "projection"]])
      // Every stream is in one segment: the lags add up to the events, each counted once.
      assert.strictEqual(rows[0]!.lag + rows[1]!.lag, 6)
    }), { timeout: 60_000 })

  it.effect("gate: names the backend whose open transaction holds the readers' gate", () =>
    Effect.gen(function*() {
      const url = inject("databaseUrl")
      const held = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const store = yield* EventStore.EventStore
        // A transaction that appended and stays open while the command runs.
        return yield* sql.withTransaction(Effect.gen(function*() {
          yield* store.append(`gate-${crypto.randomUUID()}`, [{ type: "Held", data: {} }])
          const [row] = yield* sql<{ readonly pid: number; readonly xid: string }>`SELECT pg_backend_pid() AS pid, pg_current_xact_id()::text AS xid`
          const gate = yield* facta(["--url", url, "--schema", "cli", "--json", "gate"])
          return { row: row!, gate }
        }))
      }).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(url), schema: "cli" })))
      assert.strictEqual(held.gate.code, 0, held.gate.stderr)
      const { holders } = JSON.parse(held.gate.stdout) as { holders: Array<{ pid: number; transaction: string }> }
      assert.isTrue(holders.some((holder) => holder.pid === held.row.pid && holder.transaction === held.row.xid), held.gate.stdout)
    }), { timeout: 60_000 })
})

process.on("exit", () => {
  if (dataDir !== "") rmSync(join(dataDir, ".."), { recursive: true, force: true })
})
