/**
 * Figure 11: scale-out of a projection's catch-up over processes, on a server. A backlog of
 * `plan.scaleEvents` `Scaled` events over 1,000 accounts is projected by a projection in 8
 * segments run by 1, 2 and 4 OS processes (`scaleWorker.ts`, a fresh projection name each
 * time), from the moment they are all ready until every segment's checkpoint has reached its
 * segment's head. The baseline is 1 process, in the same run. Then one process of the last set
 * is killed (`kill -9`) and the time until its segments are held by the others is measured,
 * against the documented bound (lease duration + retry interval, 6 s by default). Last, what the
 * split costs: 8 segments in 1 process against the same projection unsplit in 1 process (each
 * segment reads the log of its types and keeps its streams' events, so 8 segments read it 8
 * times).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { CheckpointStore, Documents, EventStore, Processor } from "@facta/core"
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type Figure, higherIsBetter, lowerIsBetter, type Plan } from "./measure.ts"
import { check, writeBacklog } from "./projection.ts"
import { schema, type SqlTarget } from "./targets.ts"

const worker = fileURLToPath(new URL("./scaleWorker.ts", import.meta.url))
const segments = 8
const documentedTakeover = 6_000

interface Worker {
  readonly child: ChildProcess
  readonly instance: string
  output: string
}

const start = (url: string, name: string, count: number): Worker => {
  const child = spawn(process.execPath, ["--conditions=@facta/source", worker, url, schema, name, String(count)], { stdio: ["pipe", "pipe", "pipe"] })
  const started: Worker = { child, instance: `pid ${child.pid}`, output: "" }
  child.stdout!.on("data", (chunk) => (started.output += String(chunk)))
  child.stderr!.on("data", (chunk) => (started.output += String(chunk)))
  return started
}

const waitUntil = async (what: string, ready: () => Promise<boolean>, workers: ReadonlyArray<Worker>, timeoutMs = 600_000) => {
  const began = performance.now()
  while (!(await ready())) {
    if (performance.now() - began > timeoutMs) {
      throw new Error(`Timed out waiting until ${what}\n${workers.map((w) => `${w.instance}:\n${w.output}`).join("\n")}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const segmentNames = (name: string, count: number) => Processor.segmentsOf({ name, segments: count }).map((part) => part.name)

/** Who holds each of the projection's segment leases now. */
const holders = (target: SqlTarget, name: string) =>
  target.run(Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly name: string; readonly owner: string }>`SELECT name, owner FROM ${sql(`${schema}.facta_leases`)}
      WHERE starts_with(name, ${`${name}[`}) AND expires_at > clock_timestamp()`))

/** Runs the catch-up with `processes` workers; returns its time, and the workers still running. */
const catchUp = async (target: SqlTarget, url: string, name: string, processes: number, heads: ReadonlyArray<bigint>) => {
  const workers = Array.from({ length: processes }, () => start(url, name, heads.length))
  await waitUntil("the workers are ready", async () => workers.every((w) => w.output.includes("ready")), workers, 60_000)
  for (const w of workers) w.child.stdin!.write("go\n")
  const began = performance.now()
  const names = segmentNames(name, heads.length)
  await waitUntil("every segment has caught up", async () => {
    const rows = await target.run(CheckpointStore.CheckpointStore.use((store) => store.list))
    const at = new Map(rows.map((row) => [row.processor, row.position]))
    return names.every((segment, index) => (at.get(segment) ?? EventStore.start) >= heads[index]!)
  }, workers)
  return { ms: performance.now() - began, workers }
}

const stop = (workers: ReadonlyArray<Worker>) => {
  for (const w of workers) w.child.kill("SIGKILL")
}

