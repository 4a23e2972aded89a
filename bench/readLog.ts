/**
 * Figure 16: reading the global log, 50,000 events in pages of 500.
 *
 * The events: 100 streams of 500 small events (an amount, a correlation id in the metadata),
 * appended with `EventStore.append` in batches of 500 before timing. Each read starts at the log
 * position just before them and stops after exactly 50,000 events.
 *
 * Facta: `EventStore.readPage({ after, batchSize: 500 })` in a loop, each page's `next` the next
 * page's `after`: what a reader of the log calls (`readAll` is the same pages in a `Stream`).
 * Baseline: a raw `SELECT` of the columns Facta reads (see `eventColumns` in the SQL store) of
 * the same rows of Facta's own events table through the same `SqlClient`, in the log's order,
 * `(transaction_id, position)` after the previous page's last row, below the oldest running
 * transaction (`pg_snapshot_xmin(pg_current_snapshot())`, as figure 6's baseline), `LIMIT 500`:
 * the rows as the driver parses them, with no event made of them. Both sides sum the amounts,
 * and a read that does not see exactly the 50,000 events fails the bench.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { EventStore } from "@facta/core"
import { cpuPerOp, type Figure, forCount, higherIsBetter, interleave, medianRate, type Plan, rate } from "./measure.ts"
import type { SqlTarget } from "./targets.ts"

const streams = 100
const perStream = 500
export const events = streams * perStream
const pageSize = 500
const sequenceMask = (1n << 64n) - 1n

const amountOf = (stream: number, version: number) => ((stream * 7 + version) % 100) + 1

/** The amounts' sum every read must find. */
const expectedTotal = (() => {
  let total = 0
  for (let stream = 0; stream < streams; stream++) {
    for (let version = 1; version <= perStream; version++) total += amountOf(stream, version)
  }
  return total
})()

/** Appends the events, one batch of 500 per stream; returns the position just before them. */
const seed = (prefix: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const from = yield* store.head()
    for (let stream = 0; stream < streams; stream++) {
      const batch = Array.from({ length: perStream }, (_, k) => ({
        type: "Deposited",
        data: { amount: amountOf(stream, k + 1) },
        metadata: { correlationId: crypto.randomUUID() }
      }))
      yield* store.append(`${prefix}-${stream}`, batch, { expectedVersion: "noStream" })
    }
    return from
  })

interface Read {
  readonly events: number
  readonly total: number
}

const verify = (side: string) => (read: Read) =>
  read.events === events && read.total === expectedTotal
    ? Effect.void
    : Effect.die(new Error(`${side} read ${read.events} events (total ${read.total}); expected ${events} (total ${expectedTotal})`))

const factaRead = (from: bigint) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    let after = from
    let read = 0
    let total = 0
    while (read < events) {
      const page = yield* store.readPage({ after, batchSize: Math.min(pageSize, events - read) })
      if (page.events.length === 0) break
      read += page.events.length
      for (const event of page.events) total += (event.data as { readonly amount: number }).amount
      after = page.next
    }
    return { events: read, total } satisfies Read
  }).pipe(Effect.flatMap(verify("Facta")))

interface LogRow {
  readonly position: bigint | string | number
  readonly transaction: string
  readonly data: { readonly amount: number }
}

const rawRead = (table: string, from: bigint) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const log = sql(table)
    let transaction = (from >> 64n).toString()
    let sequence = (from & sequenceMask).toString()
    let read = 0
    let total = 0
    while (read < events) {
      const rows = yield* sql<LogRow>`SELECT position, transaction_id::text AS transaction, stream_id, version, event_id, type, data, metadata, recorded_at, tags
        FROM ${log}
        WHERE (transaction_id, position) > (${transaction}::text::xid8, ${sequence}::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position LIMIT ${Math.min(pageSize, events - read)}`
      if (rows.length === 0) break
      read += rows.length
      for (const row of rows) total += row.data.amount
      const last = rows[rows.length - 1]!
      transaction = last.transaction
      sequence = String(last.position)
    }
    return { events: read, total } satisfies Read
  }).pipe(Effect.flatMap(verify("The raw SELECT")))

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const from = await target.run(seed(`log16-${crypto.randomUUID().slice(0, 8)}`))
  const reads = plan.logReadsPerRound
  const result = await interleave(
    plan.rounds,
    () => target.run(forCount(reads, 1, () => factaRead(from))),
    () => target.run(forCount(reads, 1, () => rawRead(target.tables.events, from)))
  )
  return [higherIsBetter({
    id: "16",
    title: `Read the global log, ${events.toLocaleString("en-US")} events, pages of ${pageSize}`,
    store: target.store,
    target: 0.85,
    metric: "throughput",
    unit: "events/s",
    facta: medianRate(result.facta, events),
    baseline: medianRate(result.baseline, events),
    samples: { facta: result.facta.map((r) => rate(r) * events), baseline: result.baseline.map((r) => rate(r) * events) },
    cpu: cpuPerOp(result, events),
    note: "Facta: EventStore.readPage in a loop"
  })]
}
