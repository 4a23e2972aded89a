/**
 * What a command handler gives on every store: commands pinned to the version their caller saw
 * (`expectedVersion`), alone, with a `commandId`, with snapshots and in a race; events tagged by
 * their aggregate, which a `Decision` reads and conditions on. A Vitest suite that takes the
 * stores' Layer. Tests use fresh stream ids and tags, so they can share one database with other
 * tests.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, type Layer, Option, Ref, Result, Schedule, Schema, Stream } from "effect"
import * as Aggregate from "../Aggregate.ts"
import * as CommandHandler from "../CommandHandler.ts"
import * as Decision from "../Decision.ts"
import * as DecisionHandler from "../DecisionHandler.ts"
import * as EventQuery from "../EventQuery.ts"
import { AppendConditionFailed, defaultBatchSize, EventStore, type ExpectedVersion, WrongExpectedVersion } from "../EventStore.ts"
import { SnapshotStore } from "../SnapshotStore.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

class Add extends Schema.TaggedClass<Add>()("Add", { amount: Schema.Int }) {}
class Added extends Schema.TaggedClass<Added>()("Added", { amount: Schema.Int }) {}

/**
 * A counter whose decisions are counted. Each decision runs `beforeDecide` first: a barrier, in
 * a race, holds every handling between its load and its append until all have loaded.
 */
const counter = (options?: {
  readonly beforeDecide?: Effect.Effect<void> | undefined
  readonly snapshotEvery?: number | undefined
}) => {
  let decisions = 0
  const aggregate = Aggregate.make({
    name: "Counter",
    command: Add,
    event: Added,
    state: Schema.Number,
    initialState: 0,
    decide: (command: Add) =>
      Effect.sync(() => decisions++).pipe(
        Effect.andThen(options?.beforeDecide ?? Effect.void),
        Effect.as([new Added({ amount: command.amount })])
      ),
    evolve: (total: number, event: Added) => total + event.amount
  })
  const handler = CommandHandler.make(aggregate, {
    ...(options?.snapshotEvery === undefined ? {} : { snapshot: { every: options.snapshotEvery, schemaVersion: 1 } })
  })
  return { handler, decisions: () => decisions }
}

class Enrol extends Schema.TaggedClass<Enrol>()("Enrol", { student: Schema.String }) {}
class Enrolled extends Schema.TaggedClass<Enrolled>()("Enrolled", { student: Schema.String }) {}

/** A course, one stream each; its enrolments are tagged with the course's stream and the student. */
const courses = CommandHandler.make(Aggregate.make({
  name: "Course",
  command: Enrol,
  event: Enrolled,
  initialState: 0,
  decide: (command: Enrol) => Effect.succeed([new Enrolled({ student: command.student })]),
  evolve: (enrolled: number) => enrolled + 1,
  tags: (event: Enrolled, streamId: string) => [`course:${streamId}`, `student:${event.student}`]
}))

const studentsEnrolments = (student: string) => EventQuery.make({ types: ["Enrolled"], tags: [`student:${student}`] })

class EnrolWithinLimit extends Schema.TaggedClass<EnrolWithinLimit>()("EnrolWithinLimit", { course: Schema.String, student: Schema.String }) {}
class TooManyCourses extends Schema.TaggedError<TooManyCourses>()("TooManyCourses", { student: Schema.String, courses: Schema.Number }) {}

/** A rule across courses, which the aggregate cannot keep: a student takes at most two. */
const withinLimit = DecisionHandler.make(Decision.make({
  name: "EnrolWithinLimit",
  command: EnrolWithinLimit,
  event: Enrolled,
  state: (command: EnrolWithinLimit) => ({
    courses: Decision.projection({ query: studentsEnrolments(command.student), initial: 0, evolve: (count: number) => count + 1 })
  }),
  decide: (command, { courses }) =>
    courses >= 2
      ? Effect.fail(new TooManyCourses({ student: command.student, courses }))
      : Effect.succeed([new Enrolled({ student: command.student })]),
  tags: (event) => [`student:${event.student}`],
  streamId: (command) => command.course
}))

