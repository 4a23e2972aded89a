/**
 * Figure 5: rehydrating a 10,000-event stream, without and with snapshots.
 *
 * Without (5): `CommandHandler.make(Account).load(streamId)`, which reads the stream through
 * `EventStore.readStream` (pages of `EventStore.defaultBatchSize` rows), decodes each event with
 * the event Schema and folds with `evolve`. Baseline (SQL): one SELECT of the same rows (version,
 * type, data) by the same index through the same `SqlClient`, folded in plain JS. Baseline
 * (memory): the same fold over a plain JS log.
 *
 * With (5s): `CommandHandler.make(SnapshottedAccount, { snapshot: { every: 100, schemaVersion: 1 } })`
 * loads streams of two lengths (1,000 and 10,000 events), each with a snapshot at its last
 * version, so a load is one snapshot read, its decoding with the state Schema, and a read of the
 * (empty) tail after it: the time should not grow with the stream. The snapshot is taken as the
 * command handler takes one: the state of a full load, encoded with the aggregate's state Schema,
 * saved through the store's `SnapshotStore` (not timed). Baseline: figure 5's, on the same stream
 * (one SELECT of all its rows, folded in plain JS), so the ratio is the gain from the snapshot.
 */
import { Effect, Option, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { CommandHandler, EventStore, SnapshotStore } from "@facta/core"
import { Account, foldRaw, type RawRow, seedEvents, SnapshottedAccount, State } from "./account.ts"
import { cpuPerOp, type Figure, forCount, forCountSync, interleave, type Interleaved, lowerIsBetter, percentile, type Plan, pooled } from "./measure.ts"
import { PlainLog } from "./plainLog.ts"
import type { MemoryTarget, SqlTarget } from "./targets.ts"

export const streamLength = 10_000
/** The stream lengths loaded from a snapshot: the time should be the same for both. */
export const snapshotLengths = [1_000, streamLength] as const
const seedBatch = 500
const snapshotPolicy = { every: 100, schemaVersion: 1 } as const

const streamOf = (length: number) => length === streamLength ? "rehydrate-10k" : `rehydrate-${length}`

const accounts = CommandHandler.make(Account)
const snapshotted = CommandHandler.make(SnapshottedAccount, { snapshot: snapshotPolicy })
const encodeState = Schema.encodeUnknownEffect(Schema.toCodecJson(State))

/** Writes the stream through Facta in batches, unless an earlier figure did (not timed). */
const seedFacta = (length: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const stream = streamOf(length)
    const events = seedEvents(length)
    const last = yield* Stream.runCollect(Stream.take(store.readStream(stream, { from: length, batchSize: 1 }), 1))
    if (last.length > 0) return
    for (let from = 0; from < length; from += seedBatch) {
      yield* store.append(stream, events.slice(from, from + seedBatch), { expectedVersion: from })
    }
  })

/**
 * Snapshots the stream at its last version, as the command handler would after a command that
 * crossed a multiple of `every`: a full load, the state encoded with the state Schema, saved
 * through the `SnapshotStore`. Then checks that the snapshotted handler loads the same state.
 */
const takeSnapshot = (length: number) =>
  Effect.gen(function*() {
    const stream = streamOf(length)
    const full = yield* accounts.load(stream)
    if (full.version !== length) return yield* Effect.die(new Error(`${stream} holds ${full.version} events, not ${length}`))
    const snapshots = yield* SnapshotStore.SnapshotStore
    yield* snapshots.save({ streamId: stream, schemaVersion: snapshotPolicy.schemaVersion, version: full.version, state: yield* encodeState(full.state) })
    const saved = yield* snapshots.load(stream)
    if (Option.isNone(saved) || saved.value.version !== length) return yield* Effect.die(new Error(`no snapshot of ${stream} at ${length}`))
    const loaded = yield* snapshotted.load(stream)
    if (loaded.version !== full.version || loaded.state.balance !== full.state.balance || !loaded.state.open) {
      return yield* Effect.die(new Error(`${stream}: the snapshot loads ${JSON.stringify(loaded)}, a full fold ${JSON.stringify(full)}`))
    }
  })

/** Copies Facta's rows of the stream into the baseline table, so both read identical rows. */
const copyToBaseline = (target: SqlTarget, length: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const stream = streamOf(length)
    const baseline = sql(target.tables.baseline)
    yield* sql`DELETE FROM ${baseline} WHERE stream_key = md5(${stream})::uuid AND stream_id = ${stream}`
    yield* sql`INSERT INTO ${baseline} (stream_id, version, event_id, type, data, metadata)
      SELECT stream_id, version, event_id, type, data, metadata FROM ${sql(target.tables.events)}
      WHERE stream_key = md5(${stream})::uuid AND stream_id = ${stream}`
  })

