/**
 * The whole shop on each kind of store (memory, embedded PGlite, a Postgres server): products,
 * orders, the stock levels and the confirmations end to end, and buyers racing for the last
 * units. The tests share one running shop per store, so each uses product and order ids of its
 * own; processors work in the background, and a test waits for them before it reads what they
 * built.
 */
import { assert, layer } from "@effect/vitest"
import { DecisionHandler, EventQuery, EventStore, InMemory, Processor } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import type {} from "@facta/sql/testing/globalSetup"
import { Effect, type Layer, Option, Random, Redacted, Result, Stream } from "effect"
import { inject } from "vitest"
import * as Confirmations from "../src/Confirmations.ts"
import * as Order from "../src/Order.ts"
import * as Product from "../src/Product.ts"
import * as Shop from "../src/Shop.ts"
import * as StockLevels from "../src/StockLevels.ts"

/** An id no other test, nor an earlier run on the same database, has used. */
const fresh = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

// Rounds of the race: a few here, more with FACTA_RACE_ROUNDS (npm run test:races).
const rounds = Number(process.env["FACTA_RACE_ROUNDS"] ?? 6)
const buyers = 32
// A round takes about 0.1 s in memory and 0.4 s on PGlite: leave a second for each.
const raceTimeout = Math.max(60_000, rounds * 1_000)

/**
 * The shop's order decision with a pause of 0 to 2 ms between its read and its append, drawn
 * from the round's seed: without it, the in-memory store would run each decision from read to
 * append without letting another in, and nothing would race.
 */
const racingOrders = DecisionHandler.make({
  ...Order.placeOrder,
  decide: (command, state) => Effect.andThen(Effect.flatMap(Random.nextIntBetween(0, 3), (pause) => Effect.sleep(`${pause} millis`)), Order.placeOrder.decide(command, state))
}, { retry: Order.retry })

const caughtUp = Processor.Processors.use((processors) => processors.whenCaughtUp)

const order = (customer: string, ...lines: ReadonlyArray<readonly [string, number]>) =>
  new Order.PlaceOrder({ orderId: fresh("o"), customer, lines: lines.map(([productId, quantity]) => ({ productId, quantity })) })

/** Adds a product under a fresh id, and returns the id. */
const addProduct = (name: string, stock: number) => {
  const productId = fresh(name)
  return Effect.as(Shop.addProduct(new Product.AddProduct({ productId, name, stock })), productId)
}

const stockLevel = (productId: string) => Effect.flatMap(StockLevels.stockLevels.get(productId), Effect.fromOption)

/** The orders stored for a product, as a decision finds them: by its tag. */
const ordersOf = (productId: string) =>
  EventStore.EventStore.use((store) =>
    Stream.runCollect(Stream.mapEffect(store.readQuery(EventQuery.make({ types: ["OrderPlaced"], tags: [Product.tag(productId)] })), Order.placeOrder.events.decode))
  )

/** Units of `productId` the order takes. */
const unitsOf = (order: { readonly lines: ReadonlyArray<Order.Line> }, productId: string) =>
  order.lines.find((line) => line.productId === productId)?.quantity ?? 0

/**
 * One round: two products with a few units left after an earlier order, and `buyers` orders at
 * once of one or both, 1 or 2 units each. Never more than the stock is sold, and an order is
 * refused only for a product that lacks its units even after the round (stock only falls during
 * it): exactly what is in stock is sold. Every order ends placed or refused as out of stock:
 * a decision that ran out of retries would be a false refusal.
 */
const raceRound = (round: number) =>
  Effect.gen(function*() {
    const kettle = yield* addProduct("kettle", 40)
    const toaster = yield* addProduct("toaster", 30)
    const early = order("early", [kettle, 34], [toaster, 26])
    yield* Shop.placeOrder(early)
    const left = new Map([[kettle, 6], [toaster, 4]])
    const orders = yield* Effect.forEach(Array.from({ length: buyers }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const both = yield* Random.nextBoolean
        const first = (yield* Random.nextBoolean) ? kettle : toaster
        const products = both ? [kettle, toaster] : [first]
        return order(`buyer-${i}`, ...yield* Effect.forEach(products, (productId) => Effect.map(Random.nextIntBetween(1, 3), (units) => [productId, units] as const)))
      })).pipe(Random.withSeed(`shop-${round}`))
    const results = yield* Effect.forEach(orders, (wanted) => Effect.result(racingOrders.execute(wanted)), { concurrency: "unbounded" })
      .pipe(Random.withSeed(`shop-race-${round}`))

    const sold = new Map([...left.keys()].map((productId) => [
      productId,
      orders.reduce((units, wanted, i) => units + (Result.isSuccess(results[i]!) ? unitsOf(wanted, productId) : 0), 0)
    ]))
    for (const [productId, units] of left) {
      assert.isAtMost(sold.get(productId)!, units, `round ${round}: ${sold.get(productId)} units of ${productId} sold, ${units} were left`)
      // What was acknowledged is what is stored, nothing more.
      const stored = (yield* ordersOf(productId)).map((event) => event.data._tag === "OrderPlaced" ? unitsOf(event.data, productId) : 0)
      assert.strictEqual(stored.reduce((a, b) => a + b, 0), unitsOf(early, productId) + sold.get(productId)!, `round ${round}: units of ${productId} in stored orders`)
    }
    results.forEach((result, i) => {
      if (Result.isSuccess(result)) return
      const refusal = result.failure
      assert.strictEqual(refusal._tag, "OutOfStock", `round ${round}: order ${i} failed with ${String(refusal)}`)
      if (refusal._tag !== "OutOfStock") return
      const remaining = left.get(refusal.productId)! - sold.get(refusal.productId)!
      assert.isAbove(refusal.requested, remaining, `round ${round}: order ${i} was refused ${refusal.requested} units of ${refusal.productId}, and ${remaining} are left`)
      assert.strictEqual(refusal.requested, unitsOf(orders[i]!, refusal.productId))
    })
    // How many times an order was decided again because another got in first: the race's proof that it raced.
    return results.reduce((again, result) => again + (Result.isSuccess(result) ? result.success.attempts - 1 : 0), 0)
  })

