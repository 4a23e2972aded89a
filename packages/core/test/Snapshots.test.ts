import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, Schema } from "effect"
import { CommandHandler, EventStore, InMemory, SnapshotStore } from "@facta/core"
import { Account, Command, Deposit, Open } from "./fixtures/Account.ts"

const plain = CommandHandler.make(Account)
const every = (n: number, schemaVersion = 1) => CommandHandler.make(Account, { snapshot: { every: n, schemaVersion } })

/** Memory stores, recording the version each stream read starts from. */
const recordingStores = Effect.sync(() => {
  const reads: Array<number> = []
  const events = Layer.effect(EventStore.EventStore, Effect.map(EventStore.EventStore, (store) =>
    EventStore.EventStore.of({
      ...store,
      readStreamPage: (streamId, options) => {
        reads.push(options?.from ?? 1)
        return store.readStreamPage(streamId, options)
      }
    }))).pipe(Layer.provide(InMemory.eventStore))
  return { reads, layer: Layer.merge(events, InMemory.snapshotStore) }
})

/** Waits for the snapshot a command took in the background. */
const snapshotAt = (streamId: string, version: number) =>
  SnapshotStore.SnapshotStore.use((store) => store.load(streamId)).pipe(
    Effect.flatMap((found) => Option.isSome(found) && found.value.version >= version ? Effect.succeed(found.value) : Effect.fail("not yet" as const)),
    Effect.retry({ times: 200 }),
    Effect.orDie
  )

const depositTimes = (handler: typeof plain, count: number) =>
  Effect.forEach(Array.from({ length: count }, () => new Deposit({ amount: 1 })), (command) => handler.execute("acc", command), { discard: true })

describe("Snapshots", () => {
  it.effect.prop("the state loaded with snapshots equals the full fold, for any commands", [Schema.Array(Command)], ([commands]) =>
    Effect.gen(function*() {
      const snapshotted = every(2)
      for (const command of commands) {
        yield* Effect.ignore(snapshotted.execute("acc", command))
        yield* Effect.yieldNow
        assert.deepStrictEqual(yield* snapshotted.load("acc"), yield* plain.load("acc"))
      }
    }).pipe(Effect.provide(Layer.merge(InMemory.eventStore, InMemory.snapshotStore))))

  it.live("loads the latest snapshot and only the events after it", () =>
    Effect.gen(function*() {
      const { layer, reads } = yield* recordingStores
      yield* Effect.gen(function*() {
        const snapshotted = every(5)
        yield* snapshotted.execute("acc", new Open({ owner: "Ada" }))
        yield* depositTimes(snapshotted, 11)
        const snapshot = yield* snapshotAt("acc", 10)
        assert.strictEqual(snapshot.version, 10)
        assert.deepStrictEqual(snapshot.state, { open: true, owner: "Ada", balance: 9 })
        reads.length = 0
        const loaded = yield* snapshotted.load("acc")
        assert.deepStrictEqual(reads, [11])
        assert.deepStrictEqual(loaded, yield* plain.load("acc"))
      }).pipe(Effect.provide(layer))
    }))

  it.live("a new schema version ignores older snapshots, then replaces them", () =>
    Effect.gen(function*() {
      const { layer, reads } = yield* recordingStores
      yield* Effect.gen(function*() {
        yield* every(3, 1).execute("acc", new Open({ owner: "Ada" }))
        yield* depositTimes(every(3, 1), 3)
        assert.strictEqual((yield* snapshotAt("acc", 3)).schemaVersion, 1)
        const bumped = every(3, 2)
        reads.length = 0
        assert.deepStrictEqual(yield* bumped.load("acc"), yield* plain.load("acc"))
        assert.deepStrictEqual(reads[0], 1)
        yield* bumped.execute("acc", new Deposit({ amount: 1 }))
        const replaced = yield* SnapshotStore.SnapshotStore.use((store) => store.load("acc")).pipe(
          Effect.flatMap((found) => Option.isSome(found) && found.value.schemaVersion === 2 ? Effect.succeed(found.value) : Effect.fail("not yet" as const)),
          Effect.retry({ times: 200 })
        )
        assert.strictEqual(replaced.version, 5)
      }).pipe(Effect.provide(layer))
    }))

  it.live("a snapshot that does not decode is ignored with a warning, and the stream is folded in full", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const recorder = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      yield* Effect.gen(function*() {
        const snapshotted = every(100)
        yield* snapshotted.execute("acc", new Open({ owner: "Ada" }))
        yield* depositTimes(snapshotted, 3)
        yield* SnapshotStore.SnapshotStore.use((store) =>
          store.save({ streamId: "acc", schemaVersion: 1, version: 3, state: { open: true, owner: "Ada", balance: "lots" } })
        )
        assert.deepStrictEqual(yield* snapshotted.load("acc"), { state: { open: true, owner: "Ada", balance: 3 }, version: 4 })
        const [warning] = warnings
        assert.include(warning, "Ignoring the snapshot")
        assert.include(warning, "balance")
      }).pipe(Effect.provide(Layer.mergeAll(InMemory.eventStore, InMemory.snapshotStore, Logger.layer([recorder]))))
    }))

  it.live("a failing snapshot store never fails the command", () =>
    Effect.gen(function*() {
      const broken = Layer.succeed(SnapshotStore.SnapshotStore, SnapshotStore.SnapshotStore.of({
        load: () => Effect.fail(new SnapshotStore.SnapshotStoreError({ message: "down" })),
        save: () => Effect.fail(new SnapshotStore.SnapshotStoreError({ message: "down" })),
        delete: () => Effect.fail(new SnapshotStore.SnapshotStoreError({ message: "down" }))
      }))
      const result = yield* Effect.gen(function*() {
        const snapshotted = every(1)
        yield* snapshotted.execute("acc", new Open({ owner: "Ada" }))
        return yield* snapshotted.execute("acc", new Deposit({ amount: 7 }))
      }).pipe(Effect.provide(Layer.merge(InMemory.eventStore, broken)))
      assert.strictEqual(result.state.balance, 7)
      assert.strictEqual(result.version, 2)
    }))
})
