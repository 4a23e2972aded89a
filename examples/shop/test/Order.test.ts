/**
 * Placing an order on its own: given the products' events and earlier orders, when an order is
 * decided, then it is placed or refused. No store is involved.
 */
import { assert, describe, it } from "@effect/vitest"
import { DecisionTest } from "@facta/core/testing"
import { Effect, Result, Schema } from "effect"
import * as Order from "../src/Order.ts"
import * as Product from "../src/Product.ts"

const added = (productId: string, stock: number) => new Product.ProductAdded({ productId, name: productId, stock })
const restocked = (productId: string, quantity: number) => new Product.Restocked({ productId, quantity })
const lines = (...lines: ReadonlyArray<readonly [string, number]>) => lines.map(([productId, quantity]) => ({ productId, quantity }))
const placed = (orderId: string, ...taken: ReadonlyArray<readonly [string, number]>) =>
  new Order.OrderPlaced({ orderId, customer: "Ada", lines: lines(...taken) })
const order = (orderId: string, ...wanted: ReadonlyArray<readonly [string, number]>) =>
  new Order.PlaceOrder({ orderId, customer: "Ada", lines: lines(...wanted) })

describe("placing an order", () => {
  it.effect("takes units that are in stock", () =>
    Effect.gen(function*() {
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3)).when(order("o-1", ["mug", 3])).thenEvents(placed("o-1", ["mug", 3]))
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3)).when(order("o-1", ["mug", 4]))
        .thenFails(new Order.OutOfStock({ productId: "mug", available: 3, requested: 4 }))
    }))

  it.effect("counts what earlier orders took and what restocks added", () =>
    Effect.gen(function*() {
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3), placed("o-0", ["mug", 2])).when(order("o-1", ["mug", 2]))
        .thenFails(new Order.OutOfStock({ productId: "mug", available: 1, requested: 2 }))
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3), placed("o-0", ["mug", 2]), restocked("mug", 4)).when(order("o-1", ["mug", 5]))
        .thenEvents(placed("o-1", ["mug", 5]))
      // Another product's orders and restocks are not this one's.
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3), added("cup", 9), placed("o-0", ["cup", 9]), restocked("cup", 1))
        .when(order("o-1", ["mug", 3])).thenEvents(placed("o-1", ["mug", 3]))
    }))

  it.effect("of several products takes them all, or nothing when one is short", () =>
    Effect.gen(function*() {
      const shelves = [added("kettle", 5), added("toaster", 2), placed("o-0", ["kettle", 1], ["toaster", 1])] as const
      yield* DecisionTest.given(Order.placeOrder, ...shelves).when(order("o-1", ["kettle", 4], ["toaster", 1]))
        .thenEvents(placed("o-1", ["kettle", 4], ["toaster", 1]))
      yield* DecisionTest.given(Order.placeOrder, ...shelves).when(order("o-1", ["kettle", 2], ["toaster", 2]))
        .thenFails(new Order.OutOfStock({ productId: "toaster", available: 1, requested: 2 }))
      yield* DecisionTest.given(Order.placeOrder, ...shelves).when(order("o-1", ["kettle", 5], ["toaster", 1]))
        .thenFails(new Order.OutOfStock({ productId: "kettle", available: 4, requested: 5 }))
      // An earlier order of several products counts for each of them, read by any one of its products.
      yield* DecisionTest.given(Order.placeOrder, ...shelves).when(order("o-1", ["toaster", 2]))
        .thenFails(new Order.OutOfStock({ productId: "toaster", available: 1, requested: 2 }))
    }))

  it.effect("refuses a product that is not listed, and an order id used before", () =>
    Effect.gen(function*() {
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3)).when(order("o-1", ["mug", 1], ["teapot", 1]))
        .thenFails(new Product.ProductNotFound({ productId: "teapot" }))
      yield* DecisionTest.given(Order.placeOrder, added("mug", 3), placed("o-1", ["mug", 1])).when(order("o-1", ["mug", 1]))
        .thenFails(new Order.OrderExists({ orderId: "o-1" }))
    }))

  it("tags an order with itself and each of its products, as a product's events are tagged", () => {
    assert.deepStrictEqual(Order.tagsOf(placed("o-1", ["kettle", 1], ["toaster", 2])), ["order:o-1", "product:kettle", "product:toaster"])
    assert.deepStrictEqual(Order.tagsOf(added("kettle", 1)), Product.Product.tags!(added("kettle", 1), Product.streamId("kettle")))
    assert.deepStrictEqual(Order.tagsOf(restocked("kettle", 1)), Product.Product.tags!(restocked("kettle", 1), Product.streamId("kettle")))
  })

  it("takes 1 to 20 lines, each of a different product", () => {
    const valid = (input: unknown) => Result.isSuccess(Schema.decodeUnknownResult(Order.Lines)(input))
    assert.isTrue(valid(lines(["mug", 1], ["cup", 2])))
    assert.isFalse(valid([]))
    assert.isFalse(valid(lines(["mug", 1], ["mug", 2])))
    assert.isFalse(valid(Array.from({ length: 21 }, (_, i) => ({ productId: `p${i}`, quantity: 1 }))))
    assert.isFalse(valid(lines(["mug", 0])))
  })
})
