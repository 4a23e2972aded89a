/**
 * One process of `npm run bank:cluster`: the bank's processors on a Postgres server, as a runner
 * of an Effect Cluster on loopback. It runs until it is stopped: SIGTERM stops the processors,
 * rolling back their batches in flight and releasing their leases for the other processes.
 *
 * Arguments: the database URL, the schema, this runner's port.
 *
 * @since 0.1.0
 */
import { Postgres } from "@facta/sql"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import * as BankCluster from "./BankCluster.ts"

const [url, schema, port] = process.argv.slice(2) as [string, string, string]

const stores = Postgres.layer({ url: Redacted.make(url), schema, applicationName: `bank node ${process.pid}` })

const main = Layer.launch(BankCluster.layer({ port: Number(port), prefix: schema })).pipe(
  Effect.provide(stores),
  Effect.runFork
)
main.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit)) console.error(exit.cause)
  process.exit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
process.once("SIGTERM", () => Effect.runFork(Fiber.interrupt(main)))
