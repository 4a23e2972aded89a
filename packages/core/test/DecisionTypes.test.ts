/**
 * Type tests: what users rely on the compiler to infer for decisions, written without
 * annotations: the command and event types, the states of the projections `decide` sees, its
 * domain errors, what `DecisionHandler.make`'s `handle` and `execute` succeed and fail with, and the
 * given/when/then helper. They are checked by the type check that `npm test` runs first (a wrong
 * inference fails it); at run time each test also checks the decision it built.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { type ClosedStreams, Decision, DecisionHandler, EventQuery, EventStore, InMemory, Transactor, type InvalidInput, type RecordedEvent, ValidationError } from "@facta/core"
import { DecisionTest } from "@facta/core/testing"

class DefineCourse extends Schema.TaggedClass<DefineCourse>()("DefineCourse", { courseId: Schema.String, capacity: Schema.Int }) {}
class Subscribe extends Schema.TaggedClass<Subscribe>()("Subscribe", { courseId: Schema.String, studentId: Schema.String }) {}
class CourseDefined extends Schema.TaggedClass<CourseDefined>()("CourseDefined", { courseId: Schema.String, capacity: Schema.Int }) {}
class StudentSubscribed extends Schema.TaggedClass<StudentSubscribed>()("StudentSubscribed", { courseId: Schema.String, studentId: Schema.String }) {}
const CourseEvent = Schema.Union([CourseDefined, StudentSubscribed])
type CourseEvent = CourseDefined | StudentSubscribed
class CourseNotFound extends Schema.TaggedError<CourseNotFound>()("CourseNotFound", { courseId: Schema.String }) {}
class CourseFull extends Schema.TaggedError<CourseFull>()("CourseFull", { courseId: Schema.String }) {}
/** Belongs to no decision here: the helpers must refuse it. */
class Rang extends Schema.TaggedClass<Rang>()("Rang", {}) {}

/** What the initial states' literals widen to. */
type Course = { defined: boolean; capacity: number; students: number }
type SubscribeError = CourseNotFound | CourseFull
/** Spelled out rather than `DecisionHandler.HandleError`, so that a new error fails this test. */
type StoreError =
  | EventStore.AppendConditionFailed
  | EventStore.WrongExpectedVersion
  | ClosedStreams.StreamArchived
  | ClosedStreams.StreamDeleted
  | Transactor.RetryTransaction
  | EventStore.EventStoreError
  | RecordedEvent.EventDecodeError
  | RecordedEvent.EventEncodeError
  | InvalidInput.InvalidInput

const courseState = (courseId: string) =>
  Decision.projection({
    query: EventQuery.make({ tags: [`course:${courseId}`] }),
    initial: { defined: false, capacity: 0, students: 0 },
    evolve: (state, event: CourseEvent) =>
      event._tag === "CourseDefined" ? { ...state, defined: true, capacity: event.capacity } : { ...state, students: state.students + 1 }
  })

const subscribedState = (studentId: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["StudentSubscribed"], tags: [`student:${studentId}`] }),
    initial: false,
    evolve: () => true
  })

const tags = (event: CourseEvent) =>
  event._tag === "CourseDefined" ? [`course:${event.courseId}`] : [`course:${event.courseId}`, `student:${event.studentId}`]

const defineCourse = Decision.make({
  name: "defineCourse",
  command: DefineCourse,
  event: CourseEvent,
  state: (command) => ({ course: courseState(command.courseId) }),
  decide: (command) => Effect.succeed([new CourseDefined({ courseId: command.courseId, capacity: command.capacity })]),
  tags,
  streamId: (command) => `course-${command.courseId}`
})

// decide yields its errors in Effect.gen, which infers their union; a conditional of Effect.fail
// calls would not be (its return type is then annotated, as in the courses example).
const subscribe = Decision.make({
  name: "subscribe",
  command: Subscribe,
  event: CourseEvent,
  state: (command) => ({ course: courseState(command.courseId), subscribed: subscribedState(command.studentId) }),
  decide: (command, { course, subscribed }) =>
    Effect.gen(function*() {
      if (!course.defined) return yield* new CourseNotFound({ courseId: command.courseId })
      if (subscribed) return []
      if (course.students >= course.capacity) return yield* new CourseFull({ courseId: command.courseId })
      return [new StudentSubscribed({ courseId: command.courseId, studentId: command.studentId })]
    }),
  tags,
  streamId: (command) => `student-${command.studentId}`
})

