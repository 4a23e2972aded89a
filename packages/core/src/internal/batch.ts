/**
 * The batch a processor is handling, as the typed documents see it. While one is current, each
 * projection's documents hold their writes (and cache their reads) here; the processor flushes
 * them all in a few multi-row statements before it moves its checkpoint, in the same transaction,
 * instead of one statement per event.
 */
import { Context, Effect } from "effect"
import type { InvalidInput } from "../InvalidInput.ts"
import type { DocumentSchemaError, ProjectionStoreError } from "../ProjectionStore.ts"

/** What a flush can fail with. */
export type FlushError = ProjectionStoreError | DocumentSchemaError | InvalidInput

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
  /** Flushes every projection's writes, in the order they were first written, and closes the batch. */
  readonly flushAll: Effect.Effect<void, FlushError>
  /** Closes the batch without flushing (it failed or was interrupted). */
  readonly close: Effect.Effect<void>
  /** Whether a flush failed: such a failure belongs to no single event. */
  readonly flushFailed: Effect.Effect<boolean>
}

export const make = Effect.sync((): Batch => {
  const held = new Map<string, { readonly owner: object; readonly writes: Writes }>()
  let open = true
  let flushFailed = false
  const flushOf = (writes: Writes) => Effect.onError(writes.flush, () => Effect.sync(() => void (flushFailed = true)))
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
    flushAll: Effect.suspend(() => Effect.forEach([...held.values()], ({ writes }) => flushOf(writes), { discard: true })).pipe(
      Effect.andThen(Effect.sync(() => void (open = false)))
    ),
    close: Effect.sync(() => void (open = false)),
    flushFailed: Effect.sync(() => flushFailed)
  }
})

/** The batch the current fiber's handler runs in, if any. */
export const CurrentBatch = Context.Reference<Batch | undefined>("@facta/core/internal/CurrentBatch", {
  defaultValue: () => undefined
})

/**
 * The read-model generation the current processor writes (see `BlueGreen`); undefined outside a
 * processor, where documents are read and written in the generation readers see.
 */
export const CurrentGeneration = Context.Reference<number | undefined>("@facta/core/internal/CurrentGeneration", {
  defaultValue: () => undefined
})
