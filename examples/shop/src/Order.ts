/**
 * Placing an order: a rule across products. An order may take units of several products, and
 * each of them must have the units in stock when it is placed, whatever other orders and
 * restocks do at the same moment. No stream holds that fact: a product's stream knows what it
 * was stocked with, and the orders know what they took.
 *
 * So the order is decided over a query rather than a stream: it reads every event tagged with
 * one of its products (the products' own, appended by their aggregate, and earlier orders'),
 * folds them into the stock available of each, and appends `OrderPlaced` tagged with each of
 * its products, on the condition that no event matching that query was committed since the
 * read. A concurrent order or restock touching any of its products breaks the condition, and
 * the order is decided again on the fresh stock; orders of other products never wait for it.
 *
 * @since 0.1.0
 */
import { Effect, Schedule, Schema } from "effect"
import { Decision, EventQuery } from "@facta/core"
import * as Product from "./Product.ts"

// -------------------------------------------------------------------------------------
// values
// -------------------------------------------------------------------------------------

/**
 * An order id: letters, digits and dashes (it becomes part of a tag and a stream id).
 *
 * @since 0.1.0
 */
export const OrderId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9-]{1,40}$/))

/**
 * @since 0.1.0
 */
export const Line = Schema.Struct({ productId: Product.ProductId, quantity: Product.Quantity })

/**
 * @since 0.1.0
 */
export type Line = typeof Line.Type

/**
 * How many products one order may take. Each is one item of the decision's query, and a query
 * has at most 100 items.
 *
 * @since 0.1.0
 */
export const maxLines = 20

/**
 * An order's lines: 1 to {@link maxLines}, each of a different product.
 *
 * @since 0.1.0
 */
export const Lines = Schema.Array(Line).check(
  Schema.isBetweenLength(1, maxLines),
  Schema.makeFilter((lines) =>
    new Set(lines.map((line) => line.productId)).size === lines.length || "each product may appear on one line only"
  )
)

/**
 * The stream that holds an order's events.
 *
 * @since 0.1.0
 */
export const streamId = (orderId: string): string => `order-${orderId}`

const orderTag = (orderId: string) => `order:${orderId}`

// -------------------------------------------------------------------------------------
// the command, its event and its refusals
// -------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export class PlaceOrder extends Schema.TaggedClass<PlaceOrder>()("PlaceOrder", {
  orderId: OrderId,
  customer: Schema.NonEmptyString,
  lines: Lines
}) {}

/**
 * The order, and the units it took from each product's stock.
 *
 * @since 0.1.0
 */
export class OrderPlaced extends Schema.TaggedClass<OrderPlaced>()("OrderPlaced", {
  orderId: Schema.String,
  customer: Schema.String,
  lines: Schema.Array(Schema.Struct({ productId: Schema.String, quantity: Schema.Int }))
}) {}

/**
 * Every event the decision reads or appends: the products' and its own.
 *
 * @since 0.1.0
 */
export const Event = Schema.Union([Product.ProductAdded, Product.Restocked, OrderPlaced])

/**
 * @since 0.1.0
 */
export type Event = typeof Event.Type

/**
 * @since 0.1.0
 */
export class OrderExists extends Schema.TaggedError<OrderExists>()("OrderExists", { orderId: Schema.String }) {
  override get message() {
    return `Order ${this.orderId} is already placed`
  }
}

/**
 * @since 0.1.0
 */
export class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", {
  productId: Schema.String,
  available: Schema.Int,
  requested: Schema.Int
}) {
  override get message() {
    return `Product ${this.productId} has ${this.available} units in stock, ${this.requested} were ordered`
  }
}

/**
 * The tags an event is stored with: each product it is about, and the order it belongs to. The
 * product aggregate tags its own events the same way (`Product.tag`).
 *
 * @since 0.1.0
 */
export const tagsOf = (event: Event): ReadonlyArray<string> => {
  switch (event._tag) {
    case "ProductAdded":
    case "Restocked":
      return [Product.tag(event.productId)]
    case "OrderPlaced":
      return [orderTag(event.orderId), ...event.lines.map((line) => Product.tag(line.productId))]
  }
}

// -------------------------------------------------------------------------------------
// what the rule reads
// -------------------------------------------------------------------------------------

/**
 * A product as an order sees it: whether it is listed, and how many units are available.
 *
 * @since 0.1.0
 */
export interface Stock {
  readonly listed: boolean
  readonly available: number
}

/** The stock of each of the products, from their events and the orders that took from them. */
const stockOf = (productIds: ReadonlyArray<string>) =>
  Decision.projection({
    query: EventQuery.make(
      ...productIds.map((productId) => ({ types: ["ProductAdded", "Restocked", "OrderPlaced"], tags: [Product.tag(productId)] }))
    ),
    initial: new Map(productIds.map((productId) => [productId, { listed: false, available: 0 }])) as ReadonlyMap<string, Stock>,
    evolve: (stock, event: Event) => {
      const next = new Map(stock)
      const change = (productId: string, f: (current: Stock) => Stock) => {
        const current = next.get(productId)
        // Other products of an earlier order are not this order's business.
        if (current !== undefined) next.set(productId, f(current))
      }
      switch (event._tag) {
        case "ProductAdded":
          change(event.productId, () => ({ listed: true, available: event.stock }))
          break
        case "Restocked":
          change(event.productId, (current) => ({ ...current, available: current.available + event.quantity }))
          break
        case "OrderPlaced":
          for (const line of event.lines) change(line.productId, (current) => ({ ...current, available: current.available - line.quantity }))
      }
      return next
    }
  })

/** Whether the order was placed already: an order id is used once. */
const placed = (orderId: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["OrderPlaced"], tags: [orderTag(orderId)] }),
    initial: false,
    evolve: () => true
  })

// -------------------------------------------------------------------------------------
// the decision
// -------------------------------------------------------------------------------------

/**
 * Every product of the order must be listed and have the units ordered; otherwise nothing is
 * taken from any of them.
 *
 * @since 0.1.0
 */
export const placeOrder = Decision.make({
  name: "placeOrder",
  command: PlaceOrder,
  event: Event,
  state: (command: PlaceOrder) => ({ placed: placed(command.orderId), stock: stockOf(command.lines.map((line) => line.productId)) }),
  decide: (command, state): Effect.Effect<ReadonlyArray<Event>, OrderExists | Product.ProductNotFound | OutOfStock> => {
    if (state.placed) return Effect.fail(new OrderExists({ orderId: command.orderId }))
    for (const line of command.lines) {
      const stock = state.stock.get(line.productId)
      if (stock === undefined || !stock.listed) return Effect.fail(new Product.ProductNotFound({ productId: line.productId }))
      if (stock.available < line.quantity) {
        return Effect.fail(new OutOfStock({ productId: line.productId, available: stock.available, requested: line.quantity }))
      }
    }
    return Effect.succeed([new OrderPlaced({ orderId: command.orderId, customer: command.customer, lines: command.lines })])
  },
  tags: tagsOf,
  streamId: (command) => streamId(command.orderId)
})

/**
 * How often an order is decided again when its condition broke. Each time, another order or a
 * restock of one of its products committed first, so a buyer of the last units of a popular
 * product may lose several times before the stock is gone and the order is refused: up to 30
 * retries, from 5 ms, at most 100 ms apart, with jitter (the library's default stops after 10).
 *
 * @since 0.1.0
 */
export const retry: Schedule.Schedule<unknown, unknown> = Schedule.min([Schedule.exponential("5 millis"), Schedule.spaced("100 millis")]).pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 30 })
)
