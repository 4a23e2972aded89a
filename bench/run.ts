/**
 * `npm run bench [-- --quick] [--out FILE] [--compare FILE] [--stores server,pglite,memory] [--only 1,4]`
 *
 * Measures Facta against raw baselines run in the same process, on the same database and
 * `SqlClient`, interleaved round by round; prints a table (ratio 1.0 = as fast as the raw
 * baseline, higher is better), writes the figures and the machine to a JSON file
 * (`.bench/latest.json` by default) and, with `--compare`, the change against an earlier file.
 * Nothing here asserts a time: these are benchmarks, not tests.
 *
 * The Postgres server is `DATABASE_URL` when set, else a throwaway server started here and
 * stopped at the end, also on failure or Ctrl-C.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { PostgresServer } from "@facta/sql/testing"
import * as Append from "./append.ts"
import * as Commands from "./commands.ts"
import * as Conditions from "./conditions.ts"
import * as Fanout from "./fanout.ts"
import * as Http from "./http.ts"
import { type CpuPerOp, type Figure, type Plan, plans, watchServerCpu } from "./measure.ts"
import * as Memory from "./memory.ts"
import * as PersonalData from "./personalData.ts"
import * as Projection from "./projection.ts"
import * as ReadLog from "./readLog.ts"
import * as Rebuild from "./rebuild.ts"
import * as Rehydrate from "./rehydrate.ts"
import * as Scale from "./scale.ts"
import * as Subscription from "./subscription.ts"
import * as Targets from "./targets.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

// -- Arguments ----------------------------------------------------------------------------------

const usage = `usage: npm run bench -- [--quick] [--out FILE] [--compare FILE] [--stores server,pglite,memory] [--only 1,2,...]
  --quick     small rounds, for CI (under a minute on 2 cores)
  --out       where to write the JSON (default .bench/latest.json)
  --compare   an earlier JSON file: print each figure's change against it
  --stores    which stores to measure (default all three)
  --only      which figures to measure (default all), e.g. 1,5s,6,6b,16
The server is DATABASE_URL when set (its schema "bench" is dropped and recreated), else a throwaway
PostgreSQL started and stopped here.`

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string", default: join(root, ".bench", "latest.json") },
    compare: { type: "string" },
    stores: { type: "string", default: "server,pglite,memory" },
    only: { type: "string" },
    help: { type: "boolean", default: false }
  },
  strict: true
})
if (args.help) {
  console.log(usage)
  process.exit(0)
}
const plan: Plan = args.quick ? plans.quick : plans.full
const stores = new Set(args.stores.split(",").map((s) => s.trim()))
const only = args.only === undefined ? undefined : new Set(args.only.split(",").map((s) => s.trim()))
const wants = (...ids: Array<string>) => only === undefined || ids.some((id) => only.has(id))

// -- What each baseline does (printed under the table and kept in the JSON) ----------------------

const baselines: Record<string, string> = {
  table: "SQL baselines write to bench.baseline_events = CREATE TABLE ... (LIKE facta_events INCLUDING ALL): " +
    "the same columns, defaults, generated stream_key, identity and both unique indexes, but no NOTIFY trigger; " +
    "same database, same SqlClient (same pool), interleaved rounds, median of rounds.",
  "1": "plain single-row INSERT (stream_id, version, event_id, type, data::jsonb, metadata::jsonb) VALUES (...), version known in JS, no RETURNING; memory: PlainLog (plain JS arrays).",
  "2": "the same INSERT from 8 concurrent fibers (8 pooled connections). PGlite is one session: marked, no target.",
  "3": "plain multi-row INSERT ... VALUES of the same 100 rows (sql.insert), versions counted in JS; memory: PlainLog.",
  "4": "SELECT version, type, data of the stream by (stream_key, stream_id), fold in plain JS, check the command by hand, INSERT the row with version + 1. Every command targets its own 10-event stream.",
  "5": "one SELECT version, type, data of all 10,000 rows by the same index, folded in plain JS; memory: the same fold over PlainLog.",
  "5s": "the same as 5 (one SELECT of all the stream's rows, folded in plain JS) on the same stream, so the ratio is the gain from the snapshot. " +
    "Facta: CommandHandler.make(Account with its state Schema, { snapshot: { every: 100, schemaVersion: 1 } }).load, the latest snapshot at the stream's last version " +
    "(taken as the handler takes one: a full load's state encoded with the state Schema, saved through the store's SnapshotStore), so a load reads the snapshot and an empty tail; " +
    "measured at 1,000 and 10,000 events: it should not grow with the stream. memory: the plain JS fold over PlainLog.",
  "6": "the backlog (Credited events over 1,000 accounts, interleaved: a page touches 500 accounts) read from facta_events by the same query shape, in the same order and pages of 500 " +
    "((transaction_id, position) after a cursor, below pg_snapshot_xmin(pg_current_snapshot()), same type); per page one transaction: one SELECT of the documents it touches, " +
    "a plain JS fold, one multi-row INSERT ... ON CONFLICT DO UPDATE into bench.baseline_projections (LIKE facta_projections INCLUDING ALL) and a compare-and-set UPDATE of " +
    "bench.baseline_checkpoints (LIKE facta_checkpoints INCLUDING ALL). Facta: Processor.start(Projection.make(...), { batchSize: 500 }), a handler that updates the " +
    "account's document (ProjectionStore.documents with a Schema, documents(...).update: the batch's documents are read in one query and upserted in one statement), timed from start to handle.whenCaughtUp. Both start at a checkpoint just before the backlog; every round's " +
    "documents are checked against the events. memory: the same in plain JS over PlainLog, documents kept as JSON text.",
  "6b": "figure 6's baseline pages only: the same SELECT (same query shape, order and pages of 500, same SqlClient) of the same backlog, with no documents, no fold, no transaction and no writes; " +
    "the rows counted and their amounts summed, checked against the backlog. Facta: figure 6's catch-up (the same processor and documents), in interleaved rounds of their own.",
  "7": "raw LISTEN/NOTIFY on the same client: time from calling pg_notify to the listener's queue receiving the payload. Facta: one event per append, appends 5 ms apart, " +
    "timed from append returning to store.subscribe({ types }) receiving it; 7a subscribes in the appending store (woken in-process), 7b in a second store with its own pool (woken by NOTIFY only, like another process).",
  "9": "the in-place rebuild of the same projection (handle.rebuild, then handle.whenCaughtUp) over the same events, in the same run; " +
    "longest query: the longest a reader's document query took during each rebuild (queries every ~1 ms).",
  "10": "Facta's plain EventStore.append of the same tagged event in the same run (10a, 10b, 10d: to the same never-analyzed table), or 8 plain appends to the one course (10c).",
  "11": "the same projection in 8 segments run by 1 OS process, in the same run (11a, 11b); for the takeover (11c), the documented bound: lease duration + retry interval.",
  "8": "commands: the same command over PlainLog in plain JS; heap: PlainLog holding the same envelope fields, each side in its own `node --expose-gc` child process.",
  "12": "the same writers and events delivered to 1,000 in-process EventStore.subscribe streams on the in-memory store (no HTTP), in a `node --expose-gc` child process of its own; " +
    "Facta: 1,000 fetch stream readers in the bench process connected over HTTP to GET /events (Subscriptions, one shared LogFeed) served by a child process, whose heap is measured " +
    "(after a full collection, every client connected and idle, against before the first connection). Latency: from just before append is called to the message parsed by the client, over every (event, client) pair.",
  "14": "the same single-row INSERTs as figures 1-2 by the same number of writers, on a server started with fsync and synchronous_commit on (figure 14 only; the others run with them off).",
  "15": "the same events through the same Facta calls (RecordedEvent.codec(...).encodeMany, EventStore.append; readStreamPage, decodeMany) with a Schema whose two names are plain " +
    "fields instead of PersonalData.field: the ratio is the cost of encrypting them (one key look-up per call, AES-256-GCM per field, the larger JSON). Two subjects per event, from 100 whose keys exist before timing. " +
    "15d, 15e: the plain Schema carrying the two names sealed by hand with node:crypto (AES-256-GCM, a random IV, subject and field as associated data, the keys already in memory as KeyObjects), opened by hand after decodeMany and wrapped in Redacted: the cipher's own cost, so the ratio is what Facta adds to it.",
  "16": "a raw SELECT of the columns Facta reads (position, transaction_id::text, stream_id, version, event_id, type, data, metadata, recorded_at, tags) of the same 50,000 rows " +
    "(100 streams of 500, appended in batches before timing) from Facta's events table through the same SqlClient: (transaction_id, position) after the previous page's last row, " +
    "below pg_snapshot_xmin(pg_current_snapshot()), ORDER BY transaction_id, position LIMIT 500. Facta: EventStore.readPage({ after, batchSize: 500 }) in a loop from the position " +
    "before the events, each page's next the next after. Both stop after exactly 50,000 events, sum the amounts and are checked.",
  "13": "the same command (open an account of its own) through a hand-written effect/http route on the same CommandHandler, answering the same body and ETag; both servers in this process on the in-memory store, fetch with keep-alive, 1 (13a) and 8 (13b) requests in flight."
}

// -- Running ------------------------------------------------------------------------------------

const progress = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`)
const started = performance.now()

let server: PostgresServer.PostgresServer | undefined
let live: Targets.Target | undefined

/** Disposes the open store and stops the throwaway server; a second call finds nothing to do. */
const cleanup = async () => {
  const target = live
  const pg = server
  live = undefined
  server = undefined
  watchServerCpu(undefined)
  await target?.dispose().catch(() => {})
  await pg?.stop()
}

