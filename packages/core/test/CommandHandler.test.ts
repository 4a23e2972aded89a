import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Ref, Schedule, Schema, SchemaTransformation, Stream } from "effect"
import { Aggregate, CommandHandler, EventStore, InMemory } from "@facta/core"
import { Account, Command, InsufficientFunds } from "./fixtures/Account.ts"

const accounts = CommandHandler.make(Account)

const storedEvents = (streamId: string) =>
  EventStore.EventStore.use((store) => Stream.runCollect(store.readStream(streamId)))

/** A memory store whose first `conflicts` appends fail as if another writer got there first. */
const conflictingStore = (conflicts: number) =>
  Layer.effect(
    EventStore.EventStore,
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const remaining = yield* Ref.make(conflicts)
      return EventStore.EventStore.of({
        ...store,
        append: (streamId, events, options) =>
          Ref.getAndUpdate(remaining, (n) => n - 1).pipe(
            Effect.flatMap((n) =>
              n > 0
                ? Effect.fail(new EventStore.WrongExpectedVersion({ streamId, expected: options?.expectedVersion ?? "any", actual: 99 }))
                : store.append(streamId, events, options)
            )
          )
      })
    })
  ).pipe(Layer.provide(InMemory.eventStore))

/**
 * A memory store that yields before each append, so concurrent commands really interleave between
 * reading a stream and appending to it (the plain memory store would run each one through).
 */
const interleavingStore = Layer.effect(
  EventStore.EventStore,
  Effect.map(EventStore.EventStore, (store) =>
    EventStore.EventStore.of({
      ...store,
      append: (streamId, events, options) => Effect.andThen(Effect.sleep("1 millis"), store.append(streamId, events, options))
    }))
).pipe(Layer.provide(InMemory.eventStore))

/** A memory store whose first append commits, then fails as if the connection was lost during the commit. */
const inDoubtStore = Layer.effect(
  EventStore.EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const lost = yield* Ref.make(false)
    return EventStore.EventStore.of({
      ...store,
      append: (streamId, events, options) =>
        Effect.flatMap(store.append(streamId, events, options), (result) =>
          Effect.flatMap(Ref.getAndSet(lost, true), (already) =>
            already ? Effect.succeed(result) : Effect.fail(new EventStore.EventStoreError({ message: "connection lost", transient: "inDoubt" }))))
    })
  })
).pipe(Layer.provide(InMemory.eventStore))

/**
 * A store made by `EventStore.make` over the memory store, with a fold's read of its own
 * (`readStreamData`, reading one event more to know where the stream ends): the pages it was
 * asked for are recorded.
 */
const foldReadingStore = Effect.gen(function*() {
  const memory = yield* EventStore.EventStore
  const dataReads: Array<{ readonly from: number; readonly limit: number }> = []
  const primitives = {
    append: (streamId, events, options, condition) =>
      condition === undefined ? memory.append(streamId, events, options) : memory.appendIf(streamId, events, condition, options),
    readStreamPage: (streamId, from, limit) => memory.readStreamPage(streamId, { from, batchSize: limit }),
    readStreamData: (streamId, from, limit) => {
      dataReads.push({ from, limit })
      return Effect.map(memory.readStreamPage(streamId, { from, batchSize: limit + 1 }), (events) => ({
        events: events.slice(0, limit).map(({ data, streamId, type, version }) => ({ streamId, version, type, data })),
        end: events.length <= limit
      }))
    },
    listStreams: (prefix, after, limit) => Effect.map(memory.listStreams({ prefix, after, limit }), (page) => page.streams),
    readCommand: memory.readCommand,
    readAllPage: (after, types, limit, segment) => memory.readPage({ after, types, batchSize: limit, segment }),
    readQueryPage: (query, after, limit) => memory.readQueryPage(query, { after, batchSize: limit }),
    count: (after, types, segment) => memory.count({ after, types, segment }),
    listen: memory.listen,
    head: memory.head
  } as EventStore.Primitives // the memory store's reads refuse bad input, which these tests give none of
  return { store: EventStore.make(primitives), dataReads }
}).pipe(Effect.provide(InMemory.eventStore))

