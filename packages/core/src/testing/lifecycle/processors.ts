/**
 * Processors and closed streams: a projection that handles the markers drops a deleted stream's
 * document and marks an archived one, each at the marker's log position; one without handlers for
 * them never sees them; a processor mid-batch over a stream being deleted ends with the stream's
 * document dropped, once; a rebuild after a deletion equals a fold of what remains; and appends
 * inside a transaction, or held by a reactor's batch, to a closed stream are refused as such.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Deferred, Effect, Option, Schema, type Scope, Stream } from "effect"
import * as ClosedStreams from "../../ClosedStreams.ts"
import * as Documents from "../../Documents.ts"
import { EventStore } from "../../EventStore.ts"
import { ParkedEvents } from "../../ParkedEvents.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import * as Reactor from "../../Reactor.ts"
import { StreamLifecycle } from "../../StreamLifecycle.ts"
import { Transactor } from "../../Transactor.ts"
import { category, failsWith, type Services } from "./fixtures.ts"
import { append, quickRetry } from "../processor/fixtures.ts"

class Balance extends Schema.Class<Balance>("Balance")({
  total: Schema.Int,
  count: Schema.Int,
  archived: Schema.Boolean
}) {}

/**
 * A projection of balances by stream that handles both markers. Markers are of every stream of
 * the store: it handles those of its own category.
 */
const balances = (
  name: string,
  type: string,
  accounts: string,
  options?: {
    readonly slow?: boolean
    readonly markers?: boolean
    /** Runs before the handler of each deposit (a test holds the batch open there). */
    readonly before?: (event: { readonly streamId: string; readonly version: number }) => Effect.Effect<void>
  }
) => {
  const ours = (streamId: string) => streamId.startsWith(`${accounts}-`)
  const Deposited = Schema.TaggedStruct(type, { amount: Schema.Int })
  const documents = Documents.make(name, Balance)
  const zero = new Balance({ total: 0, count: 0, archived: false })
  const deposited = (event: { readonly streamId: string; readonly version: number; readonly data: { readonly amount: number } }) =>
    Effect.gen(function*() {
      if (options?.slow === true) yield* Effect.sleep("2 millis")
      if (options?.before !== undefined) yield* options.before(event)
      const current = Option.getOrElse(yield* documents.get(event.streamId), () => zero)
      yield* documents.upsert(event.streamId, new Balance({ ...current, total: current.total + event.data.amount, count: current.count + 1 }))
    })
  if (options?.markers === false) {
    return { documents, projection: Projection.make({ name, event: Deposited, handlers: { [type]: deposited } as Projection.Handlers<typeof Deposited.Type>, documents: [documents] }) }
  }
  const projection = Projection.make({
    name,
    event: Schema.Union([Deposited, ClosedStreams.Marker]),
    handlers: {
      [type]: deposited,
      [ClosedStreams.archivedType]: (event: { readonly streamId: string }) =>
        Effect.gen(function*() {
          if (!ours(event.streamId)) return
          const current = Option.getOrElse(yield* documents.get(event.streamId), () => zero)
          yield* documents.upsert(event.streamId, new Balance({ ...current, archived: true }))
        }),
      [ClosedStreams.deletedType]: (event: { readonly streamId: string }) => ours(event.streamId) ? documents.delete(event.streamId) : Effect.void
    } as Projection.Handlers<typeof Deposited.Type | ClosedStreams.Marker>,
    documents: [documents]
  })
  return { projection, documents }
}

const listed = (documents: Documents.Documents<Balance>) =>
  Effect.map(documents.list, (all) => Object.fromEntries(all.map(({ document, id }) => [id, [document.total, document.count, document.archived]])))

