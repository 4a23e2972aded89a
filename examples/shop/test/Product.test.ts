/**
 * The product aggregate on its own: given past events, when a command is decided, then the new
 * events, the refusal, and the tags the events are stored with.
 */
import { assert, describe, it } from "@effect/vitest"
import { AggregateTest } from "@facta/core/testing"
import { Effect, Result, Schema } from "effect"
import * as Product from "../src/Product.ts"

const added = new Product.ProductAdded({ productId: "kettle", name: "Kettle", stock: 5 })

describe("products", () => {
  it.effect("is listed once, with its stock", () =>
    Effect.gen(function*() {
      const state = yield* AggregateTest.given(Product.Product)
        .when(new Product.AddProduct({ productId: "kettle", name: "Kettle", stock: 5 }))
        .thenEvents(added)
      assert.deepStrictEqual(state, { listed: true, name: "Kettle", stocked: 5 })
      yield* AggregateTest.given(Product.Product, added)
        .when(new Product.AddProduct({ productId: "kettle", name: "Another kettle", stock: 1 }))
        .thenFails(new Product.ProductExists({ productId: "kettle" }))
    }))

  it.effect("is restocked only once listed", () =>
    Effect.gen(function*() {
      const state = yield* AggregateTest.given(Product.Product, added, new Product.Restocked({ productId: "kettle", quantity: 2 }))
        .when(new Product.Restock({ productId: "kettle", quantity: 3 }))
        .thenEvents(new Product.Restocked({ productId: "kettle", quantity: 3 }))
      assert.deepStrictEqual(state, { listed: true, name: "Kettle", stocked: 10 })
      yield* AggregateTest.given(Product.Product)
        .when(new Product.Restock({ productId: "kettle", quantity: 3 }))
        .thenFails(new Product.ProductNotFound({ productId: "kettle" }))
    }))

  it.effect("tags every event with its product, so that orders find it", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* AggregateTest.given(Product.Product).when(new Product.AddProduct({ productId: "kettle", name: "Kettle", stock: 5 })).tags(Product.streamId("kettle")),
        [["product:kettle"]]
      )
      assert.deepStrictEqual(
        yield* AggregateTest.given(Product.Product, added).when(new Product.Restock({ productId: "kettle", quantity: 1 })).tags(Product.streamId("kettle")),
        [["product:kettle"]]
      )
    }))

  it("takes commands of valid ids and positive quantities only", () => {
    const valid = (input: unknown) => Result.isSuccess(Schema.decodeUnknownResult(Product.Command)(input))
    assert.isTrue(valid({ _tag: "Restock", productId: "kettle", quantity: 1 }))
    assert.isFalse(valid({ _tag: "Restock", productId: "kettle", quantity: 0 }))
    assert.isFalse(valid({ _tag: "Restock", productId: "no spaces", quantity: 1 }))
    assert.isFalse(valid({ _tag: "AddProduct", productId: "kettle", name: "", stock: 1 }))
    assert.isFalse(valid({ _tag: "AddProduct", productId: "kettle", name: "Kettle", stock: -1 }))
    assert.isTrue(valid({ _tag: "AddProduct", productId: "kettle", name: "Kettle", stock: 0 }))
  })
})
