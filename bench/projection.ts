/**
 * Figure 6: projection catch-up, i.e. a projection that starts behind a backlog and works
 * through it in batches, each batch's documents and checkpoint committed in one transaction.
 *
 * The backlog: `plan.catchUpEvents` `Credited` events over 1,000 account streams, interleaved as
 * a busy log would be (the first event of every account, then the second of every account, ...),
 * so a page of 500 touches 500 different accounts. On SQL it is written by one `INSERT ... SELECT`
 * straight into Facta's events table (the rows Facta's append would write: stream id, version,
 * event id, type, data, metadata with a correlation id); in memory by `EventStore.append`, one
 * event per call. Not timed. Each round then catches up on it from the log position just before
 * it, with a fresh projection (a fresh checkpoint and documents): the checkpoint is set to that
 * position first, as a processor resumed there would find it, so neither side scans what earlier
 * figures appended.
 *
 * Facta: `Projection.make` with one handler that updates the account's document
 * (`Documents.make(name, Schema).update`: within a batch, the documents are read in one
 * query and written in one multi-row upsert before the checkpoint moves);
 * `Processor.start(projection, { batchSize: 500 })`, timed from the start to `handle.whenCaughtUp`
 * (which polls every 10 ms). Baseline (SQL): the same rows read through the same `SqlClient` in the
 * same order (`(transaction_id, position)` after a cursor, below the oldest running transaction,
 * of the same type, pages of 500), and per page one transaction that reads the documents the page
 * touches (one SELECT), folds the page in plain JS, upserts them (one multi-row
 * `INSERT ... ON CONFLICT`) into a copy of Facta's projections table and moves a checkpoint row by
 * compare-and-set in a copy of Facta's checkpoints table: the same documents and checkpoint,
 * written without Facta. Baseline (memory): the same over `PlainLog`, the documents kept as JSON
 * text like `InMemory.projectionStore` keeps them.
 */
import { Effect, Option, Schema } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { CheckpointStore, Documents, EventStore, Processor, Projection } from "@facta/core"
import { beginRound, eventsPerSecond, type Figure, interleave, type Interleaved, type Plan, type Round } from "./measure.ts"
import { PlainLog } from "./plainLog.ts"
import type { BenchTables, MemoryTarget, SqlTarget } from "./targets.ts"

/** Events per batch (and per transaction) on both sides. */
const batchSize = 500
/** Account streams the backlog is spread over. */
const accounts = 1_000
const type = "Credited"
const sequenceMask = (1n << 64n) - 1n

const prefix = "catch-up-"
const streamId = (account: number) => `${prefix}${account}`
/** The amount of the `version`th event of an account: varied, so a lost or doubled event shows in the sums. */
const amountOf = (account: number, version: number) => ((account + version) % 100) + 1

/** The backlog's events in log order: version-major, so consecutive events belong to different accounts. */
const backlog = function*(events: number) {
  const perAccount = Math.ceil(events / accounts)
  let written = 0
  for (let version = 1; version <= perAccount; version++) {
    for (let account = 0; account < accounts && written < events; account++, written++) {
      yield { account, version, amount: amountOf(account, version) }
    }
  }
}

/** What every projection of the backlog must hold: one document per account, and the sums. */
const expected = (events: number) => {
  let total = 0
  let documents = 0
  for (const event of backlog(events)) {
    total += event.amount
    if (event.version === 1) documents++
  }
  return { documents, total, events }
}

interface Balance {
  readonly balance: number
  readonly count: number
}

const empty: Balance = { balance: 0, count: 0 }

/** One catch-up: the documents it built, to check, and its time. */
interface CatchUp {
  readonly round: Round
  readonly documents: ReadonlyArray<Balance>
}

// -- Facta --------------------------------------------------------------------------------------

const Credited = Schema.TaggedStruct(type, { amount: Schema.Int })
const BalanceDocument = Schema.Struct({ balance: Schema.Int, count: Schema.Int })

/** A projection keeping each account's balance and event count, as an application would write it. */
const balances = (name: string) => {
  const documents = Documents.make(name, BalanceDocument)
  const projection = Projection.make({
    name,
    event: Credited,
    handlers: {
      Credited: (event) =>
        documents.update(event.streamId, (current) => {
          const { balance, count } = Option.getOrElse(current, () => empty)
          return { balance: balance + event.data.amount, count: count + 1 }
        })
    },
    reset: documents.clear
  })
  return { documents, projection }
}

