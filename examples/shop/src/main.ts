/**
 * `npm run shop`: a walk-through of a shop that never oversells. It lists three products, places
 * orders of several products (some refused for stock), races twelve buyers for the last three
 * kettles, restocks, and shows the stock levels and the confirmations the processors produced.
 *
 * On embedded Postgres (PGlite, in memory) by default; `--memory` runs it on the in-memory
 * stores, `--server` on a throwaway Postgres server, and `DATABASE_URL` on a server of your own.
 *
 * `--serve` (`npm run shop:serve`) serves the shop's HTTP API (`Api.ts`) on those stores instead,
 * on port 3000 or `PORT`, until stopped.
 *
 * @since 0.1.0
 */
import { Cause, Console, Context, Effect, Exit, Layer, Redacted, Result } from "effect"
import { HttpServer } from "effect/http"
import { NodeRuntime } from "@effect/platform-node"
import { InMemory, Processor } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { TestServer } from "@facta/sql/testing"
import * as Api from "./Api.ts"
import * as Confirmations from "./Confirmations.ts"
import * as Order from "./Order.ts"
import * as Product from "./Product.ts"
import * as Shop from "./Shop.ts"
import * as StockLevels from "./StockLevels.ts"

/** Runs a command and prints its outcome: ✓ and what it stored, or ✗ and the refusal. */
const show = <E, R>(title: string, run: Effect.Effect<{ readonly events: ReadonlyArray<{ readonly type: string }> }, E, R>) =>
  run.pipe(
    Effect.map(({ events }) => `✓ ${events.map((event) => event.type).join(", ")}`),
    Effect.catchIf((error: E): error is Extract<E, Shop.Refusal> => Shop.isRefusal(error), (refusal) => Effect.succeed(`✗ ${refusal.message}`)),
    Effect.flatMap((outcome) => Console.log(`  ${title}\n      ${outcome}`))
  )

const order = (orderId: string, customer: string, ...lines: ReadonlyArray<readonly [string, number]>) =>
  new Order.PlaceOrder({ orderId, customer, lines: lines.map(([productId, quantity]) => ({ productId, quantity })) })

