/**
 * Course subscriptions, the example of the dynamic consistency boundary specification: a course
 * takes at most its capacity of students, a student at most five courses, and a user name is
 * taken once. No rule fits one stream: each decision reads the events its rule is about, by tag
 * (`course:c1`, `student:s7`, `username:ada`), and appends on the condition that none of them
 * changed meanwhile.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Decision, DecisionHandler, EventQuery } from "@facta/core"

// -------------------------------------------------------------------------------------
// values
// -------------------------------------------------------------------------------------

/**
 * A course or student id: letters, digits and dashes (it becomes part of tags and stream ids).
 *
 * @since 0.1.0
 */
export const Id = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9-]{1,40}$/))

/**
 * @since 0.1.0
 */
export const Capacity = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000 }))

/**
 * A user name: compared as given, after trimming and lower-casing.
 *
 * @since 0.1.0
 */
export const UserName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_.-]{1,32}$/))

/**
 * How many courses a student may take at once.
 *
 * @since 0.1.0
 */
export const maxCoursesPerStudent = 5

const course = (id: string) => `course:${id}`
const student = (id: string) => `student:${id}`
const username = (name: string) => `username:${name.toLowerCase()}`

// -------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class CourseDefined extends Schema.TaggedClass<CourseDefined>()("CourseDefined", { courseId: Id, capacity: Capacity }) {}

/**
 * @since 0.1.0
 */
export class CourseCapacityChanged extends Schema.TaggedClass<CourseCapacityChanged>()("CourseCapacityChanged", {
  courseId: Id,
  capacity: Capacity
}) {}

/**
 * @since 0.1.0
 */
export class StudentRegistered extends Schema.TaggedClass<StudentRegistered>()("StudentRegistered", { studentId: Id, name: UserName }) {}

/**
 * @since 0.1.0
 */
export class StudentSubscribed extends Schema.TaggedClass<StudentSubscribed>()("StudentSubscribed", { courseId: Id, studentId: Id }) {}

/**
 * @since 0.1.0
 */
export const Event = Schema.Union([CourseDefined, CourseCapacityChanged, StudentRegistered, StudentSubscribed])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

/** The tags each event is stored with: the ids the rules look it up by. */
const tagsOf = (event: Event): ReadonlyArray<string> => {
  switch (event._tag) {
    case "CourseDefined":
    case "CourseCapacityChanged":
      return [course(event.courseId)]
    case "StudentRegistered":
      return [student(event.studentId), username(event.name)]
    case "StudentSubscribed":
      return [course(event.courseId), student(event.studentId)]
  }
}

// -------------------------------------------------------------------------------------
// commands and refusals
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class DefineCourse extends Schema.TaggedClass<DefineCourse>()("DefineCourse", { courseId: Id, capacity: Capacity }) {}

/**
 * @since 0.1.0
 */
export class ChangeCapacity extends Schema.TaggedClass<ChangeCapacity>()("ChangeCapacity", { courseId: Id, capacity: Capacity }) {}

/**
 * @since 0.1.0
 */
export class RegisterStudent extends Schema.TaggedClass<RegisterStudent>()("RegisterStudent", { studentId: Id, name: UserName }) {}

/**
 * @since 0.1.0
 */
export class Subscribe extends Schema.TaggedClass<Subscribe>()("Subscribe", { courseId: Id, studentId: Id }) {}

/**
 * @since 0.1.0
 */
export class CourseExists extends Schema.TaggedError<CourseExists>()("CourseExists", { courseId: Schema.String }) {
  override get message() {
    return `Course ${this.courseId} is already defined`
  }
}

/**
 * @since 0.1.0
 */
export class CourseNotFound extends Schema.TaggedError<CourseNotFound>()("CourseNotFound", { courseId: Schema.String }) {
  override get message() {
    return `There is no course ${this.courseId}`
  }
}

/**
 * @since 0.1.0
 */
export class CourseFull extends Schema.TaggedError<CourseFull>()("CourseFull", { courseId: Schema.String, capacity: Schema.Number }) {
  override get message() {
    return `Course ${this.courseId} is full (${this.capacity} students)`
  }
}

/**
 * @since 0.1.0
 */
export class StudentExists extends Schema.TaggedError<StudentExists>()("StudentExists", { studentId: Schema.String }) {
  override get message() {
    return `Student ${this.studentId} is already registered`
  }
}

/**
 * @since 0.1.0
 */
export class NameTaken extends Schema.TaggedError<NameTaken>()("NameTaken", { name: Schema.String }) {
  override get message() {
    return `The user name "${this.name}" is taken`
  }
}

/**
 * @since 0.1.0
 */
export class StudentNotFound extends Schema.TaggedError<StudentNotFound>()("StudentNotFound", { studentId: Schema.String }) {
  override get message() {
    return `There is no student ${this.studentId}`
  }
}

/**
 * @since 0.1.0
 */
export class StudentAtLimit extends Schema.TaggedError<StudentAtLimit>()("StudentAtLimit", { studentId: Schema.String }) {
  override get message() {
    return `Student ${this.studentId} already takes ${maxCoursesPerStudent} courses`
  }
}

/**
 * @since 0.1.0
 */
export class AlreadySubscribed extends Schema.TaggedError<AlreadySubscribed>()("AlreadySubscribed", {
  courseId: Schema.String,
  studentId: Schema.String
}) {
  override get message() {
    return `Student ${this.studentId} already takes course ${this.courseId}`
  }
}

// -------------------------------------------------------------------------------------
// what the rules read
// -------------------------------------------------------------------------------------

