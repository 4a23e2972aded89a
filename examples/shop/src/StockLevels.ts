/**
 * The stock levels: one document per product, with what it was stocked with, what orders took
 * and what is left, for the shop's pages ("3 left") and its buyers. It follows the log, so it
 * lags an order by a moment; placing an order never reads it, but decides on the events.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import { Documents, Projection } from "@facta/core"
import * as Order from "./Order.ts"

/**
 * A product's stock as the shop shows it.
 *
 * @since 0.1.0
 */
export const StockLevel = Schema.Struct({
  productId: Schema.String,
  name: Schema.String,
  /** Units added and restocked. */
  stocked: Schema.Int,
  /** Units orders took. */
  ordered: Schema.Int,
  available: Schema.Int
})

/**
 * @since 0.1.0
 */
export type StockLevel = typeof StockLevel.Type

/**
 * The stock levels, by product id.
 *
 * @since 0.1.0
 */
export const stockLevels = Documents.make("stock-levels", StockLevel)

/** The product was added before any restock or order of it, hence earlier in the log: its document exists. */
const change = (productId: string, f: (level: StockLevel) => StockLevel) =>
  stockLevels.update(productId, (current) => f(Option.getOrThrow(current)))

/**
 * @since 0.1.0
 */
export const projection = Projection.make({
  name: "stock-levels",
  event: Order.Event,
  handlers: {
    ProductAdded: ({ data }) =>
      stockLevels.upsert(data.productId, { productId: data.productId, name: data.name, stocked: data.stock, ordered: 0, available: data.stock }),
    Restocked: ({ data }) =>
      change(data.productId, (level) => ({ ...level, stocked: level.stocked + data.quantity, available: level.available + data.quantity })),
    OrderPlaced: ({ data }) =>
      Effect.forEach(data.lines, (line) =>
        change(line.productId, (level) => ({ ...level, ordered: level.ordered + line.quantity, available: level.available - line.quantity })), {
        discard: true
      })
  },
  documents: [stockLevels]
})
