/**
 * The OpenAPI document of an API made of every kind of endpoint `@facta/http` makes (an
 * aggregate's commands, a decision's, a read model's queries, the health checks and the live
 * subscriptions) validates against the OpenAPI 3.1 schema, with a maintained validator.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { HttpApi, HttpApiGroup, HttpApiMiddleware, OpenApi } from "effect/http-api"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Documents, Projection } from "@facta/core"
import { Health, ReadModelApi, Subscriptions } from "../src/index.ts"
import { Stock } from "./decisions.ts"
import { Account, Accounts } from "./fixtures.ts"

const Balance = Schema.Struct({ owner: Schema.String, balance: Schema.Int })
const balances = Documents.make("balances", Balance)

const projection = Projection.make({
  name: "balances",
  event: Account.event,
  documents: [balances],
  handlers: { AccountOpened: ({ data, streamId }) => balances.upsert(streamId, { owner: data.owner, balance: 0 }) }
})

class Reads extends HttpApiGroup.make("reads").add(
  ReadModelApi.get("balance", balances, { path: "/balances/:id", projection }),
  ReadModelApi.list("balances", balances, { path: "/balances", projection })
) {}

class Api extends HttpApi.make("everything")
  .add(Accounts)
  .add(Stock)
  .add(Reads)
  .add(Health.HealthGroup)
  .add(Subscriptions.group())
  .middleware(HttpApiMiddleware.ProblemDetails)
{}

const validate = (document: unknown) =>
  Effect.promise(() => new Validator().validate(JSON.parse(JSON.stringify(document)) as Record<string, unknown>))

describe("the OpenAPI document", () => {
  it.effect("of commands, a decision, read models, health and subscriptions validates against the OpenAPI 3.1 schema", () =>
    Effect.gen(function*() {
      const document = OpenApi.fromApi(Api)
      assert.strictEqual(document.openapi, "3.1.0")
      assert.includeMembers(Object.keys(document.paths), [
        "/accounts/{id}",
        "/reservations",
        "/stock",
        "/balances/{id}",
        "/balances",
        "/health/live",
        "/health/ready",
        "/events"
      ])
      const result = yield* validate(document)
      assert.deepStrictEqual(result.errors, undefined)
      assert.isTrue(result.valid)
    }))

  it.effect("the validator refuses a document that breaks the schema", () =>
    Effect.gen(function*() {
      const document = JSON.parse(JSON.stringify(OpenApi.fromApi(Api)))
      // A response must have a description.
      delete document.paths["/reservations"].post.responses["409"].description
      const result = yield* validate(document)
      assert.isFalse(result.valid)
    }))
})