// Ctrl-C or a kill must not leave a throwaway server running.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`)
    void cleanup().finally(() => process.exit(130))
  })
}

const versions: Record<string, string> = {}

const packageVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

const sqlGroups = async (target: Targets.SqlTarget, url?: string): Promise<Array<Figure>> => {
  const figures: Array<Figure> = []
  if (wants("1", "2", "3")) {
    progress(`${target.store}: appends (figures 1-3)`)
    figures.push(...await Append.sqlFigures(target, plan))
  }
  if (wants("4")) {
    progress(`${target.store}: commands (figure 4)`)
    figures.push(...await Commands.sqlFigures(target, plan))
  }
  if (wants("5", "5s")) {
    progress(`${target.store}: rehydration (figures 5, 5s)`)
    figures.push(...await Rehydrate.sqlFigures(target, plan, { withoutSnapshots: wants("5"), withSnapshots: wants("5s") }))
  }
  if (wants("6", "6b")) {
    progress(`${target.store}: projection catch-up (figures 6, 6b)`)
    // "6" is both (6b reads 6's backlog against 6's catch-up); "6b" alone skips 6's baseline.
    figures.push(...await Projection.sqlFigures(target, plan, { catchUp: wants("6"), raw: true }))
  }
  if (wants("7")) {
    progress(`${target.store}: subscription latency (figure 7)`)
    figures.push(...await Subscription.sqlFigures(target, plan))
  }
  if (wants("10", "10a", "10b", "10c", "10d")) {
    progress(`${target.store}: conditional appends (figure 10)`)
    figures.push(...await Conditions.sqlFigures(target, plan))
  }
  if (wants("9")) {
    progress(`${target.store}: rebuild, blue-green and in place (figure 9)`)
    figures.push(...await Rebuild.sqlFigures(target, plan))
  }
  if (wants("15", "15a", "15b", "15c", "15d", "15e")) {
    progress(`${target.store}: personal fields, encrypted vs plain (figure 15)`)
    figures.push(...await PersonalData.figures(target.run, target.store, plan))
  }
  if (wants("16")) {
    progress(`${target.store}: read the global log (figure 16)`)
    figures.push(...await ReadLog.sqlFigures(target, plan))
  }
  // Processes on one server: PGlite is one process's.
  if (url !== undefined && wants("11", "11a", "11b", "11c")) {
    progress(`${target.store}: catch-up by 1, 2 and 4 processes, takeover (figure 11)`)
    figures.push(...await Scale.serverFigures(target, plan, url))
  }
  return figures
}

