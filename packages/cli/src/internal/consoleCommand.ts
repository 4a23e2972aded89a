/** `facta console`: the operator's console over the stores the flags name. */
import type { Processor } from "@facta/core"
import { OperatorConsole } from "@facta/console"
import { Gate, SqlEventStore } from "@facta/sql"
import { Config, Console, Effect, type Layer, Option, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { Command, Flag } from "effect/cli"
import { facta, onStores, type StoreServices } from "./stores.ts"

export const consoleCommand = (known: ReadonlyArray<Processor.Any>, services: Layer.Layer<any, unknown, any> | undefined) =>
  Command.make("console", {
    port: Flag.Int("port").pipe(Flag.withDescription("The port to listen on (0: any free port)"), Flag.withDefault(7700)),
    host: Flag.String("host").pipe(Flag.withDescription("The address to listen on; other machines reach it only if this is not a loopback address"), Flag.withDefault("127.0.0.1")),
    token: Flag.Redacted("token").pipe(
      Flag.withDescription("Enables the actions (replay, drop, rebuild) for a page that has this token (default: FACTA_CONSOLE_TOKEN; without one the console is read-only)"),
      Flag.optional
    )
  }, ({ host, port, token }) =>
    Effect.gen(function*() {
      const root = yield* facta
      const tables = Option.isSome(root.schema) ? { schema: root.schema.value } : {}
      const given = Option.filter(
        Option.isSome(token) ? token : yield* Config.option(Config.Redacted("FACTA_CONSOLE_TOKEN")),
        (value) => Redacted.value(value) !== ""
      )
      const server = OperatorConsole.serve({
        processors: known as ReadonlyArray<Processor.Processor<unknown, StoreServices>>,
        token: Option.getOrUndefined(given),
        host,
        port,
        gate: Gate.holders(tables),
        findEvent: (id) => SqlEventStore.readEvent(id, tables)
      })
      const announce = Effect.flatMap(HttpServer.HttpServer, ({ address }) => {
        const url = OperatorConsole.urlOf(address)
        return Console.log(
          Option.isSome(given)
            ? `The console is at ${url}#token=${encodeURIComponent(Redacted.value(given.value))} (actions enabled; ctrl-c stops it)`
            : `The console is at ${url} (read-only: pass --token or set FACTA_CONSOLE_TOKEN for actions; ctrl-c stops it)`
        )
      })
      yield* onStores(Effect.provide(Effect.andThen(announce, Effect.never), server), services)
    })).pipe(Command.withDescription("Serve the operator's console: streams, the live log, processors, parked events, rebuilds, the readers' gate"))
