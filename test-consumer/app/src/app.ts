// A small application on the installed packages: commands on the memory store and on embedded
// Postgres, a projection, and the commands and the log over HTTP (http.ts). It exits non-zero when anything is not as expected.
import { Config, ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import { CommandHandler, Documents, EventStore, InMemory, Processor, Projection } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { SqlCluster } from "@facta/sql/cluster"
import { Account, AccountEvent } from "./Account.js"
import { overHttp, server } from "./http.js"

class AccountView extends Schema.Class<AccountView>("AccountView")({ owner: Schema.String, balance: Schema.Int }) {}

const views = Documents.make("accounts", AccountView)

const accountsProjection = Projection.make({
  name: "accounts",
  event: AccountEvent,
  handlers: {
    Opened: (event) => views.upsert(event.streamId, new AccountView({ owner: event.data.owner, balance: 0 })),
    Deposited: (event) =>
      views.update(event.streamId, (current) => {
        const view = Option.getOrThrow(current)
        return new AccountView({ owner: view.owner, balance: view.balance + event.data.amount })
      })
  },
  reset: views.clear
})

const accounts = CommandHandler.make(Account)

const check = (what: string, actual: unknown, expected: unknown) =>
  JSON.stringify(actual) === JSON.stringify(expected)
    ? Effect.void
    : Effect.die(new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`))

const program = (label: string) =>
  Effect.gen(function*() {
    yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
    const { state, version } = yield* accounts.handle("account-1", { _tag: "Deposit", amount: 40 })
    yield* check(`${label}: state`, state, { open: true, balance: 40 })
    yield* check(`${label}: version`, version, 2)
    // The command Schema made by this application's effect validates the input.
    const invalid = yield* accounts.handle("account-2", { _tag: "Open", owner: "" }).pipe(Effect.flip)
    yield* check(`${label}: invalid command`, invalid._tag, "ValidationError")
    const refused = yield* accounts.handle("account-3", { _tag: "Deposit", amount: 5 }).pipe(Effect.flip)
    yield* check(`${label}: refused command`, refused._tag, "AccountNotOpen")
    const head = yield* EventStore.EventStore.pipe(Effect.flatMap((store) => store.head()))
    yield* check(`${label}: events stored`, head > 0n, true)

    const processors = yield* Processor.startAll([accountsProjection])
    yield* processors.whenCaughtUp
    const view = yield* views.get("account-1")
    yield* check(`${label}: projection`, Option.getOrUndefined(view), { owner: "Ada", balance: 40 })
    yield* Effect.log(`${label}: ok`)
  }).pipe(Effect.scoped)

// Configured the Effect way, from a ConfigProvider (in an application: the environment).
const embedded = Embedded.layerConfig({ tablePrefix: Config.String("FACTA_TABLE_PREFIX") }).pipe(
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FACTA_TABLE_PREFIX: "app_" })))
)

// Type-checked, not run: a server layer from the environment.
export const onServer = Postgres.layerConfig({
  url: Config.Redacted("DATABASE_URL"),
  applicationName: Config.succeed("consumer-app"),
  maxConnections: Config.Int("DATABASE_POOL_SIZE").pipe(Config.withDefault(5))
})

// Type-checked, not run (its import is resolved when the app runs): the projection placed by
// Effect Cluster, on a server.
export const placed = Processor.layer([accountsProjection]).pipe(
  Layer.provide(SqlCluster.layer({ port: 34431 })),
  Layer.provide(onServer)
)

const main = Effect.gen(function*() {
  yield* program("memory").pipe(Effect.provide(InMemory.layer))
  yield* program("embedded").pipe(Effect.provide(embedded))
  yield* overHttp("memory").pipe(Effect.provide(server.pipe(Layer.provideMerge(InMemory.layer))))
  yield* overHttp("embedded").pipe(Effect.provide(server.pipe(Layer.provideMerge(embedded))))
  yield* Effect.log(`all ok on Node ${process.version}`)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