const measureAll = async (): Promise<Array<Figure>> => {
  const figures: Array<Figure> = []
  if (stores.has("server")) {
    progress(process.env["DATABASE_URL"] ? "server: using DATABASE_URL" : "server: starting a throwaway PostgreSQL")
    server = await PostgresServer.acquirePostgres()
    const target = await Targets.server(server.url, { ownServer: !process.env["DATABASE_URL"] })
    live = target
    watchServerCpu(target.serverCpu)
    if (target.serverCpu === undefined) progress("server: its CPU is not measured (not started here, or no /proc to read it from)")
    versions["postgres server"] = target.serverVersion
    figures.push(...await sqlGroups(target, server.url))
    await cleanup()
  }
  // Figure 14 on a server of its own that flushes every commit (DATABASE_URL: that server, as it is).
  if (stores.has("server") && wants("14", "14a", "14b", "14c", "14d")) {
    progress(process.env["DATABASE_URL"] ? "server: appends at DATABASE_URL (figure 14)" : "server: starting a PostgreSQL that flushes every commit (figure 14)")
    server = process.env["DATABASE_URL"] ? await PostgresServer.acquirePostgres() : await PostgresServer.startDurablePostgres()
    const target = await Targets.server(server.url, { ownServer: !process.env["DATABASE_URL"] })
    live = target
    watchServerCpu(target.serverCpu)
    figures.push(...await Append.durableFigures(target, plan))
    await cleanup()
  }
  if (stores.has("pglite")) {
    progress("pglite: opening an in-memory PGlite")
    const target = await Targets.pglite()
    live = target
    versions["pglite postgres"] = target.serverVersion
    figures.push(...await sqlGroups(target))
    await cleanup()
  }
  if (stores.has("memory")) {
    const target = Targets.memory()
    live = target
    if (wants("1", "3")) {
      progress("memory: appends (figures 1, 3)")
      figures.push(...await Append.memoryFigures(target, plan))
    }
    if (wants("5", "5s")) {
      progress("memory: rehydration (figures 5, 5s)")
      figures.push(...await Rehydrate.memoryFigures(target, plan, { withoutSnapshots: wants("5"), withSnapshots: wants("5s") }))
    }
    if (wants("6")) {
      progress("memory: projection catch-up (figure 6)")
      figures.push(...await Projection.memoryFigures(target, plan))
    }
    if (wants("7")) {
      progress("memory: subscription latency (figure 7)")
      figures.push(...await Subscription.memoryFigures(target, plan))
    }
    if (wants("15", "15a", "15b", "15c", "15d", "15e")) {
      progress("memory: personal fields, encrypted vs plain (figure 15)")
      figures.push(...await PersonalData.figures(target.run, target.store, plan))
    }
    if (wants("8")) {
      progress("memory: commands and heap (figure 8)")
      figures.push(...await Memory.figures(target, plan))
    }
    if (wants("12")) {
      progress("memory: SSE fan-out to 1,000 clients (figure 12)")
      figures.push(...await Fanout.figures(plan))
    }
    if (wants("13", "13a", "13b")) {
      progress("memory: a command over HTTP (figure 13)")
      figures.push(...await Http.figures(plan))
    }
    await cleanup()
  }
  return figures
}

