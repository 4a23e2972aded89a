/**
 * The read side: the three lists the API serves, kept up to date from the todos' events.
 *
 * - outstanding: every todo that was added and is neither completed nor abandoned;
 * - scheduled: the outstanding todos that have a due date, soonest first;
 * - completed: the completed todos, with the day each was completed.
 *
 * One projection keeps all three, because moving a todo from one list to another needs what the
 * projection already knows about it: a `TodoCompleted` event does not repeat the description
 * and due date, the outstanding list has them. The writes for one event commit together with
 * the projection's checkpoint, so a todo is never on the wrong lists, and never counted twice.
 *
 * The lists are documents in the `ProjectionStore` (in memory or in Postgres, whichever layer is
 * provided), stored as the JSON the API returns.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import { Documents, Projection } from "@facta/core"
import * as Todo from "./Todo.ts"

/**
 * A todo on the outstanding or scheduled list. Absent values are `null`, so every item has
 * every field.
 *
 * @since 0.1.0
 */
export const TodoItem = Schema.Struct({
  todo_id: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  due_date: Schema.NullOr(Schema.String),
  stakeholder_email: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 */
export type TodoItem = typeof TodoItem.Type

/**
 * A todo on the completed list.
 *
 * @since 0.1.0
 */
export const CompletedTodoItem = Schema.Struct({ ...TodoItem.fields, completed_on: Schema.String })

/**
 * @since 0.1.0
 */
export type CompletedTodoItem = typeof CompletedTodoItem.Type

const outstandingDocuments = Documents.make("todos-outstanding", TodoItem)
const scheduledDocuments = Documents.make("todos-scheduled", TodoItem)
const completedDocuments = Documents.make("todos-completed", CompletedTodoItem)

/** Puts the item on the scheduled list exactly when it has a due date. */
const schedule = (item: TodoItem) =>
  item.due_date === null ? scheduledDocuments.delete(item.todo_id) : scheduledDocuments.upsert(item.todo_id, item)

/**
 * The projection that keeps the three lists.
 *
 * @since 0.1.0
 */
export const TodoLists = Projection.make({
  name: "todo-lists",
  event: Todo.Event,
  handlers: {
    TodoAdded: ({ data }) =>
      Effect.gen(function*() {
        const { _tag: _, ...item } = data
        yield* outstandingDocuments.upsert(item.todo_id, item)
        yield* schedule(item)
      }),
    TodoAmended: ({ data }) =>
      Effect.gen(function*() {
        const { _tag: _, ...changes } = data
        const current = yield* outstandingDocuments.get(data.todo_id)
        // The aggregate amends outstanding todos only, which this list holds.
        if (Option.isNone(current)) return
        const item = { ...current.value, ...changes }
        yield* outstandingDocuments.upsert(item.todo_id, item)
        yield* schedule(item)
      }),
    TodoCompleted: ({ data }) =>
      Effect.gen(function*() {
        const current = yield* outstandingDocuments.get(data.todo_id)
        if (Option.isNone(current)) return
        yield* outstandingDocuments.delete(data.todo_id)
        yield* scheduledDocuments.delete(data.todo_id)
        yield* completedDocuments.upsert(data.todo_id, { ...current.value, completed_on: data.completed_on })
      }),
    TodoAbandoned: ({ data }) =>
      Effect.gen(function*() {
        yield* outstandingDocuments.delete(data.todo_id)
        yield* scheduledDocuments.delete(data.todo_id)
      })
  },
  // Its read model: a rebuild starts from empty lists and replays every todo event.
  documents: [outstandingDocuments, scheduledDocuments, completedDocuments]
})

// -------------------------------------------------------------------------------------
// queries
// -------------------------------------------------------------------------------------

// The store lists documents by id; each list is sorted for its reader here.

const byId = (a: { readonly todo_id: string }, b: { readonly todo_id: string }) =>
  a.todo_id.localeCompare(b.todo_id, "en", { numeric: true })

/**
 * The outstanding todos, by id.
 *
 * @since 0.1.0
 */
export const outstanding = Effect.map(outstandingDocuments.list, (documents) =>
  documents.map(({ document }) => document).sort(byId))

/**
 * The outstanding todos with a due date, soonest first (ISO dates sort as text).
 *
 * @since 0.1.0
 */
export const scheduled = Effect.map(scheduledDocuments.list, (documents) =>
  documents.map(({ document }) => document).sort((a, b) =>
    (a.due_date ?? "").localeCompare(b.due_date ?? "") || byId(a, b)))

/**
 * The completed todos, most recently completed first.
 *
 * @since 0.1.0
 */
export const completed = Effect.map(completedDocuments.list, (documents) =>
  documents.map(({ document }) => document).sort((a, b) =>
    b.completed_on.localeCompare(a.completed_on) || byId(a, b)))
