/**
 * Figure 7: subscription latency, the time from `append` returning (the commit) to a subscriber
 * (`store.subscribe` with a type filter) receiving the event, over appends spaced a few ms apart.
 *
 * Two subscribers on a server:
 * - in the appending store: woken at once by the append itself (an in-process PubSub), then it
 *   reads the new rows;
 * - in a peer store (its own pool and listener, as another process would have): woken only by
 *   the NOTIFY that Facta's trigger sends at commit, then it reads the new rows.
 *
 * Baseline (SQL): a raw LISTEN/NOTIFY round trip on the same client, the floor of any "wake up
 * on commit" design: the time from calling `notify` (a `pg_notify` statement, committed on its
 * own) to a raw `listen` queue receiving the payload. In memory there is no baseline: the store
 * wakes subscribers through a PubSub, and the subscriber often runs before `append` returns to
 * its caller (counted as 0).
 */
import { Effect, Stream } from "effect"
import { EventStore } from "@facta/core"
import { collectGarbage, type Figure, interleave, type Interleaved, lowerIsBetter, percentile, type Plan, pooled, type Round } from "./measure.ts"
import type { MemoryTarget, Peer, SqlTarget } from "./targets.ts"

const pingType = "BenchPing"
const spacingMs = 5
const channel = "bench_ping"

/** Waits (polling every ms) until `done()` or `timeoutMs` have passed. */
const waitUntil = (done: () => boolean, timeoutMs: number) =>
  Effect.suspend(() => {
    const end = performance.now() + timeoutMs
    const loop: Effect.Effect<void> = Effect.suspend(() => done() || performance.now() > end ? Effect.void : Effect.andThen(Effect.sleep(1), loop))
    return loop
  })

interface Sent {
  readonly sent: Map<string, number>
  readonly started: number
}

const roundOf = ({ sent, started }: Sent, seen: Map<string, number>): Round => {
  const latencies: Array<number> = []
  for (const [key, at] of sent) {
    const received = seen.get(key)
    if (received !== undefined) latencies.push(Math.max(0, received - at))
  }
  // `ops` counts only what arrived: a shortfall shows in the JSON samples.
  return { ops: latencies.length, ms: performance.now() - started, latencies }
}

/** Appends an event of another type and returns its position: subscribers start after it. */
const marker = (tag: string) =>
  EventStore.EventStore.use((store) =>
    Effect.map(store.append(`sub-marker-${tag}`, [{ type: "BenchMarker", data: {} }]), (result) => result.events[0]!.position)
  )

/** `count` appends of one event each, `spacingMs` apart; when each append returned. */
const pings = (tag: string, count: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const sent = new Map<string, number>()
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      const appended = yield* store.append(`sub-${tag}`, [{ type: pingType, data: { i } }])
      sent.set(appended.events[0]!.id, performance.now())
      yield* Effect.sleep(spacingMs)
    }
    return { sent, started } satisfies Sent
  })

const subscribe = (after: bigint, seen: Map<string, number>) =>
  EventStore.EventStore.use((store) =>
    store.subscribe({ after, types: [pingType] }).pipe(
      Stream.runForEach((event) => Effect.sync(() => void seen.set(event.id, performance.now())))
    )
  )

/** The subscriber lives in the appending store. */
const localRound = (tag: string, count: number) =>
  Effect.scoped(Effect.gen(function*() {
    // Start after an event appended now: the log already holds everything the earlier figures
    // wrote, and this measures live delivery, not catch-up.
    const after = yield* marker(tag)
    const seen = new Map<string, number>()
    yield* Effect.forkScoped(subscribe(after, seen))
    const sent = yield* pings(tag, count)
    yield* waitUntil(() => seen.size >= count, 10_000)
    return roundOf(sent, seen)
  }))

/** The subscriber lives in the peer store; the appends are made by the target's store. */
const peerRound = async (target: SqlTarget, peer: Peer, tag: string, count: number): Promise<Round> => {
  const after = await target.run(marker(tag))
  const seen = new Map<string, number>()
  const subscribed = peer.run(subscribe(after, seen).pipe(
    Effect.timeoutOption(count * spacingMs + 15_000),
    Effect.raceFirst(waitUntil(() => seen.size >= count, count * spacingMs + 15_000))
  ))
  // The peer's listener is up since its layer was built; give the subscription a moment to start.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const sent = await target.run(pings(tag, count))
  await subscribed
  return roundOf(sent, seen)
}

/** The same spacing over a raw LISTEN/NOTIFY channel. */
const notifyRound = (target: SqlTarget, tag: string, count: number) =>
  Effect.scoped(Effect.gen(function*() {
    const seen = new Map<string, number>()
    yield* target.onNotify(channel, (payload) => void seen.set(payload, performance.now()))
    const sent = new Map<string, number>()
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      const payload = `${tag}-${i}`
      const at = performance.now()
      yield* target.notify(channel, payload)
      sent.set(payload, at)
      yield* Effect.sleep(spacingMs)
    }
    yield* waitUntil(() => seen.size >= count, 10_000)
    return roundOf({ sent, started }, seen)
  }))

const perRound = (plan: Plan, round: number) => round < 0 ? 5 : Math.ceil(plan.subscriptionEvents / plan.rounds)

const figures = (
  id: string,
  store: Figure["store"],
  title: string,
  result: Interleaved | { readonly facta: Array<Round>; readonly baseline: null },
  note: string
) => {
  const facta = pooled(result.facta)
  const baseline = result.baseline === null ? null : pooled(result.baseline)
  return (["p50", "p99"] as const).map((metric): Figure =>
    lowerIsBetter({
      id,
      title: `Subscription latency, ${title}`,
      store,
      metric,
      unit: "ms",
      facta: percentile(facta, metric === "p50" ? 50 : 99),
      baseline: baseline === null ? null : percentile(baseline, metric === "p50" ? 50 : 99),
      note
    })
  )
}

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const baselineNote = "baseline: raw LISTEN/NOTIFY round trip"
  const local = await interleave(
    plan.rounds,
    (round) => target.run(localRound(`l${round}`, perRound(plan, round))),
    (round) => target.run(notifyRound(target, `l${round}`, perRound(plan, round)))
  )
  const result = figures("7a", target.store, "subscriber in the appending store", local, `${baselineNote}; woken by the append itself`)
  if (target.peer !== undefined) {
    const peer = await target.peer()
    try {
      const remote = await interleave(
        plan.rounds,
        (round) => peerRound(target, peer, `p${round}`, perRound(plan, round)),
        (round) => target.run(notifyRound(target, `p${round}`, perRound(plan, round)))
      )
      result.push(...figures(
        "7b",
        target.store,
        "subscriber in a peer store (another process)",
        remote,
        `${baselineNote}; woken by NOTIFY, polls every ${target.pollInterval} as a fallback`
      ))
    } finally {
      await peer.dispose()
    }
  }
  return result
}

export const memoryFigures = async (target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => {
  await target.run(localRound("warmup", perRound(plan, -1)))
  const rounds: Array<Round> = []
  for (let round = 0; round < plan.rounds; round++) {
    collectGarbage()
    rounds.push(await target.run(localRound(`${round}`, perRound(plan, round))))
  }
  return figures("7a", "memory", "subscriber in the appending store", { facta: rounds, baseline: null }, "no baseline (PubSub); 0 = seen before append returned")
}