// -- Reporting ----------------------------------------------------------------------------------

interface Report {
  readonly date: string
  readonly mode: "quick" | "full"
  readonly seconds: number
  readonly machine: Record<string, unknown>
  readonly versions: Record<string, string>
  readonly plan: Plan
  readonly baselines: Record<string, string>
  readonly figures: ReadonlyArray<Figure>
}

const keyOf = (figure: Figure) => `${figure.id}|${figure.store}|${figure.title}|${figure.metric}`

const storeOrder: Record<Figure["store"], number> = { server: 0, pglite: 1, memory: 2, all: 3 }
const figureOrder = (id: string) => Number.parseFloat(id) + (id.endsWith("s") ? 0.5 : 0)

const sortFigures = (figures: ReadonlyArray<Figure>) =>
  [...figures].sort((a, b) =>
    figureOrder(a.id) - figureOrder(b.id) ||
    a.id.localeCompare(b.id) ||
    a.title.localeCompare(b.title) ||
    storeOrder[a.store] - storeOrder[b.store]
  )

const formatValue = (value: number | null, unit: string): string => {
  if (value === null || !Number.isFinite(value)) return "-"
  if (unit === "ms") {
    if (value >= 100) return value.toFixed(0)
    if (value >= 10) return value.toFixed(1)
    if (value >= 1) return value.toFixed(2)
    return value.toFixed(3)
  }
  return Math.round(value).toLocaleString("en-US")
}

