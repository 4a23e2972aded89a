/**
 * The batch a processor is handling. While one is current, typed documents
 * (`ProjectionStore.documents`) hold their writes and cache their reads here; the processor
 * flushes them in a few multi-row statements before it moves its checkpoint, in the same
 * transaction, instead of one statement per event.
 */
import { Context, type Effect } from "effect"
import type { DocumentSchemaError, ProjectionStoreError } from "../ProjectionStore.ts"

export interface Batch {
  /** The index of the event being handled. */
  index: number
  /** A flush failed: the failure belongs to no single event. */
  flushFailed: boolean
  /** False once the batch has been flushed or dropped: late writes (a forked fiber) go straight to the store. */
  open: boolean
  /** Pending documents by projection name, flushed in the order they were first written. */
  readonly pending: Map<string, Pending>
}

export interface Pending {
  /** The `documents` value that owns these entries. */
  readonly owner: object
  /** Writes what is pending to the store, and keeps it as read. */
  readonly flush: Effect.Effect<void, ProjectionStoreError | DocumentSchemaError>
}

export const makeBatch = (): Batch => ({ index: 0, flushFailed: false, open: true, pending: new Map() })

export const CurrentBatch = Context.Reference<Batch | undefined>("@facta/core/internal/CurrentBatch", {
  defaultValue: () => undefined
})
