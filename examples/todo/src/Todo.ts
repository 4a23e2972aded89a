/**
 * A todo: the aggregate that guards one todo's life. It is added, may be amended while it is
 * outstanding, and ends either completed or abandoned; after that it no longer changes.
 *
 * The field names are snake_case, as the HTTP clients of this service spell them. That way the
 * command Schemas validate request bodies as they arrive, and a validation error names the very
 * field the client sent (`due_date: Expected a real calendar date`). Every command carries the
 * todo's id, because `decide` sees only the command and the state, and a refusal should say
 * which todo it is about.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"

// -------------------------------------------------------------------------------------
// values
// -------------------------------------------------------------------------------------

/**
 * Identifies a todo. It becomes part of stream ids and URLs, so it is kept to letters, digits,
 * `.`, `_` and `-`, and to 100 characters (the router's limit for a path parameter: a longer id
 * finds no route).
 *
 * @since 0.1.0
 */
export const TodoId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9._-]{1,100}$/, { expected: "an id of 1 to 100 letters, digits, '.', '_' or '-'" })
)

/**
 * The stream that holds a todo's events: category `todo`, then the id. A category holds no `-`,
 * so the part before the first `-` names the aggregate whatever the id is.
 *
 * @since 0.1.0
 */
export const streamId = (todoId: string): string => `todo-${todoId}`

/**
 * A calendar date written `YYYY-MM-DD` (ISO 8601), such as `2025-02-28`. `2025-02-30` has the
 * right shape but names no day, so it is refused too. Dates stay strings: a due date is a day,
 * not an instant, and has no time zone to get wrong.
 *
 * @since 0.1.0
 */
export const IsoDate = Schema.String.check(Schema.makeFilter((text: string) => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (match === null) return "Expected a date formatted as YYYY-MM-DD"
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const date = new Date(Date.UTC(year, month - 1, day))
  const exists = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  return exists || `Expected a real calendar date, got ${text}`
}))

/**
 * What the todo is about: required, and not just spaces.
 *
 * @since 0.1.0
 */
export const Title = Schema.String.check(
  Schema.isPattern(/\S/, { expected: "a title that is not blank" }),
  Schema.isMaxLength(200)
)

/**
 * @since 0.1.0
 */
export const Description = Schema.String.check(Schema.isMaxLength(2000))

/**
 * The person to tell when the todo is completed. The check is deliberately loose (something@domain.tld):
 * only sending a message proves an address.
 *
 * @since 0.1.0
 */
export const Email = Schema.String.check(
  Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { expected: "an email address" }),
  Schema.isMaxLength(254)
)

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

// Optional fields may also be `null`, which means "none": clients that read a todo from a list
// (where absent values are `null`) can send it back as it is.

/**
 * @since 0.1.0
 */
export class AddTodo extends Schema.TaggedClass<AddTodo>()("AddTodo", {
  todo_id: TodoId,
  title: Title,
  description: Schema.optionalKey(Schema.NullOr(Description)),
  due_date: Schema.optionalKey(Schema.NullOr(IsoDate)),
  stakeholder_email: Schema.optionalKey(Schema.NullOr(Email))
}) {}

/**
 * Changes any of the fields given: an absent field stays as it is, `null` removes an optional
 * one. Amending a field to the value it has changes nothing.
 *
 * @since 0.1.0
 */
export class AmendTodo extends Schema.TaggedClass<AmendTodo>()("AmendTodo", {
  todo_id: TodoId,
  title: Schema.optionalKey(Title),
  description: Schema.optionalKey(Schema.NullOr(Description)),
  due_date: Schema.optionalKey(Schema.NullOr(IsoDate)),
  stakeholder_email: Schema.optionalKey(Schema.NullOr(Email))
}) {}

/**
 * @since 0.1.0
 */
export class CompleteTodo extends Schema.TaggedClass<CompleteTodo>()("CompleteTodo", {
  todo_id: TodoId,
  completed_on: IsoDate
}) {}

/**
 * @since 0.1.0
 */
export class AbandonTodo extends Schema.TaggedClass<AbandonTodo>()("AbandonTodo", {
  todo_id: TodoId,
  abandoned_on: IsoDate
}) {}

/**
 * @since 0.1.0
 */
export const Command = Schema.Union([AddTodo, AmendTodo, CompleteTodo, AbandonTodo])

/**
 * @since 0.1.0
 */
export type Command = typeof Command.Type

// -------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------

// Events are facts that were checked when they happened; their Schemas describe shapes, not
// rules, so stored events still read after a rule changes. They carry what their readers need:
// `TodoCompleted` states the title and the stakeholder at that moment, which is what the
// notifying reactor needs, so it never has to read the todo's stream.

/**
 * @since 0.1.0
 */
export class TodoAdded extends Schema.TaggedClass<TodoAdded>()("TodoAdded", {
  todo_id: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  due_date: Schema.NullOr(Schema.String),
  stakeholder_email: Schema.NullOr(Schema.String)
}) {}

/**
 * Only the fields that changed, with their new values (`null`: removed).
 *
 * @since 0.1.0
 */
export class TodoAmended extends Schema.TaggedClass<TodoAmended>()("TodoAmended", {
  todo_id: Schema.String,
  title: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.NullOr(Schema.String)),
  due_date: Schema.optionalKey(Schema.NullOr(Schema.String)),
  stakeholder_email: Schema.optionalKey(Schema.NullOr(Schema.String))
}) {}

/**
 * @since 0.1.0
 */
