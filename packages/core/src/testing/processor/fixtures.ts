/**
 * What the processor suite's parts share: the services it runs on, fresh names, a tallying
 * projection that refuses an event twice or out of order, the fold of the log to compare it with,
 * and a placement the tests move segments with. Fresh event types and processor names let tests
 * share one database.
 */
import type { Vitest } from "@effect/vitest"
import { Effect, FiberMap, Option, Random, Schedule, Schema, type Scope, Stream } from "effect"
import type { CheckpointStore } from "../../CheckpointStore.ts"
import * as Documents from "../../Documents.ts"
import { EventStore } from "../../EventStore.ts"
import type { Lease } from "../../Lease.ts"
import type * as ParkedEvents from "../../ParkedEvents.ts"
import * as Placement from "../../Placement.ts"
import * as Projection from "../../Projection.ts"
import type * as ProjectionStore from "../../ProjectionStore.ts"
import type { SnapshotStore } from "../../SnapshotStore.ts"
import type * as StatusBoard from "../../StatusBoard.ts"
import type { Transactor } from "../../Transactor.ts"

/**
 * The services the suite runs on.
 *
 * @category models
 * @since 0.1.0
 */
export type Services =
  | EventStore
  | ProjectionStore.ProjectionStore
  | CheckpointStore
  | SnapshotStore
  | ParkedEvents.ParkedEvents
  | StatusBoard.StatusBoard
  | Transactor
  | Lease

/**
 * A test that needs a second session while a transaction is open: it is skipped on a store that is
 * one session.
 */
export type ConcurrentTest = Vitest.Test<Services | Scope.Scope>

export const unique = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`

export class Tally extends Schema.Class<Tally>("Tally")({
  count: Schema.Int,
  sum: Schema.Int,
  lastVersion: Schema.Int
}) {}

/** Event schemas with per-test type names, so tests sharing a database do not see each other. */
export const counterEvents = () => {
  const added = unique("Added")
  const poisoned = unique("Poisoned")
  const Added = Schema.TaggedStruct(added, { amount: Schema.Int })
  const Poisoned = Schema.TaggedStruct(poisoned, {})
  return { added, poisoned, Added, Poisoned, Event: Schema.Union([Added, Poisoned]) }
}

/**
 * A projection that tallies each stream, and refuses to apply an event twice or out of order:
 * a doubled or lost event would make it fail, or leave a tally that differs from the log.
 */
export const tallyProjection = (
  name: string,
  events: ReturnType<typeof counterEvents>,
  options?: {
    readonly slow?: boolean
    readonly poison?: boolean
    /** "update" writes through `documents.update`, whose reads a batch defers to its flush. */
    readonly style?: "getAndUpsert" | "update"
  }
) => {
  const tallies = Documents.make(name, Tally)
  const zero = new Tally({ count: 0, sum: 0, lastVersion: 0 })
  const next = (current: Tally, event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) => {
    if (current.lastVersion !== event.version - 1) {
      throw new Error(`stream ${event.streamId}: applying version ${event.version} after ${current.lastVersion}`)
    }
    return new Tally({ count: current.count + 1, sum: current.sum + event.data.amount, lastVersion: event.version })
  }
  return {
    tallies,
    projection: Projection.make({
      name,
      event: events.Event,
      handlers: {
        [events.added]: (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
          Effect.gen(function*() {
            if (options?.slow === true) yield* Effect.sleep(`${yield* Random.nextIntBetween(0, 2)} millis`)
            if (options?.style === "update") {
              return yield* tallies.update(event.streamId, (current) => next(Option.getOrElse(current, () => zero), event))
            }
            const current = Option.getOrElse(yield* tallies.get(event.streamId), () => zero)
            yield* tallies.upsert(event.streamId, yield* Effect.try({ try: () => next(current, event), catch: (error) => error }).pipe(Effect.orDie))
          }),
        [events.poisoned]: () => options?.poison === true ? Effect.fail("cannot handle this event" as const) : Effect.void
      } as Projection.Handlers<typeof events.Event.Type>,
      documents: [tallies],
      reset: tallies.clear
    })
  }
}

/** The tallies a from-scratch fold of the log gives. */
export const foldTallies = (type: string) =>
  EventStore.use((store) =>
    Stream.runFold(
      store.readAll({ types: [type] }),
      () => new Map<string, { count: number; sum: number; lastVersion: number }>(),
      (tallies, event) => {
        const current = tallies.get(event.streamId) ?? { count: 0, sum: 0, lastVersion: 0 }
        return tallies.set(event.streamId, {
          count: current.count + 1,
          sum: current.sum + (event.data as { amount: number }).amount,
          lastVersion: event.version
        })
      }
    )
  )

export const append = (streamId: string, type: string, amounts: ReadonlyArray<number>) =>
  EventStore.use((store) => store.append(streamId, amounts.map((amount) => ({ type, data: { amount } }))))

/**
 * A placement the test moves segments with: each instance registers what it runs, and a segment
 * runs in the instance it is assigned to, until it is moved.
 */
export const makeSwitchboard = Effect.gen(function*() {
  const assigned = new Map<string, string>()
  const registered = new Map<string, Effect.Effect<void, never, Scope.Scope>>()
  const running = yield* FiberMap.make<string>()
  const key = (instance: string, name: string) => `${instance} ${name}`
  const runIn = (instance: string, name: string) => {
    const follow = registered.get(key(instance, name))
    return follow === undefined ? Effect.void : Effect.asVoid(FiberMap.run(running, name, Effect.scoped(follow)))
  }
  return {
    assign: (name: string, instance: string) => void assigned.set(name, instance),
    placement: (instance: string) =>
      Placement.Placement.of({
        place: (name, follow) =>
          Effect.gen(function*() {
            registered.set(key(instance, name), follow)
            yield* Effect.addFinalizer(() => FiberMap.remove(running, name))
            if (assigned.get(name) === instance) yield* runIn(instance, name)
          })
      }),
    /** Stops the segment where it runs (its fiber is interrupted) and starts it in `instance`. */
    move: (name: string, instance: string) =>
      Effect.andThen(FiberMap.remove(running, name), Effect.suspend(() => {
        assigned.set(name, instance)
        return runIn(instance, name)
      }))
  }
})

export const quickRetry = Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 2 }))
