/**
 * `node --conditions=@facta/source bench/retention.ts [--events 1000000] [--streams 1000] [--seconds 10] [--batch 500]`
 *
 * Retention while the store is live: a category of `--events` old events over `--streams`
 * streams is truncated to each stream's last event (`maxCount: 1`, `--batch` events per
 * transaction) while four fibers append to other streams one event at a time and a projection
 * follows them. The appends' latency (p50, p99, max) is measured for `--seconds` before retention
 * and for as long as retention runs; the projection must have caught up at the end. Prints JSON.
 *
 * The server is `DATABASE_URL` when set (schema `bench_retention`, dropped first), else a
 * throwaway PostgreSQL started and stopped here. Nothing here asserts a time: a benchmark, not a test.
 */
import { parseArgs } from "node:util"
import { PgClient } from "@effect/sql-pg"
import { Documents, EventStore, Processor, Projection, StreamLifecycle } from "@facta/core"
import { Postgres } from "@facta/sql"
import { PostgresServer } from "@facta/sql/testing"
import { Cause, Effect, Fiber, ManagedRuntime, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { percentile } from "./measure.ts"

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    streams: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    batch: { type: "string", default: "500" }
  },
  strict: true
})
const events = Number(args.events)
const streams = Number(args.streams)
const seconds = Number(args.seconds)
const batchSize = Number(args.batch)
const schema = "bench_retention"

class Count extends Schema.Class<Count>("Count")({ n: Schema.Int }) {}
const Ticked = Schema.TaggedStruct("Ticked", { at: Schema.Number })
const counts = Documents.make("bench-retention-live", Count)
const projection = Projection.make({
  name: "bench-retention-live",
  event: Ticked,
  handlers: {
    Ticked: (event) => counts.update(event.streamId, (current) => new Count({ n: Option.match(current, { onNone: () => 1, onSome: (count) => count.n + 1 }) }))
  },
  documents: [counts]
})

/** Four fibers appending one event each to live streams until `stop()`; each append's time in ms. */
const liveAppends = (stop: () => boolean) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const latencies: Array<number> = []
    yield* Effect.forEach([0, 1, 2, 3], (writer) =>
      Effect.gen(function*() {
        for (let i = 0; !stop(); i++) {
          const began = performance.now()
          yield* store.append(`live-${writer}-${i % 50}`, [{ type: "Ticked", data: { at: Date.now() } }])
          latencies.push(performance.now() - began)
          yield* Effect.sleep("2 millis")
        }
      }), { concurrency: "unbounded", discard: true })
    return latencies
  })

const summary = (latencies: ReadonlyArray<number>) => ({
  appends: latencies.length,
  p50Ms: Number(percentile(latencies, 50).toFixed(2)),
  p99Ms: Number(percentile(latencies, 99).toFixed(2)),
  maxMs: Number(Math.max(...latencies).toFixed(2))
})

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const store = yield* EventStore.EventStore
  const lifecycle = yield* StreamLifecycle.StreamLifecycle
  // The old category, written in appends of up to 1,000 events.
  const perStream = Math.ceil(events / streams)
  const seedStarted = performance.now()
  yield* Effect.forEach(Array.from({ length: streams }, (_, s) => s), (s) =>
    Effect.gen(function*() {
      for (let from = 0; from < perStream; from += 1000) {
        const count = Math.min(1000, perStream - from)
        yield* store.append(`old-${s}`, Array.from({ length: count }, (_, i) => ({ type: "Recorded", data: { n: from + i, payload: "x".repeat(100) } })))
      }
    }), { concurrency: 4, discard: true })
  const seeded = performance.now() - seedStarted
  yield* Effect.logInfo(`seeded ${events} events in ${Math.round(seeded)} ms`)
  yield* sql`ANALYZE ${sql(`${schema}.facta_events`)}`

  const running = yield* Processor.startAll([projection])
  let stopped = false
  const before = yield* Effect.forkChild(liveAppends(() => stopped))
  yield* Effect.sleep(`${seconds} seconds`)
  stopped = true
  const baseline = yield* Fiber.join(before)

  stopped = false
  const during = yield* Effect.forkChild(liveAppends(() => stopped))
  const retentionStarted = performance.now()
  const report = yield* lifecycle.applyRetention([{ category: "old", maxCount: 1 }], { batchSize })
  const retentionMs = performance.now() - retentionStarted
  stopped = true
  const live = yield* Fiber.join(during)
  const caughtUp = performance.now()
  yield* running.whenCaughtUp
  return {
    events,
    streams,
    batchSize,
    seedSeconds: Number((seeded / 1000).toFixed(1)),
    moved: report.rules[0]?.events ?? 0,
    retentionSeconds: Number((retentionMs / 1000).toFixed(1)),
    movedPerSecond: Math.round((report.rules[0]?.events ?? 0) / (retentionMs / 1000)),
    liveBefore: summary(baseline),
    liveDuringRetention: summary(live),
    projectionCaughtUpAfterMs: Math.round(performance.now() - caughtUp)
  }
})

const server = process.env["DATABASE_URL"] === undefined ? await PostgresServer.acquirePostgres() : undefined
const url = process.env["DATABASE_URL"] ?? server!.url
try {
  await Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) }))))
  // A runtime of its own, as an application's: the processors run in its stores' scope.
  const runtime = ManagedRuntime.make(Postgres.layer({ url: Redacted.make(url), schema, gateWarning: false }))
  const exit = await runtime.runPromiseExit(Effect.scoped(program))
  await runtime.dispose()
  if (exit._tag === "Failure") {
    console.error(Cause.pretty(exit.cause))
    process.exitCode = 1
  } else {
    console.log(JSON.stringify(exit.value, null, 2))
  }
} finally {
  await server?.stop()
}
