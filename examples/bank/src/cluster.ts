/**
 * `npm run bank:cluster -- --processes 3`: the bank as several processes on one Postgres server.
 * Each process (`clusterNode.ts`) runs the bank's processors as a runner of an Effect Cluster,
 * which places their segments; this one sends the commands. It opens accounts and requests
 * transfers, kills one process with SIGKILL halfway through, shows the segments moving to the
 * others, and checks, once every transfer has settled, that money was neither made nor lost and
 * that every view applied every event of its stream once.
 *
 * It runs on a throwaway Postgres server (the machine's, or PostgreSQL 18 from npm), or on the
 * server at `DATABASE_URL`, in a schema of its own that it drops at the end.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Dispatcher, EventStore, Processor } from "@facta/core"
import { Postgres } from "@facta/sql"
import { PostgresServer, TestServer } from "@facta/sql/testing"
import { Console, Duration, Effect, Layer, Redacted, Stream } from "effect"
import { SqlClient } from "effect/sql"
import * as Bank from "./Bank.ts"
import * as BankAccount from "./BankAccount.ts"
import * as BankCluster from "./BankCluster.ts"

const argument = (name: string) => {
  const index = process.argv.indexOf(name)
  return index === -1 ? undefined : process.argv[index + 1]
}
const processes = Number(argument("--processes") ?? 3)
if (!Number.isInteger(processes) || processes < 2 || processes > 8) {
  console.error(`--processes must be an integer from 2 to 8, not ${argument("--processes")}`)
  process.exit(2)
}

const accounts = 12
const opening = 100_000
const transfers = 160
/** Every segment of every processor: what the processes share. */
const segments = BankCluster.processors.flatMap((processor) => Processor.segmentsOf(processor).map(({ name }) => name))
const schema = `bank_cluster_${crypto.randomUUID().slice(0, 8)}`

interface Node {
  readonly number: number
  readonly child: ChildProcess
  readonly pid: number
  readonly output: () => string
}

/** A process of the bank, stopped (SIGTERM, then SIGKILL after 5 s) when the scope closes. */
const startNode = (url: string, number: number) =>
  Effect.acquireRelease(
    Effect.map(Effect.promise(PostgresServer.freePort), (port): Node => {
      const child = spawn(process.execPath, ["--conditions=@facta/source", new URL("./clusterNode.ts", import.meta.url).pathname, url, schema, String(port)], {
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk) => (output += String(chunk)))
      child.stderr!.on("data", (chunk) => (output += String(chunk)))
      return { number, child, pid: child.pid!, output: () => output }
    }),
    ({ child }) =>
      Effect.callback<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.kill("SIGTERM")
      })
  )

/** Who runs each segment now: the node whose process holds its lease. */
const placementNow = (nodes: ReadonlyArray<Node>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly name: string; readonly owner: string }>`
      SELECT name, owner FROM ${sql(`${schema}.facta_leases`)} WHERE expires_at > clock_timestamp()`
    const byPid = new Map(nodes.map((node) => [`pid ${node.pid}`, node]))
    const placed = new Map<string, Node>()
    for (const { name, owner } of rows) {
      const node = byPid.get(owner.split(" ").slice(0, 2).join(" "))
      if (node !== undefined) placed.set(name, node)
    }
    return placed
  })

/** Polls until `check` holds of the placement, for up to 60 s. */
const placedSo = (nodes: ReadonlyArray<Node>, what: string, check: (placed: Map<string, Node>) => boolean) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (true) {
      const placed = yield* placementNow(nodes)
      if (check(placed)) return placed
      if (Date.now() - started > 60_000) {
        return yield* Effect.die(new Error(`Timed out waiting until ${what}\n${nodes.map((node) => `node ${node.number}:\n${node.output()}`).join("\n")}`))
      }
      yield* Effect.sleep("100 millis")
    }
  })

