/**
 * A small account aggregate and the HTTP API of its commands, for the tests: what an
 * application writes with `@facta/http`.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { NodeHttpServer } from "@effect/platform-node"
import { Aggregate, CommandHandler, EventStore, type RecordedEvent } from "@facta/core"
import { createServer } from "node:http"
import { CommandApi, Health } from "../src/index.ts"

export class OpenAccount extends Schema.TaggedClass<OpenAccount>()("OpenAccount", { owner: Schema.NonEmptyString }) {}
export class Deposit extends Schema.TaggedClass<Deposit>()("Deposit", { amount: Schema.Int.check(Schema.isGreaterThan(0)) }) {}
export class Withdraw extends Schema.TaggedClass<Withdraw>()("Withdraw", { amount: Schema.Int.check(Schema.isGreaterThan(0)) }) {}
const Command = Schema.Union([OpenAccount, Deposit, Withdraw])

export class AccountOpened extends Schema.TaggedClass<AccountOpened>()("AccountOpened", { owner: Schema.String }) {}
export class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int, balance: Schema.Int }) {}
export class Withdrawn extends Schema.TaggedClass<Withdrawn>()("Withdrawn", { amount: Schema.Int, balance: Schema.Int }) {}
const Event = Schema.Union([AccountOpened, Deposited, Withdrawn])

export class AccountAlreadyOpen extends Schema.TaggedError<AccountAlreadyOpen>()("AccountAlreadyOpen", {}) {}
/** Annotated with its own status: answered 404 rather than the default 422. */
export class AccountNotFound extends Schema.TaggedError<AccountNotFound>()("AccountNotFound", {}, { httpApiStatus: 404 }) {}
export class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  balance: Schema.Int,
  requested: Schema.Int
}) {}

type State = { readonly open: false } | { readonly open: true; readonly balance: number }

export const Account = Aggregate.make({
  name: "Account",
  command: Command,
  event: Event,
  initialState: { open: false } as State,
  decide: (command, state) =>
    Effect.gen(function*() {
      if (command._tag === "OpenAccount") {
        if (state.open) return yield* new AccountAlreadyOpen()
        return [new AccountOpened({ owner: command.owner })]
      }
      if (!state.open) return yield* new AccountNotFound()
      if (command._tag === "Deposit") return [new Deposited({ amount: command.amount, balance: state.balance + command.amount })]
      if (command.amount > state.balance) return yield* new InsufficientFunds({ balance: state.balance, requested: command.amount })
      return [new Withdrawn({ amount: command.amount, balance: state.balance - command.amount })]
    }),
  evolve: (state, event): State => {
    switch (event._tag) {
      case "AccountOpened":
        return { open: true, balance: 0 }
      case "Deposited":
      case "Withdrawn":
        return state.open ? { ...state, balance: event.balance } : state
    }
  }
})

export const streamId = (id: string) => `account-${id}`

export class Accounts extends HttpApiGroup.make("accounts").add(
  CommandApi.endpoint(Account, OpenAccount, { method: "PUT", path: "/accounts/:id", status: 201, streamId, errors: [AccountAlreadyOpen] }),
  CommandApi.endpoint(Account, Deposit, { path: "/accounts/:id/deposit", streamId, errors: [AccountNotFound] }),
  CommandApi.endpoint(Account, Withdraw, { path: "/accounts/:id/withdraw", streamId, errors: [AccountNotFound, InsufficientFunds] })
) {}

export class Api extends HttpApi.make("bank").add(Accounts).add(Health.HealthGroup).middleware(HttpApiMiddleware.ProblemDetails) {}

/**
 * The store as the command handler sees it: appends to a stream whose id ends in `-contended`
 * always conflict, as if another writer always came first.
 */
const contended = Layer.effect(
  EventStore.EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return {
      ...store,
      append: (id: string, events: ReadonlyArray<RecordedEvent.UnsavedEvent>, options?: EventStore.AppendOptions) =>
        id.endsWith("-contended")
          ? Effect.fail(new EventStore.WrongExpectedVersion({ streamId: id, expected: 0, actual: 1 }))
          : store.append(id, events, options)
    }
  })
)

/** After an append to a stream whose id ends in `-conditioned`, an inline handler's append condition breaks. */
const conditioned: CommandHandler.InlineHandler<unknown, unknown, EventStore.AppendConditionFailed> = (result) =>
  result.streamId.endsWith("-conditioned")
    ? Effect.fail(
      new EventStore.AppendConditionFailed({
        streamId: `${result.streamId}-ledger`,
        query: "types [Deposited]",
        eventId: "e-1",
        eventStreamId: result.streamId,
        eventVersion: 1,
        eventType: "Deposited",
        eventPosition: 1n
      })
    )
    : Effect.void

export const handler = CommandHandler.make(Account, { handlers: [conditioned] })

/** The API's routes with the OpenAPI document at `/openapi.json`. */
export const routes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([
    CommandApi.layer(Api, "accounts", handler).pipe(Layer.provide(contended)),
    Health.layer(Api, { timeout: "1 second" })
  ]),
  // Request failures as problems naming each field; the routes are built with it.
  Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
)

/** A real server on a free port of the loopback interface. */
export const server = HttpRouter.serve(routes, { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)
