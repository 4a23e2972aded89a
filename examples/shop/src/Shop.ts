/**
 * The shop as an application: the products' command handler, the order decision's handler, and
 * the processors behind them (the order confirmations and the stock levels), on any stores.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   yield* Shop.addProduct(new Product.AddProduct({ productId: "mug", name: "Mug", stock: 3 }))
 *   yield* Shop.placeOrder(new Order.PlaceOrder({ orderId: "o-1", customer: "Ada", lines: [{ productId: "mug", quantity: 2 }] }))
 *   yield* (yield* Processor.Processors).whenCaughtUp
 *   const mug = yield* StockLevels.stockLevels.get("mug")
 * })
 *
 * program.pipe(Effect.provide(Shop.layer(InMemory.layer)), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */
import { Layer, Schema } from "effect"
import {
  type CheckpointStore,
  CommandHandler,
  DecisionHandler,
  type EventStore,
  type Lease,
  Processor,
  type ProjectionStore,
  type Transactor
} from "@facta/core"
import * as Confirmations from "./Confirmations.ts"
import * as Order from "./Order.ts"
import * as Product from "./Product.ts"
import * as StockLevels from "./StockLevels.ts"

// -------------------------------------------------------------------------------------
// commands
// -------------------------------------------------------------------------------------

/**
 * The products' command handler.
 *
 * @since 0.1.0
 */
export const products = CommandHandler.make(Product.Product)

/**
 * The order decision's handler, retrying as `Order.retry` says.
 *
 * @since 0.1.0
 */
export const orders = DecisionHandler.make(Order.placeOrder, { retry: Order.retry })

/**
 * @since 0.1.0
 */
export const addProduct = (command: Product.AddProduct) => products.execute(Product.streamId(command.productId), command)

/**
 * @since 0.1.0
 */
export const restock = (command: Product.Restock) => products.execute(Product.streamId(command.productId), command)

/**
 * Places the order, or refuses it with the first product that is unknown or short.
 *
 * @since 0.1.0
 */
export const placeOrder = (command: Order.PlaceOrder) => orders.execute(command)

/**
 * Validates unknown input as an order, then places it.
 *
 * @since 0.1.0
 */
export const handleOrder = (input: unknown) => orders.handle(input)

// -------------------------------------------------------------------------------------
// refusals
// -------------------------------------------------------------------------------------

/**
 * What the shop refuses for its rules: the buyer or the clerk can act on these. Any other error
 * is a failure of the machinery.
 *
 * @since 0.1.0
 */
export const Refusal = Schema.Union([Product.ProductExists, Product.ProductNotFound, Order.OrderExists, Order.OutOfStock])

/**
 * @since 0.1.0
 */
export type Refusal = typeof Refusal.Type

/**
 * @since 0.1.0
 */
export const isRefusal: (error: unknown) => error is Refusal = Schema.is(Refusal)

// -------------------------------------------------------------------------------------
// the application
// -------------------------------------------------------------------------------------

/**
 * What runs behind the commands.
 *
 * @since 0.1.0
 */
export const processors = [Confirmations.reactor, StockLevels.projection] as const

/**
 * The stores the shop runs on: those `InMemory.layer`, `Embedded.layer()` and
 * `Postgres.layer(...)` provide.
 *
 * @since 0.1.0
 */
export type Stores =
  | EventStore.EventStore
  | ProjectionStore.ProjectionStore
  | CheckpointStore.CheckpointStore
  | Transactor.Transactor
  | Lease.Lease

/**
 * The shop's processors running on the given stores, with the mailer they send through. They stop
 * when the layer is released.
 *
 * @since 0.1.0
 */
export const layer = <E>(stores: Layer.Layer<Stores, E>): Layer.Layer<Processor.Processors | Confirmations.Mailer | Stores, E> =>
  Processor.layer(processors).pipe(Layer.provideMerge(Confirmations.Mailer.layerMemory), Layer.provideMerge(stores))
