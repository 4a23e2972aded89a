/**
 * Personal fields as the types and the codec see them: a Schema with personal fields needs the
 * `KeyStore` (and says so in every Effect that encodes or decodes it), one without needs nothing;
 * errors and logs never show a personal value; a tampered or misplaced ciphertext is a typed
 * decode error, and the stored form does not depend on the field's value.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { inspect } from "node:util"
import { Effect, Exit, Option, Redacted, Schema } from "effect"
import {
  Aggregate,
  CommandHandler,
  Decision,
  DecisionHandler,
  type EventStore,
  InMemory,
  KeyStore,
  PersonalData,
  ProcessManager,
  type Processor,
  Projection,
  type ProjectionStore,
  RecordedEvent,
  Reactor
} from "@facta/core"

class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  userId: Schema.String,
  email: PersonalData.field(Schema.String, { subject: "userId", placeholder: "" }),
  age: PersonalData.field(Schema.Int, { subject: "userId", placeholder: -1 }),
  plan: Schema.String
}) {}
class Renamed extends Schema.TaggedClass<Renamed>()("Renamed", { userId: Schema.String, plan: Schema.String }) {}

const personal = RecordedEvent.codec(Schema.Union([Registered, Renamed]))
const plain = RecordedEvent.codec(Renamed)

const recorded = (unsaved: RecordedEvent.UnsavedEvent, version = 1): RecordedEvent.RecordedEvent => ({
  id: crypto.randomUUID(),
  streamId: "user-1",
  version,
  position: BigInt(version),
  type: unsaved.type,
  data: unsaved.data,
  metadata: {},
  recordedAt: undefined as never
})

const registered = (email: string, age = 36) => new Registered({ userId: "u-1", email: Redacted.make(email), age: Redacted.make(age), plan: "pro" })

describe("personal data", () => {
  it("a codec of personal fields needs the KeyStore; one without needs nothing", () => {
    expectTypeOf<Effect.Services<ReturnType<typeof personal.encode>>>().toEqualTypeOf<KeyStore.KeyStore>()
    expectTypeOf<Effect.Services<ReturnType<typeof personal.decodeMany>>>().toEqualTypeOf<KeyStore.KeyStore>()
    expectTypeOf<Effect.Services<ReturnType<typeof plain.encode>>>().toEqualTypeOf<never>()
    expectTypeOf<Effect.Services<ReturnType<typeof plain.decodeMany>>>().toEqualTypeOf<never>()
    // Run without a KeyStore, it does not compile: nothing is ever stored in plaintext by omission.
    // @ts-expect-error the KeyStore is missing
    const run: Effect.Effect<RecordedEvent.UnsavedEvent, RecordedEvent.EventEncodeError, never> = personal.encode(registered("ada@example.com"))
    assert.isDefined(run)
  })

  it("the command handler and the processors of personal events need the KeyStore; the events a reactor emits refuse such a Schema", () => {
    const users = Aggregate.make({
      name: "User",
      command: Renamed,
      event: Registered,
      initialState: 0,
      decide: () => Effect.succeed([]),
      evolve: (count) => count + 1
    })
    const handler = CommandHandler.make(users)
    expectTypeOf<Effect.Services<ReturnType<typeof handler.handle>>>().toEqualTypeOf<EventStore.EventStore | KeyStore.KeyStore>()
    expectTypeOf<Effect.Services<ReturnType<typeof handler.load>>>().toEqualTypeOf<EventStore.EventStore | KeyStore.KeyStore>()
    const projection = Projection.make({ name: "users", event: Registered, handlers: { Registered: () => Effect.void } })
    expectTypeOf(projection).toEqualTypeOf<Processor.Processor<RecordedEvent.EventDecodeError, KeyStore.KeyStore>>()
    const reactor = Reactor.make({ name: "mailer", event: Registered, emits: [Renamed], handlers: { Registered: () => Effect.succeed([]) } })
    expectTypeOf<typeof reactor>().toEqualTypeOf<Processor.Processor<RecordedEvent.EventDecodeError, EventStore.EventStore | KeyStore.KeyStore>>()
    const manager = ProcessManager.make({
      name: "welcome",
      event: Registered,
      state: Schema.Number,
      initialState: 0,
      processId: (event) => event.data.userId,
      handlers: { Registered: (_, count) => Effect.succeed(count + 1) }
    })
    expectTypeOf<Effect.Services<ReturnType<typeof manager.handle>>>().toEqualTypeOf<ProjectionStore.ProjectionStore | KeyStore.KeyStore>()
    const register = DecisionHandler.make(Decision.make({
      name: "register",
      command: Renamed,
      event: Registered,
      state: () => ({}),
      decide: () => Effect.succeed([]),
      tags: () => [],
      streamId: () => "users"
    }))
    expectTypeOf<Effect.Services<ReturnType<typeof register.handle>>>().toEqualTypeOf<EventStore.EventStore | KeyStore.KeyStore>()
    // The events a reactor emits are encoded without the KeyStore: a Schema with personal fields is refused.
    Reactor.make({
      name: "echo",
      event: Renamed,
      // @ts-expect-error personal fields need the KeyStore
      emits: [Registered],
      handlers: { Renamed: () => Effect.succeed([]) }
    })
  })

  it.effect("decoded personal values are Redacted: their string, JSON and inspection show no value", () =>
    Effect.gen(function*() {
      const [event] = yield* personal.decodeMany([recorded(yield* personal.encode(registered("ada@example.com")))])
      const data = event!.data as Registered
      assert.strictEqual(Redacted.value(data.email), "ada@example.com")
      assert.strictEqual(Redacted.value(data.age), 36)
      for (const shown of [String(data.email), JSON.stringify(data), inspect(event, { depth: 10 }), String(data)]) {
        assert.notInclude(shown, "ada@example.com")
      }
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("a personal value that its Schema refuses is a decode error whose message shows no value", () =>
    Effect.gen(function*() {
      const Strict = Schema.TaggedStruct("Registered", {
        userId: Schema.String,
        email: PersonalData.field(Schema.String.check(Schema.isMaxLength(5)), { subject: "userId", placeholder: "" }),
        age: PersonalData.field(Schema.String, { subject: "userId", placeholder: "" }),
        plan: Schema.String
      })
      const stored = recorded(yield* personal.encode(registered("ada.secret@example.com", 123456789)))
      const error = yield* Effect.flip(RecordedEvent.codec(Strict).decode(stored))
      assert.instanceOf(error, RecordedEvent.EventDecodeError)
      assert.include(error.message, "email")
      assert.notInclude(error.message, "ada.secret")
      assert.notInclude(error.message, "123456789")
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("a command refused by its Schema is a validation error whose message shows no value", () =>
    Effect.gen(function*() {
      class Register extends Schema.TaggedClass<Register>()("Register", {
        userId: Schema.String,
        email: Schema.String.check(Schema.isPattern(/^[^@]+@[^@]+$/)),
        age: Schema.Int
      }) {}
      const users = CommandHandler.make(Aggregate.make({
        name: "User",
        command: Register,
        event: Registered,
        initialState: 0,
        decide: () => Effect.succeed([]),
        evolve: (count) => count + 1
      }))
      const error = yield* Effect.flip(users.handle("user-1", { _tag: "Register", userId: "u-1", email: "ada.secret-at-example.com", age: 987654321.5 }))
      assert.strictEqual(error._tag, "ValidationError")
      assert.include(error.message, "email")
      assert.include(error.message, "age")
      assert.notInclude(error.message, "ada.secret")
      assert.notInclude(error.message, "987654321")
    }).pipe(Effect.provide(InMemory.layer)))

  it.effect("a ciphertext moved to another field or subject, or altered, does not decrypt: a typed decode error", () =>
    Effect.gen(function*() {
      const stored = recorded(yield* personal.encode(registered("ada@example.com")))
      const data = stored.data as Record<string, unknown>
      const swapped = recorded({ type: stored.type, data: { ...data, email: data["age"], age: data["email"] } })
      const swapError = yield* Effect.flip(personal.decode(swapped))
      assert.include(swapError.detail, "does not decrypt")
      const envelope = data["email"] as { readonly data: string }
      const altered = Buffer.from(envelope.data, "base64")
      altered[0] = altered[0]! ^ 1
      const tampered = recorded({ type: stored.type, data: { ...data, email: { ...envelope, data: altered.toString("base64") } } })
      const tamperError = yield* Effect.flip(personal.decode(tampered))
      assert.instanceOf(tamperError, RecordedEvent.EventDecodeError)
      assert.strictEqual(tamperError.streamId, "user-1")
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("a key store other than the one the event was stored with is a typed decode error, not a placeholder", () =>
    Effect.gen(function*() {
      const stored = recorded(yield* personal.encode(registered("ada@example.com")).pipe(Effect.provide(KeyStore.layerMemory)))
      const error = yield* Effect.flip(personal.decode(stored).pipe(Effect.provide(KeyStore.layerMemory)))
      assert.include(error.detail, "no key is known")
    }))

  it.effect("the same value is stored differently each time (a random IV), and only the personal fields are envelopes", () =>
    Effect.gen(function*() {
      const first = yield* personal.encode(registered("ada@example.com"))
      const second = yield* personal.encode(registered("ada@example.com"))
      const [a, b] = [first.data as Record<string, unknown>, second.data as Record<string, unknown>]
      assert.notDeepEqual(a["email"], b["email"])
      assert.strictEqual(a["plan"], "pro")
      assert.strictEqual(a["userId"], "u-1")
      assert.deepStrictEqual(Object.keys(a["email"] as object).sort(), ["$facta", "data", "iv", "subject"])
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("only a personal field's value is taken for an envelope: a plain field that looks like one is the user's", () =>
    Effect.gen(function*() {
      class Noted extends Schema.TaggedClass<Noted>()("Noted", {
        userId: Schema.String,
        email: PersonalData.field(Schema.String, { subject: "userId", placeholder: "" }),
        note: Schema.Unknown
      }) {}
      const noted = RecordedEvent.codec(Noted)
      const lookalike = { $facta: "personal", subject: "u-1", iv: "AAAA", data: "AAAA" }
      const stored = recorded(yield* noted.encode(new Noted({ userId: "u-1", email: Redacted.make("ada@example.com"), note: lookalike })))
      const event = yield* noted.decode(stored)
      assert.deepStrictEqual(event.data.note, lookalike)
      assert.strictEqual(Redacted.value(event.data.email), "ada@example.com")
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("a forgotten subject's fields decode to each field's own placeholder", () =>
    Effect.gen(function*() {
      const stored = recorded(yield* personal.encode(registered("ada@example.com")))
      yield* (yield* KeyStore.KeyStore).destroy("u-1")
      const event = yield* personal.decode(stored)
      const data = event.data as Registered
      assert.strictEqual(Redacted.value(data.email), "")
      assert.strictEqual(Redacted.value(data.age), -1)
      assert.strictEqual(data.plan, "pro")
    }).pipe(Effect.provide(KeyStore.layerMemory)))

  it.effect("keys wrapped under a master key read back under it, and not under another", () =>
    Effect.gen(function*() {
      const master = KeyStore.masterKey(Redacted.make(new Uint8Array(32).fill(7)))
      const wrapped = yield* master.wrap("u-1", new Uint8Array(32).fill(1))
      assert.strictEqual(Buffer.from(wrapped).indexOf(Buffer.from(new Uint8Array(32).fill(1))), -1)
      assert.deepStrictEqual([...yield* master.unwrap("u-1", wrapped)], [...new Uint8Array(32).fill(1)])
      const other = KeyStore.masterKey(Redacted.make(new Uint8Array(32).fill(8)))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(other.unwrap("u-1", wrapped))))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(master.unwrap("u-2", wrapped))), "bound to its subject")
      const short = yield* Effect.flip(KeyStore.masterKey(Redacted.make(new Uint8Array(16))).wrap("u-1", new Uint8Array(32)))
      assert.include(short.message, "32 bytes")
      const store = KeyStore.makeMemory(master)
      const keys = yield* store.keys(["u-1"], { purpose: "encrypt" })
      assert.strictEqual(keys.get("u-1")?._tag, "Live")
    }))

  it.effect("a key is kept in memory to encrypt with, never to decrypt with: another process's forget reads at once", () =>
    Effect.gen(function*() {
      const stored = new Map<string, KeyStore.StoredKey>()
      let loads = 0
      const primitives: KeyStore.Primitives = {
        load: (subjects) => Effect.sync(() => (loads++, new Map(subjects.flatMap((subject) => stored.has(subject) ? [[subject, stored.get(subject)!] as const] : [])))),
        insert: (subject, wrapped) => Effect.sync(() => (stored.has(subject) || stored.set(subject, wrapped), stored.get(subject)!)),
        destroy: (subject) => Effect.sync(() => (stored.set(subject, null), true))
      }
      const here = KeyStore.make(primitives)
      const elsewhere = KeyStore.make(primitives)
      const encode = (email: string) => Effect.provideService(personal.encode(registered(email)), KeyStore.KeyStore, here)
      const first = yield* encode("ada@example.com")
      const before = loads
      yield* encode("ada@example.com")
      assert.strictEqual(loads, before, "the second command reads no key")
      yield* elsewhere.destroy("u-1")
      // Encrypted here with the key this process still holds: it reads as forgotten all the same.
      const late = yield* encode("ada.late@example.com")
      for (const unsaved of [first, late]) {
        const event = yield* Effect.provideService(personal.decode(recorded(unsaved)), KeyStore.KeyStore, here)
        assert.strictEqual(Redacted.value((event.data as Registered).email), "")
      }
      const uncached = KeyStore.make(primitives, KeyStore.plainKeys, { encryptionCache: 0 })
      const refused = yield* Effect.flip(Effect.provideService(personal.encode(registered("ada@example.com")), KeyStore.KeyStore, uncached))
      assert.include(refused.message, "forgotten")
    }))

  it.effect("InMemory.layer provides a KeyStore", () =>
    Effect.gen(function*() {
      const keys = yield* KeyStore.KeyStore
      assert.isTrue(Option.isSome(Option.fromUndefinedOr((yield* keys.keys(["x"], { purpose: "encrypt" })).get("x"))))
    }).pipe(Effect.provide(InMemory.layer)))
})
