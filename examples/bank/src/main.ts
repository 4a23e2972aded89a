/**
 * `npm start`: a scripted walk-through of the bank. It opens accounts, moves money, requests
 * three transfers (one completes, one is refused, one goes to a missing account and is refunded),
 * races ten withdrawals on one account, then shows what was stored: the events of every stream
 * and the read models.
 *
 * It runs on embedded Postgres (PGlite, nothing to set up; its data directory, `examples/bank/.data`,
 * is emptied at the start of each run and kept after it, so `npm run facta -- console` shows what
 * the run stored), on a Postgres server
 * when `DATABASE_URL` is set, or, with `--server` (`npm start -- --server`), on a throwaway
 * Postgres server started for the run (the machine's, or PostgreSQL 18 from npm) and removed
 * after it. Events on a server of your own outlive the run, so a second run meets the accounts
 * and transfers of the first and is refused accordingly.
 *
 * @since 0.1.0
 */
import { Cause, Console, DateTime, Effect, Exit, Layer, Redacted, Stream } from "effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { TestServer } from "@facta/sql/testing"
import { type CommandHandler, EventStore, Processor, type RecordedEvent } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import * as Bank from "./Bank.ts"
import type * as BankAccount from "./BankAccount.ts"
import * as Table from "./Table.ts"
import * as Telemetry from "./Telemetry.ts"
import type * as Transfer from "./Transfer.ts"
import * as TransferFlow from "./TransferFlow.ts"

// -------------------------------------------------------------------------------------
// printing
// -------------------------------------------------------------------------------------

/** Cents as units with two decimals. */
const money = (cents: number) => (cents / 100).toFixed(2)

const json = (value: unknown) => JSON.stringify(value)

const accountSummary = ({ state, version }: CommandHandler.CommandResult<BankAccount.Event, BankAccount.State>) =>
  state.status === "open"
    ? `account ${state.accountNumber} (${state.owner}): balance ${money(state.balance)}, version ${version}`
    : `no account, version ${version}`

const transferSummary = ({ state, version }: CommandHandler.CommandResult<Transfer.Event, Transfer.State>) =>
  state.status === "none"
    ? `no transfer, version ${version}`
    : `transfer ${state.transferId} ${state.status}: ${money(state.amount)} from ${state.from} to ${state.to}, version ${version}`

/**
 * Prints a command and its outcome: ✓ and a summary of the new state, or ✗ and the message of
 * the refusal. Errors that are no refusal (the database failing) end the program.
 */
const show = <A>(title: string, summary: (result: A) => string) => <E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.map((result) => `✓ ${summary(result)}`),
    Effect.catchIf((error: E): error is Extract<E, Bank.Refusal> => Bank.isRefusal(error), (refusal) => Effect.succeed(`✗ ${refusal.message}`)),
    Effect.flatMap((outcome) => Console.log(`  ${title}\n      ${outcome}`))
  )

const shortId = (id: string | undefined) => id?.slice(0, 8) ?? ""

/** The time of day, to the millisecond. */
const timeOf = (instant: DateTime.Utc) => DateTime.formatIso(instant).slice(11, 23)

/** Groups the log by stream, streams in the order they started. */
const byStream = (events: ReadonlyArray<RecordedEvent.RecordedEvent>) => {
  const streams = new Map<string, Array<RecordedEvent.RecordedEvent>>()
  for (const event of events) streams.set(event.streamId, [...streams.get(event.streamId) ?? [], event])
  return streams
}

// -------------------------------------------------------------------------------------
// the walk-through
// -------------------------------------------------------------------------------------

