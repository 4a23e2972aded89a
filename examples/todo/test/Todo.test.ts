import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { CommandHandler, EventStore, InMemory } from "@facta/core"
import { AggregateTest } from "@facta/core/testing"
import {
  AbandonTodo,
  AddTodo,
  AmendTodo,
  CompleteTodo,
  streamId,
  Todo,
  TodoAbandoned,
  TodoAdded,
  TodoAlreadyAbandoned,
  TodoAlreadyCompleted,
  TodoAlreadyExists,
  TodoAmended,
  TodoCompleted,
  TodoNotFound
} from "../src/Todo.ts"

const added = new TodoAdded({
  todo_id: "42",
  title: "Write the report",
  description: null,
  due_date: "2025-03-01",
  stakeholder_email: "ada@example.com"
})
const completed = new TodoCompleted({
  todo_id: "42",
  completed_on: "2025-02-27",
  title: "Write the report",
  stakeholder_email: "ada@example.com"
})
const abandoned = new TodoAbandoned({ todo_id: "42", abandoned_on: "2025-02-27" })

const todos = CommandHandler.make(Todo)

describe("Todo", () => {
  describe("adding", () => {
    it.effect("adds a todo, with null for the fields not given", () =>
      Effect.gen(function*() {
        const state = yield* AggregateTest.given(Todo)
          .when(new AddTodo({ todo_id: "42", title: "Write the report" }))
          .thenEvents(new TodoAdded({ todo_id: "42", title: "Write the report", description: null, due_date: null, stakeholder_email: null }))
        assert.strictEqual(state.status, "outstanding")
      }))

    it.effect("refuses to add a todo that exists, whatever became of it", () =>
      Effect.forEach(
        [[added], [added, completed], [added, abandoned]],
        (history) =>
          AggregateTest.given(Todo, ...history)
            .when(new AddTodo({ todo_id: "42", title: "Again" }))
            .thenFails(new TodoAlreadyExists({ todo_id: "42" })),
        { discard: true }
      ))

    it("says which todo exists in the message", () => {
      assert.strictEqual(new TodoAlreadyExists({ todo_id: "42" }).message, `Todo "42" already exists`)
      assert.include(new TodoAlreadyCompleted({ todo_id: "42", completed_on: "2025-02-27" }).message, `Todo "42" is already completed`)
    })
  })

  describe("amending", () => {
    it.effect("records only the fields that change; null removes an optional field", () =>
      Effect.gen(function*() {
        const state = yield* AggregateTest.given(Todo, added)
          .when(new AmendTodo({ todo_id: "42", title: "Write the report", description: "Two pages", due_date: null }))
          .thenEvents(new TodoAmended({ todo_id: "42", description: "Two pages", due_date: null }))
        assert.deepStrictEqual(state, {
          todo_id: "42",
          title: "Write the report",
          description: "Two pages",
          due_date: null,
          stakeholder_email: "ada@example.com",
          status: "outstanding"
        })
      }))

    it.effect("an amendment that changes nothing decides no events", () =>
      AggregateTest.given(Todo, added)
        .when(new AmendTodo({ todo_id: "42", title: "Write the report", due_date: "2025-03-01" }))
        .thenEvents())

    it.effect("refuses to amend a missing, completed or abandoned todo", () =>
      Effect.gen(function*() {
        const amend = new AmendTodo({ todo_id: "42", title: "New" })
        yield* AggregateTest.given(Todo).when(amend).thenFails(new TodoNotFound({ todo_id: "42" }))
        yield* AggregateTest.given(Todo, added, completed).when(amend)
          .thenFails(new TodoAlreadyCompleted({ todo_id: "42", completed_on: "2025-02-27" }))
        yield* AggregateTest.given(Todo, added, abandoned).when(amend)
          .thenFails(new TodoAlreadyAbandoned({ todo_id: "42", abandoned_on: "2025-02-27" }))
      }))
  })

  describe("completing and abandoning", () => {
    it.effect("completes a todo, stating its title and stakeholder for the readers of the event", () =>
      AggregateTest.given(Todo, added)
        .when(new CompleteTodo({ todo_id: "42", completed_on: "2025-02-27" }))
        .thenEvents(completed))

    it.effect("abandons a todo", () =>
      AggregateTest.given(Todo, added)
        .when(new AbandonTodo({ todo_id: "42", abandoned_on: "2025-02-27" }))
        .thenEvents(abandoned))

    it.effect("refuses to complete or abandon a todo twice, or a missing one", () =>
      Effect.gen(function*() {
        const complete = new CompleteTodo({ todo_id: "42", completed_on: "2025-02-28" })
        const abandon = new AbandonTodo({ todo_id: "42", abandoned_on: "2025-02-28" })
        yield* AggregateTest.given(Todo).when(complete).thenFails(new TodoNotFound({ todo_id: "42" }))
        yield* AggregateTest.given(Todo).when(abandon).thenFails(new TodoNotFound({ todo_id: "42" }))
        const wasCompleted = new TodoAlreadyCompleted({ todo_id: "42", completed_on: "2025-02-27" })
        yield* AggregateTest.given(Todo, added, completed).when(complete).thenFails(wasCompleted)
        yield* AggregateTest.given(Todo, added, completed).when(abandon).thenFails(wasCompleted)
        const wasAbandoned = new TodoAlreadyAbandoned({ todo_id: "42", abandoned_on: "2025-02-27" })
        yield* AggregateTest.given(Todo, added, abandoned).when(complete).thenFails(wasAbandoned)
        yield* AggregateTest.given(Todo, added, abandoned).when(abandon).thenFails(wasAbandoned)
      }))
  })

  describe("validating input", () => {
    const invalid = (input: unknown) =>
      Effect.flip(todos.handle(streamId("42"), input)).pipe(Effect.provide(InMemory.eventStore))

    it.effect("names each invalid field", () =>
      Effect.gen(function*() {
        const error = yield* invalid({
          _tag: "AddTodo",
          todo_id: "42",
          title: "   ",
          due_date: "2025-02-30",
          stakeholder_email: "ada"
        })
        assert.strictEqual(error._tag, "ValidationError")
        if (error._tag !== "ValidationError") return
        assert.deepStrictEqual(error.issues.map(({ message, path }) => [path.join("."), message]), [
          ["title", "Expected a title that is not blank"],
          ["due_date", "Expected a real calendar date, got 2025-02-30"],
          ["stakeholder_email", "Expected an email address"]
        ])
      }))

    it.effect("accepts only YYYY-MM-DD dates that exist", () =>
      Effect.gen(function*() {
        for (const date of ["2025-2-1", "01/02/2025", "2025-02-01T00:00:00Z", "2025-13-01", "2025-02-29", "2025-04-31"]) {
          const error = yield* invalid({ _tag: "CompleteTodo", todo_id: "42", completed_on: date })
          assert.strictEqual(error._tag, "ValidationError", date)
          assert.include(error.message, "completed_on", date)
        }
        // 2024 is a leap year, so this date is valid; the todo does not exist, which is the next check.
        const error = yield* invalid({ _tag: "CompleteTodo", todo_id: "42", completed_on: "2024-02-29" })
        assert.strictEqual(error._tag, "TodoNotFound")
      }))

    it.effect("validates before applying business rules: malformed input on a missing todo is a validation error", () =>
      Effect.gen(function*() {
        const error = yield* invalid({ _tag: "AmendTodo", todo_id: "missing", due_date: "tomorrow" })
        assert.strictEqual(error._tag, "ValidationError")
        assert.strictEqual(error.message, "Invalid command of Todo: due_date: Expected a date formatted as YYYY-MM-DD")
        const sound = yield* invalid({ _tag: "AmendTodo", todo_id: "missing", due_date: "2025-03-01" })
        assert.strictEqual(sound._tag, "TodoNotFound")
      }))

    it.effect("stores nothing for a refused command", () =>
      Effect.gen(function*() {
        yield* todos.handle(streamId("42"), { _tag: "AddTodo", todo_id: "42", title: "Write the report" })
        yield* Effect.flip(todos.handle(streamId("42"), { _tag: "AddTodo", todo_id: "42", title: "Again" }))
        yield* Effect.flip(todos.handle(streamId("42"), { _tag: "AmendTodo", todo_id: "42", title: "" }))
        const store = yield* EventStore.EventStore
        const events = yield* Stream.runCollect(store.readStream(streamId("42")))
        assert.deepStrictEqual(events.map((event) => event.type), ["TodoAdded"])
      }).pipe(Effect.provide(InMemory.eventStore)))
  })
})
