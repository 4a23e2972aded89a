import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { InMemory, InvalidInput, Processor } from "@facta/core"
import { ProcessorConformance, UpcastingConformance } from "@facta/core/testing"

ProcessorConformance.processorConformance("memory", InMemory.layer)
UpcastingConformance.upcastingConformance("memory", InMemory.layer)

const processorOf = (types: ReadonlyArray<string>): Processor.Processor => ({
  name: "bounded",
  kind: "projection",
  types,
  handle: () => Effect.void,
  reset: Effect.void
})

layer(InMemory.layer)("Processor.start", (it) => {
  it.effect("dies at once, naming the limit, when its event types or batch size are more than a read takes", () =>
    Effect.gen(function*() {
      const refusal = (exit: Exit.Exit<unknown, unknown>) => {
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.instanceOf(defect, InvalidInput.InvalidInput)
        return [defect.subject, defect.path, defect.reason]
      }
      const tooMany = processorOf(Array.from({ length: InvalidInput.limits.typesPerRead + 1 }, (_, i) => `T${i}`))
      assert.deepStrictEqual(
        refusal(yield* Effect.exit(Effect.scoped(Processor.start(tooMany)))),
        ["processor \"bounded\"", "$.types", `has ${InvalidInput.limits.typesPerRead + 1} types; at most ${InvalidInput.limits.typesPerRead} are allowed`]
      )
      assert.deepStrictEqual(
        refusal(yield* Effect.exit(Effect.scoped(Processor.start(processorOf(["T"]), { batchSize: 0 })))),
        ["processor \"bounded\"", "$.batchSize", `must be an integer from 1 to ${InvalidInput.limits.batchSize}, not 0`]
      )
      assert.deepStrictEqual(
        refusal(yield* Effect.exit(Effect.scoped(Processor.start(processorOf(["T", "a\u0000"]))))),
        ["type 2 of the processor \"bounded\"", "$", "\"a\\u0000\" contains a NUL character (\\u0000)"]
      )
      // At the limits, it starts.
      const atLimits = processorOf(Array.from({ length: InvalidInput.limits.typesPerRead }, (_, i) => `T${i}`))
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(Effect.scoped(Processor.start(atLimits, { batchSize: InvalidInput.limits.batchSize })))))
    }))
})