const walkThrough = Effect.gen(function*() {
  const bank = yield* Bank.Bank

  yield* Console.log("\n1. Commands, through the dispatcher (amounts in cents)\n")
  for (const input of [{ accountNumber: "A-1", owner: "Ada" }, { accountNumber: "B-2", owner: "Bob" }, { accountNumber: "C-3", owner: "Cy" }]) {
    yield* bank.dispatch("openAccount", input).pipe(show(`openAccount ${json(input)}`, accountSummary))
  }
  const again = { accountNumber: "A-1", owner: "Eve" }
  yield* bank.dispatch("openAccount", again).pipe(show(`openAccount ${json(again)}`, accountSummary))
  for (const input of [{ accountNumber: "A-1", amount: 10000 }, { accountNumber: "C-3", amount: 10000 }, { accountNumber: "A-1", amount: 0 }]) {
    yield* bank.dispatch("deposit", input).pipe(show(`deposit ${json(input)}`, accountSummary))
  }
  const overdraw = { accountNumber: "B-2", amount: 500 }
  yield* bank.dispatch("withdraw", overdraw).pipe(show(`withdraw ${json(overdraw)}`, accountSummary))

  yield* Console.log("\n2. Transfers: the request is recorded at once; the transfer saga moves the money afterwards\n")
  const requests = [
    { transferId: "t-1", from: "A-1", to: "B-2", amount: 3000 },
    { transferId: "t-2", from: "A-1", to: "B-2", amount: 50000 },
    { transferId: "t-3", from: "A-1", to: "Z-9", amount: 2000 },
    { transferId: "t-1", from: "B-2", to: "A-1", amount: 100 }
  ]
  for (const input of requests) {
    yield* bank.dispatch("requestTransfer", input).pipe(show(`requestTransfer ${json(input)}`, transferSummary))
  }

  yield* Console.log("\n3. Ten concurrent withdrawals of 3000 from C-3, which holds 10000\n")
  const outcomes = yield* Effect.forEach(
    Array.from({ length: 10 }),
    () =>
      bank.dispatch("withdraw", { accountNumber: "C-3", amount: 3000 }).pipe(
        Effect.as("succeeded"),
        Effect.catchIf(Bank.isRefusal, (refusal) => Effect.succeed(refusal.message))
      ),
    { concurrency: "unbounded" }
  )
  const refusals = outcomes.filter((outcome) => outcome !== "succeeded")
  yield* Console.log(`  ${outcomes.length - refusals.length} succeeded, ${refusals.length} refused: ${[...new Set(refusals)].join("; ")}`)

  yield* Console.log("\n4. Waiting for the processors (transfer saga, read models) to catch up\n")
  yield* (yield* Processor.Processors).whenCaughtUp
  for (const transfer of yield* bank.query("transfers", {})) {
    const outcome = transfer.status === "completed" ? `${money(transfer.amount)} moved` : transfer.reason ?? ""
    yield* Console.log(`  transfer ${transfer.transferId} ${transfer.from} → ${transfer.to}: ${transfer.status}. ${outcome}`)
  }

  yield* Console.log("\n5. The events, stream by stream (correlation: the first characters of the correlation id)\n")
  const store = yield* EventStore.EventStore
  for (const [streamId, events] of byStream(yield* Stream.runCollect(store.readAll()))) {
    yield* Console.log(`  ${streamId}`)
    yield* Console.log(Table.render(
      [{ header: "version", align: "right" }, { header: "type" }, { header: "correlation" }, { header: "data" }],
      events.map((event) => [String(event.version), event.type, shortId(event.metadata.correlationId), json(event.data)]),
      "    "
    ))
  }

  yield* Console.log("\n6. The read models\n")
  yield* Console.log("  accounts")
  yield* Console.log(Table.render(
    [
      { header: "account" },
      { header: "owner" },
      { header: "balance", align: "right" },
      { header: "version", align: "right" },
      { header: "last event" },
      { header: "at (UTC)" }
    ],
    (yield* bank.query("accounts", {})).map((account) => [
      account.accountNumber,
      account.owner,
      money(account.balance),
      String(account.version),
      shortId(account.lastEventId),
      timeOf(account.lastEventAt)
    ]),
    "    "
  ))
  yield* Console.log("\n  transfers")
  yield* Console.log(Table.render(
    [
      { header: "transfer" },
      { header: "from" },
      { header: "to" },
      { header: "amount", align: "right" },
      { header: "status" },
      { header: "version", align: "right" },
      { header: "reason" }
    ],
    (yield* bank.query("transfers", {})).map((transfer) => [
      transfer.transferId,
      transfer.from,
      transfer.to,
      money(transfer.amount),
      transfer.status,
      String(transfer.version),
      transfer.reason ?? ""
    ]),
    "    "
  ))
  yield* Console.log(`\n  ${TransferFlow.name} (the saga's state per transfer)`)
  yield* Console.log(Table.render(
    [{ header: "transfer" }, { header: "step" }, { header: "reason" }],
    (yield* TransferFlow.states.list).map(({ document, id }) => [id, document.step, document.reason ?? ""]),
    "    "
  ))
})

// -------------------------------------------------------------------------------------
// running it
// -------------------------------------------------------------------------------------

const databaseUrl = process.env["DATABASE_URL"]
// The embedded database's directory: the bank's own facta (facta.ts) opens it by default.
const dataDir = join(import.meta.dirname, "..", ".data")
const onServer = databaseUrl !== undefined && databaseUrl !== ""
const onThrowawayServer = !onServer && process.argv.includes("--server")

// A server started for this run and removed when the layer closes.
const throwawayServer = Layer.unwrap(
  TestServer.server.pipe(
    Effect.tap((server) => Console.log(`  (a throwaway server: ${server.description})`)),
    Effect.map((server) => Postgres.layer({ url: Redacted.make(server.url) }))
  )
)

const program = Console.log(
  `Facta bank: a walk-through on ${
    onServer ? "the Postgres server at DATABASE_URL" : onThrowawayServer ? "a throwaway Postgres server" : "embedded Postgres (PGlite, in examples/bank/.data)"
  }`
).pipe(
  Effect.andThen(walkThrough),
  // The processors run in the layer's scope: they stop, and the database closes, when the
  // walk-through ends.
  Effect.provide(Bank.layer(
    onServer ? Postgres.layer({ url: Redacted.make(databaseUrl) }) : onThrowawayServer ? throwawayServer : Layer.unwrap(Effect.sync(() => {
      // Each run starts empty, as on a throwaway server.
      rmSync(dataDir, { recursive: true, force: true })
      return Embedded.layer({ dataDir })
    }))
  )),
  // Traces and metrics go to an OpenTelemetry collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  Effect.provide(Telemetry.fromEnvironment())
)

Effect.runPromiseExit(program).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error(Cause.pretty(exit.cause))
    process.exitCode = 1
  }
})