describe("decision types", () => {
  it("a projection's state is inferred from its initial state and evolve, its event from evolve", () => {
    expectTypeOf(courseState("c1")).toEqualTypeOf<Decision.StateOf<Course, CourseEvent>>()
    expectTypeOf(subscribedState("s1")).toEqualTypeOf<Decision.StateOf<boolean, unknown>>()
    const states = Decision.fold(
      { course: courseState("c1"), subscribed: subscribedState("s1") },
      [new CourseDefined({ courseId: "c1", capacity: 2 })].map((event) => ({ type: event._tag, tags: tags(event), data: event }))
    )
    expectTypeOf(states).toEqualTypeOf<{ readonly course: Course; readonly subscribed: boolean }>()
    assert.deepStrictEqual(states, { course: { defined: true, capacity: 2, students: 0 }, subscribed: false })
  })

  it("make infers the command and event types from their Schemas, the states decide sees from its projections, and the domain errors from decide", () => {
    expectTypeOf(subscribe.decide).parameters.toEqualTypeOf<[Subscribe, { readonly course: Course; readonly subscribed: boolean }]>()
    expectTypeOf(subscribe.decide).returns.toEqualTypeOf<Effect.Effect<ReadonlyArray<CourseEvent>, SubscribeError>>()
    expectTypeOf(subscribe.state).parameter(0).toEqualTypeOf<Subscribe>()
    expectTypeOf(subscribe.streamId).parameter(0).toEqualTypeOf<Subscribe>()
    expectTypeOf(subscribe.tags).parameter(0).toEqualTypeOf<CourseEvent>()
    expectTypeOf(subscribe.events).toEqualTypeOf<RecordedEvent.EventCodec<CourseEvent>>()
    // A decide that cannot fail has no domain error.
    expectTypeOf(defineCourse.decide).returns.toEqualTypeOf<Effect.Effect<ReadonlyArray<CourseEvent>>>()
    assert.strictEqual(subscribe.streamId(new Subscribe({ courseId: "c1", studentId: "s1" })), "student-s1")
    assert.deepStrictEqual([...subscribe.events.knownTypes ?? []].sort(), ["CourseDefined", "StudentSubscribed"])
  })

  it.effect("a handler succeeds with the events, the states decided on and the attempts; handle fails with a validation error, the domain's or the store's, execute with no validation error", () =>
    Effect.gen(function*() {
      const subscriptions = DecisionHandler.make(subscribe)
      const handled = subscriptions.handle({ _tag: "Subscribe", courseId: "c1", studentId: "s1" })
      expectTypeOf(subscriptions.handle).parameter(0).toBeUnknown()
      expectTypeOf<Effect.Success<typeof handled>>().toEqualTypeOf<
        DecisionHandler.Decided<CourseEvent, { readonly course: Course; readonly subscribed: boolean }>
      >()
      expectTypeOf<Effect.Success<typeof handled>["events"]>().toEqualTypeOf<ReadonlyArray<RecordedEvent.RecordedEvent<CourseEvent>>>()
      expectTypeOf<Effect.Error<typeof handled>>().toEqualTypeOf<ValidationError.ValidationError | SubscribeError | StoreError>()
      expectTypeOf<DecisionHandler.HandleError>().toEqualTypeOf<StoreError>()
      expectTypeOf<Effect.Services<typeof handled>>().toEqualTypeOf<EventStore.EventStore>()
      expectTypeOf(subscriptions.execute).parameter(0).toEqualTypeOf<Subscribe>()
      expectTypeOf<Effect.Error<ReturnType<typeof subscriptions.execute>>>().toEqualTypeOf<SubscribeError | StoreError>()
      const definitions = DecisionHandler.make(defineCourse)
      expectTypeOf<Effect.Error<ReturnType<typeof definitions.execute>>>().toEqualTypeOf<StoreError>()
      // @ts-expect-error: execute takes a command of the decision
      subscriptions.execute(new DefineCourse({ courseId: "c1", capacity: 1 }))

      assert.deepStrictEqual(yield* Effect.flip(handled), new CourseNotFound({ courseId: "c1" }))
      yield* definitions.execute(new DefineCourse({ courseId: "c1", capacity: 1 }))
      const decided = yield* handled
      assert.deepStrictEqual([decided.attempts, decided.state, decided.events.map((event) => event.tags)], [
        1,
        { course: { defined: true, capacity: 1, students: 0 }, subscribed: false },
        [["course:c1", "student:s1"]]
      ])
      assert.instanceOf(yield* Effect.flip(subscriptions.handle({ _tag: "Subscribe", courseId: "c1" })), ValidationError.ValidationError)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("given/when/then takes the decision's events and commands, and is typed by its events and domain errors", () =>
    Effect.gen(function*() {
      const given = DecisionTest.given(subscribe, new CourseDefined({ courseId: "c1", capacity: 1 }))
      const when = given.when(new Subscribe({ courseId: "c1", studentId: "s1" }))
      expectTypeOf(when.result).toEqualTypeOf<Effect.Effect<ReadonlyArray<CourseEvent>, SubscribeError>>()
      expectTypeOf(when.thenEvents).toEqualTypeOf<(...expected: ReadonlyArray<CourseEvent>) => Effect.Effect<void>>()
      expectTypeOf(when.thenFails).parameter(0).toEqualTypeOf<SubscribeError | ((error: SubscribeError) => boolean)>()
      // @ts-expect-error: an event of no decision here
      DecisionTest.given(subscribe, new Rang())
      // @ts-expect-error: a command of another decision
      given.when(new DefineCourse({ courseId: "c1", capacity: 1 }))

      yield* when.thenEvents(new StudentSubscribed({ courseId: "c1", studentId: "s1" }))
      yield* DecisionTest.given(subscribe, new CourseDefined({ courseId: "c1", capacity: 1 }), new StudentSubscribed({ courseId: "c1", studentId: "s2" }))
        .when(new Subscribe({ courseId: "c1", studentId: "s1" }))
        .thenFails(new CourseFull({ courseId: "c1" }))
    }))
})
