/**
 * Figure 9: rebuilding a projection of the catch-up backlog (`plan.catchUpEvents` events over
 * 1,000 accounts, written as for figure 6 but of a type of its own), blue-green against in place,
 * while a reader queries one account's document every millisecond or so.
 *
 * In place (the baseline): `handle.rebuild` (clear the documents, reset the checkpoint) and then
 * `handle.whenCaughtUp`; readers see an empty and then a half-built read model meanwhile.
 * Blue-green: `BlueGreen.rebuild`, timed from its start to the switch; readers keep the current
 * read model, then see the new one. Each rebuilt read model is checked against the events, and
 * every answer the reader got is checked: during the blue-green rebuild it must always be the
 * account's whole document. The figures: the rebuild's throughput, and the longest a query took
 * during each rebuild (the pause a reader sees).
 */
import { Effect, Fiber, Option, Schema } from "effect"
import { BlueGreen, Documents, Processor, Projection } from "@facta/core"
import { type Figure, higherIsBetter, lowerIsBetter, type Plan } from "./measure.ts"
import { check, writeBacklog } from "./projection.ts"
import type { SqlTarget } from "./targets.ts"

const type = "Rebuilt"
const name = "rebuild-bench"
const streams = "rebuild-"

const Rebuilt = Schema.TaggedStruct(type, { amount: Schema.Int })
const Balance = Schema.Struct({ balance: Schema.Int, count: Schema.Int })
const documents = Documents.make(name, Balance)
const projection = Projection.make({
  name,
  event: Rebuilt,
  documents: [documents],
  handlers: {
    Rebuilt: (event) =>
      documents.update(event.streamId, (current) => {
        const { balance, count } = Option.getOrElse(current, () => ({ balance: 0, count: 0 }))
        return { balance: balance + event.data.amount, count: count + 1 }
      })
  }
})

interface Rebuild {
  readonly ms: number
  /** The longest query of the reader during the rebuild, in ms. */
  readonly longestQuery: number
  /** Answers that were not the account's whole document. */
  readonly partial: number
  readonly queries: number
}

/** Runs `rebuild` while a reader queries the first account's document; `whole` is its final count. */
const withReader = <E, R>(rebuild: Effect.Effect<unknown, E, R>, whole: number) =>
  Effect.gen(function*() {
    let longestQuery = 0
    let partial = 0
    let queries = 0
    const reader = yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
      const began = performance.now()
      const answer = yield* documents.get(`${streams}0`)
      longestQuery = Math.max(longestQuery, performance.now() - began)
      queries++
      if (Option.getOrUndefined(answer)?.count !== whole) partial++
      yield* Effect.sleep("1 millis")
    })))
    const began = performance.now()
    yield* rebuild
    const ms = performance.now() - began
    yield* Fiber.interrupt(reader)
    return { ms, longestQuery, partial, queries } satisfies Rebuild
  })

export const sqlFigures = async (target: SqlTarget, plan: Plan): Promise<Array<Figure>> => {
  const events = plan.catchUpEvents
  const perAccount = Math.ceil(events / 1_000)
  const { blueGreen, inPlace } = await target.run(Effect.scoped(Effect.gen(function*() {
    yield* writeBacklog(target, type, events, streams)
    const handle = yield* Processor.start(projection, { batchSize: 500 })
    yield* handle.whenCaughtUp
    const verify = (side: string) => Effect.map(documents.list, (stored) => check(side, events, stored.map((entry) => entry.document)))
    yield* verify("the first build")
    const inPlace = yield* withReader(Effect.andThen(handle.rebuild, handle.whenCaughtUp), perAccount)
    yield* verify("in place")
    const blueGreen = yield* withReader(BlueGreen.rebuild(projection, { batchSize: 500 }), perAccount)
    yield* handle.whenCaughtUp
    yield* verify("blue-green")
    if (blueGreen.partial > 0) {
      return yield* Effect.die(new Error(`blue-green: ${blueGreen.partial} of ${blueGreen.queries} queries saw a partial read model`))
    }
    return { blueGreen, inPlace }
  })))
  const title = `Rebuild of ${events.toLocaleString("en-US")} events${plan.quick ? " (--quick; full mode: 100,000)" : ""}, blue-green against in place`
  const readers = (rebuild: Rebuild) => `${rebuild.queries} queries, ${rebuild.partial} partial`
  return [
    higherIsBetter({
      id: "9",
      title,
      store: target.store,
      metric: "throughput",
      unit: "events/s",
      facta: events / blueGreen.ms * 1000,
      baseline: events / inPlace.ms * 1000,
      note: `one round each; blue-green until the switch. Readers: blue-green ${readers(blueGreen)}, in place ${readers(inPlace)}`
    }),
    lowerIsBetter({
      id: "9",
      title,
      store: target.store,
      metric: "longest query",
      unit: "ms",
      facta: blueGreen.longestQuery,
      baseline: inPlace.longestQuery
    })
  ]
}
