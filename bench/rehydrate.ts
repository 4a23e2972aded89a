/**
 * Figure 5: rehydrating a 10,000-event stream.
 *
 * Facta: `CommandHandler.make(Account).load(streamId)`, which reads the stream through
 * `EventStore.readStream` (pages of `EventStore.defaultBatchSize` rows), decodes each event with
 * the event Schema and folds with `evolve`. Baseline (SQL): one SELECT of the same rows (version,
 * type, data) by the same index through the same `SqlClient`, folded in plain JS. Baseline
 * (memory): the same fold over a plain JS log.
 *
 * "With snapshots" is a named slot that prints "not available yet", never a number: this slice
 * does not measure snapshots.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { CommandHandler, EventStore } from "@facta/core"
import { Account, foldRaw, type RawRow, seedEvents } from "./account.ts"
import { type Figure, forCount, forCountSync, interleave, type Interleaved, lowerIsBetter, notMeasured, percentile, type Plan, pooled } from "./measure.ts"
import { PlainLog } from "./plainLog.ts"
import type { MemoryTarget, SqlTarget } from "./targets.ts"

export const streamLength = 10_000
const seedBatch = 500
const stream = "rehydrate-10k"

const accounts = CommandHandler.make(Account)

/** Writes the stream through Facta in batches (not timed). */
const seedFacta = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const events = seedEvents(streamLength)
  for (let from = 0; from < streamLength; from += seedBatch) {
    yield* store.append(stream, events.slice(from, from + seedBatch), { expectedVersion: from })
  }
})

/** Copies Facta's rows of the stream into the baseline table, so both read identical rows. */
const copyToBaseline = (target: SqlTarget) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO ${sql(target.tables.baseline)} (stream_id, version, event_id, type, data, metadata)
      SELECT stream_id, version, event_id, type, data, metadata FROM ${sql(target.tables.events)}
      WHERE stream_key = md5(${stream})::uuid AND stream_id = ${stream}`
  })

const factaLoads = (count: number) => forCount(count, 1, () => accounts.load(stream))

interface Row extends RawRow {
  readonly version: bigint | number | string
}

const baselineLoads = (table: string, count: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = sql(table)
    return yield* forCount(count, 1, () =>
      Effect.map(
        sql<Row>`SELECT version, type, data FROM ${events} WHERE stream_key = md5(${stream})::uuid AND stream_id = ${stream} ORDER BY version`,
        (rows) => {
          const state = foldRaw(rows)
          if (!state.open) throw new Error("the stream did not fold")
          return rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.version)
        }
      ))
  })

const title = `Rehydrate a ${streamLength.toLocaleString("en-US")}-event stream`

const figures = (store: Figure["store"], result: Interleaved, note?: string): Array<Figure> => [
  lowerIsBetter({
    id: "5",
    title: `${title}, without snapshots`,
    store,
    metric: "per load",
    unit: "ms",
    facta: percentile(pooled(result.facta), 50),
    baseline: percentile(pooled(result.baseline), 50),
    note,
    samples: { facta: pooled(result.facta), baseline: pooled(result.baseline) }
  }),
  // The slot for snapshots: not measured in this slice (the brief was written before Facta had a
  // SnapshotStore); never a made-up number.
  notMeasured({ id: "5s", title: `${title}, with snapshots`, store, metric: "per load", unit: "ms", note: "not available yet (not measured in this slice)" })
]

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  await target.run(seedFacta)
  await target.run(copyToBaseline(target))
  const result = await interleave(
    plan.rounds,
    () => target.run(factaLoads(plan.loadsPerRound)),
    () => target.run(baselineLoads(target.tables.baseline, plan.loadsPerRound))
  )
  return figures(target.store, result)
}

export const memoryFigures = async (target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => {
  await target.run(seedFacta)
  const log = new PlainLog()
  const events = seedEvents(streamLength)
  for (let from = 0; from < streamLength; from += seedBatch) log.append(stream, events.slice(from, from + seedBatch), from)
  const result = await interleave(
    plan.rounds,
    () => target.run(factaLoads(plan.loadsPerRound)),
    async () =>
      forCountSync(plan.loadsPerRound, () => {
        if (!foldRaw(log.read(stream)).open) throw new Error("the stream did not fold")
      })
  )
  return figures("memory", result, "baseline: plain JS fold over PlainLog")
}