export const walkThrough = Effect.gen(function*() {
  yield* Console.log("\n1. Products, each an aggregate whose events are tagged product:<id>\n")
  yield* show("add kettle, 5 in stock", Shop.addProduct(new Product.AddProduct({ productId: "kettle", name: "Kettle", stock: 5 })))
  yield* show("add toaster, 3 in stock", Shop.addProduct(new Product.AddProduct({ productId: "toaster", name: "Toaster", stock: 3 })))
  yield* show("add mug, 20 in stock", Shop.addProduct(new Product.AddProduct({ productId: "mug", name: "Mug", stock: 20 })))
  yield* show("add kettle again", Shop.addProduct(new Product.AddProduct({ productId: "kettle", name: "Kettle", stock: 9 })))

  yield* Console.log("\n2. Orders, decided over the products' tagged events and earlier orders\n")
  yield* show("o-1: Ada orders 2 kettles and 1 toaster", Shop.placeOrder(order("o-1", "Ada", ["kettle", 2], ["toaster", 1])))
  yield* show("o-2: Bob orders 1 mug and 3 toasters", Shop.placeOrder(order("o-2", "Bob", ["mug", 1], ["toaster", 3])))
  yield* show("o-2: Bob orders 1 mug and 2 toasters", Shop.placeOrder(order("o-2", "Bob", ["mug", 1], ["toaster", 2])))
  yield* show("o-3: Cy orders 1 teapot", Shop.placeOrder(order("o-3", "Cy", ["teapot", 1])))
  yield* show("o-1: Ada's order sent again", Shop.placeOrder(order("o-1", "Ada", ["kettle", 2], ["toaster", 1])))

  yield* Console.log("\n3. Twelve buyers race for the last 3 kettles, each with a mug\n")
  const results = yield* Effect.forEach(
    Array.from({ length: 12 }, (_, i) => order(`race-${i + 1}`, `buyer ${i + 1}`, ["kettle", 1], ["mug", 1])),
    (wanted) => Effect.result(Shop.placeOrder(wanted)),
    { concurrency: "unbounded" }
  )
  const placed = results.filter(Result.isSuccess)
  const refused = results.filter((result) => Result.isFailure(result) && Shop.isRefusal(result.failure)).length
  const retried = placed.reduce((retries, result) => retries + result.success.attempts - 1, 0)
  const again = retried > 0 ? ` (another order got in first ${retried} times: those were decided again)` : ""
  yield* Console.log(`  12 orders of 1 kettle and 1 mug at once\n      ${placed.length} placed, ${refused} refused${again}`)
  const failed = results.length - placed.length - refused
  if (failed > 0) return yield* Effect.die(new Error(`${failed} orders failed for another reason than the shop's rules`))

  yield* Console.log("\n4. A restock is read by the next order\n")
  yield* show("o-4: Dee orders 2 toasters", Shop.placeOrder(order("o-4", "Dee", ["toaster", 2])))
  yield* show("restock toaster with 4", Shop.restock(new Product.Restock({ productId: "toaster", quantity: 4 })))
  yield* show("o-4: Dee orders 2 toasters", Shop.placeOrder(order("o-4", "Dee", ["toaster", 2])))

  yield* Console.log("\n5. The processors catch up: stock levels (a projection) and confirmations (a reactor)\n")
  yield* (yield* Processor.Processors).whenCaughtUp
  yield* Console.log("  product  stocked  ordered  available")
  for (const { document } of yield* StockLevels.stockLevels.list) {
    yield* Console.log(`  ${document.productId.padEnd(7)}  ${String(document.stocked).padStart(7)}  ${String(document.ordered).padStart(7)}  ${String(document.available).padStart(9)}`)
  }
  const mails = yield* Confirmations.Mailer.use((mailer) => mailer.sent)
  yield* Console.log(`\n  ${mails.length} confirmations sent, one per order placed:`)
  for (const mail of mails.filter((mail) => !mail.to.startsWith("buyer"))) yield* Console.log(`    to ${mail.to}: ${mail.text}`)
  yield* Console.log(`    and ${mails.filter((mail) => mail.to.startsWith("buyer")).length} to the buyers who won a kettle`)
})

const databaseUrl = process.env["DATABASE_URL"]
const stores = process.argv.includes("--memory")
  ? { name: "the in-memory stores", layer: InMemory.layer }
  : databaseUrl !== undefined && databaseUrl !== ""
  ? { name: "the Postgres server at DATABASE_URL", layer: Postgres.layer({ url: Redacted.make(databaseUrl) }) }
  : process.argv.includes("--server")
  ? {
    name: "a throwaway Postgres server",
    layer: Layer.unwrap(Effect.map(TestServer.server, (server) => Postgres.layer({ url: Redacted.make(server.url) })))
  }
  : { name: "embedded Postgres (PGlite, in memory)", layer: Embedded.layer() }

/** The shop's HTTP API on `port`, until the process is stopped. */
const serve = (port: number) =>
  Api.server({ port }).pipe(
    Layer.tap((context) => Console.log(`Facta shop serving on ${HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)} (${stores.name}); the OpenAPI document is at /openapi.json`)),
    Layer.provide(Shop.layer(stores.layer)),
    Layer.launch,
    NodeRuntime.runMain
  )

if (process.argv[1] === import.meta.filename && process.argv.includes("--serve")) {
  serve(Number(process.env["PORT"] ?? 3000))
} else if (process.argv[1] === import.meta.filename) {
  Effect.runPromiseExit(Console.log(`Facta shop: products as aggregates, orders decided over their tagged events, on ${stores.name}`).pipe(
    Effect.andThen(walkThrough),
    Effect.provide(Shop.layer(stores.layer))
  )).then((exit) => {
    if (Exit.isFailure(exit)) {
      console.error(Cause.pretty(exit.cause))
      process.exitCode = 1
    }
  })
}
