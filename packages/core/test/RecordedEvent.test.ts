import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Schema } from "effect"
import { RecordedEvent } from "@facta/core"

class Scheduled extends Schema.TaggedClass<Scheduled>()("Scheduled", { at: Schema.Date, count: Schema.Int }) {}
const codec = RecordedEvent.codec(Scheduled)

const stored = (data: unknown): RecordedEvent.RecordedEvent => ({
  id: "e-1",
  streamId: "plan-1",
  version: 3,
  position: 9_007_199_254_740_993n,
  type: "Scheduled",
  data,
  metadata: {},
  recordedAt: DateTime.makeUnsafe(0)
})

describe("RecordedEvent.codec", () => {
  it.effect("encodes an event to JSON data without its tag, and decodes it back", () =>
    Effect.gen(function*() {
      const event = new Scheduled({ at: new Date("2026-03-01T00:00:00.000Z"), count: 2 })
      const unsaved = yield* codec.encode(event, { correlationId: "c" })
      assert.deepStrictEqual(unsaved, { type: "Scheduled", data: { at: "2026-03-01T00:00:00.000Z", count: 2 }, metadata: { correlationId: "c" } })
      const decoded = yield* codec.decode(stored(unsaved.data))
      assert.deepStrictEqual(decoded.data, event)
      assert.strictEqual(decoded.position, 9_007_199_254_740_993n)
    }))

  it.effect("names the stream, version and type of a stored event it cannot decode", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(codec.decode(stored({ at: "2026-03-01T00:00:00.000Z", count: "two" })))
      assert.strictEqual(error._tag, "EventDecodeError")
      assert.strictEqual(error.streamId, "plan-1")
      assert.strictEqual(error.version, 3)
      assert.strictEqual(error.type, "Scheduled")
      assert.include(error.message, "count")
    }))

  it.effect("fails to encode an invalid event before anything reaches a store", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(codec.encode(new Scheduled({ at: new Date("2026-03-01"), count: 1.5 }, { disableChecks: true })))
      assert.strictEqual(error._tag, "EventEncodeError")
      assert.include(error.message, "Scheduled")
    }))
})