class CountEnrolments extends Schema.TaggedClass<CountEnrolments>()("CountEnrolments", { student: Schema.String }) {}

/** Counts a student's enrolments, however many, and records one more. */
const countEnrolments = DecisionHandler.make(Decision.make({
  name: "CountEnrolments",
  command: CountEnrolments,
  event: Enrolled,
  state: (command: CountEnrolments) => ({
    enrolments: Decision.projection({ query: studentsEnrolments(command.student), initial: 0, evolve: (count: number) => count + 1 })
  }),
  decide: (command) => Effect.succeed([new Enrolled({ student: command.student })]),
  tags: (event) => [`student:${event.student}`],
  streamId: (command) => `tally-${command.student}`
}))

/** An effect that waits until `parties` fibers have run it. */
const barrier = (parties: number) =>
  Effect.gen(function*() {
    const arrived = yield* Ref.make(0)
    const all = yield* Deferred.make<void>()
    return Effect.gen(function*() {
      if ((yield* Ref.updateAndGet(arrived, (n) => n + 1)) >= parties) yield* Deferred.succeed(all, undefined)
      yield* Deferred.await(all)
    })
  })

const stored = (streamId: string) => EventStore.use((store) => Stream.runCollect(store.readStream(streamId)))

/** Fails unless `effect` fails with the `WrongExpectedVersion` of `streamId`, `expected` and `actual`. */
const expectRefused = <A, E, R>(effect: Effect.Effect<A, E, R>, streamId: string, expected: ExpectedVersion, actual: number) =>
  Effect.gen(function*() {
    const error: unknown = yield* Effect.flip(effect)
    assert.deepStrictEqual(error, new WrongExpectedVersion({ streamId, expected, actual }))
  })

/** Waits for the snapshot a command took in the background. */
const snapshotAt = (streamId: string, version: number) =>
  SnapshotStore.use((store) => store.load(streamId)).pipe(
    Effect.flatMap((found) => Option.isSome(found) && found.value.version >= version ? Effect.succeed(found.value) : Effect.fail("not yet" as const)),
    Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 500 })
  )

/**
 * Registers the suite for the stores that `storesLayer` provides.
 *
 * @since 0.1.0
 */