const factaLoads = (count: number, length: number) => forCount(count, 1, () => accounts.load(streamOf(length)))

const snapshotLoads = (count: number, length: number) =>
  forCount(count, 1, () =>
    Effect.map(snapshotted.load(streamOf(length)), (loaded) => {
      if (loaded.version !== length) throw new Error(`loaded version ${loaded.version}, not ${length}`)
    }))

interface Row extends RawRow {
  readonly version: bigint | number | string
}

const baselineLoads = (table: string, count: number, length: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = sql(table)
    const stream = streamOf(length)
    return yield* forCount(count, 1, () =>
      Effect.map(
        sql<Row>`SELECT version, type, data FROM ${events} WHERE stream_key = md5(${stream})::uuid AND stream_id = ${stream} ORDER BY version`,
        (rows) => {
          const state = foldRaw(rows)
          if (!state.open || rows.length !== length) throw new Error("the stream did not fold")
          return rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.version)
        }
      ))
  })

const titleOf = (length: number) => `Rehydrate a ${length.toLocaleString("en-US")}-event stream`

const loadFigure = (id: string, title: string, store: Figure["store"], result: Interleaved, note?: string): Figure =>
  lowerIsBetter({
    id,
    title,
    store,
    metric: "per load",
    unit: "ms",
    facta: percentile(pooled(result.facta), 50),
    baseline: percentile(pooled(result.baseline), 50),
    note,
    samples: { facta: pooled(result.facta), baseline: pooled(result.baseline) },
    cpu: cpuPerOp(result)
  })

const snapshotNote = "snapshot at the last version; baseline: 5's full read + fold of the same stream"

/** Which of the figures to measure. */
export interface Wanted {
  readonly withoutSnapshots: boolean
  readonly withSnapshots: boolean
}

export const sqlFigures = async (target: SqlTarget, plan: Plan, wanted: Wanted): Promise<Array<Figure>> => {
  const figures: Array<Figure> = []
  const table = target.tables.baseline
  if (wanted.withoutSnapshots) {
    await target.run(seedFacta(streamLength))
    await target.run(copyToBaseline(target, streamLength))
    const result = await interleave(
      plan.rounds,
      () => target.run(factaLoads(plan.loadsPerRound, streamLength)),
      () => target.run(baselineLoads(table, plan.loadsPerRound, streamLength))
    )
    figures.push(loadFigure("5", `${titleOf(streamLength)}, without snapshots`, target.store, result))
  }
  if (wanted.withSnapshots) {
    for (const length of snapshotLengths) {
      await target.run(seedFacta(length))
      await target.run(copyToBaseline(target, length))
      await target.run(takeSnapshot(length))
      const result = await interleave(
        plan.rounds,
        () => target.run(snapshotLoads(plan.snapshotLoadsPerRound, length)),
        () => target.run(baselineLoads(table, plan.loadsPerRound, length))
      )
      figures.push(loadFigure("5s", `${titleOf(length)}, with snapshots`, target.store, result, snapshotNote))
    }
  }
  return figures
}

export const memoryFigures = async (target: MemoryTarget, plan: Plan, wanted: Wanted): Promise<Array<Figure>> => {
  const figures: Array<Figure> = []
  const log = new PlainLog()
  const seedPlain = (length: number) => {
    const events = seedEvents(length)
    for (let from = 0; from < length; from += seedBatch) log.append(streamOf(length), events.slice(from, from + seedBatch), from)
  }
  const plainLoads = (count: number, length: number) => async () =>
    forCountSync(count, () => {
      const rows = log.read(streamOf(length))
      if (!foldRaw(rows).open || rows.length !== length) throw new Error("the stream did not fold")
    })
  if (wanted.withoutSnapshots) {
    await target.run(seedFacta(streamLength))
    seedPlain(streamLength)
    const result = await interleave(plan.rounds, () => target.run(factaLoads(plan.loadsPerRound, streamLength)), plainLoads(plan.loadsPerRound, streamLength))
    figures.push(loadFigure("5", `${titleOf(streamLength)}, without snapshots`, "memory", result, "baseline: plain JS fold over PlainLog"))
  }
  if (wanted.withSnapshots) {
    for (const length of snapshotLengths) {
      await target.run(seedFacta(length))
      if (log.read(streamOf(length)).length === 0) seedPlain(length)
      await target.run(takeSnapshot(length))
      const result = await interleave(
        plan.rounds,
        () => target.run(snapshotLoads(plan.snapshotLoadsPerRound, length)),
        plainLoads(plan.loadsPerRound, length)
      )
      figures.push(loadFigure("5s", `${titleOf(length)}, with snapshots`, "memory", result, "snapshot at the last version; baseline: plain JS fold over PlainLog"))
    }
  }
  return figures
}
