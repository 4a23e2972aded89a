/**
 * One application process of the scale-out figure (11): it opens the stores, says "ready", and
 * on "go" (a line on stdin) runs a projection of the `Scaled` backlog in segments, keeping a
 * balance document per account, until it is killed.
 *
 * Arguments: the server URL, the schema, the projection's name and its number of segments.
 */
import { createInterface } from "node:readline"
import { Documents, Processor, Projection } from "@facta/core"
import { Postgres } from "@facta/sql"
import { Deferred, Effect, Layer, Option, Redacted, Schema } from "effect"

const [url, schema, name, segments] = process.argv.slice(2) as [string, string, string, string]

const Balance = Schema.Struct({ balance: Schema.Int, count: Schema.Int })
const documents = Documents.make(name, Balance)
const projection = Projection.make({
  name,
  event: Schema.TaggedStruct("Scaled", { amount: Schema.Int }),
  handlers: {
    Scaled: (event) =>
      documents.update(event.streamId, (current) => {
        const { balance, count } = Option.getOrElse(current, () => ({ balance: 0, count: 0 }))
        return { balance: balance + event.data.amount, count: count + 1 }
      })
  },
  segments: Number(segments)
})

Effect.gen(function*() {
  const go = yield* Deferred.make<void>()
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "go") Deferred.doneUnsafe(go, Effect.void)
  })
  process.stdout.write("ready\n")
  yield* Deferred.await(go)
  yield* Processor.start(projection, { batchSize: 500 })
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.orDie(Postgres.layer({ url: Redacted.make(url), schema, gateWarning: false, maxConnections: Number(process.env["SCALE_POOL"] ?? 10) }))),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
