/**
 * What every command shares: the flags naming the database, its stores for one command, and a
 * failure as one line.
 */
import type { Lease, Processor } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { Cause, Config, Console, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { CliError, Command, Flag } from "effect/cli"
import type { SqlClient } from "effect/sql"
import { format, type Table } from "./table.ts"

/**
 * A command failed; the message says why, in one line.
 *
 * @category errors
 * @since 0.1.0
 */
export class FactaError extends Schema.TaggedError<FactaError>()("FactaError", { message: Schema.String }) {
  override get [CliError.userMessage]() {
    return this.message
  }
}

const url = Flag.Redacted("url").pipe(Flag.withDescription("A Postgres URL (default: DATABASE_URL)"), Flag.optional)
const dataDir = Flag.String("data-dir").pipe(Flag.withDescription("An embedded (PGlite) data directory instead of a server"), Flag.optional)
const schema = Flag.String("schema").pipe(Flag.withDescription("The Postgres schema of Facta's tables"), Flag.optional)
const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of a table"), Flag.withDefault(false))

export const facta = Command.make("facta").pipe(
  Command.withSharedFlags({ url, dataDir, schema, json }),
  Command.withDescription("Operate Facta's stores: streams, processors, the readers' gate")
)

/**
 * Why a failure happened, in one line: the error's message and those of its causes (a driver's
 * "Failed to connect" says more with its "connect ECONNREFUSED 127.0.0.1:5432"), with any URL's
 * password masked.
 */
const oneLine = (cause: Cause.Cause<unknown>): string => {
  const messages: Array<string> = []
  for (let error: unknown = Cause.squash(cause), depth = 0; error instanceof Error && depth < 5; error = error.cause, depth++) {
    const message = error.message.split("\n")[0]!.trim()
    if (message !== "" && !messages.some((seen) => seen.includes(message))) messages.push(message)
  }
  return messages.join(": ").replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@")
}

/** The services of the stores the flags name (a server's or an embedded database's). */
export type StoreServices = Postgres.Stores | Lease.Lease | SqlClient.SqlClient

/** The stores of the database the flags name, for one command. */
export const stores: Effect.Effect<
  Layer.Layer<StoreServices, Postgres.LayerError>,
  FactaError | Config.ConfigError,
  Command.CommandContext<"facta">
> = Effect.gen(function*() {
  const root = yield* facta
  const tables = Option.isSome(root.schema) ? { schema: root.schema.value } : {}
  if (Option.isSome(root.dataDir)) return Embedded.layer({ ...tables, dataDir: root.dataDir.value })
  const given = Option.filter(
    Option.isSome(root.url) ? root.url : yield* Config.option(Config.Redacted("DATABASE_URL")),
    (url) => Redacted.value(url) !== ""
  )
  if (Option.isNone(given)) return yield* new FactaError({ message: "No database: pass --url, set DATABASE_URL, or pass --data-dir" })
  return Postgres.layer({ ...tables, url: given.value, applicationName: "facta-cli", gateWarning: false, maxConnections: 5, connectTimeout: "5 seconds", retry: Schedule.recurs(1) })
})

/**
 * Runs `body` on the stores the flags name, with the application's `services` (what its
 * processors' handlers need besides the stores) when given. A failure is one line.
 */
export const onStores = <A, E, R extends StoreServices>(
  body: Effect.Effect<A, E, R>,
  services?: Layer.Layer<any, unknown, any>
): Effect.Effect<A, FactaError, Command.CommandContext<"facta">> =>
  Effect.gen(function*() {
    const layer = yield* stores
    const storeLayer = layer as Layer.Layer<StoreServices, Postgres.LayerError>
    return yield* Effect.provide(body, services === undefined ? storeLayer : Layer.provideMerge(services, storeLayer) as typeof storeLayer)
  }).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail(new FactaError({ message: oneLine(cause) }))
    )
    // What `body` needs beyond the stores is `services`' to give, which the CLI cannot check.
  ) as Effect.Effect<A, FactaError, Command.CommandContext<"facta">>

/** Runs `body` on the stores and prints what it returns, as a table or as JSON. */
export const withStores = <A extends { readonly table: Table; readonly json: unknown }, E, R extends StoreServices>(
  body: Effect.Effect<A, E, R>
): Effect.Effect<void, FactaError, Command.CommandContext<"facta">> =>
  Effect.gen(function*() {
    const root = yield* facta
    const result = yield* onStores(body)
    yield* Console.log(root.json ? JSON.stringify(result.json, (_, value) => typeof value === "bigint" ? value.toString() : value, 2) : format(result.table))
  })

/** One of the application's processors, by name. */
export const knownProcessor = (known: ReadonlyArray<Processor.Any>, name: string) => {
  const processor = known.find((processor) => processor.name === name)
  return processor !== undefined ? Effect.succeed(processor) : Effect.fail(
    new FactaError({
      message: known.length === 0
        ? `Unknown processor "${name}": this facta has no processors; run the application's own bin (Cli.main({ processors }))`
        : `Unknown processor "${name}"; the processors are ${known.map((processor) => processor.name).join(", ")}`
    })
  )
}
