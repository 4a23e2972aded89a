/**
 * Type tests: what users rely on the compiler to infer for processors. They are checked by the
 * type check that `npm test` runs first (a wrong inference fails it); at run time each test also
 * checks the processor it built.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, type Scope, Schema } from "effect"
import { type ClosedStreams, ProcessManager, Processor, Projection, Reactor, Transactor, type CheckpointStore, type EventStore, type InvalidInput, type ProjectionStore, type RecordedEvent } from "@facta/core"

class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
class Closed extends Schema.TaggedClass<Closed>()("Closed", {}) {}
class Greeted extends Schema.TaggedClass<Greeted>()("Greeted", { owner: Schema.String }) {}
const AccountEvent = Schema.Union([Opened, Closed])

class MailDown extends Schema.TaggedError<MailDown>()("MailDown", {}) {}
class ViewFailed extends Schema.TaggedError<ViewFailed>()("ViewFailed", {}) {}
class Mailer extends Context.Service<Mailer, { readonly send: (to: string) => Effect.Effect<void, MailDown> }>()("test/Mailer") {}
class Views extends Context.Service<Views, { readonly save: (id: string) => Effect.Effect<void, ViewFailed> }>()("test/Views") {}

type ErrorOfProcessor<P> = P extends Processor.Processor<infer E, any> ? E : never
type HandleOf<S> = S extends Effect.Effect<Processor.Running<infer E>, any, any> ? Processor.Handle<E> : never

const accountsView = Projection.make({
  name: "accounts-view",
  event: AccountEvent,
  handlers: {
    Opened: (event) => Views.use((views) => views.save(event.streamId)),
    Closed: () => Effect.void
  }
})

const greeter = Reactor.make({
  name: "greeter",
  event: AccountEvent,
  emits: [Greeted],
  handlers: {
    Opened: (event, { emit }) =>
      Mailer.use((mailer) => mailer.send(event.data.owner)).pipe(
        Effect.andThen(emit(`greeting-${event.streamId}`, [new Greeted({ owner: event.data.owner })]))
      )
  }
})

const lifecycle = ProcessManager.make({
  name: "lifecycle",
  event: AccountEvent,
  state: Schema.Struct({ open: Schema.Boolean }),
  initialState: { open: false },
  processId: (event) => event.streamId,
  handlers: {
    Opened: () => Effect.succeed({ open: true }),
    Closed: (_, state) => state.open ? Effect.succeed({ open: false }) : Effect.fail(new ViewFailed())
  }
})

describe("processor types", () => {
  it("a projection's errors and services are its handlers', plus event decoding", () => {
    expectTypeOf<ErrorOfProcessor<typeof accountsView>>().toEqualTypeOf<ViewFailed | RecordedEvent.EventDecodeError>()
    expectTypeOf<Processor.ContextOf<typeof accountsView>>().toEqualTypeOf<Views>()
    assert.deepStrictEqual([...accountsView.types].sort(), ["Closed", "Opened"])
  })

  it("a reactor's services include the event store it emits to", () => {
    expectTypeOf<Processor.ContextOf<typeof greeter>>().toEqualTypeOf<Mailer | EventStore.EventStore>()
    expectTypeOf<ErrorOfProcessor<typeof greeter>>().toEqualTypeOf<
      | MailDown
      | RecordedEvent.EventDecodeError
      | RecordedEvent.EventEncodeError
      | Reactor.UndeclaredEvent
      | EventStore.WrongExpectedVersion
      | ClosedStreams.StreamArchived
      | ClosedStreams.StreamDeleted
      | Transactor.RetryTransaction
      | EventStore.EventStoreError
      | InvalidInput.InvalidInput
    >()
    assert.deepStrictEqual(greeter.types, ["Opened"])
  })

  it("a process manager keeps its state in the projection store and fails with its handlers' errors", () => {
    expectTypeOf<Processor.ContextOf<typeof lifecycle>>().toEqualTypeOf<ProjectionStore.ProjectionStore>()
    expectTypeOf<ViewFailed>().toExtend<ErrorOfProcessor<typeof lifecycle>>()
    expectTypeOf<ProjectionStore.ProjectionStoreError>().toExtend<ErrorOfProcessor<typeof lifecycle>>()
    assert.strictEqual(lifecycle.kind, "process manager")
  })

  it("startAll over a mixed list needs every processor's services, and the runtime's", () => {
    const started = Processor.startAll([accountsView, greeter, lifecycle])
    type Needs = Effect.Services<typeof started>
    expectTypeOf<Needs>().toEqualTypeOf<
      Scope.Scope | Processor.Requirements | Views | Mailer | EventStore.EventStore | ProjectionStore.ProjectionStore
    >()
    expectTypeOf<Effect.Error<typeof started>>().toEqualTypeOf<never>()
    assert.isTrue(Effect.isEffect(started))
  })

  it("Processor.ErrorOf names what each kind of processor fails with", () => {
    expectTypeOf<Processor.ErrorOf<typeof accountsView>>().toEqualTypeOf<ErrorOfProcessor<typeof accountsView>>()
    expectTypeOf<Processor.ErrorOf<typeof greeter>>().toEqualTypeOf<ErrorOfProcessor<typeof greeter>>()
    expectTypeOf<Processor.ErrorOf<typeof lifecycle>>().toEqualTypeOf<ErrorOfProcessor<typeof lifecycle>>()
    expectTypeOf<Processor.ErrorOf<string>>().toBeNever()
    assert.strictEqual(accountsView.kind, "projection")
  })

  it("a handle's methods have typed errors; a rebuild fails with the processor's own or the runtime's", () => {
    const one = Processor.start(accountsView)
    type One = Effect.Success<typeof one>
    expectTypeOf<Effect.Error<One["rebuild"]>>().toEqualTypeOf<ViewFailed | RecordedEvent.EventDecodeError | Processor.RebuildError>()
    expectTypeOf<Effect.Error<One["whenCaughtUp"]>>().toEqualTypeOf<
      Processor.ProcessorHalted | Processor.SegmentsChanged | EventStore.EventStoreError | CheckpointStore.CheckpointStoreError
    >()
    expectTypeOf<Effect.Error<One["lag"]>>().toEqualTypeOf<EventStore.EventStoreError | CheckpointStore.CheckpointStoreError>()
    expectTypeOf<Effect.Error<One["status"]>>().toBeNever()
    expectTypeOf<Effect.Error<typeof one>>().toBeNever()

    const all = Processor.startAll([accountsView, greeter])
    type Rebuild = Effect.Error<HandleOf<typeof all>["rebuild"]>
    expectTypeOf<ViewFailed>().toExtend<Rebuild>()
    expectTypeOf<MailDown>().toExtend<Rebuild>()
    expectTypeOf<Processor.RebuildError>().toExtend<Rebuild>()
    expectTypeOf<Extract<Rebuild, ProjectionStore.ProjectionStoreError>>().toBeNever()
    assert.isTrue(Effect.isEffect(all))
  })
})