const showPlacement = (nodes: ReadonlyArray<Node>, placed: Map<string, Node>) =>
  Effect.forEach(nodes, (node) => {
    const held = segments.filter((name) => placed.get(name) === node)
    return Console.log(`    node ${node.number} (pid ${node.pid}): ${held.length === 0 ? "—" : held.join(", ")}`)
  }, { discard: true })

/** Reads every 200 ms until `done` holds of what it read, or `limitMs` have passed: the last read. */
const readUntil = <A, E, R>(read: Effect.Effect<A, E, R>, done: (value: A) => boolean, limitMs: number) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (true) {
      const value = yield* read
      if (done(value) || Date.now() - started > limitMs) return value
      yield* Effect.sleep("200 millis")
    }
  })

/** Cents as units with two decimals. */
const money = (cents: number) => (cents / 100).toLocaleString("en", { minimumFractionDigits: 2 })

/** A small deterministic generator, so every run asks for the same transfers. */
const randomFrom = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

const program = (url: string) =>
  Effect.gen(function*() {
    const bank = yield* Bank.Bank
    const nodes: Array<Node> = []
    for (let number = 1; number <= processes; number++) nodes.push(yield* startNode(url, number))

    yield* Console.log(`\n1. ${processes} processes run the bank's processors; Effect Cluster places their ${segments.length} segments\n  (by the hash of their names: a share, not an equal one)\n`)
    // Settled: the runners have joined (the first takes every shard until the others come) and
    // the placement has not changed for 2 s.
    let placed = new Map<string, Node>()
    let since = Date.now()
    yield* placedSo(nodes, "the placement settles", (now) => {
      const same = now.size === placed.size && [...now].every(([name, node]) => placed.get(name) === node)
      if (!same) [placed, since] = [now, Date.now()]
      return now.size === segments.length && new Set(now.values()).size > 1 && Date.now() - since >= 2000
    })
    yield* showPlacement(nodes, placed)

    yield* Console.log(`\n2. ${accounts} accounts with ${money(opening)} each; ${transfers} transfers between them, sent from this process\n`)
    const random = randomFrom(7)
    const accountNumbers = Array.from({ length: accounts }, (_, i) => `N-${i + 1}`)
    yield* Effect.forEach(accountNumbers, (accountNumber) =>
      Effect.andThen(
        bank.dispatch("openAccount", { accountNumber, owner: `owner ${accountNumber}` }),
        bank.dispatch("deposit", { accountNumber, amount: opening })
      ), { concurrency: 4, discard: true })
    const request = (i: number) => {
      const from = Math.floor(random() * accounts)
      const to = (from + 1 + Math.floor(random() * (accounts - 1))) % accounts
      const amount = 100 * (10 + Math.floor(random() * 200))
      return bank.dispatch("requestTransfer", { transferId: `t-${i}`, from: accountNumbers[from]!, to: accountNumbers[to]!, amount })
    }
    const half = transfers / 2
    yield* Effect.forEach(Array.from({ length: half }, (_, i) => i + 1), request, { concurrency: 8, discard: true })
    yield* Console.log(`  ${accounts} accounts opened, ${half} transfers requested; the processes move the money`)

    const victim = nodes.reduce((most, node) =>
      segments.filter((name) => placed.get(name) === node).length > segments.filter((name) => placed.get(name) === most).length ? node : most)
    const survivors = nodes.filter((node) => node !== victim)
    yield* Console.log(`\n3. kill -9 of node ${victim.number} (pid ${victim.pid}), with ${half} transfers under way; ${half} more meanwhile\n`)
    const killedAt = Date.now()
    victim.child.kill("SIGKILL")
    yield* Effect.forEach(Array.from({ length: half }, (_, i) => half + i + 1), request, { concurrency: 8, discard: true })
    const moved = yield* placedSo(nodes, "the others run every segment", (placed) =>
      placed.size === segments.length && [...placed.values()].every((node) => node !== victim))
    yield* Console.log(`  every segment runs again ${Duration.format(Duration.millis(Date.now() - killedAt))} after the kill:`)
    yield* showPlacement(survivors, moved)

    yield* Console.log("\n4. Once every transfer has settled\n")
    const isSettled = (view: { readonly status: string }) => view.status === "completed" || view.status === "cancelled"
    const allSettled = (views: ReadonlyArray<{ readonly status: string }>) => views.length === transfers && views.every(isSettled)
    const settled = yield* readUntil(bank.query("transfers", {}), allSettled, 60_000)
    if (!allSettled(settled)) {
      return yield* Effect.die(new Error(`Transfers still open after 60 s: ${settled.filter((view) => !isSettled(view)).map((view) => `${view.transferId} ${view.status}`).join(", ")}`))
    }
    const completed = settled.filter((view) => view.status === "completed").length
    yield* Console.log(`  ${completed} completed, ${transfers - completed} cancelled (the source had too little)`)
    // The account views are a projection of their own, which may still be catching up on the
    // segments it took over: they are read once each is at its stream's version, or after 30 s.
    const store = yield* EventStore.EventStore
    const settledAt = Date.now()
    const accountViews = Effect.gen(function*() {
      const views = yield* bank.query("accounts", {})
      const behind: Array<string> = []
      for (const view of views) {
        const version = yield* Stream.runCount(store.readStream(BankAccount.streamId(view.accountNumber)))
        if (view.version !== version) behind.push(`${view.accountNumber}: view at version ${view.version}, stream at ${version}`)
      }
      return { behind, views }
    })
    const { behind, views } = yield* readUntil(accountViews, (read) => read.behind.length === 0, 30_000)
    if (behind.length === 0) yield* Console.log(`  the account views are at their streams' versions ${Duration.format(Duration.millis(Date.now() - settledAt))} later`)
    const total = views.reduce((sum, view) => sum + view.balance, 0)
    const conserved = total === accounts * opening
    yield* Console.log(`  ${conserved ? "✓" : "✗"} the balances sum to ${money(total)}; ${money(accounts * opening)} was deposited`)
    yield* Console.log(`  ${behind.length === 0 ? "✓" : "✗"} every account view applied each event of its stream once${behind.length === 0 ? "" : `: ${behind.join("; ")}`}`)
    return conserved && behind.length === 0
  })

