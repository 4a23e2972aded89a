/**
 * Processors and closed streams: a projection that handles the markers drops a deleted stream's
 * document and marks an archived one, each at the marker's log position; one without handlers for
 * them never sees them; a processor mid-batch over a stream being deleted ends with the stream's
 * document dropped, once; and a rebuild after a deletion equals a fold of what remains.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as ClosedStreams from "../../ClosedStreams.ts"
import * as Documents from "../../Documents.ts"
import * as Processor from "../../Processor.ts"
import * as Projection from "../../Projection.ts"
import { StreamLifecycle } from "../../StreamLifecycle.ts"
import { category, type Services } from "./fixtures.ts"
import { append } from "../processor/fixtures.ts"

class Balance extends Schema.Class<Balance>("Balance")({
  total: Schema.Int,
  count: Schema.Int,
  archived: Schema.Boolean
}) {}

/**
 * A projection of balances by stream that handles both markers. Markers are of every stream of
 * the store: it handles those of its own category.
 */
const balances = (name: string, type: string, accounts: string, options?: { readonly slow?: boolean; readonly markers?: boolean }) => {
  const ours = (streamId: string) => streamId.startsWith(`${accounts}-`)
  const Deposited = Schema.TaggedStruct(type, { amount: Schema.Int })
  const documents = Documents.make(name, Balance)
  const zero = new Balance({ total: 0, count: 0, archived: false })
  const deposited = (event: { readonly streamId: string; readonly data: { readonly amount: number } }) =>
    Effect.gen(function*() {
      if (options?.slow === true) yield* Effect.sleep("2 millis")
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

export const processors = (it: Vitest.MethodsNonLive<Services>) => {
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
}
