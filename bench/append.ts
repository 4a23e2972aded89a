/**
 * Figures 1-3: appends.
 *
 * Facta appends through `EventStore.append` (default expectation "any": the statement still
 * reads the stream's version, checks it and inserts, see SqlEventStore). The baseline inserts the
 * same row values (stream_id, version, event_id, type, data jsonb, metadata jsonb) into a copy of
 * Facta's events table (same columns, defaults and indexes, no NOTIFY trigger) with a plain
 * `INSERT ... VALUES` through the same `SqlClient`; it knows the version in advance, so it does
 * not read anything.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { EventStore, InMemory } from "@facta/core"
import {
  cpuPerOp,
  durationOf,
  type Figure,
  forDuration,
  forDurationSync,
  higherIsBetter,
  interleave,
  type Interleaved,
  medianRate,
  type Plan,
  rate
} from "./measure.ts"
import { PlainLog } from "./plainLog.ts"
import type { MemoryTarget, SqlTarget } from "./targets.ts"

export const batchSize = 100

/** A small event as a command handler would store it. */
const event = (index: number, correlationId: string = crypto.randomUUID()) => ({
  type: "Deposited",
  data: { amount: (index % 1_000) + 1 },
  metadata: { correlationId }
})

/** One command's batch: the events share a correlation id. */
const batch = (index: number) => {
  const correlationId = crypto.randomUUID()
  return Array.from({ length: batchSize }, (_, k) => event(index * batchSize + k, correlationId))
}

// -- Facta --------------------------------------------------------------------------------------

/** One event per call, each to its own new stream. */
const factaSingles = (prefix: string, durationMs: number, concurrency: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return yield* forDuration(durationMs, concurrency, (i) => store.append(`${prefix}-${i}`, [event(i)]))
  })

/** Batches of 100, one after the other, all to the stream `streamId`. */
const factaBatches = (streamId: string, durationMs: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return yield* forDuration(durationMs, 1, (i) => store.append(streamId, batch(i)))
  })

// -- Baseline -----------------------------------------------------------------------------------

const baselineSingles = (table: string, prefix: string, durationMs: number, concurrency: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const into = sql(table)
    return yield* forDuration(durationMs, concurrency, (i) => {
      const e = event(i)
      return sql`INSERT INTO ${into} (stream_id, version, event_id, type, data, metadata)
        VALUES (${`${prefix}-${i}`}, ${1}, ${crypto.randomUUID()}, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${
        JSON.stringify(e.metadata)
      }::jsonb)`
    })
  })

/** A plain multi-row `INSERT ... VALUES (...), (...)` of 100 rows, versions counted in JS. */
const baselineBatches = (table: string, streamId: string, durationMs: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const into = sql(table)
    let version = 0
    return yield* forDuration(durationMs, 1, (i) => {
      const rows = batch(i).map((e) => ({
        stream_id: streamId,
        version: ++version,
        event_id: crypto.randomUUID(),
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata)
      }))
      const [first, ...rest] = rows
      return sql`INSERT INTO ${into} ${sql.insert([first!, ...rest])}`
    })
  })

// -- Figures ------------------------------------------------------------------------------------

const samples = (result: Interleaved, perOp = 1) => ({
  facta: result.facta.map((r) => rate(r) * perOp),
  baseline: result.baseline.map((r) => rate(r) * perOp)
})

const throughput = (
  head: { id: string; title: string; store: Figure["store"]; target?: number | undefined; note?: string | undefined },
  result: Interleaved,
  perOp = 1
): Figure =>
  higherIsBetter({
    ...head,
    metric: "throughput",
    unit: "events/s",
    facta: medianRate(result.facta, perOp),
    baseline: medianRate(result.baseline, perOp),
    samples: samples(result, perOp),
    cpu: cpuPerOp(result, perOp)
  })

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const { baseline: table } = target.tables
  const figures: Array<Figure> = []
  const store = target.store

  const one = await interleave(
    plan.rounds,
    (round) => target.run(factaSingles(`a1-${round}`, durationOf(plan, round), 1)),
    (round) => target.run(baselineSingles(table, `a1-${round}`, durationOf(plan, round), 1))
  )
  figures.push(throughput({ id: "1", title: "Append 1 event/call, 1 writer, new streams", store, target: 0.8 }, one))

  const eight = await interleave(
    plan.rounds,
    (round) => target.run(factaSingles(`a2-${round}`, durationOf(plan, round), 8)),
    (round) => target.run(baselineSingles(table, `a2-${round}`, durationOf(plan, round), 8))
  )
  figures.push(throughput({
    id: "2",
    title: "Append 1 event/call, 8 writers, new streams",
    store,
    ...(target.concurrentSessions ? { target: 0.7 } : { note: "PGlite is one session: the 8 writers take turns" })
  }, eight))

  const batches = await interleave(
    plan.rounds,
    (round) => target.run(factaBatches(`a3-${round}`, durationOf(plan, round))),
    (round) => target.run(baselineBatches(table, `a3-${round}`, durationOf(plan, round)))
  )
  figures.push(throughput({ id: "3", title: "Append batches of 100 to one stream", store, target: 0.6 }, batches, batchSize))
  return figures
}

/**
 * Figure 14: single appends by 1, 8, 32 and 128 writers on a server that flushes the WAL at every
 * commit (fsync and synchronous_commit on, as users run it), against the same single-row inserts:
 * what group commit gains where a commit costs a flush.
 */
export const durableFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const { baseline: table } = target.tables
  const figures: Array<Figure> = []
  for (const [id, writers] of [["14a", 1], ["14b", 8], ["14c", 32], ["14d", 128]] as const) {
    const result = await interleave(
      plan.rounds,
      (round) => target.run(factaSingles(`d${id}-${round}`, durationOf(plan, round), writers)),
      (round) => target.run(baselineSingles(table, `d${id}-${round}`, durationOf(plan, round), writers))
    )
    figures.push(throughput({
      id,
      title: `Append 1 event/call, ${writers} writer${writers === 1 ? "" : "s"}, fsync on (group commit)`,
      store: "server",
      ...(writers === 1 ? {} : { target: 1.5 })
    }, result))
  }
  return figures
}

/**
 * A round in memory on a store of its own (and the baseline's on a log of its own): a full run
 * appends millions of events, which one store would keep past the heap's limit.
 */
const onFreshStore = <A, E>(effect: Effect.Effect<A, E, EventStore.EventStore>) => Effect.runPromise(Effect.provide(effect, InMemory.eventStore))

export const memoryFigures = async (_target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => {
  const note = "baseline: plain JS log (PlainLog)"
  const one = await interleave(
    plan.rounds,
    (round) => onFreshStore(factaSingles(`a1-${round}`, durationOf(plan, round), 1)),
    async (round) => {
      const log = new PlainLog()
      return forDurationSync(durationOf(plan, round), (i) => log.append(`a1-${round}-${i}`, [event(i)]))
    }
  )
  const batches = await interleave(
    plan.rounds,
    (round) => onFreshStore(factaBatches(`a3-${round}`, durationOf(plan, round))),
    async (round) => {
      const log = new PlainLog()
      return forDurationSync(durationOf(plan, round), (i) => log.append(`a3-${round}`, batch(i)))
    }
  )
  return [
    throughput({ id: "1", title: "Append 1 event/call, 1 writer, new streams", store: "memory", note }, one),
    throughput({ id: "3", title: "Append batches of 100 to one stream", store: "memory", note }, batches, batchSize)
  ]
}