const main = Effect.gen(function*() {
  const databaseUrl = process.env["DATABASE_URL"]
  yield* Console.log(`Facta bank: ${processes} processes on ${databaseUrl === undefined ? "a throwaway Postgres server" : "the Postgres server at DATABASE_URL"}`)
  const url = databaseUrl ?? (yield* Effect.tap(TestServer.server, (server) => Console.log(`  (a throwaway server: ${server.description})`))).url
  const stores = Postgres.layer({ url: Redacted.make(url), schema, applicationName: "bank cluster demo" })
  return yield* Effect.scoped(Effect.gen(function*() {
    // The run's schema and the runners' tables go at the end, on a server of your own.
    if (databaseUrl !== undefined) {
      yield* Console.log(`  (in the schema ${schema}, dropped at the end)`)
      const sql = yield* SqlClient.SqlClient
      yield* Effect.addFinalizer(() =>
        Effect.ignore(Effect.gen(function*() {
          yield* sql`DROP SCHEMA ${sql(schema)} CASCADE`
          for (const { table } of yield* sql<{ readonly table: string }>`SELECT tablename AS table FROM pg_tables WHERE starts_with(tablename, ${`${schema}_`})`) {
            yield* sql`DROP TABLE ${sql(table)} CASCADE`
          }
        })))
    }
    return yield* program(url)
  })).pipe(Effect.provide(Layer.effect(Bank.Bank, Dispatcher.make({ commands: Bank.commands, queries: Bank.queries })).pipe(Layer.provideMerge(stores))))
}).pipe(Effect.scoped)

Effect.runPromiseExit(main).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(exit.cause)
    process.exit(1)
  }
  process.exit(exit.value ? 0 : 1)
})