export const commandHandlerConformance = <E>(name: string, storesLayer: Layer.Layer<EventStore | SnapshotStore, E>): void =>
  layer(storesLayer, { excludeTestServices: true, timeout: "60 seconds" })(`CommandHandler conformance: ${name}`, (it) => {
    it.effect("a command pinned to a version is decided and appended only at that version; at any other it is refused without deciding", () =>
      Effect.gen(function*() {
        const { decisions, handler } = counter()
        const streamId = unique("pinned")
        yield* handler.execute(streamId, new Add({ amount: 1 }))
        const accepted = yield* handler.execute(streamId, new Add({ amount: 2 }), { expectedVersion: 1 })
        assert.deepStrictEqual([accepted.version, accepted.state], [2, 3])
        assert.strictEqual(decisions(), 2)
        for (const expected of [1, 0, 5]) {
          yield* expectRefused(handler.execute(streamId, new Add({ amount: 4 }), { expectedVersion: expected }), streamId, expected, 2)
        }
        assert.strictEqual(decisions(), 2, "a refused command is not decided")
        assert.deepStrictEqual((yield* stored(streamId)).map((event) => event.data), [{ amount: 1 }, { amount: 2 }])
        // Through `handle` too, from unknown input.
        const handled = yield* handler.handle(streamId, { _tag: "Add", amount: 3 }, { expectedVersion: 2 })
        assert.strictEqual(handled.version, 3)
        yield* expectRefused(handler.handle(streamId, { _tag: "Add", amount: 3 }, { expectedVersion: 2 }), streamId, 2, 3)
      }))

    it.effect("noStream creates a stream only where there is none; streamExists refuses a stream without events", () =>
      Effect.gen(function*() {
        const { decisions, handler } = counter()
        const streamId = unique("created")
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 1 }), { expectedVersion: "streamExists" }), streamId, "streamExists", 0)
        assert.strictEqual(decisions(), 0)
        assert.strictEqual((yield* stored(streamId)).length, 0)
        const created = yield* handler.execute(streamId, new Add({ amount: 1 }), { expectedVersion: "noStream" })
        assert.strictEqual(created.version, 1)
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 1 }), { expectedVersion: "noStream" }), streamId, "noStream", 1)
        assert.strictEqual((yield* handler.execute(streamId, new Add({ amount: 1 }), { expectedVersion: "streamExists" })).version, 2)
        assert.strictEqual((yield* handler.execute(streamId, new Add({ amount: 1 }), { expectedVersion: "any" })).version, 3)
        assert.strictEqual(decisions(), 3)
      }))

    it.effect("two handlings pinned at one version race: one appends, the other fails with WrongExpectedVersion and is not decided again", () =>
      Effect.gen(function*() {
        const bothLoaded = yield* barrier(2)
        const { decisions, handler } = counter({ beforeDecide: bothLoaded })
        const streamId = unique("pinned-race")
        yield* EventStore.use((store) => store.append(streamId, [{ type: "Added", data: { amount: 1 } }]))
        const outcomes = yield* Effect.forEach(
          [10, 20],
          (amount) => Effect.result(handler.execute(streamId, new Add({ amount }), { expectedVersion: 1 })),
          { concurrency: "unbounded" }
        )
        const won = outcomes.filter(Result.isSuccess)
        const lost = outcomes.filter(Result.isFailure)
        const described = outcomes.map((outcome) => Result.isSuccess(outcome) ? `version ${outcome.success.version}` : outcome.failure._tag)
        assert.strictEqual(won.length, 1, `outcomes: ${described.join(", ")}`)
        assert.strictEqual(won[0]!.success.version, 2)
        assert.deepStrictEqual(lost.map((outcome) => outcome.failure), [new WrongExpectedVersion({ streamId, expected: 1, actual: 2 })])
        assert.strictEqual(decisions(), 2, "each handling decided once")
        const events = yield* stored(streamId)
        assert.deepStrictEqual(events.map((event) => event.data), [{ amount: 1 }, { amount: won[0]!.success.state - 1 }])
      }))

    it.effect("with a commandId, a handled command pinned to a version answers its first result even after the version moved on", () =>
      Effect.gen(function*() {
        const { handler } = counter()
        const streamId = unique("pinned-idempotent")
        const first = yield* handler.execute(streamId, new Add({ amount: 5 }), { commandId: "add-5", expectedVersion: 0 })
        yield* handler.execute(streamId, new Add({ amount: 7 }))
        // The caller tries its request again, with the version it saw then.
        const again = yield* handler.execute(streamId, new Add({ amount: 5 }), { commandId: "add-5", expectedVersion: 0 })
        assert.deepStrictEqual([again.version, again.state], [1, 5])
        assert.deepStrictEqual(again.events.map((event) => event.id), first.events.map((event) => event.id))
        // Another command pinned to that version is refused.
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 5 }), { commandId: "add-5b", expectedVersion: 0 }), streamId, 0, 2)
        assert.strictEqual((yield* stored(streamId)).length, 2)
      }))

    it.effect("concurrent handlings of one commandId pinned at one version: one appends, and all answer its result", () =>
      Effect.gen(function*() {
        const allLoaded = yield* barrier(4)
        const { decisions, handler } = counter({ beforeDecide: allLoaded })
        const streamId = unique("pinned-idempotent-race")
        const results = yield* Effect.forEach(
          Array.from({ length: 4 }),
          () => handler.execute(streamId, new Add({ amount: 3 }), { commandId: "once", expectedVersion: "noStream" }),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(results.map((result) => `${result.version}:${result.state}`)), new Set(["1:3"]))
        assert.strictEqual(decisions(), 4, "each handling decided once, on the version it loaded")
        assert.strictEqual((yield* stored(streamId)).length, 1)
        // A different command pinned to the version they saw is refused.
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 3 }), { commandId: "twice", expectedVersion: "noStream" }), streamId, "noStream", 1)
      }))

    it.effect("a pinned command is checked against the stream's version, not its snapshot's", () =>
      Effect.gen(function*() {
        const { handler } = counter({ snapshotEvery: 2 })
        const streamId = unique("pinned-snapshot")
        for (const amount of [1, 2, 3]) yield* handler.execute(streamId, new Add({ amount }))
        assert.strictEqual((yield* snapshotAt(streamId, 2)).version, 2)
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 4 }), { expectedVersion: 2 }), streamId, 2, 3)
        assert.strictEqual((yield* handler.execute(streamId, new Add({ amount: 4 }), { expectedVersion: 3 })).version, 4)
        // Loaded from a snapshot at the stream's last version, with no event after it.
        assert.strictEqual((yield* snapshotAt(streamId, 4)).version, 4)
        const fromSnapshot = yield* handler.execute(streamId, new Add({ amount: 5 }), { expectedVersion: 4 })
        assert.deepStrictEqual([fromSnapshot.version, fromSnapshot.state], [5, 15])
        yield* expectRefused(handler.execute(streamId, new Add({ amount: 6 }), { expectedVersion: 4 }), streamId, 4, 5)
      }))

    it.effect("a Decision whose query matches more than a page of events folds every page of them", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const student = unique("student")
        const history = defaultBatchSize + 100
        yield* store.append(unique("course"), Array.from({ length: history }, () => ({ type: "Enrolled", data: { student }, tags: [`student:${student}`] })))
        assert.strictEqual((yield* countEnrolments.execute(new CountEnrolments({ student }))).state.enrolments, history)
        assert.strictEqual((yield* countEnrolments.execute(new CountEnrolments({ student }))).state.enrolments, history + 1)
      }))

    it.effect("an aggregate's events are stored with its tags; a Decision reads them, and its condition breaks on one appended after its read", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const student = unique("student")
        const [first, second, third] = [unique("course"), unique("course"), unique("course")]
        const enrolled = yield* courses.execute(first, new Enrol({ student }))
        assert.deepStrictEqual(enrolled.events.map((event) => event.tags), [[`course:${first}`, `student:${student}`]])
        assert.deepStrictEqual((yield* stored(first)).map((event) => event.tags), [[`course:${first}`, `student:${student}`]])
        // The decision counts the enrolment the aggregate made, and its own.
        const decided = yield* withinLimit.execute(new EnrolWithinLimit({ course: second, student }))
        assert.strictEqual(decided.state.courses, 1)
        assert.deepStrictEqual(
          yield* Effect.flip(withinLimit.execute(new EnrolWithinLimit({ course: third, student }))),
          new TooManyCourses({ student, courses: 2 })
        )
        // A decision's read, then the aggregate appends an event its query matches: the condition breaks on it.
        const read = yield* store.readQueryPage(studentsEnrolments(student))
        assert.strictEqual(read.events.length, 2)
        const meanwhile = yield* courses.execute(third, new Enrol({ student }))
        const refused = yield* Effect.flip(store.appendIf(unique("course"), [{ type: "Enrolled", data: { student }, tags: [`student:${student}`] }], {
          failIfEventsMatch: studentsEnrolments(student),
          after: read.marker
        }))
        assert.instanceOf(refused, AppendConditionFailed)
        assert.strictEqual((refused as AppendConditionFailed).eventId, meanwhile.events[0]!.id)
        // An enrolment of another student breaks nothing.
        const now = yield* store.readQueryPage(studentsEnrolments(student))
        yield* courses.execute(third, new Enrol({ student: unique("student") }))
        const accepted = yield* store.appendIf(unique("course"), [{ type: "Enrolled", data: { student }, tags: [`student:${student}`] }], {
          failIfEventsMatch: studentsEnrolments(student),
          after: now.marker
        })
        assert.strictEqual(accepted.events.length, 1)
      }))
  })
