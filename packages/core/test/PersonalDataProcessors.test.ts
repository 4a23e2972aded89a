/**
 * Processors of events with personal fields: a batch's fields are decrypted with one look-up of
 * their keys (not one per event), and an event whose field does not decrypt fails alone, named,
 * and is parked as stored: ciphertext, never the decrypted values of its batch.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { Documents, EventStore, InMemory, KeyStore, ParkedEvents, PersonalData, Processor, Projection, RecordedEvent } from "@facta/core"

class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  userId: Schema.String,
  email: PersonalData.field(Schema.String, { subject: "userId", placeholder: "" })
}) {}
const registrations = RecordedEvent.codec(Registered)
const emails = Documents.make("emails", Schema.Struct({ email: Schema.String }))

/** The memory key store, counting its look-ups. */
const counting = (lookups: { count: number }) =>
  Layer.sync(KeyStore.KeyStore, () => {
    const keys = KeyStore.makeMemory()
    return KeyStore.KeyStore.of({ ...keys, keys: (subjects, options) => Effect.andThen(Effect.sync(() => lookups.count++), keys.keys(subjects, options)) })
  })

const projection = (name: string) =>
  Projection.make({
    name,
    event: Registered,
    documents: [emails],
    handlers: { Registered: ({ data }) => emails.upsert(data.userId, { email: Redacted.value(data.email) }) }
  })

describe("processors of personal data", () => {
  it.live("decrypts a batch's personal fields with one look-up of their keys", () => {
    const lookups = { count: 0 }
    return Effect.scoped(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const events = yield* registrations.encodeMany(Array.from({ length: 200 }, (_, i) => new Registered({ userId: `u-${i % 20}`, email: Redacted.make(`user${i}@example.com`) })))
      yield* store.append("users", events)
      lookups.count = 0
      const running = yield* Processor.start(projection("emails-batched"), { batchSize: 100 })
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* emails.get("u-3"), Option.some({ email: "user183@example.com" }))
      assert.isAtMost(lookups.count, 4, `${lookups.count} look-ups for 200 events in batches of 100`)
    })).pipe(Effect.provide(Layer.merge(InMemory.layer, counting(lookups))))
  })

  it.live("an event whose field does not decrypt fails alone, and is parked as stored", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const [good, bad, after] = yield* registrations.encodeMany([
        new Registered({ userId: "ada", email: Redacted.make("ada@example.com") }),
        new Registered({ userId: "bob", email: Redacted.make("bob@example.com") }),
        new Registered({ userId: "eve", email: Redacted.make("eve@example.com") })
      ])
      const envelope = (bad!.data as { readonly email: { readonly data: string } }).email
      const altered = Buffer.from(envelope.data, "base64")
      altered[0] = altered[0]! ^ 1
      const tampered = { ...bad!, data: { ...bad!.data as object, email: { ...envelope, data: altered.toString("base64") } } }
      yield* store.append("people", [good!, tampered, after!])
      const running = yield* Processor.start(projection("emails-parked"), { onPoison: "park", retry: undefined })
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* emails.get("ada"), Option.some({ email: "ada@example.com" }))
      assert.deepStrictEqual(yield* emails.get("eve"), Option.some({ email: "eve@example.com" }))
      const parked = yield* (yield* ParkedEvents.ParkedEvents).list("emails-parked")
      assert.deepStrictEqual(parked.map((entry) => entry.event.version), [2])
      const stored = JSON.stringify(parked[0]!.event.data)
      assert.include(stored, "\"$facta\":\"personal\"")
      assert.notInclude(stored, "bob@example.com")
      assert.include(parked[0]!.error, "does not decrypt")
    })).pipe(Effect.provide(InMemory.layer)))
})
