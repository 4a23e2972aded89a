/**
 * Transactions and batches: appends in a transaction are read back by it and commit or roll back
 * with it, as do the writes of every other store; in a processor's batch, reads and lists see the
 * batch's own document writes, and updates apply in log order.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Option, Ref, Schema, Stream } from "effect"
import { CheckpointStore } from "../../CheckpointStore.ts"
import * as Documents from "../../Documents.ts"
import { EventStore, WrongExpectedVersion } from "../../EventStore.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import * as ProjectionStore from "../../ProjectionStore.ts"
import { SnapshotStore } from "../../SnapshotStore.ts"
import { Transactor } from "../../Transactor.ts"
import { append, counterEvents, type Services, unique } from "./fixtures.ts"

export const transactions = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("appends inside a transaction are read back by it, and commit or roll back with it", () =>
    Effect.gen(function*() {
      const transactor = yield* Transactor
      const store = yield* EventStore
      const [x, y, kept] = [unique("tx_x"), unique("tx_y"), unique("Kept")]
      const readStream = (streamId: string) => Stream.runCollect(store.readStream(streamId))
      yield* store.append(y, [{ type: kept, data: { n: 0 } }])
      const seenInside = yield* Ref.make(-1)
      const refused = yield* transactor.withTransaction(Effect.gen(function*() {
        yield* store.append(x, [{ type: kept, data: { n: 1 } }], { expectedVersion: "noStream" })
        yield* Ref.set(seenInside, (yield* readStream(x)).length)
        yield* store.append(y, [{ type: kept, data: { n: 2 } }], { expectedVersion: "noStream" })
      })).pipe(Effect.flip)
      assert.instanceOf(refused, WrongExpectedVersion)
      assert.strictEqual(yield* Ref.get(seenInside), 1, "the transaction reads its own append")
      assert.deepStrictEqual(yield* readStream(x), [], "the append before the failing one rolled back")
      assert.deepStrictEqual((yield* readStream(y)).map((event) => event.data), [{ n: 0 }])

      const written = yield* transactor.withTransaction(Effect.all([
        store.append(x, [{ type: kept, data: { n: 3 } }], { expectedVersion: "noStream" }),
        store.append(x, [{ type: kept, data: { n: 4 } }], { expectedVersion: 1 })
      ]))
      const stored = yield* readStream(x)
      assert.deepStrictEqual(stored.map((event) => [event.version, event.data]), [[1, { n: 3 }], [2, { n: 4 }]])
      assert.deepStrictEqual(stored.map((event) => event.position), written.flatMap((result) => result.events.map((event) => event.position)))
    }))

  it.effect("every store's writes inside a transaction commit or roll back together", () =>
    Effect.gen(function*() {
      const transactor = yield* Transactor
      const events = yield* EventStore
      const documents = yield* ProjectionStore.ProjectionStore
      const checkpoints = yield* CheckpointStore
      const snapshots = yield* SnapshotStore
      const [stream, projection, processor, type] = [unique("tx_all"), unique("tx_docs"), unique("tx_cp"), unique("Kept")]
      const writeAll = (n: number) =>
        transactor.withTransaction(Effect.gen(function*() {
          yield* events.append(stream, [{ type, data: { n } }])
          yield* documents.upsert(projection, "d", { n })
          yield* checkpoints.set(processor, yield* checkpoints.get(processor), BigInt(n))
          yield* snapshots.save({ streamId: stream, schemaVersion: 1, version: n, state: { n } })
          // Each write is seen by the transaction that made it.
          assert.deepStrictEqual(Option.getOrUndefined(yield* snapshots.load(stream))?.state, { n })
          assert.deepStrictEqual(Option.getOrUndefined(yield* documents.get(projection, "d")), { n })
          if (n === 2) return yield* Effect.fail("refused")
        }))
      const seen = Effect.all({
        events: Effect.map(events.readStreamPage(stream, { from: 1 }), (page) => page.map((event) => event.data)),
        document: Effect.map(documents.get(projection, "d"), Option.getOrUndefined),
        checkpoint: checkpoints.get(processor),
        snapshot: Effect.map(snapshots.load(stream), (found) => Option.getOrUndefined(found)?.state)
      })
      yield* writeAll(1)
      assert.deepStrictEqual(yield* seen, { events: [{ n: 1 }], document: { n: 1 }, checkpoint: 1n, snapshot: { n: 1 } })
      assert.strictEqual(yield* Effect.flip(writeAll(2)), "refused")
      assert.deepStrictEqual(yield* seen, { events: [{ n: 1 }], document: { n: 1 }, checkpoint: 1n, snapshot: { n: 1 } }, "nothing of the failed transaction stays")
    }))

  it.effect("in a batch, reads and lists see the batch's own writes, and updates apply in log order", () =>
    Effect.gen(function*() {
      const events = counterEvents()
      const name = unique("buffered")
      const notes = Documents.make(name, Schema.Struct({ amounts: Schema.Array(Schema.Int) }))
      const seen = yield* Ref.make<Array<{ readonly listed: number; readonly read: ReadonlyArray<number> }>>([])
      const projection = Projection.make({
        name,
        event: events.Added,
        handlers: {
          [events.added]: (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
            Effect.gen(function*() {
              yield* notes.upsert(`${event.streamId}-${event.version}`, { amounts: [event.data.amount] })
              yield* notes.update("all", (current) => ({ amounts: [...Option.getOrElse(current, () => ({ amounts: [] })).amounts, event.data.amount] }))
              const listed = (yield* notes.list).length
              const read = Option.getOrThrow(yield* notes.get("all")).amounts
              yield* Ref.update(seen, (all) => [...all, { listed, read }])
            })
        }
      })
      yield* append("n", events.added, [5, 6, 7])
      const handle = yield* Processor.start(projection, { batchSize: 10 })
      yield* handle.whenCaughtUp
      assert.deepStrictEqual(yield* Ref.get(seen), [
        { listed: 2, read: [5] },
        { listed: 3, read: [5, 6] },
        { listed: 4, read: [5, 6, 7] }
      ])
      assert.deepStrictEqual(yield* notes.get("all"), Option.some({ amounts: [5, 6, 7] }))
      assert.deepStrictEqual(yield* notes.get("n-3"), Option.some({ amounts: [7] }))
    }).pipe(Effect.scoped))
}
