/**
 * Timing helpers shared by every figure: runners that time a batch of operations (for a fixed
 * time or a fixed count, with any concurrency) and the CPU it took (this process's and, when the
 * bench started the Postgres server, the server's), percentiles, medians, and the interleaving of
 * Facta and baseline rounds so that machine noise lands on both alike.
 */
import { Effect } from "effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import type { ServerCpu } from "./serverCpu.ts"

// A full garbage collection before every round (outside the timing), so that neither side pays
// for the other's garbage, or for what an earlier figure or store left behind. `npm run bench`
// cannot pass --expose-gc, so it is switched on here.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/** Runs a full garbage collection. */
export const collectGarbage = (): void => gc()

/** What one measured round did: how many operations, in how long, and each one's latency. */
export interface Round {
  readonly ops: number
  readonly ms: number
  /** Milliseconds per operation; empty when per-operation timing is not meaningful. */
  readonly latencies: ReadonlyArray<number>
  /** This process's CPU time (user + system, every thread) over the round, in µs. */
  readonly cpuUs?: number | undefined
  /** The Postgres server's CPU time over the round, in µs, when the bench started the server (see {@link watchServerCpu}). */
  readonly serverCpuUs?: number | undefined
}

let serverCpu: ServerCpu | undefined

/** Rounds begun from now on also measure the server's CPU with `probe`; `undefined` stops that. */
export const watchServerCpu = (probe: ServerCpu | undefined): void => {
  serverCpu = probe
}

/** A round being timed: when it began, and how to close it. */
export interface RoundClock {
  readonly start: number
  /** The round so far: `ops` operations since {@link start}, with the CPU they took. */
  readonly end: (ops: number, latencies?: ReadonlyArray<number>) => Round
}

/**
 * Starts timing a round, and its CPU: this process's and, when watched, the server's. The
 * server's is read outside the timed span (it lists `/proc`). For rounds timed by hand, e.g. a
 * catch-up from start to caught up.
 */
export const beginRound = (): RoundClock => {
  const probe = serverCpu
  const serverBefore = probe?.()
  const nodeBefore = process.cpuUsage()
  const start = performance.now()
  return {
    start,
    end: (ops, latencies = []) => {
      const ms = performance.now() - start
      const node = process.cpuUsage(nodeBefore)
      const serverAfter = serverBefore === undefined ? undefined : probe?.()
      return {
        ops,
        ms,
        latencies,
        cpuUs: node.user + node.system,
        serverCpuUs: serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore
      }
    }
  }
}

/** Operations per second of a round. */
export const rate = (round: Round): number => round.ms <= 0 ? 0 : (round.ops / round.ms) * 1000

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Nearest-rank percentile (`p` in 0..100): a value that was actually observed. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/** Every latency of a series of rounds, pooled for percentiles. */
export const pooled = (rounds: ReadonlyArray<Round>): Array<number> => rounds.flatMap((round) => round.latencies)

/**
 * Runs `op(0), op(1), ...` on `concurrency` workers until `durationMs` has passed, then lets the
 * operations in flight finish. Time-boxing keeps every round about as long on a slow machine as
 * on a fast one, so `--quick` stays quick everywhere.
 */
export const forDuration = <E, R>(
  durationMs: number,
  concurrency: number,
  op: (index: number) => Effect.Effect<unknown, E, R>
): Effect.Effect<Round, E, R> =>
  Effect.suspend(() => {
    let next = 0
    const latencies: Array<number> = []
    const clock = beginRound()
    const end = clock.start + durationMs
    const worker: Effect.Effect<void, E, R> = Effect.suspend(() => {
      if (performance.now() >= end) return Effect.void
      const index = next++
      const began = performance.now()
      return op(index).pipe(
        Effect.flatMap(() => {
          latencies.push(performance.now() - began)
          return worker
        })
      )
    })
    return Effect.all(Array.from({ length: concurrency }, () => worker), { concurrency: "unbounded", discard: true }).pipe(
      Effect.map((): Round => clock.end(next, latencies))
    )
  })

/** Runs `op(0) ... op(count - 1)` with `concurrency` in flight, timing each. */
export const forCount = <E, R>(
  count: number,
  concurrency: number,
  op: (index: number) => Effect.Effect<unknown, E, R>
): Effect.Effect<Round, E, R> =>
  Effect.suspend(() => {
    const latencies: Array<number> = []
    const clock = beginRound()
    return Effect.forEach(
      Array.from({ length: count }, (_, index) => index),
      (index) => {
        const began = performance.now()
        return Effect.map(op(index), () => {
          latencies.push(performance.now() - began)
        })
      },
      { concurrency, discard: true }
    ).pipe(Effect.map((): Round => clock.end(count, latencies)))
  })

/**
 * The plain-JS counterpart of {@link forDuration} for in-memory baselines: no Effect per
 * operation, so the baseline is what hand-written code would cost.
 */