export class TodoCompleted extends Schema.TaggedClass<TodoCompleted>()("TodoCompleted", {
  todo_id: Schema.String,
  completed_on: Schema.String,
  title: Schema.String,
  stakeholder_email: Schema.NullOr(Schema.String)
}) {}

/**
 * @since 0.1.0
 */
export class TodoAbandoned extends Schema.TaggedClass<TodoAbandoned>()("TodoAbandoned", {
  todo_id: Schema.String,
  abandoned_on: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export const Event = Schema.Union([TodoAdded, TodoAmended, TodoCompleted, TodoAbandoned])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class TodoAlreadyExists extends Schema.TaggedError<TodoAlreadyExists>()("TodoAlreadyExists", {
  todo_id: Schema.String
}) {
  override get message() {
    return `Todo "${this.todo_id}" already exists`
  }
}

/**
 * @since 0.1.0
 */
export class TodoNotFound extends Schema.TaggedError<TodoNotFound>()("TodoNotFound", {
  todo_id: Schema.String
}) {
  override get message() {
    return `Todo "${this.todo_id}" does not exist`
  }
}

/**
 * @since 0.1.0
 */
export class TodoAlreadyCompleted extends Schema.TaggedError<TodoAlreadyCompleted>()("TodoAlreadyCompleted", {
  todo_id: Schema.String,
  completed_on: Schema.String
}) {
  override get message() {
    return `Todo "${this.todo_id}" is already completed (on ${this.completed_on})`
  }
}

/**
 * @since 0.1.0
 */
export class TodoAlreadyAbandoned extends Schema.TaggedError<TodoAlreadyAbandoned>()("TodoAlreadyAbandoned", {
  todo_id: Schema.String,
  abandoned_on: Schema.String
}) {
  override get message() {
    return `Todo "${this.todo_id}" is already abandoned (on ${this.abandoned_on})`
  }
}

/**
 * Every business rule a command can break.
 *
 * @since 0.1.0
 */
export type TodoError = TodoAlreadyExists | TodoNotFound | TodoAlreadyCompleted | TodoAlreadyAbandoned

// -------------------------------------------------------------------------------------
// state
// -------------------------------------------------------------------------------------

/**
 * What a todo says; absent optional fields are `null`.
 *
 * @since 0.1.0
 */
export interface Details {
  readonly todo_id: string
  readonly title: string
  readonly description: string | null
  readonly due_date: string | null
  readonly stakeholder_email: string | null
}

/**
 * A todo as its events leave it.
 *
 * @since 0.1.0
 */
export type State =
  | { readonly status: "absent" }
  | Details & { readonly status: "outstanding" }
  | Details & { readonly status: "completed"; readonly completed_on: string }
  | Details & { readonly status: "abandoned"; readonly abandoned_on: string }

// -------------------------------------------------------------------------------------
// the aggregate
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export const Todo = Aggregate.make({
  name: "Todo",
  command: Command,
  event: Event,
  initialState: { status: "absent" } as State,
  decide: (command, state) =>
    Effect.gen(function*() {
      const { todo_id } = command
      if (command._tag === "AddTodo") {
        if (state.status !== "absent") return yield* new TodoAlreadyExists({ todo_id })
        return [
          new TodoAdded({
            todo_id,
            title: command.title,
            description: command.description ?? null,
            due_date: command.due_date ?? null,
            stakeholder_email: command.stakeholder_email ?? null
          })
        ]
      }
      // Every other command changes a todo that exists and is still outstanding.
      switch (state.status) {
        case "absent":
          return yield* new TodoNotFound({ todo_id })
        case "completed":
          return yield* new TodoAlreadyCompleted({ todo_id, completed_on: state.completed_on })
        case "abandoned":
          return yield* new TodoAlreadyAbandoned({ todo_id, abandoned_on: state.abandoned_on })
      }
      switch (command._tag) {
        case "AmendTodo": {
          // Only what differs becomes part of the event; an amendment that changes nothing
          // stores nothing, so repeating a PUT is harmless.
          const changed = <K extends keyof Details>(key: K, value: Details[K] | undefined) =>
            value === undefined || value === state[key] ? {} : { [key]: value } as Pick<Details, K>
          const changes = {
            ...changed("title", command.title),
            ...changed("description", command.description),
            ...changed("due_date", command.due_date),
            ...changed("stakeholder_email", command.stakeholder_email)
          }
          return Object.keys(changes).length === 0 ? [] : [new TodoAmended({ todo_id, ...changes })]
        }
        case "CompleteTodo":
          return [
            new TodoCompleted({
              todo_id,
              completed_on: command.completed_on,
              title: state.title,
              stakeholder_email: state.stakeholder_email
            })
          ]
        case "AbandonTodo":
          return [new TodoAbandoned({ todo_id, abandoned_on: command.abandoned_on })]
      }
    }),
  evolve: (state, event): State => {
    switch (event._tag) {
      case "TodoAdded": {
        const { _tag: _, ...details } = event
        return { ...details, status: "outstanding" }
      }
      case "TodoAmended": {
        // Only an outstanding todo is amended (decide sees to it); the guard keeps evolve total.
        if (state.status !== "outstanding") return state
        const { _tag: _, ...changes } = event
        return { ...state, ...changes }
      }
      case "TodoCompleted":
        return state.status === "outstanding" ? { ...state, status: "completed", completed_on: event.completed_on } : state
      case "TodoAbandoned":
        return state.status === "outstanding" ? { ...state, status: "abandoned", abandoned_on: event.abandoned_on } : state
    }
  }
})
