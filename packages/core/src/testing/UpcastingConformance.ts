/**
 * Reading history through every store: rows written in older shapes (inserted as raw JSON) decode
 * into today's events — a renamed field, a field added with a default, a renamed type and a split
 * event — in command handling and in projections, while new events are written in today's shape.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer, Option, Schema, SchemaTransformation, Stream } from "effect"
import * as Aggregate from "../Aggregate.ts"
import * as CommandHandler from "../CommandHandler.ts"
import type { CheckpointStore } from "../CheckpointStore.ts"
import { EventStore } from "../EventStore.ts"
import type { Lease } from "../Lease.ts"
import * as Processor from "../Processor.ts"
import * as Projection from "../Projection.ts"
import * as Documents from "../Documents.ts"
import * as ProjectionStore from "../ProjectionStore.ts"
import { renamedTo } from "../RecordedEvent.ts"
import type { Transactor } from "../Transactor.ts"

/** Today's registration. Its first shape called `fullName` "name" and had no `plan`. */
class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  fullName: Schema.String,
  email: Schema.String,
  plan: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("free")))
}) {}

/** The first shape, decoded into today's: declared next to the event. */
const RegisteredV1 = Schema.Struct({ _tag: Schema.Literal("Registered"), name: Schema.String, email: Schema.String }).pipe(
  Schema.decodeTo(
    Registered,
    SchemaTransformation.transform({
      decode: (old) => ({ _tag: "Registered" as const, fullName: old.name, email: old.email }),
      encode: (current) => ({ _tag: "Registered" as const, name: current.fullName, email: current.email })
    })
  )
)

class NameChanged extends Schema.TaggedClass<NameChanged>()("NameChanged", { fullName: Schema.String }) {}
class EmailChanged extends Schema.TaggedClass<EmailChanged>()("EmailChanged", { email: Schema.String }) {}
class ChangeName extends Schema.TaggedClass<ChangeName>()("ChangeName", { fullName: Schema.String }) {}

// Writing picks the first member that fits a value: today's shape.
const ProfileEvent = Schema.Union([Registered, RegisteredV1, NameChanged, EmailChanged])

const upcasters = {
  // The type was renamed.
  UserSignedUp: renamedTo("Registered"),
  // One event became two.
  ProfileUpdated: (event: { readonly data: unknown }) => {
    const data = event.data as { readonly fullName: string; readonly email: string }
    return [{ type: "NameChanged", data: { fullName: data.fullName } }, { type: "EmailChanged", data: { email: data.email } }]
  }
}

interface Profile {
  readonly fullName: string
  readonly email: string
  readonly plan: string
}

const ProfileAggregate = Aggregate.make({
  name: "Profile",
  command: ChangeName,
  event: ProfileEvent,
  initialState: { fullName: "", email: "", plan: "" } as Profile,
  upcasters,
  decide: (command) => Effect.succeed([new NameChanged({ fullName: command.fullName })]),
  evolve: (state, event): Profile => {
    switch (event._tag) {
      case "Registered":
        return { fullName: event.fullName, email: event.email, plan: event.plan }
      case "NameChanged":
        return { ...state, fullName: event.fullName }
      case "EmailChanged":
        return { ...state, email: event.email }
    }
  }
})

const ProfileView = Schema.Struct({ fullName: Schema.String, email: Schema.String, plan: Schema.String })

/**
 * @category models
 * @since 0.1.0
 */
export type Services = EventStore | ProjectionStore.ProjectionStore | CheckpointStore | Transactor | Lease

/**
 * Registers the upcasting suite for the stores `storeLayer` provides.
 *
 * @category testing
 * @since 0.1.0
 */
export const upcastingConformance = <E>(name: string, storeLayer: Layer.Layer<Services, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`Upcasting conformance: ${name}`, (it) => {
    it.effect("old shapes, renamed types and split events decode into today's events; new events use today's shape", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const streamId = `profile-${crypto.randomUUID()}`
        // History as older code wrote it.
        yield* store.append(streamId, [
          { type: "UserSignedUp", data: { name: "Ada", email: "ada@old.example" } },
          { type: "ProfileUpdated", data: { fullName: "Ada Lovelace", email: "ada@example.com" } }
        ])
        yield* store.append(`${streamId}-v1`, [{ type: "Registered", data: { name: "Bob", email: "bob@example.com" } }])

        const profiles = CommandHandler.make(ProfileAggregate)
        assert.deepStrictEqual(yield* profiles.load(streamId), {
          state: { fullName: "Ada Lovelace", email: "ada@example.com", plan: "free" },
          version: 2
        })
        assert.deepStrictEqual((yield* profiles.load(`${streamId}-v1`)).state, { fullName: "Bob", email: "bob@example.com", plan: "free" })

        const result = yield* profiles.handle(streamId, { _tag: "ChangeName", fullName: "Augusta Ada King" })
        assert.strictEqual(result.version, 3)
        const written = (yield* Stream.runCollect(store.readStream(streamId, { from: 3 })))[0]!
        assert.strictEqual(written.type, "NameChanged")
        assert.deepStrictEqual(written.data, { fullName: "Augusta Ada King" })

        // A projection reads the old types too (the store filters by current and legacy types).
        const views = Documents.make(`profiles-${crypto.randomUUID()}`, ProfileView)
        const projection = Projection.make({
          name: views.name,
          event: ProfileEvent,
          upcasters,
          handlers: {
            Registered: (event) => views.upsert(event.streamId, { fullName: event.data.fullName, email: event.data.email, plan: event.data.plan }),
            NameChanged: (event) =>
              Effect.flatMap(views.get(event.streamId), (view) =>
                views.upsert(event.streamId, { ...Option.getOrThrow(view), fullName: event.data.fullName })),
            EmailChanged: (event) =>
              Effect.flatMap(views.get(event.streamId), (view) => views.upsert(event.streamId, { ...Option.getOrThrow(view), email: event.data.email }))
          }
        })
        assert.includeMembers([...projection.types], ["UserSignedUp", "ProfileUpdated", "Registered", "NameChanged", "EmailChanged"])
        const handle = yield* Processor.start(projection)
        yield* handle.whenCaughtUp
        assert.deepStrictEqual(yield* views.get(streamId), Option.some({ fullName: "Augusta Ada King", email: "ada@example.com", plan: "free" }))
        assert.deepStrictEqual(yield* views.get(`${streamId}-v1`), Option.some({ fullName: "Bob", email: "bob@example.com", plan: "free" }))
      }).pipe(Effect.scoped))
  })