const percentChange = (now: number, before: number) => ((now - before) / before) * 100

/** The change of Facta's value against an earlier run, and whether it moved the good way. */
const changeAgainst = (figure: Figure, previous: Map<string, Figure> | undefined): string => {
  if (previous === undefined) return ""
  if (figure.facta === null) return ""
  const before = previous.get(keyOf(figure))
  if (before === undefined || before.facta === null) return "new"
  if (before.facta === 0) return figure.facta === 0 ? "+0.0%" : "was 0"
  const change = percentChange(figure.facta, before.facta)
  const sign = change >= 0 ? "+" : ""
  const verdict = Math.abs(change) < 1 ? "" : (change > 0) === (figure.better === "higher") ? " better" : " worse"
  return `${sign}${change.toFixed(1)}%${verdict}`
}

const targetCell = (figure: Figure): string => {
  if (figure.target === undefined) return ""
  if (figure.ratio === null) return `>=${figure.target}`
  return `>=${figure.target} ${figure.ratio >= figure.target ? "ok" : "MISS"}`
}

const formatCpu = (value: number | null): string =>
  value === null || !Number.isFinite(value) ? "—" : value >= 10 ? value.toFixed(0) : value.toFixed(1)

/** "facta/baseline" CPU µs per operation; empty where the figure did not measure CPU, "—" for a side not measured. */
const cpuCell = (cpu: CpuPerOp | undefined, side: "node" | "server"): string => {
  if (cpu === undefined) return ""
  const [facta, baseline] = side === "node" ? [cpu.facta, cpu.baseline] : [cpu.factaServer, cpu.baselineServer]
  return facta === null && baseline === null ? "—" : `${formatCpu(facta)}/${formatCpu(baseline)}`
}

