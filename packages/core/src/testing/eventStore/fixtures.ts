/**
 * What the event store suite's parts share: fresh names, events to append, reads, and a counter
 * aggregate whose command makes two events.
 */
import { assert } from "@effect/vitest"
import { Effect, Schedule, Schema, Stream } from "effect"
import * as Aggregate from "../../Aggregate.ts"
import * as CommandHandler from "../../CommandHandler.ts"
import { EventStore, type ExpectedVersion, WrongExpectedVersion } from "../../EventStore.ts"
import type { RecordedEvent, UnsavedEvent } from "../../RecordedEvent.ts"

export const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

export const events = (type: string, count: number, from = 1): Array<UnsavedEvent> =>
  Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }))

/**
 * Waits until readers of the log see the event at `position`, and so every event committed
 * before it. On SQL, readers see an event once every older transaction has ended, and tests
 * sharing the database may hold one open for a moment.
 */
export const visible = (position: bigint) =>
  EventStore.use((store) => store.readPage({ after: position - 1n, batchSize: 1 })).pipe(
    Effect.repeat({ until: (page) => page.events.length > 0, schedule: Schedule.spaced("10 millis"), times: 500 })
  )

export const readStream = (streamId: string) =>
  EventStore.use((store) => Stream.runCollect(store.readStream(streamId)))

export const appendExpecting = (streamId: string, count: number, expectedVersion: ExpectedVersion) =>
  EventStore.use((store) => store.append(streamId, events("Tested", count), { expectedVersion }))

export const expectConflict = <A, E>(effect: Effect.Effect<A, E, EventStore>, expected: ExpectedVersion, actual: number) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.instanceOf(error, WrongExpectedVersion)
    assert.deepStrictEqual(error.expected, expected)
    assert.strictEqual((error as WrongExpectedVersion).actual, actual)
  })

export const dataOf = (events: ReadonlyArray<RecordedEvent>) => events.map((event) => event.data)

export class Add extends Schema.TaggedClass<Add>()("Add", { amount: Schema.Int }) {}
export class Added extends Schema.TaggedClass<Added>()("Added", { amount: Schema.Int }) {}
export class Noted extends Schema.TaggedClass<Noted>()("Noted", {}) {}

/** A counter whose command makes two events, so a repeat shows whether all of them are found. */
export const counters = CommandHandler.make(Aggregate.make({
  name: "Counter",
  command: Add,
  event: Schema.Union([Added, Noted]),
  initialState: 0,
  decide: (command: Add) => Effect.succeed([new Added({ amount: command.amount }), new Noted()]),
  evolve: (total: number, event: Added | Noted) => event._tag === "Added" ? total + event.amount : total
}))
