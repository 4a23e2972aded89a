/**
 * A product: the aggregate that is listed once and restocked. Its stream (`product-<id>`) orders
 * what happens to the product itself; its events carry the tag `product:<id>`, so that placing an
 * order, which spans several products, can read them by query and conflicts with a restock.
 *
 * The product does not count what was ordered: orders are not its events. The stock available
 * is what it was stocked with, less what orders reserved, and only a decision over both knows it
 * (see `Order.ts`).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { Aggregate } from "@facta/core"

// -------------------------------------------------------------------------------------
// values
// -------------------------------------------------------------------------------------

/**
 * A product id: letters, digits and dashes (it becomes part of a tag and a stream id).
 *
 * @since 0.1.0
 */
export const ProductId = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9-]{1,40}$/))

/**
 * A number of units: stocked, restocked or ordered.
 *
 * @since 0.1.0
 */
export const Quantity = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))

/**
 * The stream that holds a product's events.
 *
 * @since 0.1.0
 */
export const streamId = (productId: string): string => `product-${productId}`

/**
 * The tag every event about a product carries, the product's own and the orders' alike: what a
 * decision about its stock queries.
 *
 * @since 0.1.0
 */
export const tag = (productId: string): string => `product:${productId}`

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

// A command names its product; `Shop.ts` routes it to that product's stream.

/**
 * @since 0.1.0
 */
export class AddProduct extends Schema.TaggedClass<AddProduct>()("AddProduct", {
  productId: ProductId,
  name: Schema.NonEmptyString,
  stock: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))
}) {}

/**
 * @since 0.1.0
 */
export class Restock extends Schema.TaggedClass<Restock>()("Restock", { productId: ProductId, quantity: Quantity }) {}

/**
 * @since 0.1.0
 */
export const Command = Schema.Union([AddProduct, Restock])

/**
 * @since 0.1.0
 */
export type Command = typeof Command.Type

// -------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------

// Each event names its product: a decision reading it by tag has the event, not its stream.

/**
 * @since 0.1.0
 */
export class ProductAdded extends Schema.TaggedClass<ProductAdded>()("ProductAdded", {
  productId: Schema.String,
  name: Schema.String,
  stock: Schema.Int
}) {}

/**
 * @since 0.1.0
 */
export class Restocked extends Schema.TaggedClass<Restocked>()("Restocked", { productId: Schema.String, quantity: Schema.Int }) {}

/**
 * @since 0.1.0
 */
export const Event = Schema.Union([ProductAdded, Restocked])

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
export class ProductExists extends Schema.TaggedError<ProductExists>()("ProductExists", { productId: Schema.String }) {
  override get message() {
    return `Product ${this.productId} is already listed`
  }
}

/**
 * @since 0.1.0
 */
export class ProductNotFound extends Schema.TaggedError<ProductNotFound>()("ProductNotFound", { productId: Schema.String }) {
  override get message() {
    return `There is no product ${this.productId}`
  }
}

// -------------------------------------------------------------------------------------
// the aggregate
// -------------------------------------------------------------------------------------

/**
 * A product as its own events know it.
 *
 * @since 0.1.0
 */
export type State =
  | { readonly listed: false }
  | { readonly listed: true; readonly name: string; readonly stocked: number }

/**
 * @since 0.1.0
 */
export const Product = Aggregate.make({
  name: "Product",
  command: Command,
  event: Event,
  initialState: { listed: false } as State,
  decide: (command, state): Effect.Effect<ReadonlyArray<Event>, ProductExists | ProductNotFound> => {
    switch (command._tag) {
      case "AddProduct":
        return state.listed
          ? Effect.fail(new ProductExists({ productId: command.productId }))
          : Effect.succeed([new ProductAdded({ productId: command.productId, name: command.name, stock: command.stock })])
      case "Restock":
        return state.listed
          ? Effect.succeed([new Restocked({ productId: command.productId, quantity: command.quantity })])
          : Effect.fail(new ProductNotFound({ productId: command.productId }))
    }
  },
  evolve: (state, event): State => {
    switch (event._tag) {
      case "ProductAdded":
        return { listed: true, name: event.name, stocked: event.stock }
      case "Restocked":
        return state.listed ? { ...state, stocked: state.stocked + event.quantity } : state
    }
  },
  tags: (event) => [tag(event.productId)]
})