export const processors = (it: Vitest.MethodsNonLive<Services>, concurrentTest: Vitest.Test<Services | Scope.Scope>) => {
  concurrentTest("a stream deleted while a processor's batch over it is open: the batch commits, the tombstone then drops the document", () =>
    Effect.gen(function*() {
      const accounts = category("held")
      const type = `Deposited${accounts}`
      const reached = yield* Deferred.make<void>()
      const resume = yield* Deferred.make<void>()
      const { documents, projection } = balances(`held${accounts}`, type, accounts, {
        before: (event) =>
          event.streamId === `${accounts}-a` && event.version === 10
            ? Effect.andThen(Deferred.succeed(reached, undefined), Deferred.await(resume))
            : Effect.void
      })
      yield* append(`${accounts}-a`, type, Array.from({ length: 20 }, () => 1))
      yield* append(`${accounts}-b`, type, [5])
      const running = yield* Processor.startAll([projection], { batchSize: 15 })
      // The batch holds events 1 to 15 of the stream, and handles the tenth as it is deleted.
      yield* Deferred.await(reached)
      const closed = yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(`${accounts}-a`))
      assert.strictEqual(closed.moved, 20)
      yield* Deferred.succeed(resume, undefined)
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* listed(documents), { [`${accounts}-b`]: [5, 1, false] })
      assert.isTrue((yield* running.health).healthy)
      // A rebuild now reads what remains: the tombstone, and the other stream.
      yield* Option.getOrThrow(running.get(projection.name)).rebuild
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* listed(documents), { [`${accounts}-b`]: [5, 1, false] })
    }).pipe(Effect.scoped))

  it.effect("a projection handling the markers drops a deleted stream's document and marks an archived one; one without handlers goes on", () =>
    Effect.gen(function*() {
      const accounts = category("acct")
      const type = `Deposited${accounts}`
      const handled = balances(`balances${accounts}`, type, accounts)
      const unaware = balances(`unaware${accounts}`, type, accounts, { markers: false })
      const running = yield* Processor.startAll([handled.projection, unaware.projection])
      yield* append(`${accounts}-a`, type, [1, 2])
      yield* append(`${accounts}-b`, type, [10])
      yield* append(`${accounts}-c`, type, [100])
      yield* running.whenCaughtUp
      const lifecycle = yield* StreamLifecycle
      yield* lifecycle.delete(`${accounts}-a`)
      yield* lifecycle.archive(`${accounts}-b`)
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* listed(handled.documents), { [`${accounts}-b`]: [10, 1, true], [`${accounts}-c`]: [100, 1, false] })
      // Without handlers for the markers, a projection never sees them, and keeps what it built.
      assert.deepStrictEqual(Object.keys(yield* listed(unaware.documents)).length, 3)
      assert.isTrue((yield* running.health).healthy)
      // The rebuild reads what remains: equal to what the projection built live.
      const handle = Option.getOrThrow(running.get(handled.projection.name))
      yield* handle.rebuild
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* listed(handled.documents), { [`${accounts}-b`]: [10, 1, true], [`${accounts}-c`]: [100, 1, false] })
    }).pipe(Effect.scoped))

  it.effect("a processor mid-batch over a stream being deleted ends with its document dropped, and the other streams whole", () =>
    Effect.gen(function*() {
      const accounts = category("busy")
      const type = `Deposited${accounts}`
      const { documents, projection } = balances(`busy${accounts}`, type, accounts, { slow: true })
      for (const id of ["a", "b"]) yield* append(`${accounts}-${id}`, type, Array.from({ length: 40 }, () => 1))
      const running = yield* Processor.startAll([projection], { batchSize: 7 })
      // Deleted while the processor works through the stream's events.
      yield* Effect.sleep("20 millis")
      yield* StreamLifecycle.use((lifecycle) => lifecycle.delete(`${accounts}-a`))
      yield* append(`${accounts}-b`, type, [1])
      yield* running.whenCaughtUp
      assert.deepStrictEqual(yield* listed(documents), { [`${accounts}-b`]: [41, 41, false] })
      assert.isTrue((yield* running.health).healthy)
    }).pipe(Effect.scoped))

  it.effect("appends inside a transaction to a closed stream are refused with its error, and write nothing", () =>
    Effect.gen(function*() {
      const archived = `${category("txArchived")}-1`
      const deleted = `${category("txDeleted")}-1`
      yield* append(archived, "Lived", [1])
      yield* append(deleted, "Lived", [1])
      const lifecycle = yield* StreamLifecycle
      yield* lifecycle.archive(archived)
      yield* lifecycle.delete(deleted)
      const store = yield* EventStore
      const transactor = yield* Transactor
      const one = [{ type: "Late", data: {} }]
      yield* failsWith(transactor.withTransaction(store.append(archived, one)), "StreamArchived")
      yield* failsWith(transactor.withTransaction(store.append(archived, one, { expectedVersion: 2 })), "StreamArchived")
      yield* failsWith(transactor.withTransaction(store.append(deleted, one, { expectedVersion: "noStream" })), "StreamDeleted")
      yield* failsWith(
        transactor.withTransaction(store.appendIf(deleted, one, { failIfEventsMatch: { items: [{ tags: [`none-${deleted}`] }] } })),
        "StreamDeleted"
      )
      assert.strictEqual(yield* store.streamVersion(archived), 2)
      assert.strictEqual(yield* store.streamVersion(deleted), 2)
    }))

  it.effect("a reactor's append held in its batch to an archived stream fails the batch with StreamArchived; parked, the stream takes nothing", () =>
    Effect.gen(function*() {
      const flows = category("flow")
      const [requested, sent] = [`Requested${flows}`, `Sent${flows}`]
      const Requested = Schema.TaggedStruct(requested, { to: Schema.String })
      const Sent = Schema.TaggedStruct(sent, { to: Schema.String })
      const target = `${flows}-mail`
      yield* append(target, "Lived", [1])
      yield* StreamLifecycle.use((lifecycle) => lifecycle.archive(target))
      const reactor = Reactor.make({
        name: `mailer${flows}`,
        event: Requested,
        emits: [Sent],
        handlers: {
          [requested]: (event: { readonly data: { readonly to: string } }, context: Reactor.Context<typeof Sent.Type>) =>
            context.emit(target, [{ _tag: sent, to: event.data.to } as typeof Sent.Type])
        } as Reactor.Handlers<typeof Requested.Type, typeof Sent.Type>
      })
      const store = yield* EventStore
      const source = yield* store.append(`${flows}-request`, [{ type: requested, data: { to: "ada@example.com" } }])
      const handle = yield* Processor.start(reactor, { retry: quickRetry, onPoison: "park" })
      yield* handle.whenCaughtUp
      const parked = (yield* (yield* ParkedEvents).list(reactor.name)).map((entry) => [entry.event.id, entry.error])
      assert.strictEqual(parked.length, 1)
      assert.strictEqual(parked[0]![0], source.events[0]!.id)
      assert.include(parked[0]![1], "archived")
      assert.deepStrictEqual((yield* Stream.runCollect(store.readStream(target))).map((event) => event.type), ["Lived", ClosedStreams.archivedType])
    }).pipe(Effect.scoped))
}
