/**
 * A small application for the console's tests: accounts whose deposits a projection sums, one
 * deposit it cannot handle until `cure` (so it parks), and a console served on a free port over
 * the memory stores or a Postgres server.
 */
import { Documents, EventStore, InMemory, Processor, Projection } from "@facta/core"
import { type Duration, Effect, Layer, ManagedRuntime, Option, Schedule, Schema } from "effect"
import { HttpServer } from "effect/http"
import { OperatorConsole } from "../src/index.ts"

class Opened extends Schema.TaggedClass<Opened>()("Opened", { owner: Schema.String }) {}
class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int }) {}

export const balances = Documents.make("console-balances", Schema.Struct({ balance: Schema.Int }))

/** Deposits of this amount fail until {@link cure}. */
export const poison = 13
const cured = { value: false }
export const cure = () => {
  cured.value = true
}
export const sicken = () => {
  cured.value = false
}

export const projection = Projection.make({
  name: "console-balances",
  event: Schema.Union([Opened, Deposited]),
  handlers: {
    Opened: (event) => balances.upsert(event.streamId, { balance: 0 }),
    Deposited: (event) =>
      event.data.amount === poison && !cured.value
        ? Effect.die(new Error(`deposit of ${poison} refused`))
        : balances.update(event.streamId, (current) => ({ balance: Option.match(current, { onNone: () => 0, onSome: ({ balance }) => balance }) + event.data.amount }))
  },
  documents: [balances]
})

export const processors = [projection] as const

/**
 * The stores, the console over them on a free port, and the projection running beside it
 * (parking what it cannot handle), which the test can stop and start again as an operator
 * stops and starts the application.
 */
export const start = async (options: {
  readonly token?: string | undefined
  /** Default: the memory stores. */
  readonly stores?: Layer.Layer<InMemory.Services, unknown> | undefined
  readonly processors?: ReadonlyArray<Processor.Processor<unknown, InMemory.Services>> | undefined
  readonly run?: boolean | undefined
  readonly gate?: OperatorConsole.Options<ReadonlyArray<Processor.Processor<unknown, InMemory.Services>>, InMemory.Services>["gate"]
  readonly findEvent?: OperatorConsole.Options<ReadonlyArray<Processor.Processor<unknown, InMemory.Services>>, InMemory.Services>["findEvent"]
  readonly sampleEvery?: Duration.Input | undefined
  /** What the running projection does with an event it cannot handle. Default "park". */
  readonly onPoison?: "park" | "halt" | undefined
}) => {
  const stores = ManagedRuntime.make(options.stores ?? InMemory.layer)
  const shared = Layer.succeedContext(await stores.context())
  const console = ManagedRuntime.make(
    OperatorConsole.serve({
      processors: options.processors ?? processors,
      token: options.token,
      port: 0,
      sampleEvery: options.sampleEvery ?? "200 millis",
      gate: options.gate,
      findEvent: options.findEvent
    }).pipe(
      Layer.provideMerge(shared)
    )
  )
  const address = await console.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  let running: ManagedRuntime.ManagedRuntime<never, never> | undefined
  const startProcessors = async () => {
    running = ManagedRuntime.make(
      Layer.effectDiscard(Effect.asVoid(Processor.startAll(processors, { onPoison: options.onPoison ?? "park", retry: Schedule.recurs(0) }))).pipe(Layer.provide(shared))
    )
    await running.runPromise(Effect.void)
  }
  const stopProcessors = async () => {
    await running?.dispose()
    running = undefined
  }
  if (options.run !== false) await startProcessors()
  return {
    url: OperatorConsole.urlOf(address),
    run: <A, E>(effect: Effect.Effect<A, E, InMemory.Services>) => stores.runPromise(effect),
    startProcessors,
    stopProcessors,
    dispose: async () => {
      await stopProcessors()
      await console.dispose()
      await stores.dispose()
    }
  }
}

/** Appends events to a stream. */
export const append = (streamId: string, events: ReadonlyArray<{ readonly type: string; readonly data: unknown; readonly metadata?: Record<string, unknown> }>) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return yield* store.append(streamId, events.map((event) => ({ type: event.type, data: event.data, metadata: event.metadata ?? {} })))
  })
