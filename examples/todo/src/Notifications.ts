/**
 * Telling a todo's stakeholder that it was completed: a side effect, so it lives in a reactor,
 * not in the aggregate. The aggregate decides that the todo is completed; this reactor follows
 * the log and, for each `TodoCompleted` with a stakeholder email, sends a message through the
 * `Notifier` service and records the fact as a `StakeholderNotified` event.
 *
 * The recorded event is appended with the reactor's `emit`, so it carries the completion's
 * correlation id and names the completion event as its cause: the log explains why every
 * message was sent.
 *
 * Delivery is at least once, as for every reactor: the reactor sees an event again when the
 * batch it was in failed and is retried, or when the process died before the batch committed.
 * Two things keep repeats rare and harmless:
 * - before sending, it looks for the todo's notification stream and skips a todo already
 *   notified; the event is appended expecting no such stream, so two racing deliveries cannot
 *   both record one;
 * - it passes the delivery's `idempotencyKey` (the same for every delivery of one event) to the
 *   notifier, so a real mail service can drop a repeat that slipped in between sending and
 *   committing the record.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Ref, Schema, Stream } from "effect"
import { EventStore, Reactor } from "@facta/core"
import * as Todo from "./Todo.ts"

// -------------------------------------------------------------------------------------
// the notifier
// -------------------------------------------------------------------------------------

/**
 * A message could not be sent. The reactor fails with it, so the processor retries the event.
 *
 * @since 0.1.0
 */
export class NotificationFailed extends Schema.TaggedError<NotificationFailed>()("NotificationFailed", {
  email: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message() {
    return `Could not notify ${this.email}`
  }
}

/**
 * A message as the notifier was asked to send it.
 *
 * @since 0.1.0
 */
export interface Notification {
  readonly email: string
  readonly message: string
  /** The same for every attempt to send this message; a mail service can deduplicate by it. */
  readonly idempotencyKey: string | undefined
}

/**
 * What the test notifier was asked to send, in order.
 *
 * @since 0.1.0
 */
export class SentNotifications
  extends Context.Service<SentNotifications, Ref.Ref<ReadonlyArray<Notification>>>()("@facta/example-todo/SentNotifications")
{}

/**
 * Sends messages to people. This example logs them (`Notifier.layerLog`); a real service would
 * call a mail API here. Tests record them (`Notifier.layerTest`).
 *
 * @since 0.1.0
 */
export class Notifier extends Context.Service<Notifier, {
  readonly notify: (
    email: string,
    message: string,
    options?: { readonly idempotencyKey?: string | undefined }
  ) => Effect.Effect<void, NotificationFailed>
}>()("@facta/example-todo/Notifier") {
  /**
   * Writes each message to the log.
   *
   * @since 0.1.0
   */
  static readonly layerLog: Layer.Layer<Notifier> = Layer.succeed(Notifier, {
    notify: Effect.fn("Notifier.notify")(function*(email, message, options) {
      yield* Effect.logInfo(`Notify ${email}: ${message}`).pipe(
        Effect.annotateLogs({ idempotencyKey: options?.idempotencyKey ?? "none" })
      )
    })
  })

  /**
   * Records each message in {@link SentNotifications}, for tests to inspect.
   *
   * @since 0.1.0
   */
  static readonly layerTest: Layer.Layer<Notifier | SentNotifications> = Layer.effect(
    Notifier,
    Effect.map(Effect.service(SentNotifications), (sent) => ({
      notify: (email: string, message: string, options?: { readonly idempotencyKey?: string | undefined }) =>
        Ref.update(sent, (all) => [...all, { email, message, idempotencyKey: options?.idempotencyKey }])
    }))
  ).pipe(Layer.provideMerge(Layer.effect(SentNotifications, Ref.make<ReadonlyArray<Notification>>([]))))
}

// -------------------------------------------------------------------------------------
// the reactor
// -------------------------------------------------------------------------------------

/**
 * The record that a todo's stakeholder was told of its completion.
 *
 * @since 0.1.0
 */
export class StakeholderNotified extends Schema.TaggedClass<StakeholderNotified>()("StakeholderNotified", {
  todo_id: Schema.String,
  email: Schema.String
}) {}

/**
 * The stream that records a todo's notifications. It is not the todo's own stream: that one
 * belongs to the aggregate, which alone decides what is appended to it. Stream ids are
 * `<category>-<id>` with categories free of `-` (`todo`, `notification`), so no todo id can
 * name this stream (`todo-notifications-x` was once the todo `notifications-x`'s).
 *
 * @since 0.1.0
 */
export const notificationStreamId = (todoId: string): string => `notification-${todoId}`

/**
 * The message a stakeholder receives.
 *
 * @since 0.1.0
 */
export const completionMessage = (completed: Todo.TodoCompleted): string =>
  `Todo "${completed.title}" (${completed.todo_id}) was completed on ${completed.completed_on}.`

/**
 * Notifies the stakeholder of every completed todo that has one, once.
 *
 * @since 0.1.0
 */
export const StakeholderNotifier = Reactor.make({
  name: "stakeholder-notifier",
  event: Todo.Event,
  emits: [StakeholderNotified],
  handlers: {
    TodoCompleted: ({ data }, { emit, idempotencyKey }) =>
      Effect.gen(function*() {
        const email = data.stakeholder_email
        if (email === null) return
        const streamId = notificationStreamId(data.todo_id)
        const store = yield* EventStore.EventStore
        const recorded = yield* Stream.runHead(store.readStream(streamId))
        if (Option.isSome(recorded)) return
        const notifier = yield* Notifier
        yield* notifier.notify(email, completionMessage(data), { idempotencyKey })
        yield* emit(streamId, [new StakeholderNotified({ todo_id: data.todo_id, email })], { expectedVersion: "noStream" })
      })
  }
})