const printTable = (figures: ReadonlyArray<Figure>, previous: Map<string, Figure> | undefined) => {
  const header = [
    "fig", "what", "store", "metric", "facta", "baseline", "ratio", "unit", "target",
    "cpu µs/op f/b", "pg µs/op f/b", ...(previous ? ["vs prev"] : []), "note"
  ]
  const rows: Array<Array<string>> = []
  let lastTitle = ""
  let lastNote = ""
  for (const figure of sortFigures(figures)) {
    const title = figure.title === lastTitle ? "" : figure.title
    // A note shared by the rows below it is printed once.
    const note = title === "" && figure.note === lastNote ? "" : figure.note ?? ""
    lastTitle = figure.title
    lastNote = figure.note ?? ""
    rows.push([
      title === "" ? "" : figure.id,
      title,
      figure.store,
      figure.metric,
      figure.facta === null && figure.baseline === null ? "n/a" : formatValue(figure.facta, figure.unit),
      formatValue(figure.baseline, figure.unit),
      figure.ratio === null ? "-" : figure.ratio.toFixed(2),
      figure.unit,
      targetCell(figure),
      cpuCell(figure.cpu, "node"),
      cpuCell(figure.cpu, "server"),
      ...(previous ? [changeAgainst(figure, previous)] : []),
      note
    ])
  }
  const numeric = new Set(["facta", "baseline", "ratio", "cpu µs/op f/b", "pg µs/op f/b", "vs prev"])
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, column) => {
      const last = column === cells.length - 1
      if (last) return cell
      return numeric.has(header[column]!) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)
    }).join("  ").trimEnd()
  console.log(line(header))
  console.log(widths.map((w, column) => column === widths.length - 1 ? "-".repeat(Math.min(w, 20)) : "-".repeat(w)).join("  "))
  for (const row of rows) console.log(line(row))
}

const machine = () => {
  const cpus = os.cpus()
  return {
    os: `${os.type()} ${os.release()}`,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    node: process.version
  }
}

// -- Main ---------------------------------------------------------------------------------------

const main = async () => {
  const previous = args.compare === undefined ? undefined : JSON.parse(readFileSync(resolve(args.compare), "utf8")) as Report
  progress(`mode ${args.quick ? "quick" : "full"}: ${plan.rounds} rounds of ${plan.roundMs} ms per side, after a ${plan.warmupMs} ms warm-up`)
  const figures = await measureAll()
  const report: Report = {
    date: new Date().toISOString(),
    mode: args.quick ? "quick" : "full",
    seconds: Math.round((performance.now() - started) / 100) / 10,
    machine: machine(),
    versions: {
      effect: packageVersion("effect"),
      "@effect/sql-pg": packageVersion("@effect/sql-pg"),
      "@electric-sql/pglite": packageVersion("@electric-sql/pglite"),
      ...versions
    },
    plan,
    baselines,
    figures: sortFigures(figures)
  }
  const out = resolve(args.out)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)

  const m = report.machine
  console.log(
    `Facta benchmarks (${report.mode}), ${report.date}: ${m["os"]}, ${m["cpus"]} × ${m["cpuModel"]}, ` +
      `${Math.round(Number(m["memoryBytes"]) / 2 ** 30)} GiB, node ${m["node"]}`
  )
  console.log(Object.entries(report.versions).map(([name, version]) => `${name} ${version}`).join(", "))
  if (previous !== undefined) {
    console.log(`compared with ${args.compare} (${previous.mode}, ${previous.date})` +
      (previous.mode === report.mode ? "" : `: WARNING, ${previous.mode} vs ${report.mode} mode`))
  }
  console.log("ratio: facta/baseline for throughputs, baseline/facta for latencies and sizes; 1.00 = as fast as the raw baseline, higher is better")
  console.log("cpu µs/op f/b: this process's CPU (user + system) per operation or event, facta/baseline, median of rounds (PGlite runs in this process);")
  console.log("pg µs/op f/b: the same for the Postgres server's processes, read from /proc (— when the server was not started here)\n")
  printTable(report.figures, previous === undefined ? undefined : new Map(previous.figures.map((f) => [keyOf(f), f])))
  console.log("\nBaselines:")
  for (const [id, text] of Object.entries(baselines)) console.log(`  ${id === "table" ? "*" : id}: ${text}`)
  console.log(`\nWrote ${out} in ${report.seconds} s.`)
}

try {
  await main()
} catch (error) {
  process.exitCode = 1
  console.error("bench failed:", error)
} finally {
  await cleanup()
}