export const forDurationSync = (durationMs: number, op: (index: number) => void): Round => {
  const latencies: Array<number> = []
  const clock = beginRound()
  const end = clock.start + durationMs
  let index = 0
  while (performance.now() < end) {
    const began = performance.now()
    op(index++)
    latencies.push(performance.now() - began)
  }
  return clock.end(index, latencies)
}

/** The plain-JS counterpart of {@link forCount}. */
export const forCountSync = (count: number, op: (index: number) => void): Round => {
  const latencies: Array<number> = []
  const clock = beginRound()
  for (let index = 0; index < count; index++) {
    const began = performance.now()
    op(index)
    latencies.push(performance.now() - began)
  }
  return clock.end(count, latencies)
}

export interface Interleaved {
  readonly facta: Array<Round>
  readonly baseline: Array<Round>
}

/**
 * Runs one warm-up round of each side (discarded: JIT, plan and connection caches; skipped with
 * `warmup: false` when the caller warmed up already), then
 * `rounds` measured rounds, alternating which side goes first so that neither always runs on a
 * warmer or cooler machine, each after a full garbage collection. The round number lets a side
 * use fresh stream ids per round.
 */
export const interleave = async (
  rounds: number,
  facta: (round: number) => Promise<Round>,
  baseline: (round: number) => Promise<Round>,
  options?: { readonly warmup?: boolean | undefined }
): Promise<Interleaved> => {
  const run = (side: (round: number) => Promise<Round>, round: number) => {
    collectGarbage()
    return side(round)
  }
  if (options?.warmup !== false) {
    await run(facta, -1)
    await run(baseline, -1)
  }
  const result: Interleaved = { facta: [], baseline: [] }
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      result.facta.push(await run(facta, round))
      result.baseline.push(await run(baseline, round))
    } else {
      result.baseline.push(await run(baseline, round))
      result.facta.push(await run(facta, round))
    }
  }
  return result
}

/** Median operations per second over rounds, times `perOp` (e.g. events per call). */
export const medianRate = (rounds: ReadonlyArray<Round>, perOp = 1): number => median(rounds.map(rate)) * perOp

/**
 * CPU time per operation (µs; per event where the rate counts events), the median over rounds
 * of each side: this process's (`facta`, `baseline`) and the Postgres server's (`factaServer`,
 * `baselineServer`; `null` when not measured: PGlite, memory, or a server the bench did not start).
 * On PGlite the database runs in this process, so its CPU is in `facta` and `baseline`.
 */
export interface CpuPerOp {
  readonly facta: number | null
  readonly baseline: number | null
  readonly factaServer: number | null
  readonly baselineServer: number | null
}

const medianPerOp = (rounds: ReadonlyArray<Round>, perOp: number, of: (round: Round) => number | undefined): number | null => {
  const values = rounds.map((round) => {
    const cpu = of(round)
    return cpu === undefined || round.ops <= 0 ? undefined : cpu / (round.ops * perOp)
  })
  return values.length === 0 || values.some((value) => value === undefined) ? null : median(values as Array<number>)
}

/**
 * The CPU per operation of interleaved rounds, divided as the rates are (`perOp`: events per
 * operation); `undefined` when neither side's rounds measured CPU.
 */
export const cpuPerOp = (result: Interleaved, perOp = 1): CpuPerOp | undefined => {
  const cpu: CpuPerOp = {
    facta: medianPerOp(result.facta, perOp, (round) => round.cpuUs),
    baseline: medianPerOp(result.baseline, perOp, (round) => round.cpuUs),
    factaServer: medianPerOp(result.facta, perOp, (round) => round.serverCpuUs),
    baselineServer: medianPerOp(result.baseline, perOp, (round) => round.serverCpuUs)
  }
  return cpu.facta === null && cpu.baseline === null ? undefined : cpu
}

/** Which direction is good for a metric. Ratios are always oriented so that higher is better. */
export type Better = "higher" | "lower"

/** One line of the report. */
export interface Figure {
  /** The figure number of the brief ("1" ... "8"), with a suffix for sub-figures. */
  readonly id: string
  readonly title: string
  readonly store: "server" | "pglite" | "memory" | "all"
  readonly metric: string
  readonly unit: string
  readonly better: Better
  /** `null`: not measured (yet); `note` says why. */
  readonly facta: number | null
  readonly baseline: number | null
  /** facta / baseline for throughputs, baseline / facta for latencies and sizes: 1.0 = as fast as raw. */
  readonly ratio: number | null
  readonly ratioKind: "facta/baseline" | "baseline/facta" | null
  /** The ratio Facta should reach, where the brief sets one. */
  readonly target?: number | undefined
  readonly note?: string | undefined
  /** Per-round values behind the medians, to judge the noise. */
  readonly samples?: { readonly facta: ReadonlyArray<number>; readonly baseline: ReadonlyArray<number> } | undefined
  /** CPU per operation of each side, where the figure measured it. */
  readonly cpu?: CpuPerOp | undefined
}

