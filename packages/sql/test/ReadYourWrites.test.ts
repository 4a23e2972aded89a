/**
 * Read your own writes on a server: transactions that cannot append events (another database's,
 * an unrelated write, an idle one that took an id, an ANALYZE of the events table) hold no reader
 * back, and a decision made after an append sees it, even while an older transaction that
 * appends is still open.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  CheckpointStore,
  Decision,
  DecisionHandler,
  Documents,
  EventQuery,
  EventStore,
  Processor,
  Projection,
  type ProjectionStore,
  Transactor
} from "@facta/core"
import { Postgres } from "@facta/sql"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Effect, Exit, Fiber, type Layer, Option, Redacted, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

const url = () => inject("databaseUrl")
const stores = () => Postgres.layer({ url: Redacted.make(url()), schema: "ryw" })
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

/** A client of another database on the same server, created for the test. */
const otherDatabase = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const name = `ryw_other_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`
  yield* sql`CREATE DATABASE ${sql(name)}`
  const other = new URL(url())
  other.pathname = `/${name}`
  return PgClient.layer({ url: Redacted.make(other.toString()), maxConnections: 1 })
})

/**
 * Runs `hold` in a transaction on `client`'s connection and keeps it open until the returned
 * release is run; returns once `hold` has run.
 */
const holdOpen = <R>(hold: Effect.Effect<unknown, unknown, SqlClient.SqlClient>, client: Layer.Layer<SqlClient.SqlClient, unknown, R>) =>
  Effect.gen(function*() {
    const opened = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkChild(Effect.provide(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.gen(function*() {
          yield* hold
          yield* Deferred.succeed(opened, undefined)
          yield* Deferred.await(release)
        }))),
      client
    ))
    // A holder that fails before it has opened its transaction fails the test here.
    yield* Effect.raceFirst(Deferred.await(opened), Effect.andThen(Fiber.join(fiber), Effect.die("the transaction ended before it was opened")))
    return Deferred.succeed(release, undefined).pipe(Effect.andThen(Fiber.join(fiber)), Effect.asVoid)
  })

class CourseDefined extends Schema.TaggedClass<CourseDefined>()("CourseDefined", { courseId: Schema.String }) {}
class StudentRegistered extends Schema.TaggedClass<StudentRegistered>()("StudentRegistered", { studentId: Schema.String }) {}
class Subscribed extends Schema.TaggedClass<Subscribed>()("Subscribed", { courseId: Schema.String, studentId: Schema.String }) {}
class CourseNotFound extends Schema.TaggedError<CourseNotFound>()("CourseNotFound", { courseId: Schema.String }) {}
class StudentNotFound extends Schema.TaggedError<StudentNotFound>()("StudentNotFound", { studentId: Schema.String }) {}
const CourseEvent = Schema.Union([CourseDefined, StudentRegistered, Subscribed])
type CourseEvent = typeof CourseEvent.Type

const tagsOf = (event: CourseEvent) =>
  event._tag === "CourseDefined"
    ? [`course:${event.courseId}`]
    : event._tag === "StudentRegistered"
    ? [`student:${event.studentId}`]
    : [`course:${event.courseId}`, `student:${event.studentId}`]

const exists = (tag: string) => Decision.projection({ query: EventQuery.make({ tags: [tag] }), initial: false, evolve: () => true })

const define = DecisionHandler.make(Decision.make({
  name: "define",
  command: Schema.Struct({ courseId: Schema.String }),
  event: CourseEvent,
  state: (command) => ({ defined: exists(`course:${command.courseId}`) }),
  decide: (command) => Effect.succeed([new CourseDefined(command)]),
  tags: tagsOf,
  streamId: (command) => `course-${command.courseId}`
}))