export const serverFigures = async (target: SqlTarget, plan: Plan, url: string): Promise<Array<Figure>> => {
  const events = plan.scaleEvents
  const headsOf = (count: number) =>
    target.run(EventStore.EventStore.use((store) =>
      Effect.forEach(Array.from({ length: count }, (_, index) => index), (index) => store.head({ types: ["Scaled"], segment: { index, count } }))))
  await target.run(writeBacklog(target, "Scaled", events, "scale-"))
  const heads = await headsOf(segments)
  const verify = (name: string) =>
    target.run(Effect.map(Documents.make(name, Schema.Struct({ balance: Schema.Int, count: Schema.Int })).list, (stored) =>
      check(`${name}`, events, stored.map((entry) => entry.document))))
  // Unmeasured, so that the first measured catch-up does not read a cold log.
  const warmup = await catchUp(target, url, "scale-warmup", 1, await headsOf(1))
  stop(warmup.workers)
  // Rounds interleave the configurations, so a slow spell of the machine falls on all of them.
  const rounds = plan.quick ? 1 : 3
  const times = new Map<string, Array<number>>()
  let takeover = Number.NaN
  for (let round = 0; round < rounds; round++) {
    for (const processes of [1, 2, 4, 0]) {
      // 0: the same projection unsplit, in 1 process.
      const name = `scale-${processes === 0 ? "unsplit" : `${processes}p`}-${round}`
      const { ms, workers } = await catchUp(target, url, name, Math.max(processes, 1), processes === 0 ? await headsOf(1) : heads)
      try {
        times.set(String(processes), [...(times.get(String(processes)) ?? []), ms])
        await verify(name)
        if (processes === 4 && round === rounds - 1) {
          // The others take the killed process's segments once its leases lapse.
          const held = await holders(target, name)
          const count = (instance: string) => held.filter((row) => row.owner.startsWith(`${instance} `)).length
          const victim = workers.reduce((most, w) => count(w.instance) > count(most.instance) ? w : most)
          const killedAt = performance.now()
          victim.child.kill("SIGKILL")
          await waitUntil("the others hold every segment", async () => {
            const now = await holders(target, name)
            return now.length === segments && now.every((row) => !row.owner.startsWith(`${victim.instance} `))
          }, workers, 60_000)
          takeover = performance.now() - killedAt
        }
      } finally {
        stop(workers)
      }
    }
  }
  const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const rates = (processes: number) => times.get(String(processes))!.map((ms) => Math.round(events / ms * 1000))
  const samples = (facta: number, baseline: number) => ({ facta: rates(facta), baseline: rates(baseline) })
  const rate = (processes: number) => events / median(times.get(String(processes))!) * 1000
  const title = `Projection catch-up of ${events.toLocaleString("en-US")} events in ${segments} segments, by processes${
    plan.quick ? " (--quick; full mode: 200,000)" : ""
  }`
  const note = `median of ${rounds} round(s), from all processes ready to every segment's checkpoint at its head; 1 process: ${Math.round(rate(1))} events/s`
  return [
    higherIsBetter({ id: "11a", title, store: "server", metric: "2 processes vs 1", unit: "events/s", facta: rate(2), baseline: rate(1), target: 1.5, note, samples: samples(2, 1) }),
    higherIsBetter({ id: "11b", title, store: "server", metric: "4 processes vs 1", unit: "events/s", facta: rate(4), baseline: rate(1), note, samples: samples(4, 1) }),
    lowerIsBetter({
      id: "11c",
      title,
      store: "server",
      metric: "takeover after kill -9",
      unit: "ms",
      facta: takeover,
      baseline: documentedTakeover,
      target: 1,
      note: "baseline: the documented bound, lease duration 5 s + retry interval 1 s"
    }),
    higherIsBetter({
      id: "11d",
      title,
      store: "server",
      metric: "1 process: 8 segments vs unsplit",
      unit: "events/s",
      facta: rate(1),
      baseline: rate(0),
      note: "each segment reads the log of its types and keeps its own streams' events; the segments overlap their round trips",
      samples: samples(1, 0)
    })
  ]
}