/** One catch-up from `from` through the whole backlog after it: start to caught up. */
const factaCatchUp = (name: string, from: bigint, events: number) =>
  Effect.scoped(Effect.gen(function*() {
    const { documents, projection } = balances(name)
    const checkpoints = yield* CheckpointStore.CheckpointStore
    yield* checkpoints.set(name, EventStore.start, from)
    const clock = beginRound()
    const handle = yield* Processor.start(projection, { batchSize })
    yield* handle.whenCaughtUp
    const round = clock.end(events)
    const stored = yield* documents.list
    return { round, documents: stored.map((d) => d.document) } satisfies CatchUp
  }))

// -- Baseline (SQL) -----------------------------------------------------------------------------

interface PageRow {
  readonly transaction: string
  readonly sequence: string
  readonly stream_id: string
  readonly data: { readonly amount: number }
}

/** A page of the baselines' read of the backlog after (transaction, sequence), in log order, below the readers' gate. */
const baselinePage = (sql: SqlClient.SqlClient, log: Statement.Identifier, transaction: string, sequence: string) =>
  sql<PageRow>`SELECT transaction_id::text AS transaction, position::text AS sequence, stream_id, data
    FROM ${log}
    WHERE (transaction_id, position) > (${transaction}::text::xid8, ${sequence}::bigint)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      AND ${sql.in("type", [type])}
    ORDER BY transaction_id, position LIMIT ${batchSize}`

const baselineCatchUp = (tables: BenchTables, name: string, from: bigint, events: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const log = sql(tables.events)
    const documents = sql(tables.baselineProjections)
    const checkpoints = sql(tables.baselineCheckpoints)
    yield* sql`INSERT INTO ${checkpoints} (processor, position) VALUES (${name}, ${from.toString()}::numeric)`
    const clock = beginRound()
    let position = from
    let transaction = (from >> 64n).toString()
    let sequence = (from & sequenceMask).toString()
    while (true) {
      const rows = yield* baselinePage(sql, log, transaction, sequence)
      if (rows.length === 0) break
      const last = rows[rows.length - 1]!
      const next = (BigInt(last.transaction) << 64n) | BigInt(last.sequence)
      yield* sql.withTransaction(Effect.gen(function*() {
        const ids = [...new Set(rows.map((row) => row.stream_id))]
        const current = yield* sql<{ readonly id: string; readonly document: Balance }>`SELECT id, document FROM ${documents}
          WHERE projection = ${name} AND ${sql.in("id", ids)}`
        const folded = new Map(current.map((row) => [row.id, row.document]))
        for (const row of rows) {
          const { balance, count } = folded.get(row.stream_id) ?? empty
          folded.set(row.stream_id, { balance: balance + row.data.amount, count: count + 1 })
        }
        const [first, ...rest] = [...folded].map(([id, document]) => ({ projection: name, id, document: JSON.stringify(document) }))
        yield* sql`INSERT INTO ${documents} ${sql.insert([first!, ...rest])}
          ON CONFLICT (projection, generation, id) DO UPDATE SET document = excluded.document, updated_at = now()`
        const moved = yield* sql`UPDATE ${checkpoints} SET position = ${next.toString()}::numeric, updated_at = now()
          WHERE processor = ${name} AND position = ${position.toString()}::numeric RETURNING 1 AS moved`
        if (moved.length === 0) return yield* Effect.die(new Error(`baseline checkpoint "${name}" moved under us`))
      }))
      position = next
      transaction = last.transaction
      sequence = last.sequence
    }
    const round = clock.end(events)
    const stored = yield* sql<{ readonly document: Balance }>`SELECT document FROM ${documents} WHERE projection = ${name}`
    return { round, documents: stored.map((row) => row.document) } satisfies CatchUp
  })

/** What the raw read of figure 6b saw: how many events, and their amounts' sum. */
interface RawRead {
  readonly round: Round
  readonly events: number
  readonly total: number
}

/**
 * Figure 6b's baseline: figure 6's baseline pages (the same query, order and pages of 500 through
 * the same `SqlClient`), read and nothing else: no documents, no fold, no transaction, no writes.
 */
const rawCatchUp = (tables: BenchTables, from: bigint, events: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const log = sql(tables.events)
    const clock = beginRound()
    let transaction = (from >> 64n).toString()
    let sequence = (from & sequenceMask).toString()
    let read = 0
    let total = 0
    while (true) {
      const rows = yield* baselinePage(sql, log, transaction, sequence)
      if (rows.length === 0) break
      read += rows.length
      for (const row of rows) total += row.data.amount
      const last = rows[rows.length - 1]!
      transaction = last.transaction
      sequence = last.sequence
    }
    return { round: clock.end(events), events: read, total } satisfies RawRead
  })

// -- Checking and figures -----------------------------------------------------------------------

