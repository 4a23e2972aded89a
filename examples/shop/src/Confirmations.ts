/**
 * Confirming orders to customers: a side effect, so it is a reactor that follows the log, not
 * part of placing the order. For each `OrderPlaced` it sends the customer a confirmation through
 * the `Mailer` and records it as `ConfirmationSent`, in a stream of the order's confirmation.
 *
 * Once per order:
 * - the record's stream is created once (`expectedVersion: "noStream"`), and an order whose
 *   confirmation is recorded is not confirmed again, even when the reactor is rebuilt and
 *   replays the log;
 * - the record commits with the reactor's checkpoint, but the mail goes out before: a batch
 *   that fails after sending is run again and sends again. The delivery's `idempotencyKey`, the
 *   same each time, lets the mail service drop the repeat.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Ref, Schema, Stream } from "effect"
import { EventStore, Reactor } from "@facta/core"
import * as Order from "./Order.ts"

// -------------------------------------------------------------------------------------
// the mailer
// -------------------------------------------------------------------------------------

/**
 * A confirmation as the mailer was asked to send it.
 *
 * @since 0.1.0
 */
export interface Mail {
  readonly to: string
  readonly text: string
  /** The same for every attempt to send this mail: a mail service drops a repeat by it. */
  readonly idempotencyKey: string
}

/**
 * Sends mail to customers. The demo and the tests keep it, to show and check what was sent
 * (`Mailer.layerMemory`); a real one would call a mail service, passing the idempotency key.
 *
 * @since 0.1.0
 */
export class Mailer extends Context.Service<Mailer, {
  readonly send: (mail: Mail) => Effect.Effect<void>
  /** What was sent, in order. */
  readonly sent: Effect.Effect<ReadonlyArray<Mail>>
}>()("@facta/example-shop/Mailer") {
  /**
   * Keeps every mail it is asked to send, repeats included, so that they can be counted.
   *
   * @since 0.1.0
   */
  static readonly layerMemory: Layer.Layer<Mailer> = Layer.effect(
    Mailer,
    Effect.map(Ref.make<ReadonlyArray<Mail>>([]), (sent) => ({
      send: (mail: Mail) => Ref.update(sent, (all) => [...all, mail]),
      sent: Ref.get(sent)
    }))
  )
}

// -------------------------------------------------------------------------------------
// the reactor
// -------------------------------------------------------------------------------------

/**
 * The record that an order's customer was sent its confirmation.
 *
 * @since 0.1.0
 */
export class ConfirmationSent extends Schema.TaggedClass<ConfirmationSent>()("ConfirmationSent", {
  orderId: Schema.String,
  customer: Schema.String
}) {}

/**
 * The stream of an order's confirmation: not the order's own, which the decision writes.
 *
 * @since 0.1.0
 */
export const streamId = (orderId: string): string => `confirmation-${orderId}`

/**
 * The text of an order's confirmation.
 *
 * @since 0.1.0
 */
export const text = (order: Order.OrderPlaced): string =>
  `order ${order.orderId} confirmed: ${order.lines.map((line) => `${line.quantity} × ${line.productId}`).join(", ")}`

/**
 * @since 0.1.0
 */
export const reactor = Reactor.make({
  name: "order-confirmations",
  event: Order.Event,
  emits: [ConfirmationSent],
  handlers: {
    OrderPlaced: ({ data }, { emit, idempotencyKey }) =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        if (Option.isSome(yield* Stream.runHead(store.readStream(streamId(data.orderId))))) return
        yield* (yield* Mailer).send({ to: data.customer, text: text(data), idempotencyKey })
        yield* emit(streamId(data.orderId), [new ConfirmationSent({ orderId: data.orderId, customer: data.customer })], { expectedVersion: "noStream" })
      })
  }
})
