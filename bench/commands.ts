/**
 * Figure 4 (and 8a in memory): command handling, i.e. read the stream, fold, decide, append.
 *
 * Every command goes to its own stream that holds exactly 10 events (seeded before the round,
 * outside the timing), so each command does the same work however long the run is; with 8
 * clients no two commands share a stream, so there are no conflicts on either side.
 *
 * Facta: `CommandHandler.make(Account).handle(streamId, input)`: decode the input with the
 * command Schema, read the stream, decode each event with the event Schema, fold, decide,
 * encode, append expecting the version read. Baseline (SQL): the same work in plain SQL through
 * the same `SqlClient`: SELECT the stream's rows (version, type, data) by the same index, fold
 * them in plain JS, check the command by hand, INSERT the new row with the next version (the
 * unique index would catch a conflict). Baseline (memory): the same over a plain JS log.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { CommandHandler, EventStore } from "@facta/core"
import { Account, decideDepositRaw, depositInput, foldRaw, seedEvents } from "./account.ts"
import {
  cpuPerOp,
  type Figure,
  forCount,
  forCountSync,
  higherIsBetter,
  interleave,
  type Interleaved,
  lowerIsBetter,
  medianRate,
  percentile,
  type Plan,
  pooled,
  rate,
  type Round
} from "./measure.ts"
import { PlainLog } from "./plainLog.ts"
import type { MemoryTarget, SqlTarget } from "./targets.ts"

/** Events in every stream a command is sent to. */
export const streamLength = 10

const accounts = CommandHandler.make(Account)

const streamId = (prefix: string, index: number) => `${prefix}-${index}`

// -- Seeding (not timed) ------------------------------------------------------------------------

const seedFacta = (prefix: string, count: number, concurrency: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => store.append(streamId(prefix, i), seedEvents(streamLength), { expectedVersion: "noStream" }),
      { concurrency, discard: true }
    )
  })