/** Throws unless the documents are exactly what the events make: nothing lost, nothing doubled. */
export const check = (side: string, events: number, documents: ReadonlyArray<Balance>) => {
  const want = expected(events)
  const total = documents.reduce((sum, d) => sum + d.balance, 0)
  const count = documents.reduce((sum, d) => sum + d.count, 0)
  if (documents.length !== want.documents || total !== want.total || count !== want.events) {
    throw new Error(
      `${side}: ${documents.length} documents, ${count} events, total ${total}; expected ${want.documents}, ${want.events}, ${want.total}`
    )
  }
}

const title = `Projection catch-up, ${accounts.toLocaleString("en-US")} documents, batches of ${batchSize}`

/** The backlog's size: in the note, so that quick and full runs share the title. */
const sizeNote = (plan: Plan) =>
  `${plan.catchUpEvents.toLocaleString("en-US")} events${plan.quick ? " (--quick; full mode catches up on 100,000)" : ""}`

const figure = (store: Figure["store"], result: Interleaved, extra: { target?: number; note?: string }): Figure =>
  eventsPerSecond({ id: "6", title, store, ...extra }, result)

/**
 * A side catches up from the start of the backlog (`"backlog"`) or, in the warm-up round, from
 * before its last `plan.catchUpWarmupEvents` events only (`"tail"`), under a fresh processor name.
 */
type Side = (name: string, from: "backlog" | "tail", events: number) => Promise<CatchUp>

/**
 * One side's rounds: the warm-up (round -1) only catches up on the tail; every measured round is
 * checked by `verify`.
 */
const timed = <A extends { readonly round: Round }>(
  plan: Plan,
  which: string,
  run: (name: string, from: "backlog" | "tail", events: number) => Promise<A>,
  verify: (side: string, events: number, outcome: A) => void
) =>
async (round: number): Promise<Round> => {
  const warmup = round < 0
  const events = warmup ? plan.catchUpWarmupEvents : plan.catchUpEvents
  const outcome = await run(`${which}-${warmup ? "warmup" : `r${round}`}`, warmup ? "tail" : "backlog", events)
  if (!warmup) verify(`${which} round ${round}`, events, outcome)
  return outcome.round
}

const checkCatchUp = (side: string, events: number, outcome: CatchUp) => check(side, events, outcome.documents)

/** Throws unless the raw read saw exactly the backlog's events. */
const checkRawRead = (side: string, events: number, outcome: RawRead) => {
  const want = expected(events)
  if (outcome.events !== want.events || outcome.total !== want.total) {
    throw new Error(`${side}: read ${outcome.events} events, total ${outcome.total}; expected ${want.events}, ${want.total}`)
  }
}

/** Interleaved rounds of both sides, each checked. */
const rounds = (plan: Plan, facta: Side, baseline: Side) =>
  interleave(plan.catchUpRounds, timed(plan, "facta", facta, checkCatchUp), timed(plan, "baseline", baseline, checkCatchUp))

/**
 * Writes `events` of `eventType` over the 1,000 accounts straight into Facta's events table, in
 * one statement, as the backlog is described above. Not timed.
 */
