/**
 * Type tests: what users rely on the compiler to infer for aggregates, written as the README
 * writes one (no annotations): the command, event and state types, the domain errors `decide`
 * fails with, the `tags` option, and the given/when/then helper. They are checked by the type
 * check that `npm test` runs first (a wrong inference fails it); at run time each test also
 * checks the aggregate it built.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Aggregate, type RecordedEvent } from "@facta/core"
import { AggregateTest } from "@facta/core/testing"

class Lock extends Schema.TaggedClass<Lock>()("Lock", { by: Schema.String }) {}
class Unlock extends Schema.TaggedClass<Unlock>()("Unlock", {}) {}
class Locked extends Schema.TaggedClass<Locked>()("Locked", { by: Schema.String }) {}
class Unlocked extends Schema.TaggedClass<Unlocked>()("Unlocked", {}) {}
class AlreadyLocked extends Schema.TaggedError<AlreadyLocked>()("AlreadyLocked", { by: Schema.String }) {}
class NotLocked extends Schema.TaggedError<NotLocked>()("NotLocked", {}) {}
/** Belongs to no aggregate here: the helpers must refuse it. */
class Rang extends Schema.TaggedClass<Rang>()("Rang", {}) {}

type DoorCommand = Lock | Unlock
type DoorEvent = Locked | Unlocked
type DoorError = AlreadyLocked | NotLocked
/** What the initial state's literal widens to: no Schema pins it. */
type DoorState = { locked: boolean; by: string }

const Door = Aggregate.make({
  name: "Door",
  command: Schema.Union([Lock, Unlock]),
  event: Schema.Union([Locked, Unlocked]),
  initialState: { locked: false, by: "" },
  decide: (command, state) =>
    Effect.gen(function*() {
      switch (command._tag) {
        case "Lock":
          if (state.locked) return yield* new AlreadyLocked({ by: state.by })
          return [new Locked({ by: command.by })]
        case "Unlock":
          if (!state.locked) return yield* new NotLocked()
          return [new Unlocked()]
      }
    }),
  evolve: (state, event) => event._tag === "Locked" ? { locked: true, by: event.by } : { ...state, locked: false }
})

describe("aggregate types", () => {
  it("make infers the command and event types from their Schemas, the state from the initial state, the domain errors from decide", () => {
    expectTypeOf<Aggregate.Command<typeof Door>>().toEqualTypeOf<DoorCommand>()
    expectTypeOf<Aggregate.Event<typeof Door>>().toEqualTypeOf<DoorEvent>()
    expectTypeOf<Aggregate.State<typeof Door>>().toEqualTypeOf<DoorState>()
    expectTypeOf<Aggregate.DomainError<typeof Door>>().toEqualTypeOf<DoorError>()
    expectTypeOf(Door).toEqualTypeOf<Aggregate.Aggregate<DoorCommand, DoorEvent, DoorState, DoorError>>()
    assert.deepStrictEqual(Aggregate.fold(Door, [new Locked({ by: "ada" }), new Unlocked()]), { locked: false, by: "ada" })
  })

  it("decide, evolve and the event codec are typed by the aggregate's types", () => {
    expectTypeOf(Door.decide).parameters.toEqualTypeOf<[DoorCommand, DoorState]>()
    expectTypeOf(Door.decide).returns.toEqualTypeOf<Effect.Effect<ReadonlyArray<DoorEvent>, DoorError>>()
    expectTypeOf(Door.evolve).toEqualTypeOf<(state: DoorState, event: DoorEvent) => DoorState>()
    expectTypeOf(Door.events).toEqualTypeOf<RecordedEvent.EventCodec<DoorEvent>>()
    assert.deepStrictEqual([...Door.events.knownTypes ?? []].sort(), ["Locked", "Unlocked"])
  })

  it("a decide that cannot fail has no domain error, and a state Schema gives the state its type", () => {
    const Counter = Aggregate.make({
      name: "Counter",
      command: Lock,
      event: Locked,
      state: Schema.Struct({ count: Schema.Int }),
      initialState: { count: 0 },
      decide: (command) => Effect.succeed([new Locked({ by: command.by })]),
      evolve: (state) => ({ count: state.count + 1 })
    })
    expectTypeOf<Aggregate.DomainError<typeof Counter>>().toBeNever()
    expectTypeOf<Aggregate.State<typeof Counter>>().toEqualTypeOf<{ readonly count: number }>()
    expectTypeOf<Aggregate.Command<typeof Counter>>().toEqualTypeOf<Lock>()
    assert.deepStrictEqual(Aggregate.fold(Counter, [new Locked({ by: "a" }), new Locked({ by: "b" })]), { count: 2 })
  })

  it.effect("tags are given the aggregate's event and the stream id, return strings, and change none of its types", () =>
    Effect.gen(function*() {
      const TaggedDoor = Aggregate.make({
        ...Door,
        tags: (event, streamId) => {
          expectTypeOf(event).toEqualTypeOf<DoorEvent>()
          expectTypeOf(streamId).toBeString()
          return event._tag === "Locked" ? [`door:${streamId}`, `person:${event.by}`] : [`door:${streamId}`]
        }
      })
      expectTypeOf(TaggedDoor).toEqualTypeOf<typeof Door>()
      expectTypeOf(TaggedDoor.tags).toEqualTypeOf<((event: DoorEvent, streamId: string) => ReadonlyArray<string>) | undefined>()
      // @ts-expect-error: tags are strings
      Aggregate.make({ ...Door, tags: () => [1] })
      assert.deepStrictEqual(yield* AggregateTest.given(TaggedDoor).when(new Lock({ by: "ada" })).tags("door-1"), [["door:door-1", "person:ada"]])
    }))

  it.effect("given/when/then takes the aggregate's events and commands, and is typed by its events, state and domain errors", () =>
    Effect.gen(function*() {
      const given = AggregateTest.given(Door, new Locked({ by: "ada" }))
      expectTypeOf(given.state).toEqualTypeOf<DoorState>()
      const unlock = given.when(new Unlock())
      expectTypeOf(unlock.result).toEqualTypeOf<Effect.Effect<ReadonlyArray<DoorEvent>, DoorError>>()
      expectTypeOf(unlock.thenEvents).toEqualTypeOf<(...expected: ReadonlyArray<DoorEvent>) => Effect.Effect<DoorState>>()
      expectTypeOf(unlock.thenFails).parameter(0).toEqualTypeOf<DoorError | ((error: DoorError) => boolean)>()
      expectTypeOf(unlock.tags).returns.toEqualTypeOf<Effect.Effect<ReadonlyArray<ReadonlyArray<string>>, DoorError>>()
      // @ts-expect-error: an event of no aggregate here
      AggregateTest.given(Door, new Rang())
      // @ts-expect-error: a command of no aggregate here
      given.when(new Rang())

      const state = yield* unlock.thenEvents(new Unlocked())
      assert.deepStrictEqual(state, { locked: false, by: "ada" })
      yield* given.when(new Lock({ by: "bob" })).thenFails((error) => error._tag === "AlreadyLocked" && error.by === "ada")
    }))
})