/** The same rows (types, data, a correlation id) in the baseline table, in one statement. */
const seedBaseline = (table: string, prefix: string, count: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO ${sql(table)} (stream_id, version, event_id, type, data, metadata)
      SELECT ${`${prefix}-`}::text || s::text, v, gen_random_uuid(),
        CASE WHEN v = 1 THEN 'Opened' ELSE 'Deposited' END,
        CASE WHEN v = 1 THEN '{"owner":"bench"}'::jsonb ELSE '{"amount":10}'::jsonb END,
        jsonb_build_object('correlationId', gen_random_uuid())
      FROM generate_series(0, ${count - 1}) AS s, generate_series(1, ${streamLength}) AS v`
  })

// -- The measured operations --------------------------------------------------------------------

const factaCommands = (prefix: string, count: number, clients: number) =>
  forCount(count, clients, (i) => accounts.handle(streamId(prefix, i), depositInput))

interface Row {
  readonly version: bigint | number | string
  readonly type: string
  readonly data: unknown
}

const baselineCommands = (table: string, prefix: string, count: number, clients: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = sql(table)
    return yield* forCount(count, clients, (i) =>
      Effect.gen(function*() {
        const id = streamId(prefix, i)
        const rows = yield* sql<Row>`SELECT version, type, data FROM ${events}
          WHERE stream_key = md5(${id})::uuid AND stream_id = ${id} ORDER BY version`
        const decided = decideDepositRaw(depositInput, foldRaw(rows))
        const version = rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.version)
        yield* sql`INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata)
          VALUES (${id}, ${version + 1}, ${crypto.randomUUID()}, ${decided.type}, ${JSON.stringify(decided.data)}::jsonb, ${
          JSON.stringify({ correlationId: crypto.randomUUID() })
        }::jsonb)`
      }))
  })

// -- Figures ------------------------------------------------------------------------------------

/** Commands per round so that a round lasts about `plan.roundMs`, from a warm-up round's rate. */
const calibrate = (plan: Plan, warmup: Round) =>
  Math.max(20, Math.min(plan.maxCommandsPerRound, Math.round((rate(warmup) * plan.roundMs) / 1_000)))

const warmupCount = (plan: Plan) => plan.quick ? 40 : 300

export const commandFigures = (
  head: { id: string; title: string; store: Figure["store"]; note?: string | undefined },
  result: Interleaved
): Array<Figure> => {
  const facta = pooled(result.facta)
  const baseline = pooled(result.baseline)
  return [
    higherIsBetter({
      ...head,
      metric: "throughput",
      unit: "commands/s",
      facta: medianRate(result.facta),
      baseline: medianRate(result.baseline),
      samples: { facta: result.facta.map(rate), baseline: result.baseline.map(rate) },
      cpu: cpuPerOp(result)
    }),
    lowerIsBetter({ ...head, metric: "p50", unit: "ms", facta: percentile(facta, 50), baseline: percentile(baseline, 50) }),
    lowerIsBetter({ ...head, metric: "p99", unit: "ms", facta: percentile(facta, 99), baseline: percentile(baseline, 99) })
  ]
}

const sqlCommands = async (target: SqlTarget, plan: Plan, clients: number): Promise<Interleaved> => {
  const table = target.tables.baseline
  const seedConcurrency = target.concurrentSessions ? 8 : 1
  const tag = `c${clients}`
  // Warm up both sides, and learn how many commands fill a round.
  const warm = warmupCount(plan)
  await target.run(seedFacta(`${tag}-w`, warm, seedConcurrency))
  await target.run(seedBaseline(table, `${tag}-w`, warm))
  const factaCount = calibrate(plan, await target.run(factaCommands(`${tag}-w`, warm, clients)))
  const baselineCount = calibrate(plan, await target.run(baselineCommands(table, `${tag}-w`, warm, clients)))
  for (let round = 0; round < plan.rounds; round++) {
    await target.run(seedFacta(`${tag}-${round}`, factaCount, seedConcurrency))
    await target.run(seedBaseline(table, `${tag}-${round}`, baselineCount))
  }
  return interleave(
    plan.rounds,
    (round) => target.run(factaCommands(`${tag}-${round}`, factaCount, clients)),
    (round) => target.run(baselineCommands(table, `${tag}-${round}`, baselineCount, clients)),
    { warmup: false }
  )
}

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const title = (clients: number) => `Command (read ${streamLength} events, decide, append), ${clients} client${clients === 1 ? "" : "s"}`
  const one = await sqlCommands(target, plan, 1)
  const eight = await sqlCommands(target, plan, 8)
  return [
    ...commandFigures({ id: "4", title: title(1), store: target.store }, one),
    ...commandFigures({
      id: "4",
      title: title(8),
      store: target.store,
      note: target.concurrentSessions ? "8 clients, each command on its own stream" : "PGlite is one session: the 8 clients take turns"
    }, eight)
  ]
}

/** Figure 8a: command handling through `InMemory.eventStore` against a plain JS log. */
export const memoryFigures = async (target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => {
  const log = new PlainLog()
  const seedPlain = (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) log.append(streamId(prefix, i), seedEvents(streamLength), 0)
  }
  const plainCommands = (prefix: string, count: number) =>
    forCountSync(count, (i) => {
      const id = streamId(prefix, i)
      const rows = log.read(id)
      const decided = decideDepositRaw(depositInput, foldRaw(rows))
      log.append(id, [{ ...decided, metadata: { correlationId: crypto.randomUUID() } }], rows.length)
    })
  const warm = warmupCount(plan) * 10
  await target.run(seedFacta("m-w", warm, 1))
  seedPlain("m-w", warm)
  const factaCount = calibrate(plan, await target.run(factaCommands("m-w", warm, 1)))
  const baselineCount = calibrate(plan, plainCommands("m-w", warm))
  for (let round = 0; round < plan.rounds; round++) {
    await target.run(seedFacta(`m-${round}`, factaCount, 1))
    seedPlain(`m-${round}`, baselineCount)
  }
  const result = await interleave(
    plan.rounds,
    (round) => target.run(factaCommands(`m-${round}`, factaCount, 1)),
    async (round) => plainCommands(`m-${round}`, baselineCount),
    { warmup: false }
  )
  return commandFigures({
    id: "8",
    title: `Command (read ${streamLength} events, decide, append), 1 client`,
    store: "memory",
    note: "baseline: plain JS log and fold (PlainLog)"
  }, result)
}