export const writeBacklog = (target: SqlTarget, eventType: string, events: number, streamPrefix = prefix) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO ${sql(target.tables.events)} (stream_id, version, event_id, type, data, metadata)
      SELECT ${streamPrefix} || a::text, v, gen_random_uuid(), ${eventType},
        jsonb_build_object('amount', (a + v) % 100 + 1), jsonb_build_object('correlationId', gen_random_uuid())
      FROM generate_series(1, ${Math.ceil(events / accounts)}) AS v, generate_series(0, ${accounts - 1}) AS a
      WHERE (v - 1) * ${accounts} + a < ${events}
      ORDER BY v, a`
  })

/** Writes the backlog into Facta's events table; returns the positions before it and before its tail. */
const seedSql = (target: SqlTarget, events: number, warmupEvents: number) =>
  target.run(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore.EventStore
    const log = sql(target.tables.events)
    const backlog = yield* store.head()
    yield* writeBacklog(target, type, events)
    // The last event before the backlog's last `warmupEvents`.
    const [tail] = yield* sql<{ readonly transaction: string; readonly sequence: string }>`
      SELECT transaction_id::text AS transaction, position::text AS sequence FROM ${log}
      WHERE (transaction_id, position) > (${(backlog >> 64n).toString()}::text::xid8, ${(backlog & sequenceMask).toString()}::bigint)
        AND ${sql.in("type", [type])}
      ORDER BY transaction_id, position OFFSET ${events - warmupEvents - 1} LIMIT 1`
    yield* sql`ANALYZE ${log}`
    return { backlog, tail: (BigInt(tail!.transaction) << 64n) | BigInt(tail!.sequence) }
  }))

const rawTitle = `Projection catch-up, ${accounts.toLocaleString("en-US")} documents, batches of ${batchSize}, vs a raw SELECT of the same events`

/**
 * Figure 6 and, with `raw`, 6b: the same catch-up against the raw read of the same events, in
 * interleaved rounds of their own.
 */
export const sqlFigures = async (target: SqlTarget, plan: Plan, which: { readonly catchUp: boolean; readonly raw: boolean } = { catchUp: true, raw: false }): Promise<Array<Figure>> => {
  const from = await seedSql(target, plan.catchUpEvents, plan.catchUpWarmupEvents)
  const facta: Side = (name, start, count) => target.run(factaCatchUp(`${target.store}-${name}`, from[start], count))
  const figures: Array<Figure> = []
  if (which.catchUp) {
    const result = await rounds(plan, facta, (name, start, count) => target.run(baselineCatchUp(target.tables, name, from[start], count)))
    figures.push(figure(target.store, result, { target: 0.5, note: sizeNote(plan) }))
  }
  if (which.raw) {
    const result = await interleave(
      plan.catchUpRounds,
      timed(plan, "facta-6b", facta, checkCatchUp),
      timed(plan, "raw", (_name, start, count) => target.run(rawCatchUp(target.tables, from[start], count)), checkRawRead)
    )
    figures.push(eventsPerSecond({ id: "6b", title: rawTitle, store: target.store, target: 0.35, note: sizeNote(plan) }, result))
  }
  return figures
}

// -- Memory -------------------------------------------------------------------------------------

/** The plain-JS catch-up over a PlainLog, documents as JSON text by projection, checkpoints by name. */
class PlainProjections {
  readonly documents = new Map<string, Map<string, string>>()
  readonly checkpoints = new Map<string, number>()

  catchUp(log: PlainLog, name: string, from: number): Array<Balance> {
    const committed = new Map<string, string>()
    this.documents.set(name, committed)
    this.checkpoints.set(name, from)
    let position = from
    while (true) {
      // Positions are 1-based indexes into the log: the events after `position` start at index `position`.
      const page: Array<PlainLog["log"][number]> = []
      for (let i = position; i < log.log.length && page.length < batchSize; i++) {
        if (log.log[i]!.type === type) page.push(log.log[i]!)
      }
      if (page.length === 0) break
      const pending = new Map<string, string>()
      for (const event of page) {
        const text = pending.get(event.streamId) ?? committed.get(event.streamId)
        const { balance, count } = text === undefined ? empty : JSON.parse(text) as Balance
        pending.set(event.streamId, JSON.stringify({ balance: balance + (event.data as { amount: number }).amount, count: count + 1 }))
      }
      if (this.checkpoints.get(name) !== position) throw new Error(`baseline checkpoint "${name}" moved under us`)
      for (const [id, text] of pending) committed.set(id, text)
      position = Number(page[page.length - 1]!.position)
      this.checkpoints.set(name, position)
    }
    return [...committed.values()].map((text) => JSON.parse(text) as Balance)
  }
}

/** Appends the backlog to the memory store, one event per call; returns the positions before it and before its tail. */
const seedMemory = (target: MemoryTarget, events: number, warmupEvents: number) =>
  target.run(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const head = yield* store.head()
    for (const event of backlog(events)) {
      yield* store.append(streamId(event.account), [{ type, data: { amount: event.amount }, metadata: { correlationId: crypto.randomUUID() } }])
    }
    // Memory positions are 1-based indexes into the log, and nothing else appends meanwhile.
    return { backlog: head, tail: head + BigInt(events - warmupEvents) }
  }))

export const memoryFigures = async (target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => {
  const events = plan.catchUpEvents
  const from = await seedMemory(target, events, plan.catchUpWarmupEvents)
  const log = new PlainLog()
  const projections = new PlainProjections()
  for (const event of backlog(events)) {
    log.append(streamId(event.account), [{ type, data: { amount: event.amount }, metadata: { correlationId: crypto.randomUUID() } }])
  }
  const plainFrom = { backlog: 0, tail: events - plan.catchUpWarmupEvents }
  const result = await rounds(
    plan,
    (name, start, count) => target.run(factaCatchUp(`memory-${name}`, from[start], count)),
    async (name, start, count) => {
      const clock = beginRound()
      const documents = projections.catchUp(log, name, plainFrom[start])
      return { round: clock.end(count), documents }
    }
  )
  return [figure("memory", result, { note: `${sizeNote(plan)}; baseline: plain JS over PlainLog, documents as JSON text` })]
}
