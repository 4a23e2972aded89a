/**
 * The batch a processor is handling, as the typed documents and the event store see it. While one
 * is current, each projection's documents hold their writes (and cache their reads) here, and the
 * event store holds the batch's appends; the processor flushes them all just before it moves its
 * checkpoint, in the same transaction. Documents are then written in a few multi-row statements
 * instead of one per event; and since the batch writes nothing to the log until then, its
 * transaction takes no transaction id while the handlers run (unless a handler writes SQL of its
 * own), so a slow handler does not hold the readers' gate.
 */
import { Context, Effect } from "effect"
import type { StreamClosed } from "../ClosedStreams.ts"
import type { EventStoreError, WrongExpectedVersion } from "../EventStore.ts"
import type { RetryTransaction } from "../Transactor.ts"
import type { InvalidInput } from "../InvalidInput.ts"
import type { DocumentSchemaError, ProjectionStoreError } from "../ProjectionStore.ts"
import type { RecordedEvent } from "../RecordedEvent.ts"

/** What a flush of documents can fail with. */
export type FlushError = ProjectionStoreError | DocumentSchemaError | InvalidInput

/** What writing the held appends can fail with. */
export type AppendFlushError = WrongExpectedVersion | StreamClosed | RetryTransaction | EventStoreError | InvalidInput

/**
 * An append held until the flush: its events as they will be stored (but for their positions,
 * which the log assigns as it writes them, and their times), and the write that stores them.
 */
export interface HeldAppend {
  readonly streamId: string
  readonly events: ReadonlyArray<RecordedEvent>
  readonly write: Effect.Effect<unknown, AppendFlushError>
}

/** The writes one projection holds in a batch. */
export interface Writes {
  /** Writes what is held to the store, and keeps it as read. */
  readonly flush: Effect.Effect<void, FlushError>
}

export interface Batch {
  /**
   * The writes `owner` holds for projection `name`, made by `make` at its first write; none once
   * the batch is closed (a late write, from a fiber that outlived its handler, goes to the store).
   * Writes another owner of the same name holds are flushed first, so they keep their order.
   */
  readonly writesOf: <W extends Writes, R>(name: string, owner: object, make: Effect.Effect<W, never, R>) => Effect.Effect<W | undefined, FlushError, R>
  /** Flushes what projection `name` holds, so a read of the whole projection sees it. */
  readonly flush: (name: string) => Effect.Effect<void, FlushError>
  /** Writes the held appends, then every projection's writes in the order they were first made, and closes the batch. */
  readonly flushAll: Effect.Effect<void, FlushError | AppendFlushError>
  /** Closes the batch without flushing (it failed or was interrupted). */
  readonly close: Effect.Effect<void>
  /** Whether a flush failed: such a failure belongs to no single event. */
  readonly flushFailed: Effect.Effect<boolean>
  /** Whether appends are held: while the batch is open. */
  readonly holdsAppends: () => boolean
  readonly hold: (append: HeldAppend) => void
  /** The events held for a stream, in their order. */
  readonly heldOf: (streamId: string) => ReadonlyArray<RecordedEvent>
  /** Writes the held appends in the order they were made, for a read of the whole log to see them. */
  readonly flushAppends: Effect.Effect<void, AppendFlushError>
  /** Runs `effect` once the batch has committed, outside its transaction (never if it does not). */
  readonly afterCommit: (effect: Effect.Effect<void>) => void
  /** What was left for after the commit, taken once. */
  readonly takeAfterCommit: () => ReadonlyArray<Effect.Effect<void>>
}

export const make = Effect.sync((): Batch => {
  const held = new Map<string, { readonly owner: object; readonly writes: Writes }>()
  let appends: Array<HeldAppend> = []
  let afterCommit: Array<Effect.Effect<void>> = []
  const heldByStream = new Map<string, Array<RecordedEvent>>()
  let open = true
  let flushFailed = false
  const failed = Effect.sync(() => void (flushFailed = true))
  const flushOf = (writes: Writes) => Effect.onError(writes.flush, () => failed)
  const flushAppends = Effect.suspend(() => {
    const writes = appends
    appends = []
    heldByStream.clear()
    return Effect.forEach(writes, (append) => append.write, { discard: true })
  }).pipe(Effect.onError(() => failed))
  const flush = (name: string) => Effect.suspend(() => {
    const entry = open ? held.get(name) : undefined
    return entry === undefined ? Effect.void : flushOf(entry.writes)
  })
  return {
    writesOf: <W extends Writes, R>(name: string, owner: object, make: Effect.Effect<W, never, R>) =>
      Effect.suspend((): Effect.Effect<W | undefined, FlushError, R> => {
        if (!open) return Effect.succeed(undefined)
        const entry = held.get(name)
        if (entry?.owner === owner) return Effect.succeed(entry.writes as W)
        const adopt = Effect.map(make, (writes) => {
          held.set(name, { owner, writes })
          return writes
        })
        return entry === undefined ? adopt : Effect.andThen(flushOf(entry.writes), adopt)
      }),
    flush,
    flushAll: Effect.andThen(
      flushAppends,
      Effect.suspend(() => Effect.forEach([...held.values()], ({ writes }) => flushOf(writes), { discard: true }))
    ).pipe(
      Effect.andThen(Effect.sync(() => void (open = false)))
    ),
    close: Effect.sync(() => void (open = false)),
    flushFailed: Effect.sync(() => flushFailed),
    holdsAppends: () => open,
    hold: (append) => {
      appends.push(append)
      const events = heldByStream.get(append.streamId)
      if (events === undefined) heldByStream.set(append.streamId, [...append.events])
      else events.push(...append.events)
    },
    heldOf: (streamId) => heldByStream.get(streamId) ?? [],
    flushAppends,
    afterCommit: (effect) => void afterCommit.push(effect),
    takeAfterCommit: () => {
      const taken = afterCommit
      afterCommit = []
      return taken
    }
  }
})

/** The batch the current fiber's handler runs in, if any. */
export const CurrentBatch = Context.Reference<Batch | undefined>("@facta/core/internal/CurrentBatch", {
  defaultValue: () => undefined
})
