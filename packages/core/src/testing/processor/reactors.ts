/**
 * Reactors and held appends: a reactor's events carry their source's correlation id and cause,
 * and undeclared types are refused; a batch's appends are held until it commits, seen by its own
 * reads, dropped with a failed attempt; a command handled in a batch loads what the batch holds,
 * and its snapshot is saved only after the commit.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Option, Ref, Schedule, Schema, Stream } from "effect"
import * as Aggregate from "../../Aggregate.ts"
import * as CommandHandler from "../../CommandHandler.ts"
import { EventStore } from "../../EventStore.ts"
import * as Processor from "../../Processor.ts"
import * as Reactor from "../../Reactor.ts"
import { SnapshotStore } from "../../SnapshotStore.ts"
import { quickRetry, type Services, unique } from "./fixtures.ts"

export const reactors = (it: Vitest.MethodsNonLive<Services>) => {
  it.effect("a reactor's events carry the source's correlation id and name it as their cause; undeclared types are refused", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const [requested, sent, forbidden] = [unique("Requested"), unique("Sent"), unique("Forbidden")]
      const Requested = Schema.TaggedStruct(requested, { to: Schema.String })
      const Sent = Schema.TaggedStruct(sent, { to: Schema.String })
      const Forbidden = Schema.TaggedStruct(forbidden, {})
      const refusals = yield* Ref.make<Array<string>>([])
      const reactor = Reactor.make({
        name: unique("mailer"),
        event: Requested,
        emits: [Sent],
        handlers: {
          [requested]: (event: { readonly data: { readonly to: string }; readonly streamId: string }, context: Reactor.Context<typeof Sent.Type>) =>
            Effect.gen(function*() {
              yield* context.emit(`mail-${event.streamId}`, [{ _tag: sent, to: event.data.to } as typeof Sent.Type])
              const refused = yield* Effect.flip(context.emit(`mail-${event.streamId}`, [{ _tag: forbidden } as unknown as typeof Sent.Type]))
              yield* Ref.update(refusals, (all) => [...all, refused.message])
            })
        } as Reactor.Handlers<typeof Requested.Type, typeof Sent.Type>
      })
      const source = yield* store.append("request-1", [{ type: requested, data: { to: "ada@example.com" }, metadata: { correlationId: "flow-42" } }])
      const handle = yield* Processor.start(reactor)
      yield* handle.whenCaughtUp
      const emitted = yield* Stream.runCollect(store.readStream("mail-request-1"))
      assert.strictEqual(emitted.length, 1)
      assert.strictEqual(emitted[0]!.type, sent)
      assert.deepStrictEqual(emitted[0]!.data, { to: "ada@example.com" })
      assert.strictEqual(emitted[0]!.metadata.causationId, source.events[0]!.id)
      assert.strictEqual(emitted[0]!.metadata.correlationId, "flow-42")
      const [refusal] = yield* Ref.get(refusals)
      assert.include(refusal, forbidden)
      assert.include(refusal, sent)
      void Forbidden
    }).pipe(Effect.scoped))

  it.effect("a batch's appends are held until it commits: its own reads of the stream see them, a failed attempt leaves none, the commit writes them in order", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const [requested, noted] = [unique("Requested"), unique("Noted")]
      const Requested = Schema.TaggedStruct(requested, { n: Schema.Int })
      const Noted = Schema.TaggedStruct(noted, { n: Schema.Int })
      const journal = unique("journal")
      const seen: Array<{ readonly versions: ReadonlyArray<number>; readonly position: bigint; readonly id: string }> = []
      let failOnce = true
      const reactor = Reactor.make({
        name: unique("journaling"),
        event: Requested,
        emits: [Noted],
        handlers: {
          [requested]: (event: { readonly data: { readonly n: number } }, context: Reactor.Context<typeof Noted.Type>) =>
            Effect.gen(function*() {
              const result = yield* context.emit(journal, [{ _tag: noted, n: event.data.n } as typeof Noted.Type])
              // The stream as this batch sees it, through the store the handler is given: what
              // is stored, then what the batch holds.
              const inBatch = yield* EventStore
              const versions = (yield* Stream.runCollect(inBatch.readStream(journal))).map((recorded) => recorded.version)
              seen.push({ versions, position: result.events[0]!.position, id: result.events[0]!.id })
              // The first attempt fails after its appends: nothing of it may remain.
              if (event.data.n === 3 && failOnce) {
                failOnce = false
                return yield* Effect.fail("not yet" as const)
              }
            })
        } as Reactor.Handlers<typeof Requested.Type, typeof Noted.Type>
      })
      // The journal has an event already: the first held append comes after it.
      yield* store.append(journal, [{ type: noted, data: { n: 0 } }])
      yield* store.append(unique("requests"), [1, 2, 3].map((n) => ({ type: requested, data: { n } })))
      const handle = yield* Processor.start(reactor, { retry: quickRetry })
      yield* handle.whenCaughtUp
      const written = yield* Stream.runCollect(store.readStream(journal))
      // Once each, in order, though the first attempt appended two events before it failed.
      assert.deepStrictEqual(written.map((recorded) => [recorded.version, (recorded.data as { n: number }).n]), [[1, 0], [2, 1], [3, 2], [4, 3]])
      assert.isTrue(written.every((recorded) => recorded.position > 0n))
      // Inside the batch: the stream grew with each held append; positions are not known yet.
      assert.deepStrictEqual(seen.map((entry) => entry.versions), [[1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2], [1, 2, 3], [1, 2, 3, 4]])
      assert.isTrue(seen.every((entry) => entry.position === 0n))
      // The ids the handler was given are those stored.
      assert.deepStrictEqual(written.slice(1).map((recorded) => recorded.id), seen.slice(3).map((entry) => entry.id))
    }).pipe(Effect.scoped))

  it.effect("a command handled in a batch loads the stream with what the batch holds, and its snapshot is saved only once the batch commits", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const snapshots = yield* SnapshotStore
      const [requested, added] = [unique("Requested"), unique("Added")]
      const Requested = Schema.TaggedStruct(requested, { amount: Schema.Int })
      const Added = Schema.TaggedStruct(added, { amount: Schema.Int })
      const Add = Schema.TaggedStruct("Add", { amount: Schema.Int })
      const counter = unique("counter")
      const counters = CommandHandler.make(Aggregate.make({
        name: unique("Counter"),
        command: Add,
        event: Added,
        state: Schema.Int,
        initialState: 0,
        decide: (command: typeof Add.Type) => Effect.succeed([{ _tag: added, amount: command.amount } as typeof Added.Type]),
        evolve: (total: number, event: typeof Added.Type) => total + event.amount
      }), { snapshot: { every: 1, schemaVersion: 1 } })
      const totals: Array<number> = []
      let failOnce = true
      const adding = Reactor.make({
        name: unique("adding"),
        event: Requested,
        emits: [],
        handlers: {
          [requested]: (event: { readonly data: { readonly amount: number } }) =>
            Effect.gen(function*() {
              const { state } = yield* counters.execute(counter, { _tag: "Add", amount: event.data.amount })
              totals.push(state)
              if (failOnce && totals.length === 2) {
                failOnce = false
                // No snapshot of the rolled-back attempt may be saved: it is read after the rollback.
                return yield* Effect.fail("not yet" as const)
              }
            })
        } as Reactor.Handlers<typeof Requested.Type, never>
      })
      yield* store.append(unique("requests"), [1, 10, 100].map((amount) => ({ type: requested, data: { amount } })))
      const handle = yield* Processor.start(adding, { retry: quickRetry })
      yield* handle.whenCaughtUp
      // The second command of each attempt loaded the first's held events.
      assert.deepStrictEqual(totals, [1, 11, 1, 11, 111])
      assert.deepStrictEqual((yield* Stream.runCollect(store.readStream(counter))).map((recorded) => recorded.version), [1, 2, 3])
      // Saved in the background after the commit.
      const saved = yield* snapshots.load(counter).pipe(
        Effect.flatMap((found) => Option.isSome(found) && found.value.version === 3 ? Effect.succeed(found.value) : Effect.fail("not yet" as const)),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 100 })
      )
      assert.strictEqual(saved.state, 111)
      assert.deepStrictEqual(yield* counters.load(counter), { state: 111, version: 3 })
    }).pipe(Effect.scoped))
}
