/**
 * Figure 8b, run in a child process so the heap holds nothing else:
 * `node --expose-gc bench/memoryHeap.ts <facta|baseline> <events>` appends `events` small events
 * in batches of 100 (one stream per batch) and prints one JSON line with the heap used before and
 * after, each measured after a full garbage collection.
 *
 * facta: the event store of `InMemory.eventStore`.
 * baseline: `PlainLog`, the same envelope fields as plain JS objects in one log array plus a
 * per-stream index.
 */
import { Effect, Stream } from "effect"
import { EventStore, InMemory } from "@facta/core"
import { PlainLog } from "./plainLog.ts"

const perAppend = 100

const heapUsed = (): number => {
  if (globalThis.gc === undefined) throw new Error("run with node --expose-gc")
  globalThis.gc()
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

/** One command's worth of small events: they share a correlation id. */
const batch = (index: number) => {
  const metadata = { correlationId: crypto.randomUUID() }
  return Array.from({ length: perAppend }, (_, k) => ({ type: "Deposited", data: { amount: ((index * perAppend + k) % 1_000) + 1 }, metadata }))
}

interface Measured {
  readonly before: number
  readonly after: number
  readonly ms: number
  readonly stored: number
}

const facta = (events: number): Promise<Measured> =>
  Effect.runPromise(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const before = heapUsed()
    const started = performance.now()
    for (let i = 0; i < events / perAppend; i++) yield* store.append(`stream-${i}`, batch(i))
    const ms = performance.now() - started
    const after = heapUsed()
    // Reading the store after the measurement keeps it reachable until then, and checks it.
    const stored = yield* Stream.runCount(store.readAll({ batchSize: 10_000 }))
    return { before, after, ms, stored }
  }).pipe(Effect.provide(InMemory.eventStore)))

const baseline = (events: number): Measured => {
  const before = heapUsed()
  const log = new PlainLog()
  const started = performance.now()
  for (let i = 0; i < events / perAppend; i++) log.append(`stream-${i}`, batch(i))
  const ms = performance.now() - started
  const after = heapUsed()
  return { before, after, ms, stored: log.log.length }
}

const [side, count] = process.argv.slice(2)
const events = Number(count)
if ((side !== "facta" && side !== "baseline") || !Number.isInteger(events) || events <= 0 || events % perAppend !== 0) {
  console.error(`usage: node --expose-gc bench/memoryHeap.ts <facta|baseline> <events, a multiple of ${perAppend}>`)
  process.exit(2)
}
const measured = side === "facta" ? await facta(events) : baseline(events)
console.log(JSON.stringify({ side, events, ...measured, bytesPerEvent: (measured.after - measured.before) / measured.stored }))