const register = DecisionHandler.make(Decision.make({
  name: "register",
  command: Schema.Struct({ studentId: Schema.String }),
  event: CourseEvent,
  state: (command) => ({ registered: exists(`student:${command.studentId}`) }),
  decide: (command) => Effect.succeed([new StudentRegistered(command)]),
  tags: tagsOf,
  streamId: (command) => `student-${command.studentId}`
}))

const subscribe = DecisionHandler.make(Decision.make({
  name: "subscribe",
  command: Schema.Struct({ courseId: Schema.String, studentId: Schema.String }),
  event: CourseEvent,
  state: (command) => ({ course: exists(`course:${command.courseId}`), student: exists(`student:${command.studentId}`) }),
  decide: (command, { course, student }): Effect.Effect<ReadonlyArray<CourseEvent>, CourseNotFound | StudentNotFound> =>
    !course
      ? Effect.fail(new CourseNotFound({ courseId: command.courseId }))
      : !student
      ? Effect.fail(new StudentNotFound({ studentId: command.studentId }))
      : Effect.succeed([new Subscribed(command)]),
  tags: tagsOf,
  streamId: (command) => `subscription-${command.courseId}-${command.studentId}`
}))

/** `define → register → subscribe`, one after the other, `times` times: the refusals counted. */
const sequences = (times: number) =>
  Effect.gen(function*() {
    let refused = 0
    for (let i = 0; i < times; i++) {
      const courseId = unique("c")
      const studentId = unique("s")
      yield* define.handle({ courseId })
      yield* register.handle({ studentId })
      const exit = yield* Effect.exit(subscribe.handle({ courseId, studentId }))
      if (Exit.isFailure(exit)) refused++
    }
    return refused
  })

/** Appends an event, then reads it back by its tag, by the log (as a processor does), `times` times: the misses counted. */
const appendThenRead = (times: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    let missedByQuery = 0
    let missedByLog = 0
    for (let i = 0; i < times; i++) {
      const tag = `t:${unique("read")}`
      const appended = yield* store.append(unique("s"), [{ type: "Noted", data: {}, tags: [tag] }])
      const page = yield* store.readQueryPage(EventQuery.make({ tags: [tag] }))
      if (page.events.length !== 1) missedByQuery++
      const position = appended.events[0]!.position
      const readLog = Effect.map(store.readPage({ after: position - 1n, types: ["Noted"], batchSize: 10 }), (log) =>
        log.events.some((event) => event.position === position))
      // A transaction elsewhere in the cluster that ended between a read's snapshot and its look
      // at the locks keeps the gate for that one read (it may have appended); the next passes it.
      // A transaction still open must not hold the log back at all.
      if (!(yield* readLog) && !(yield* readLog)) missedByLog++
    }
    return { missedByQuery, missedByLog }
  })

/** A projection counting `type`'s events; the handle is live in the caller's scope. */
const counter = (type: string) => {
  const counts = Documents.make(`count-${type}`, Schema.Struct({ n: Schema.Int }))
  return Projection.make({
    name: `count-${type}`,
    event: Schema.TaggedStruct(type, {}),
    documents: [counts],
    handlers: {
      [type]: () => Effect.flatMap(counts.get("all"), (current) => counts.upsert("all", { n: Option.match(current, { onNone: () => 1, onSome: (value) => value.n + 1 }) }))
    }
  } as never) as Processor.Processor<unknown, ProjectionStore.ProjectionStore>
}

/** While `hold` keeps a transaction open: reads see appends at once, and a projection catches up. */
const notHeldBack = <R>(hold: Effect.Effect<unknown, unknown, SqlClient.SqlClient>, client: Layer.Layer<SqlClient.SqlClient, unknown, R>) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const type = `Counted_${crypto.randomUUID().slice(0, 8)}`
    const release = yield* holdOpen(hold, client)
    const { missedByLog, missedByQuery } = yield* appendThenRead(100)
    const refused = yield* sequences(30)
    for (let i = 0; i < 200; i++) yield* store.append(unique("counted"), [{ type, data: {} }])
    const handle = yield* Processor.start(counter(type))
    // Its usual latency is milliseconds: a projection held back would wait for the release.
    const caughtUp = yield* Effect.timeoutOption(handle.whenCaughtUp, "5 seconds")
    const lag = yield* handle.lag
    yield* release
    assert.deepStrictEqual({ missedByQuery, missedByLog, refused, caughtUp: caughtUp._tag, lag }, {
      missedByQuery: 0,
      missedByLog: 0,
      refused: 0,
      caughtUp: "Some",
      lag: 0
    })
  }).pipe(Effect.scoped)

