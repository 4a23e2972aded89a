/**
 * The shop over HTTP, on `@facta/http`: the products' commands (an aggregate, `CommandApi`),
 * placing an order (a decision, `DecisionApi`), the stock levels (a read model, `ReadModelApi`),
 * the health checks (`Health`), the log live as Server-Sent Events (`Subscriptions`), and the
 * OpenAPI document of them all at `/openapi.json`.
 *
 * | Request                                   | Answer                                                      |
 * | ----------------------------------------- | ----------------------------------------------------------- |
 * | `PUT /products/:id` `{ productId, name, stock }` | 201, the `ProductAdded`; 422 `ProductExists`          |
 * | `POST /products/:id/restock` `{ productId, quantity }` | 200, the `Restocked`; 422 `ProductNotFound`     |
 * | `POST /orders` `{ orderId, customer, lines }` | 201, the `OrderPlaced`; 422 `OrderExists`, `ProductNotFound`, `OutOfStock` |
 * | `GET /stock-levels/:id`, `GET /stock-levels` | a product's stock level, or a page of them; `?position=` reads after an order |
 * | `GET /health/live`, `GET /health/ready`    | the service's liveness and readiness                        |
 * | `GET /events`                              | the log as Server-Sent Events                               |
 *
 * `npm run shop:serve` serves it on port 3000 (`PORT` to change it), on the stores `npm run shop`
 * would use.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiGroup, HttpApiMiddleware, HttpApiScalar } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { type CommandHandler, ValidationError } from "@facta/core"
import { CommandApi, DecisionApi, Health, ReadModelApi, Subscriptions } from "@facta/http"
import { createServer } from "node:http"
import * as Order from "./Order.ts"
import * as Product from "./Product.ts"
import * as Shop from "./Shop.ts"
import * as StockLevels from "./StockLevels.ts"

// -------------------------------------------------------------------------------------
// the endpoints
// -------------------------------------------------------------------------------------

/**
 * The products' commands. The path's id names the product's stream; the command names the
 * product too (its events carry it), and the two must agree.
 *
 * @since 0.1.0
 */
export class Products extends HttpApiGroup.make("products").add(
  CommandApi.endpoint(Product.Product, Product.AddProduct, {
    method: "PUT",
    path: "/products/:id",
    status: 201,
    streamId: Product.streamId,
    errors: [Product.ProductExists]
  }),
  CommandApi.endpoint(Product.Product, Product.Restock, { path: "/products/:id/restock", streamId: Product.streamId, errors: [Product.ProductNotFound] })
) {}

/**
 * Placing an order: decided over the tagged events of its products, never overselling.
 *
 * @since 0.1.0
 */
export class Orders extends HttpApiGroup.make("orders").add(
  DecisionApi.endpoint(Order.placeOrder, Order.PlaceOrder, {
    path: "/orders",
    status: 201,
    errors: [Order.OrderExists, Product.ProductNotFound, Order.OutOfStock]
  })
) {}

/**
 * The stock levels: a product's by id, and a page of them.
 *
 * @since 0.1.0
 */
export class Stock extends HttpApiGroup.make("stock").add(
  ReadModelApi.get("stockLevel", StockLevels.stockLevels, { path: "/stock-levels/:id", projection: StockLevels.projection }),
  ReadModelApi.list("stockLevels", StockLevels.stockLevels, { path: "/stock-levels", projection: StockLevels.projection })
) {}

/**
 * The shop's HTTP API.
 *
 * @since 0.1.0
 */
export class Api extends HttpApi.make("shop")
  .add(Products)
  .add(Orders)
  .add(Stock)
  .add(Health.HealthGroup)
  .add(Subscriptions.group())
  .middleware(HttpApiMiddleware.ProblemDetails)
{}

// -------------------------------------------------------------------------------------
// serving it
// -------------------------------------------------------------------------------------

/** The path's product must be the command's: a request naming two products is refused as invalid. */
const products: typeof Shop.products = {
  ...Shop.products,
  handle: (streamId: string, input: unknown, options?: CommandHandler.HandleOptions) => {
    const productId = typeof input === "object" && input !== null && "productId" in input ? input.productId : undefined
    return typeof productId !== "string" || Product.streamId(productId) === streamId
      ? Shop.products.handle(streamId, input, options)
      : Effect.fail(
        new ValidationError.ValidationError({
          subject: "command of Product",
          issues: [new ValidationError.FieldIssue({ path: ["productId"], message: "must be the product the path names" })]
        })
      )
  }
}

/**
 * The API's routes, with the OpenAPI document at `/openapi.json` and a page of it at `/docs`, on
 * the shop's stores and processors (`Shop.layer`).
 *
 * @since 0.1.0
 */
export const routes = Layer.merge(HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }), HttpApiScalar.layer(Api, { path: "/docs" })).pipe(
  Layer.provide([
    CommandApi.layer(Api, "products", products),
    DecisionApi.layer(Api, "orders", Shop.orders),
    ReadModelApi.layer(Api, "stock"),
    Health.layer(Api),
    Subscriptions.layer(Api)
  ]),
  // Requests that fail their Schemas as problems naming each field.
  Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
)

/**
 * The shop served on `port` of `host` (all interfaces when absent; port 0 picks a free one).
 *
 * @since 0.1.0
 */
export const server = (options: { readonly port: number; readonly host?: string | undefined }) =>
  HttpRouter.serve(routes, { disableLogger: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, ...(options.host === undefined ? {} : { host: options.host }) }))
  )