/** A course: whether it exists, its capacity and its students. */
const courseState = (courseId: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["CourseDefined", "CourseCapacityChanged", "StudentSubscribed"], tags: [course(courseId)] }),
    initial: { defined: false, capacity: 0, students: [] as ReadonlyArray<string> },
    evolve: (state, event: Event) => {
      switch (event._tag) {
        case "CourseDefined":
        case "CourseCapacityChanged":
          return { ...state, defined: true, capacity: event.capacity }
        case "StudentSubscribed":
          return { ...state, students: [...state.students, event.studentId] }
        default:
          return state
      }
    }
  })

/** A student: whether they are registered, and how many courses they take. */
const studentState = (studentId: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["StudentRegistered", "StudentSubscribed"], tags: [student(studentId)] }),
    initial: { registered: false, courses: 0 },
    evolve: (state, event: Event) =>
      event._tag === "StudentRegistered" ? { ...state, registered: true } : event._tag === "StudentSubscribed" ? { ...state, courses: state.courses + 1 } : state
  })

/** Whether a user name is taken: any student registered with it. */
const nameState = (name: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["StudentRegistered"], tags: [username(name)] }),
    initial: false,
    evolve: () => true
  })

// -------------------------------------------------------------------------------------
// decisions
// -------------------------------------------------------------------------------------

const common = { event: Event, tags: tagsOf } as const

/**
 * @since 0.1.0
 */
export const defineCourse = Decision.make({
  ...common,
  name: "defineCourse",
  command: DefineCourse,
  state: (command: DefineCourse) => ({ course: courseState(command.courseId) }),
  decide: (command, { course }): Effect.Effect<ReadonlyArray<Event>, CourseExists> =>
    course.defined ? Effect.fail(new CourseExists({ courseId: command.courseId })) : Effect.succeed([new CourseDefined({ courseId: command.courseId, capacity: command.capacity })]),
  streamId: (command) => `course-${command.courseId}`
})

/**
 * A capacity below the students the course has is refused: nobody is unsubscribed by it.
 *
 * @since 0.1.0
 */
export const changeCapacity = Decision.make({
  ...common,
  name: "changeCapacity",
  command: ChangeCapacity,
  state: (command: ChangeCapacity) => ({ course: courseState(command.courseId) }),
  decide: (command, { course }): Effect.Effect<ReadonlyArray<Event>, CourseNotFound | CourseFull> =>
    !course.defined
      ? Effect.fail(new CourseNotFound({ courseId: command.courseId }))
      : command.capacity < course.students.length
      ? Effect.fail(new CourseFull({ courseId: command.courseId, capacity: course.students.length }))
      : Effect.succeed(command.capacity === course.capacity ? [] : [new CourseCapacityChanged({ courseId: command.courseId, capacity: command.capacity })]),
  streamId: (command) => `course-${command.courseId}`
})

/**
 * A user name is taken once, across all students.
 *
 * @since 0.1.0
 */
export const registerStudent = Decision.make({
  ...common,
  name: "registerStudent",
  command: RegisterStudent,
  state: (command: RegisterStudent) => ({ student: studentState(command.studentId), name: nameState(command.name) }),
  decide: (command, state): Effect.Effect<ReadonlyArray<Event>, StudentExists | NameTaken> =>
    state.student.registered
      ? Effect.fail(new StudentExists({ studentId: command.studentId }))
      : state.name
      ? Effect.fail(new NameTaken({ name: command.name }))
      : Effect.succeed([new StudentRegistered({ studentId: command.studentId, name: command.name })]),
  streamId: (command) => `student-${command.studentId}`
})

/**
 * Both limits at once: the course's capacity and the student's five courses.
 *
 * @since 0.1.0
 */
export const subscribe = Decision.make({
  ...common,
  name: "subscribe",
  command: Subscribe,
  state: (command: Subscribe) => ({ course: courseState(command.courseId), student: studentState(command.studentId) }),
  decide: (command, state): Effect.Effect<ReadonlyArray<Event>, CourseNotFound | StudentNotFound | AlreadySubscribed | CourseFull | StudentAtLimit> => {
    if (!state.course.defined) return Effect.fail(new CourseNotFound({ courseId: command.courseId }))
    if (!state.student.registered) return Effect.fail(new StudentNotFound({ studentId: command.studentId }))
    if (state.course.students.includes(command.studentId)) return Effect.fail(new AlreadySubscribed({ courseId: command.courseId, studentId: command.studentId }))
    if (state.course.students.length >= state.course.capacity) {
      return Effect.fail(new CourseFull({ courseId: command.courseId, capacity: state.course.capacity }))
    }
    if (state.student.courses >= maxCoursesPerStudent) return Effect.fail(new StudentAtLimit({ studentId: command.studentId }))
    return Effect.succeed([new StudentSubscribed({ courseId: command.courseId, studentId: command.studentId })])
  },
  streamId: (command) => `student-${command.studentId}`
})

/**
 * The refusals a client can be shown.
 *
 * @since 0.1.0
 */
export type Refusal = CourseExists | CourseNotFound | CourseFull | StudentExists | NameTaken | StudentNotFound | StudentAtLimit | AlreadySubscribed

const refusals = new Set(["CourseExists", "CourseNotFound", "CourseFull", "StudentExists", "NameTaken", "StudentNotFound", "StudentAtLimit", "AlreadySubscribed"])

/**
 * @since 0.1.0
 */
export const isRefusal = (error: unknown): error is Refusal =>
  typeof error === "object" && error !== null && "_tag" in error && refusals.has(String(error._tag))

/**
 * The handlers of the four decisions.
 *
 * @since 0.1.0
 */
export const handlers = {
  defineCourse: DecisionHandler.make(defineCourse),
  changeCapacity: DecisionHandler.make(changeCapacity),
  registerStudent: DecisionHandler.make(registerStudent),
  subscribe: DecisionHandler.make(subscribe)
}
