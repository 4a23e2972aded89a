/**
 * The course rules: given/when/then on the decisions alone, then the handlers on memory, PGlite
 * and a Postgres server, racing for places and names.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { EventQuery, EventStore, InMemory } from "@facta/core"
import { DecisionTest } from "@facta/core/testing"
import { Embedded, Postgres } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, type Layer, Redacted, Result, Stream } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { inject } from "vitest"
import * as Courses from "../src/Courses.ts"

const { registerStudent, subscribe } = Courses.handlers
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

describe("course rules", () => {
  it.effect("a course takes its capacity, a student five courses, and both must exist", () =>
    Effect.gen(function*() {
      const defined = new Courses.CourseDefined({ courseId: "c1", capacity: 2 })
      const registered = (studentId: string) => new Courses.StudentRegistered({ studentId, name: studentId })
      const subscribed = (courseId: string, studentId: string) => new Courses.StudentSubscribed({ courseId, studentId })
      const wants = (courseId: string, studentId: string) => new Courses.Subscribe({ courseId, studentId })
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s1")).when(wants("c1", "s1")).thenEvents(subscribed("c1", "s1"))
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s3"), subscribed("c1", "s1"), subscribed("c1", "s2"))
        .when(wants("c1", "s3")).thenFails(new Courses.CourseFull({ courseId: "c1", capacity: 2 }))
      // A capacity raised later counts.
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s3"), subscribed("c1", "s1"), subscribed("c1", "s2"),
        new Courses.CourseCapacityChanged({ courseId: "c1", capacity: 3 })).when(wants("c1", "s3")).thenEvents(subscribed("c1", "s3"))
      const five = ["a", "b", "c", "d", "e"].map((course) => subscribed(course, "s1"))
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s1"), ...five).when(wants("c1", "s1"))
        .thenFails(new Courses.StudentAtLimit({ studentId: "s1" }))
      // Another student's courses are not this one's.
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s1"), ...["a", "b", "c", "d", "e"].map((course) => subscribed(course, "s9")))
        .when(wants("c1", "s1")).thenEvents(subscribed("c1", "s1"))
      yield* DecisionTest.given(Courses.subscribe, registered("s1")).when(wants("c1", "s1")).thenFails(new Courses.CourseNotFound({ courseId: "c1" }))
      yield* DecisionTest.given(Courses.subscribe, defined).when(wants("c1", "s1")).thenFails(new Courses.StudentNotFound({ studentId: "s1" }))
      yield* DecisionTest.given(Courses.subscribe, defined, registered("s1"), subscribed("c1", "s1")).when(wants("c1", "s1"))
        .thenFails(new Courses.AlreadySubscribed({ courseId: "c1", studentId: "s1" }))
    }))

  it.effect("a user name is taken once, whatever its case", () =>
    Effect.gen(function*() {
      yield* DecisionTest.given(Courses.registerStudent, new Courses.StudentRegistered({ studentId: "s1", name: "Ada" }))
        .when(new Courses.RegisterStudent({ studentId: "s2", name: "ada" })).thenFails(new Courses.NameTaken({ name: "ada" }))
      yield* DecisionTest.given(Courses.registerStudent, new Courses.StudentRegistered({ studentId: "s1", name: "Ada" }))
        .when(new Courses.RegisterStudent({ studentId: "s2", name: "grace" })).thenEvents(new Courses.StudentRegistered({ studentId: "s2", name: "grace" }))
    }))
})

const onStores = (name: string, stores: Layer.Layer<EventStore.EventStore, unknown>) =>
  layer(stores, { excludeTestServices: true, timeout: "120 seconds" })(`courses on ${name}`, (it) => {
    it.effect("of 16 students racing for the last 2 places, 2 win and the others are told the course is full", () =>
      Effect.gen(function*() {
        const course = unique("course")
        yield* Courses.handlers.defineCourse.execute(new Courses.DefineCourse({ courseId: course, capacity: 3 }))
        const students = Array.from({ length: 17 }, () => unique("s"))
        for (const student of students) yield* registerStudent.execute(new Courses.RegisterStudent({ studentId: student, name: student }))
        yield* subscribe.execute(new Courses.Subscribe({ courseId: course, studentId: students[16]! }))
        const results = yield* Effect.forEach(students.slice(0, 16), (student) =>
          Effect.result(subscribe.execute(new Courses.Subscribe({ courseId: course, studentId: student }))), { concurrency: "unbounded" })
        assert.strictEqual(results.filter(Result.isSuccess).length, 2)
        for (const result of results) if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "CourseFull")
        const stored = yield* EventStore.EventStore.use((store) =>
          Stream.runCollect(store.readQuery(EventQuery.make({ types: ["StudentSubscribed"], tags: [`course:${course}`] }))))
        assert.strictEqual(stored.length, 3)
        assert.deepStrictEqual(stored[0]!.tags, [`course:${course}`, `student:${students[16]}`])
      }))

    it.effect("of 8 registrations racing for one user name, one wins", () =>
      Effect.gen(function*() {
        const name = unique("name")
        const results = yield* Effect.forEach(Array.from({ length: 8 }, () => unique("s")), (student) =>
          Effect.result(registerStudent.execute(new Courses.RegisterStudent({ studentId: student, name }))), { concurrency: "unbounded" })
        assert.strictEqual(results.filter(Result.isSuccess).length, 1)
        for (const result of results) if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "NameTaken")
      }))

    it.effect("a command that is not valid is refused with the field that is wrong, and nothing is written", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(subscribe.handle({ _tag: "Subscribe", courseId: "no spaces allowed", studentId: "s1" }))
        assert.strictEqual(error._tag, "ValidationError")
        assert.include(error.message, "courseId")
      }))
  })

onStores("memory", InMemory.layer)
onStores("embedded PGlite", Embedded.layer())
onStores("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "courses" }))

describe("npm run courses", () => {
  it("walks through on memory and on embedded Postgres, exiting 0", async () => {
    for (const args of [["--memory"], []]) {
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, ["--conditions=@facta/source", join(import.meta.dirname, "..", "src", "main.ts"), ...args], { timeout: 60_000 }, (error, stdout) =>
          resolve({ code: error === null ? 0 : 1, stdout })))
      assert.strictEqual(code, 0, stdout)
      assert.include(stdout, "3 accepted, 7 refused")
      assert.include(stdout, "1 accepted, 1 refused")
      assert.include(stdout, "Student keen already takes 5 courses")
    }
  }, 120_000)
})