describe("CommandHandler", () => {
  it.effect("handles a command: decodes, decides, appends and returns events, state and version", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      const result = yield* accounts.handle("account-1", { _tag: "Deposit", amount: 40 })
      assert.strictEqual(result.version, 2)
      assert.deepStrictEqual(result.state, { open: true, owner: "Ada", balance: 40 })
      assert.deepStrictEqual(result.events.map((event) => [event.type, event.version, event.data._tag]), [["Deposited", 2, "Deposited"]])
      const stored = yield* storedEvents("account-1")
      assert.deepStrictEqual(stored.map((event) => event.data), [{ owner: "Ada" }, { amount: 40 }])
      assert.deepStrictEqual(yield* accounts.load("account-1"), { state: result.state, version: 2 })
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("rejects invalid input with a validation error naming the field path, and stores nothing", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      const error = yield* Effect.flip(accounts.handle("account-1", { _tag: "Deposit", amount: -5 }))
      assert.strictEqual(error._tag, "ValidationError")
      if (error._tag !== "ValidationError") return
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), [["amount"]])
      assert.include(error.message, "amount")
      assert.include(error.message, "command of Account")
      const missing = yield* Effect.flip(accounts.handle("account-2", { _tag: "Open" }))
      assert.strictEqual(missing._tag, "ValidationError")
      if (missing._tag === "ValidationError") assert.deepStrictEqual(missing.issues.map((issue) => issue.path), [["owner"]])
      assert.strictEqual((yield* storedEvents("account-1")).length, 1)
      assert.strictEqual((yield* storedEvents("account-2")).length, 0)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("rejects a command the domain refuses with its typed error, and stores nothing", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      yield* accounts.handle("account-1", { _tag: "Deposit", amount: 10 })
      const error = yield* Effect.flip(accounts.handle("account-1", { _tag: "Withdraw", amount: 11 }))
      assert.deepStrictEqual(error, new InsufficientFunds({ balance: 10, requested: 11 }))
      assert.strictEqual((yield* storedEvents("account-1")).length, 2)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.live("five concurrent withdrawals of 24 from 100: exactly four succeed and the balance is 4", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      yield* accounts.handle("account-1", { _tag: "Deposit", amount: 100 })
      const outcomes = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        () => Effect.result(accounts.handle("account-1", { _tag: "Withdraw", amount: 24 })),
        { concurrency: "unbounded" }
      )
      const succeeded = outcomes.filter((outcome) => outcome._tag === "Success")
      const failed = outcomes.filter((outcome) => outcome._tag === "Failure")
      assert.strictEqual(succeeded.length, 4)
      assert.strictEqual(failed.length, 1)
      assert.instanceOf(failed[0]!.failure, InsufficientFunds)
      const { state, version } = yield* accounts.load("account-1")
      assert.strictEqual(state.balance, 4)
      assert.strictEqual(version, 6)
    }).pipe(Effect.provide(interleavingStore)))

  it.effect("refuses an expected version that is no version with InvalidInput, and decides nothing", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" })
      // What a careless parse of an HTTP If-Match header gives.
      for (const expectedVersion of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, "latest"]) {
        const error = yield* Effect.flip(
          accounts.handle("account-1", { _tag: "Deposit", amount: 1 }, { expectedVersion: expectedVersion as EventStore.ExpectedVersion })
        )
        assert.strictEqual(error._tag, "InvalidInput")
        assert.include(error.message, `expected version of a command of Account on stream "account-1"`)
      }
      assert.strictEqual((yield* storedEvents("account-1")).length, 1)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.live("a command pinned to a version is not run again after a conflict, whatever the retry schedule", () =>
    Effect.gen(function*() {
      const patient = CommandHandler.make(Account, { retry: Schedule.recurs(5) })
      const pinned = yield* Effect.flip(patient.handle("account-1", { _tag: "Open", owner: "Ada" }, { expectedVersion: 0 }))
      assert.deepStrictEqual(pinned, new EventStore.WrongExpectedVersion({ streamId: "account-1", expected: 0, actual: 99 }))
      assert.strictEqual((yield* storedEvents("account-1")).length, 0)
      // Unpinned, the same conflict is retried.
      assert.strictEqual((yield* patient.handle("account-1", { _tag: "Open", owner: "Ada" })).version, 1)
    }).pipe(Effect.provide(conflictingStore(1))))

  it.live("retries the whole cycle on a version conflict, then gives up with WrongExpectedVersion", () =>
    Effect.gen(function*() {
      const quick = CommandHandler.make(Account, { retry: Schedule.recurs(2) })
      yield* quick.handle("account-1", { _tag: "Open", owner: "Ada" }).pipe(Effect.provide(conflictingStore(2)))
      const error = yield* Effect.flip(quick.handle("account-1", { _tag: "Open", owner: "Ada" }).pipe(Effect.provide(conflictingStore(3))))
      assert.strictEqual(error._tag, "WrongExpectedVersion")
    }))

  it.effect("a stored event that no longer decodes fails the command with EventDecodeError naming stream and version", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* accounts.handle("account-bad", { _tag: "Open", owner: "Ada" })
      yield* store.append("account-bad", [{ type: "Deposited", data: { amount: "ten" } }])
      const error = yield* Effect.flip(accounts.handle("account-bad", { _tag: "Deposit", amount: 1 }))
      assert.strictEqual(error._tag, "EventDecodeError")
      if (error._tag !== "EventDecodeError") return
      assert.strictEqual(error.streamId, "account-bad")
      assert.strictEqual(error.version, 2)
      assert.include(error.detail, "amount")
      assert.strictEqual((yield* storedEvents("account-bad")).length, 2)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("a stream holding an event of a type the aggregate does not know is refused with ForeignEvent, and nothing is appended", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* accounts.handle("account-shared", { _tag: "Open", owner: "Ada" })
      yield* store.append("account-shared", [{ type: "StakeholderNotified", data: { email: "a@b.c" } }])
      const error = yield* Effect.flip(accounts.handle("account-shared", { _tag: "Deposit", amount: 1 }))
      assert.deepStrictEqual(
        error,
        new CommandHandler.ForeignEvent({ aggregate: Account.name, streamId: "account-shared", version: 2, type: "StakeholderNotified" })
      )
      assert.include(error.message, "a stream belongs to one aggregate")
      assert.strictEqual((yield* storedEvents("account-shared")).length, 2)
      assert.deepStrictEqual([...Account.events.knownTypes ?? []].sort(), ["Deposited", "Opened", "Withdrawn"].sort())
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("a stream whose last stored event an upcaster drops still appends at the stream's version", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const withRetiredEvent = CommandHandler.make(Aggregate.make({ ...Account, upcasters: { AuditNoted: () => [] } }))
      yield* withRetiredEvent.handle("account-retired", { _tag: "Open", owner: "Ada" })
      yield* store.append("account-retired", [{ type: "AuditNoted", data: {} }])
      assert.strictEqual((yield* withRetiredEvent.load("account-retired")).version, 2)
      const result = yield* withRetiredEvent.handle("account-retired", { _tag: "Deposit", amount: 5 })
      assert.strictEqual(result.version, 3)
      assert.strictEqual(result.state.balance, 5)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("loads a stream longer than a page in pages of loadBatchSize, folding every event once", () =>
    Effect.gen(function*() {
      const reads: Array<{ readonly from: number | undefined; readonly batchSize: number | undefined }> = []
      const recording = Layer.effect(EventStore.EventStore, Effect.map(EventStore.EventStore, (store) =>
        EventStore.EventStore.of({
          ...store,
          readStreamPage: (streamId, options) => {
            reads.push({ from: options?.from, batchSize: options?.batchSize })
            return store.readStreamPage(streamId, options)
          }
        }))).pipe(Layer.provide(InMemory.eventStore))
      const length = CommandHandler.loadBatchSize + 2
      const loaded = yield* Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        yield* store.append("account-long", [{ type: "Opened", data: { owner: "Ada" } }])
        const deposits = Array.from({ length: length - 1 }, () => ({ type: "Deposited", data: { amount: 1 } }))
        yield* store.append("account-long", deposits, { expectedVersion: 1 })
        reads.length = 0
        return yield* accounts.load("account-long")
      }).pipe(Effect.provide(recording))
      assert.deepStrictEqual(loaded, { state: { open: true, owner: "Ada", balance: length - 1 }, version: length })
      assert.deepStrictEqual(reads, [
        { from: 1, batchSize: CommandHandler.loadBatchSize },
        { from: CommandHandler.loadBatchSize + 1, batchSize: CommandHandler.loadBatchSize }
      ])
    }))

  it.effect("loads by the store's fold read: a stream exactly a page long in one read", () =>
    Effect.gen(function*() {
      const { dataReads, store } = yield* foldReadingStore
      const length = CommandHandler.loadBatchSize
      yield* store.append("account-page", [{ type: "Opened", data: { owner: "Ada" } }])
      yield* store.append("account-page", Array.from({ length: length - 1 }, () => ({ type: "Deposited", data: { amount: 1 } })), { expectedVersion: 1 })
      const loaded = yield* accounts.load("account-page").pipe(Effect.provideService(EventStore.EventStore, store))
      assert.deepStrictEqual(loaded, { state: { open: true, owner: "Ada", balance: length - 1 }, version: length })
      assert.deepStrictEqual(dataReads, [{ from: 1, limit: CommandHandler.loadBatchSize }])
      const result = yield* accounts.handle("account-page", { _tag: "Deposit", amount: 5 }).pipe(Effect.provideService(EventStore.EventStore, store))
      assert.strictEqual(result.state.balance, length + 4)
      assert.deepStrictEqual(dataReads[1], { from: 1, limit: CommandHandler.loadBatchSize })
    }))

  it.effect("a decorator that replaces readStreamPage is what a load reads, not the store's fold read", () =>
    Effect.gen(function*() {
      const { dataReads, store } = yield* foldReadingStore
      yield* store.append("account-decorated", [{ type: "Opened", data: { owner: "Ada" } }, { type: "Deposited", data: { amount: 3 } }])
      // A decorator hiding the deposits: the load must see what it gives.
      const decorated = EventStore.EventStore.of({
        ...store,
        readStreamPage: (streamId, options) =>
          Effect.map(store.readStreamPage(streamId, options), (page) => page.filter((event) => event.type !== "Deposited"))
      })
      const loaded = yield* accounts.load("account-decorated").pipe(Effect.provideService(EventStore.EventStore, decorated))
      assert.deepStrictEqual(loaded.state, { open: true, owner: "Ada", balance: 0 })
      assert.deepStrictEqual(dataReads, [])
      assert.strictEqual((yield* accounts.load("account-decorated").pipe(Effect.provideService(EventStore.EventStore, { ...store }))).state.balance, 3)
      assert.strictEqual(dataReads.length, 1)
    }))

  it.effect("folds events whose Schema decodes asynchronously", () =>
    Effect.gen(function*() {
      // An amount stored as text, parsed by an effect that suspends the fiber.
      const Amount = Schema.String.pipe(Schema.decodeTo(
        Schema.Int,
        SchemaTransformation.transformEffect({
          decode: (text) => Effect.as(Effect.yieldNow, Number(text)),
          encode: (amount) => Effect.succeed(String(amount))
        })
      ))
      class Added extends Schema.TaggedClass<Added>()("Added", { amount: Amount }) {}
      class Add extends Schema.TaggedClass<Add>()("Add", { amount: Schema.Int }) {}
      const Counter = Aggregate.make({
        name: "Counter",
        command: Add,
        event: Added,
        initialState: 0,
        decide: (command: Add) => Effect.succeed([new Added({ amount: command.amount })]),
        evolve: (total: number, event: Added) => total + event.amount
      })
      const counters = CommandHandler.make(Counter)
      for (const amount of [1, 2, 3]) yield* counters.handle("counter", { _tag: "Add", amount })
      assert.deepStrictEqual(yield* counters.load("counter"), { state: 6, version: 3 })
      assert.deepStrictEqual((yield* storedEvents("counter")).map((event) => event.data), [{ amount: "1" }, { amount: "2" }, { amount: "3" }])
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("runs inline handlers after the append with what the command produced", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<Array<string>>([])
      const audited = CommandHandler.make(Account, {
        handlers: [(result) => Ref.update(seen, (log) => [...log, `${result.streamId}@${result.version}:${result.state.balance}`])]
      })
      yield* audited.handle("account-1", { _tag: "Open", owner: "Ada" })
      yield* audited.handle("account-1", { _tag: "Deposit", amount: 5 })
      yield* Effect.flip(audited.handle("account-1", { _tag: "Withdraw", amount: 50 }))
      assert.deepStrictEqual(yield* Ref.get(seen), ["account-1@1:0", "account-1@2:5"])
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.live("of concurrent handlings of one commandId, only the one that appended runs the inline handlers", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const audited = CommandHandler.make(Account, { handlers: [() => Ref.update(runs, (n) => n + 1)] })
      const results = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => audited.handle("account-1", { _tag: "Open", owner: "Ada" }, { commandId: "open-1" }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results.map((result) => result.version), [1, 1, 1, 1])
      assert.strictEqual((yield* storedEvents("account-1")).length, 1)
      assert.strictEqual(yield* Ref.get(runs), 1)
    }).pipe(Effect.provide(interleavingStore)))

  it.effect("a command whose append failed in doubt, found stored when tried again, runs its inline handlers once", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<Array<number>>([])
      const audited = CommandHandler.make(Account, {
        handlers: [(result) => Ref.update(seen, (log) => [...log, result.version])],
        transientRetry: Schedule.recurs(1)
      })
      const result = yield* audited.handle("account-1", { _tag: "Open", owner: "Ada" }, { commandId: "open-1" })
      assert.strictEqual(result.version, 1)
      assert.strictEqual((yield* storedEvents("account-1")).length, 1)
      assert.deepStrictEqual(yield* Ref.get(seen), [1])
    }).pipe(Effect.provide(inDoubtStore)))

  it.effect("a failing inline handler fails the command with its error", () =>
    Effect.gen(function*() {
      class AuditDown extends Schema.TaggedError<AuditDown>()("AuditDown", {}) {}
      const failing = CommandHandler.make(Account, { handlers: [() => Effect.fail(new AuditDown())] })
      const error = yield* Effect.flip(failing.handle("account-1", { _tag: "Open", owner: "Ada" }))
      assert.instanceOf(error, AuditDown)
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect("stores the command's metadata on every event and gives them one correlation id", () =>
    Effect.gen(function*() {
      yield* accounts.handle("account-1", { _tag: "Open", owner: "Ada" }, { metadata: { causationId: "request-7", user: "ada" } })
      yield* accounts.handle("account-1", { _tag: "Deposit", amount: 1 }, { metadata: { correlationId: "flow-1" } })
      const [opened, deposited] = yield* storedEvents("account-1")
      assert.strictEqual(opened!.metadata.causationId, "request-7")
      assert.strictEqual(opened!.metadata.user, "ada")
      assert.isString(opened!.metadata.correlationId)
      assert.strictEqual(deposited!.metadata.correlationId, "flow-1")
    }).pipe(Effect.provide(InMemory.eventStore)))

  it.effect.prop(
    "the stream holds exactly the events of the accepted commands",
    [Schema.Array(Command)],
    ([commands]) =>
      Effect.gen(function*() {
        const accepted: Array<unknown> = []
        for (const command of commands) {
          const before = yield* accounts.load("account-1")
          const outcome = yield* Effect.result(accounts.execute("account-1", command))
          if (outcome._tag === "Success") accepted.push(...outcome.success.events.map((event) => event.id))
          else assert.deepStrictEqual(yield* accounts.load("account-1"), before)
        }
        assert.deepStrictEqual((yield* storedEvents("account-1")).map((event) => event.id), accepted)
      }).pipe(Effect.provide(InMemory.eventStore))
  )
})