describe("read your writes on a server", () => {
  it.live("a write transaction open in another database holds no reader back", () =>
    Effect.gen(function*() {
      const client = yield* otherDatabase
      yield* notHeldBack(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT pg_current_xact_id()::text`), client)
    }).pipe(Effect.provide(stores())), { timeout: 120_000 })

  it.live("a write transaction on an unrelated table of the same database holds no reader back", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE IF NOT EXISTS ryw.unrelated (n integer)`
      yield* notHeldBack(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO ryw.unrelated VALUES (1)`),
        PgClient.layer({ url: Redacted.make(url()), maxConnections: 1 })
      )
    }).pipe(Effect.provide(stores())), { timeout: 120_000 })

  it.live("an idle transaction that took an id, and an ANALYZE of the events table left open, hold no reader back", () =>
    Effect.gen(function*() {
      const own = PgClient.layer({ url: Redacted.make(url()), maxConnections: 1 })
      yield* notHeldBack(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT txid_current()`), own)
      yield* notHeldBack(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ANALYZE ryw.facta_events`), own)
    }).pipe(Effect.provide(stores())), { timeout: 120_000 })

  it.live("define → register → subscribe, 2,000 times beside an ANALYZE of the events table left open: no wrong refusal", () =>
    Effect.gen(function*() {
      const release = yield* holdOpen(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ANALYZE ryw.facta_events`),
        PgClient.layer({ url: Redacted.make(url()), maxConnections: 1 })
      )
      const refused = yield* sequences(2_000)
      yield* release
      assert.strictEqual(refused, 0)
    }).pipe(Effect.scoped, Effect.provide(stores())), { timeout: 300_000 })

  it.live("a decision sees an append that returned, while an older transaction that appended is still open", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const transactor = yield* Transactor.Transactor
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // An appender older than the course's definition, still open when the student subscribes.
      const older = yield* Effect.forkChild(transactor.withTransaction(Effect.gen(function*() {
        yield* store.append(unique("older"), [{ type: "Older", data: {} }])
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(opened)
      const courseId = unique("c")
      const studentId = unique("s")
      yield* define.handle({ courseId })
      yield* register.handle({ studentId })
      const subscribed = yield* Effect.exit(subscribe.handle({ courseId, studentId }))
      // A processor does wait for it: the older transaction may still add events before these.
      const log = yield* Stream.runCollect(store.readAll({ types: ["CourseDefined"] }))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(older)
      assert.isTrue(Exit.isSuccess(subscribed), String(subscribed))
      assert.isFalse(log.some((event) => (event.data as { courseId?: string }).courseId === courseId))
    }).pipe(Effect.provide(stores())), { timeout: 60_000 })

  it.live("a transaction that wrote elsewhere and then appends behind an event a reader passed is refused, and no reader skips an event", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      yield* sql`CREATE TABLE IF NOT EXISTS ryw.unrelated (n integer)`
      const type = `Late_${crypto.randomUUID().slice(0, 8)}`
      const start = yield* store.head()
      const wrote = yield* Deferred.make<void>()
      const passed = yield* Deferred.make<void>()
      // Takes its id by writing an unrelated table, not announced: readers pass it by.
      const late = yield* Effect.forkChild(Effect.exit(sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO ryw.unrelated VALUES (1)`
        yield* Deferred.succeed(wrote, undefined)
        yield* Deferred.await(passed)
        yield* store.append(unique("late"), [{ type, data: {} }])
      }))))
      yield* Deferred.await(wrote)
      yield* store.append(unique("newer"), [{ type, data: {} }])
      const first = yield* store.readPage({ after: start, types: [type] })
      yield* Deferred.succeed(passed, undefined)
      const outcome = yield* Fiber.join(late)
      const rest = yield* store.readPage({ after: first.next, types: [type] })
      const all = yield* Stream.runCollect(store.readAll({ after: start, types: [type] }))
      // What the reader saw in two reads is all there is: nothing came in behind it.
      assert.strictEqual(first.events.length + rest.events.length, all.length)
      assert.isTrue(Exit.isFailure(outcome) && String(outcome.cause).includes("RetryTransaction"), String(outcome))
    }).pipe(Effect.provide(stores())), { timeout: 60_000 })

  it.live("a transaction run by the Transactor may write before it appends: it is waited for, not refused", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      const transactor = yield* Transactor.Transactor
      yield* sql`CREATE TABLE IF NOT EXISTS ryw.unrelated (n integer)`
      const type = `Announced_${crypto.randomUUID().slice(0, 8)}`
      const start = yield* store.head()
      const wrote = yield* Deferred.make<void>()
      const passed = yield* Deferred.make<void>()
      const writer = yield* Effect.forkChild(transactor.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO ryw.unrelated VALUES (1)`
        yield* Deferred.succeed(wrote, undefined)
        yield* Deferred.await(passed)
        yield* store.append(unique("announced"), [{ type, data: {} }])
      })))
      yield* Deferred.await(wrote)
      yield* store.append(unique("newer"), [{ type, data: {} }])
      const first = yield* store.readPage({ after: start, types: [type] })
      yield* Deferred.succeed(passed, undefined)
      yield* Fiber.join(writer)
      const rest = yield* store.readPage({ after: first.next, types: [type] })
      assert.strictEqual(first.events.length, 0, "the reader waits for the older transaction")
      assert.strictEqual(rest.events.length, 2)
    }).pipe(Effect.provide(stores())), { timeout: 60_000 })

  it.live("hasHandled waits for an older transaction still open: its events may come before the position, and do", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const checkpoints = yield* CheckpointStore.CheckpointStore
      const transactor = yield* Transactor.Transactor
      const type = `Awaited_${crypto.randomUUID().slice(0, 8)}`
      const processor = { name: unique("awaiting"), types: [type] }
      yield* checkpoints.replace(processor.name, { position: yield* store.head(), generation: 0 })
      const opened = yield* Deferred.make<bigint>()
      const release = yield* Deferred.make<void>()
      // An appender of the processor's type, older than the command, still open when it answers.
      const older = yield* Effect.forkChild(transactor.withTransaction(Effect.gen(function*() {
        const appended = yield* store.append(unique("older"), [{ type, data: {} }])
        yield* Deferred.succeed(opened, appended.events[0]!.position)
        yield* Deferred.await(release)
      })))
      const olderPosition = yield* Deferred.await(opened)
      // The command's event is of another type: nothing of the processor's is committed up to it.
      const command = yield* store.append(unique("command"), [{ type: "Unrelated", data: {} }])
      const position = command.events[0]!.position
      const whileOpen = yield* Processor.hasHandled(processor, position)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(older)
      assert.isFalse(whileOpen, "the open transaction may still add the processor's events before the position")
      assert.isTrue(olderPosition < position, "the older transaction's event comes first in the log")
      assert.isFalse(yield* Processor.hasHandled(processor, position), "its event is before the position and not handled")
      yield* checkpoints.replace(processor.name, { position: olderPosition, generation: 0 })
      assert.isTrue(yield* Processor.hasHandled(processor, position))
    }).pipe(Effect.provide(stores())), { timeout: 60_000 })
})
