import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option, Schema, Tracer } from "effect"
import { CommandHandler, Documents, InMemory, Metrics, Processor, Projection } from "@facta/core"
import { Account, Event } from "./fixtures/Account.ts"

/** A tracer that keeps every span it starts. */
const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, layer: Layer.succeed(Tracer.Tracer, tracer) }
}

const counterValue = (attributes: Record<string, string>) =>
  Effect.map(Metric.value(Metric.withAttributes(Metrics.commands, attributes)), (state) => Number(state.count))

const accounts = CommandHandler.make(Account)

describe("Observability", () => {
  it.effect("traces command handling, loading and appending, with the facts needed to find a command", () => {
    const { layer, spans } = recordingTracer()
    return Effect.gen(function*() {
      yield* accounts.handle("account-7", { _tag: "Open", owner: "Ada" }, { metadata: { correlationId: "flow-7" } })
      yield* Effect.flip(accounts.handle("account-7", { _tag: "Withdraw", amount: 5 }))
      const executes = spans.filter((span) => span.name === "CommandHandler.execute")
      assert.strictEqual(executes.length, 2)
      const [opened, refused] = executes
      assert.strictEqual(opened!.attributes.get("aggregate"), "Account")
      assert.strictEqual(opened!.attributes.get("streamId"), "account-7")
      assert.strictEqual(opened!.attributes.get("command"), "Open")
      assert.strictEqual(opened!.attributes.get("correlationId"), "flow-7")
      assert.strictEqual(opened!.attributes.get("version"), 1)
      assert.strictEqual(opened!.attributes.get("retries"), 0)
      assert.strictEqual(refused!.attributes.get("command"), "Withdraw")
      assert.isTrue(refused!.status._tag === "Ended" && refused!.status.exit._tag === "Failure")
      const append = spans.find((span) => span.name === "EventStore.append")!
      assert.strictEqual(append.attributes.get("streamId"), "account-7")
      assert.strictEqual(append.attributes.get("events"), 1)
      assert.isTrue(spans.some((span) => span.name === "CommandHandler.load"))
    }).pipe(Effect.provide(Layer.merge(InMemory.eventStore, layer)))
  })

  it.effect("traces each processor batch with its processor, positions and size", () => {
    const { layer, spans } = recordingTracer()
    return Effect.gen(function*() {
      const views = Documents.make("observed-accounts", Schema.Struct({ owner: Schema.String }))
      const projection = Projection.make({
        name: "observed-accounts",
        event: Event,
        handlers: { Opened: (event) => views.upsert(event.streamId, { owner: event.data.owner }) }
      })
      yield* accounts.handle("a-1", { _tag: "Open", owner: "Ada" })
      yield* accounts.handle("a-2", { _tag: "Open", owner: "Bob" })
      const handle = yield* Processor.start(projection)
      yield* handle.whenCaughtUp
      const batch = spans.find((span) => span.name === "Processor.batch")!
      assert.strictEqual(batch.attributes.get("processor"), "observed-accounts")
      assert.strictEqual(batch.attributes.get("events"), 2)
      assert.strictEqual(batch.attributes.get("from"), "0")
      assert.strictEqual(batch.attributes.get("to"), (yield* handle.status).position.toString())
      assert.deepStrictEqual(yield* views.get("a-2"), Option.some({ owner: "Bob" }))
      const position = yield* Metric.value(Metric.withAttributes(Metrics.processorPosition, { processor: "observed-accounts" }))
      assert.strictEqual(Number(position.value), Number((yield* handle.status).position))
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(InMemory.layer, layer)))
  })

  it.effect("counts commands by outcome, and events appended", () =>
    Effect.gen(function*() {
      const before = {
        handled: yield* counterValue({ aggregate: "Account", outcome: "handled" }),
        rejected: yield* counterValue({ aggregate: "Account", outcome: "rejected" }),
        invalid: yield* counterValue({ aggregate: "Account", outcome: "invalid" }),
        appended: Number((yield* Metric.value(Metrics.eventsAppended)).count)
      }
      yield* accounts.handle("m-1", { _tag: "Open", owner: "Ada" })
      yield* accounts.handle("m-1", { _tag: "Deposit", amount: 3 })
      yield* Effect.flip(accounts.handle("m-1", { _tag: "Withdraw", amount: 30 }))
      yield* Effect.flip(accounts.handle("m-1", { _tag: "Deposit", amount: -1 }))
      assert.strictEqual((yield* counterValue({ aggregate: "Account", outcome: "handled" })) - before.handled, 2)
      assert.strictEqual((yield* counterValue({ aggregate: "Account", outcome: "rejected" })) - before.rejected, 1)
      assert.strictEqual((yield* counterValue({ aggregate: "Account", outcome: "invalid" })) - before.invalid, 1)
      assert.strictEqual(Number((yield* Metric.value(Metrics.eventsAppended)).count) - before.appended, 2)
    }).pipe(Effect.provide(InMemory.eventStore)))
})