export interface FigureInput {
  readonly id: string
  readonly title: string
  readonly store: Figure["store"]
  readonly metric: string
  readonly unit: string
  readonly facta: number | null
  readonly baseline: number | null
  readonly target?: number | undefined
  readonly note?: string | undefined
  readonly samples?: Figure["samples"]
  readonly cpu?: CpuPerOp | undefined
}

const ratioOf = (better: Better, facta: number | null, baseline: number | null): number | null => {
  if (facta === null || baseline === null || !Number.isFinite(facta) || !Number.isFinite(baseline)) return null
  if (better === "higher") return baseline === 0 ? null : facta / baseline
  return facta === 0 ? null : baseline / facta
}

const figure = (better: Better) => (input: FigureInput): Figure => {
  const ratio = ratioOf(better, input.facta, input.baseline)
  return {
    ...input,
    better,
    ratio,
    ratioKind: ratio === null ? null : better === "higher" ? "facta/baseline" : "baseline/facta"
  }
}

/** A throughput: higher is better, ratio = facta / baseline. */
export const higherIsBetter = figure("higher")
/** A latency or a size: lower is better, ratio = baseline / facta. */
export const lowerIsBetter = figure("lower")

/** A throughput figure of events per second from interleaved rounds, with the rounds' rates as samples. */
export const eventsPerSecond = (
  head: { readonly id: string; readonly title: string; readonly store: Figure["store"]; readonly target?: number | undefined; readonly note?: string | undefined },
  result: Interleaved
): Figure =>
  higherIsBetter({
    ...head,
    metric: "throughput",
    unit: "events/s",
    facta: medianRate(result.facta),
    baseline: medianRate(result.baseline),
    samples: { facta: result.facta.map(rate), baseline: result.baseline.map(rate) },
    cpu: cpuPerOp(result)
  })

/** A figure that is not measured; printed with its reason, never with a made-up number. */
export const notMeasured = (input: Omit<FigureInput, "facta" | "baseline">): Figure =>
  ({ ...input, facta: null, baseline: null, better: "higher", ratio: null, ratioKind: null })

/** How much work each figure does; `--quick` shrinks it to fit CI. */
export interface Plan {
  readonly quick: boolean
  /** Measured rounds per side (odd, for a clean median). */
  readonly rounds: number
  /** Length of a time-boxed round. */
  readonly roundMs: number
  /** Length of the discarded warm-up round of each side. */
  readonly warmupMs: number
  /** Caps calibrated command rounds (each command needs a freshly seeded stream). */
  readonly maxCommandsPerRound: number
  /** Loads of the 10,000-event stream per round. */
  readonly loadsPerRound: number
  /** Reads of the 50,000-event log per round (figure 16). */
  readonly logReadsPerRound: number
  /** Loads from a snapshot per round (each takes a millisecond or so). */
  readonly snapshotLoadsPerRound: number
  /** Events a projection catches up on in each round. */
  readonly catchUpEvents: number
  /** Measured catch-up rounds per side (a round is a whole catch-up, seconds long). */
  readonly catchUpRounds: number
  /** Events of the catch-up warm-up round (the backlog's tail). */
  readonly catchUpWarmupEvents: number
  /** Appends timed for the subscription latency. */
  readonly subscriptionEvents: number
  /** Events stored for the heap figure. */
  readonly heapEvents: number
  /** Events the scale-out figure's projection catches up on, with 1, 2 and 4 processes. */
  readonly scaleEvents: number
}

export const plans: Record<"quick" | "full", Plan> = {
  quick: {
    quick: true,
    rounds: 3,
    roundMs: 150,
    warmupMs: 100,
    maxCommandsPerRound: 1_000,
    loadsPerRound: 1,
    logReadsPerRound: 1,
    snapshotLoadsPerRound: 10,
    catchUpEvents: 10_000,
    catchUpRounds: 1,
    catchUpWarmupEvents: 1_000,
    subscriptionEvents: 45,
    heapEvents: 100_000,
    scaleEvents: 8_000
  },
  full: {
    quick: false,
    rounds: 7,
    roundMs: 1_000,
    warmupMs: 600,
    maxCommandsPerRound: 8_000,
    loadsPerRound: 20,
    logReadsPerRound: 2,
    snapshotLoadsPerRound: 50,
    catchUpEvents: 100_000,
    catchUpRounds: 3,
    catchUpWarmupEvents: 1_000,
    subscriptionEvents: 300,
    heapEvents: 1_000_000,
    scaleEvents: 200_000
  }
}

/** The duration of a round given its number (`-1` is the warm-up, see {@link interleave}). */
export const durationOf = (plan: Plan, round: number): number => round < 0 ? plan.warmupMs : plan.roundMs
