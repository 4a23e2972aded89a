/**
 * A small stock decision and the HTTP API of its commands, for the tests: reservations of units
 * of a product, decided over the product's tagged events so that no unit is reserved twice.
 */
import { Effect, Layer, Schedule, Schema } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { Decision, DecisionHandler, EventQuery, EventStore, type RecordedEvent } from "@facta/core"
import { createServer } from "node:http"
import { DecisionApi } from "../src/index.ts"

export class AddStock extends Schema.TaggedClass<AddStock>()("AddStock", {
  sku: Schema.NonEmptyString,
  quantity: Schema.Int.check(Schema.isGreaterThan(0))
}) {}
export class Reserve extends Schema.TaggedClass<Reserve>()("Reserve", {
  reservationId: Schema.NonEmptyString,
  sku: Schema.NonEmptyString,
  customer: Schema.NonEmptyString,
  quantity: Schema.Int.check(Schema.isGreaterThan(0))
}) {}
const Command = Schema.Union([AddStock, Reserve])

export class StockAdded extends Schema.TaggedClass<StockAdded>()("StockAdded", { sku: Schema.String, quantity: Schema.Int }) {}
export class Reserved extends Schema.TaggedClass<Reserved>()("Reserved", {
  reservationId: Schema.String,
  sku: Schema.String,
  customer: Schema.String,
  quantity: Schema.Int
}) {}
const Event = Schema.Union([StockAdded, Reserved])
type Event = typeof Event.Type

export class OutOfStock extends Schema.TaggedError<OutOfStock>()("OutOfStock", { sku: Schema.String, available: Schema.Int }) {}
/** Annotated with its own status: answered 404 rather than the default 422. */
export class UnknownSku extends Schema.TaggedError<UnknownSku>()("UnknownSku", { sku: Schema.String }, { httpApiStatus: 404 }) {}
/** A refusal no endpoint declares: a defect, answered 500. */
export class Embargoed extends Schema.TaggedError<Embargoed>()("Embargoed", { sku: Schema.String }) {}

export const skuTag = (sku: string) => `sku:${sku}`

const stockOf = (sku: string) =>
  Decision.projection({
    query: EventQuery.make({ types: ["StockAdded", "Reserved"], tags: [skuTag(sku)] }),
    initial: { known: false, available: 0 },
    evolve: (stock, event: Event) =>
      event._tag === "StockAdded"
        ? { known: true, available: stock.available + event.quantity }
        : { ...stock, available: stock.available - event.quantity }
  })

/**
 * Adds stock, or reserves units of it. The decision's command Schema checks what the endpoint's
 * payload does not: a reservation's id may not be its product's, which a request can only learn
 * from a `ValidationError`.
 */
export const stock = Decision.make({
  name: "stock",
  command: Command.check(Schema.makeFilter((command) =>
    command._tag === "Reserve" && command.reservationId === command.sku
      ? { path: ["reservationId"], issue: "a reservation's id may not be its product's" }
      : undefined
  )),
  event: Event,
  state: (command) => ({ stock: stockOf(command.sku) }),
  decide: (command, { stock }): Effect.Effect<ReadonlyArray<Event>, OutOfStock | UnknownSku | Embargoed> => {
    if (command._tag === "AddStock") return Effect.succeed([new StockAdded({ sku: command.sku, quantity: command.quantity })])
    if (command.sku.startsWith("embargoed")) return Effect.fail(new Embargoed({ sku: command.sku }))
    if (!stock.known) return Effect.fail(new UnknownSku({ sku: command.sku }))
    if (stock.available < command.quantity) return Effect.fail(new OutOfStock({ sku: command.sku, available: stock.available }))
    return Effect.succeed([
      new Reserved({ reservationId: command.reservationId, sku: command.sku, customer: command.customer, quantity: command.quantity })
    ])
  },
  tags: (event) => [skuTag(event.sku)],
  streamId: (command) => command._tag === "AddStock" ? `sku-${command.sku}` : `reservation-${command.reservationId}`
})

export class Stock extends HttpApiGroup.make("stock").add(
  DecisionApi.endpoint(stock, AddStock, { path: "/stock", status: 201 }),
  DecisionApi.endpoint(stock, Reserve, { path: "/reservations", errors: [OutOfStock, UnknownSku] })
) {}

export class Api extends HttpApi.make("stock").add(Stock).middleware(HttpApiMiddleware.ProblemDetails) {}

/**
 * The store as the decision handler sees it: a conditional append to a stream whose id ends in
 * `-contended` always finds its condition broken, as if another decider always came first.
 */
const contended = Layer.effect(
  EventStore.EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return {
      ...store,
      appendIf: (id: string, events: ReadonlyArray<RecordedEvent.UnsavedEvent>, condition: EventStore.AppendCondition, options?: EventStore.AppendOptions) =>
        id.endsWith("-contended")
          ? Effect.fail(
            new EventStore.AppendConditionFailed({
              streamId: id,
              query: "types [StockAdded, Reserved]",
              eventId: "e-1",
              eventStreamId: "sku-x",
              eventVersion: 1,
              eventType: "StockAdded",
              eventPosition: 1n
            })
          )
          : store.appendIf(id, events, condition, options)
    }
  })
)

/** Enough retries for ten deciders racing for one product; a contended stream gives up within a second. */
export const handler = DecisionHandler.make(stock, {
  retry: Schedule.spaced("5 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 30 }))
})

/** The API's routes with the OpenAPI document at `/openapi.json`. */
export const routes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(DecisionApi.layer(Api, "stock", handler).pipe(Layer.provide(contended))),
  Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
)

/** A real server on a free port of the loopback interface. */
export const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)
