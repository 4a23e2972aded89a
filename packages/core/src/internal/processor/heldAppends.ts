/**
 * The event store as a processor's handlers see it while their batch is open: an append is held
 * until the batch commits (see `internal/batch`). It is checked against the stream's version at
 * once, and its events are what it returns and what the batch's reads of the stream see; they are
 * written, expecting the same version, just before the checkpoint moves. Their positions are not
 * known until then: they are 0 in the result. A read of the log, or a conditional append (whose
 * condition reads the log), writes the held appends first, so it sees them.
 *
 * Holding keeps the batch's transaction from taking a transaction id while its handlers run, so a
 * slow handler holds no reader of the log back.
 */
import { DateTime, Effect, Option, Stream } from "effect"
import {
  type AppendOptions,
  type AppendResult,
  defaultBatchSize,
  type EventStore,
  isExpected,
  type ReadStreamOptions,
  WrongExpectedVersion
} from "../../EventStore.ts"
import type { RecordedEvent, UnsavedEvent } from "../../RecordedEvent.ts"
import type * as Batch from "../batch.ts"
import { checkAppend } from "../eventChecks.ts"
import { recordedOf } from "../recording.ts"

const lastOf = <A>(items: ReadonlyArray<A>): A => items[items.length - 1]!

/** `store`, holding its appends in `batch` while the batch is open. */
export const holding = (store: EventStore["Service"], batch: Batch.Batch): EventStore["Service"] => {
  /** The events the batch holds for a stream (none once it is closed). */
  const heldFor = (streamId: string): ReadonlyArray<RecordedEvent> => batch.holdsAppends() ? batch.heldOf(streamId) : []

  /** Writes the held appends, so a read of the log (or a condition) sees them. */
  const writeHeld = Effect.suspend(() => batch.holdsAppends() ? Effect.orDie(batch.flushAppends) : Effect.void)
  const afterHeld = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.andThen(writeHeld, effect)

  /** A stream's page as the batch sees it: the stored events, then those it holds. */
  const readStreamPage = (streamId: string, options?: ReadStreamOptions) =>
    Effect.map(store.readStreamPage(streamId, options), (page) => {
      const held = heldFor(streamId)
      const limit = options?.batchSize ?? defaultBatchSize
      if (held.length === 0 || page.length >= limit) return page
      const after = Math.max((options?.from ?? 1) - 1, page.length === 0 ? 0 : lastOf(page).version)
      return [...page, ...held.filter((event) => event.version > after)].slice(0, limit)
    })

  const hold = (streamId: string, events: ReadonlyArray<UnsavedEvent>, options: AppendOptions | undefined) =>
    Effect.gen(function*() {
      const invalid = checkAppend(streamId, events)
      if (invalid !== undefined) return yield* invalid
      const expected = options?.expectedVersion ?? "any"
      const held = batch.heldOf(streamId)
      // A number is checked when the append is written: the stream was just read by whoever expects it.
      const actual = held.length > 0
        ? lastOf(held).version
        : typeof expected === "number" ? expected : expected === "noStream" ? 0 : yield* store.streamVersion(streamId)
      if (!isExpected(expected, actual)) return yield* new WrongExpectedVersion({ streamId, expected, actual })
      const withIds = events.map((event) => event.id === undefined ? { ...event, id: crypto.randomUUID() } : event)
      // As a store keeps them; the check above refused anything JSON cannot hold.
      const prepared = withIds.map((event) => ({
        event,
        data: JSON.parse(JSON.stringify(event.data ?? null)) as unknown,
        metadata: JSON.parse(JSON.stringify(event.metadata ?? {})) as unknown
      }))
      const recorded = recordedOf(prepared, streamId, actual, () => 0n, yield* DateTime.now)
      if (recorded.length > 0) batch.hold({ streamId, events: recorded, write: store.append(streamId, withIds, { expectedVersion: actual }) })
      return { streamId, version: actual + recorded.length, events: recorded } satisfies AppendResult
    })

  return {
    append: (streamId, events, options) => batch.holdsAppends() ? hold(streamId, events, options) : store.append(streamId, events, options),
    appendIf: (streamId, events, condition, options) =>
      !batch.holdsAppends()
        ? store.appendIf(streamId, events, condition, options)
        : condition === undefined
        ? hold(streamId, events, options)
        : afterHeld(store.appendIf(streamId, events, condition, options)),
    readStreamPage,
    readStream: (streamId, options) => {
      const limit = options?.batchSize ?? defaultBatchSize
      return Stream.paginate(options?.from ?? 1, (from) =>
        Effect.map(readStreamPage(streamId, { ...options, from }), (page) =>
          [page, page.length < limit ? Option.none() : Option.some(lastOf(page).version + 1)] as const))
    },
    streamVersion: (streamId) => {
      const held = heldFor(streamId)
      return held.length > 0 ? Effect.succeed(lastOf(held).version) : store.streamVersion(streamId)
    },
    readCommand: (streamId, commandId) =>
      Effect.map(store.readCommand(streamId, commandId), (stored) => [
        ...stored,
        ...heldFor(streamId).filter((event) => event.metadata.commandId === commandId)
      ]),
    readAll: (options) => Stream.unwrap(Effect.as(writeHeld, store.readAll(options))),
    readPage: (options) => afterHeld(store.readPage(options)),
    readQuery: (query, options) => Stream.unwrap(Effect.as(writeHeld, store.readQuery(query, options))),
    readQueryPage: (query, options) => afterHeld(store.readQueryPage(query, options)),
    listStreams: (options) => afterHeld(store.listStreams(options)),
    count: (options) => afterHeld(store.count(options)),
    countCommitted: (options) => afterHeld(store.countCommitted(options)),
    head: (options) => afterHeld(store.head(options)),
    subscribe: store.subscribe,
    listen: store.listen,
    gaugeOf: store.gaugeOf
  }
}