const onStores = <E>(name: string, stores: Layer.Layer<Shop.Stores, E>) =>
  layer(Shop.layer(stores), { excludeTestServices: true, timeout: "120 seconds" })(`the shop on ${name}`, (it) => {
    it.effect("places orders of several products, refuses what is short, and the stock levels and confirmations follow", () =>
      Effect.gen(function*() {
        const kettle = yield* addProduct("kettle", 5)
        const toaster = yield* addProduct("toaster", 2)
        assert.deepStrictEqual(
          yield* Effect.flip(Shop.addProduct(new Product.AddProduct({ productId: kettle, name: "kettle", stock: 1 }))),
          new Product.ProductExists({ productId: kettle })
        )
        const ada = order("Ada", [kettle, 2], [toaster, 1])
        const placed = yield* Shop.placeOrder(ada)
        assert.deepStrictEqual(placed.events.map((event) => event.tags), [[`order:${ada.orderId}`, Product.tag(kettle), Product.tag(toaster)]])
        assert.deepStrictEqual(
          yield* Effect.flip(Shop.placeOrder(order("Bob", [kettle, 1], [toaster, 2]))),
          new Order.OutOfStock({ productId: toaster, available: 1, requested: 2 })
        )
        assert.deepStrictEqual(
          yield* Effect.flip(Shop.placeOrder(order("Bob", [kettle, 1], ["teapot", 1]))),
          new Product.ProductNotFound({ productId: "teapot" })
        )
        assert.deepStrictEqual(yield* Effect.flip(Shop.placeOrder(ada)), new Order.OrderExists({ orderId: ada.orderId }))
        // A restock is read by the next order.
        const restocked = yield* Shop.restock(new Product.Restock({ productId: toaster, quantity: 3 }))
        assert.deepStrictEqual(restocked.events.map((event) => event.tags), [[Product.tag(toaster)]])
        const bob = order("Bob", [kettle, 1], [toaster, 2])
        yield* Shop.placeOrder(bob)

        yield* caughtUp
        assert.deepStrictEqual(yield* stockLevel(kettle), { productId: kettle, name: "kettle", stocked: 5, ordered: 3, available: 2 })
        assert.deepStrictEqual(yield* stockLevel(toaster), { productId: toaster, name: "toaster", stocked: 5, ordered: 3, available: 2 })
        const sent = (yield* Confirmations.Mailer.use((mailer) => mailer.sent)).filter((mail) => mail.to === "Ada" || mail.to === "Bob")
        for (const confirmed of [ada, bob]) {
          const mails = sent.filter((mail) => mail.text.includes(confirmed.orderId))
          assert.strictEqual(mails.length, 1, `mails for ${confirmed.orderId}`)
          assert.strictEqual(mails[0]!.to, confirmed.customer)
          const recorded = yield* EventStore.EventStore.use((store) => Stream.runCollect(store.readStream(Confirmations.streamId(confirmed.orderId))))
          assert.deepStrictEqual(recorded.map((event) => [event.type, event.data]), [["ConfirmationSent", { orderId: confirmed.orderId, customer: confirmed.customer }]])
        }
      }))

    it.effect("sends no confirmation twice when the reactor replays the log", () =>
      Effect.gen(function*() {
        const mug = yield* addProduct("mug", 3)
        const placed = order("Cy", [mug, 1])
        yield* Shop.placeOrder(placed)
        const processors = yield* Processor.Processors
        yield* processors.whenCaughtUp
        const reactor = processors.get(Confirmations.reactor.name)
        assert.isTrue(Option.isSome(reactor))
        if (Option.isNone(reactor)) return
        // A rebuild delivers every order to the reactor again.
        yield* reactor.value.rebuild
        yield* processors.whenCaughtUp
        const sent = (yield* Confirmations.Mailer.use((mailer) => mailer.sent)).filter((mail) => mail.text.includes(placed.orderId))
        assert.strictEqual(sent.length, 1)
      }))

    it.effect("refuses an order that is not valid, naming the field", () =>
      Effect.gen(function*() {
        const mug = yield* addProduct("mug", 3)
        const error = yield* Effect.flip(Shop.handleOrder({ _tag: "PlaceOrder", orderId: fresh("o"), customer: "Dee", lines: [{ productId: mug, quantity: 1 }, { productId: mug, quantity: 1 }] }))
        assert.strictEqual(error._tag, "ValidationError")
        assert.include(error.message, "lines")
        assert.strictEqual((yield* ordersOf(mug)).length, 0)
      }))

    it.effect(`${buyers} deciders racing for the last units of two products sell exactly what is in stock, round after round (${rounds} rounds)`, () =>
      Effect.gen(function*() {
        const decidedAgain = yield* Effect.forEach(Array.from({ length: rounds }, (_, round) => round), raceRound)
        assert.isAbove(decidedAgain.reduce((a, b) => a + b, 0), 0, "no order was ever decided again: the buyers did not race")
      }), raceTimeout)
  })

onStores("memory", InMemory.layer)
onStores("embedded PGlite", Embedded.layer())
onStores("a Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "shop" }))
