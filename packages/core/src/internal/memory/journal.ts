/**
 * The write journal of an in-memory transaction. Memory stores consult the current journal: inside
 * a transaction their writes are recorded here (and visible to reads in the same transaction);
 * the transaction applies them all at once when it commits, after checking every
 * compare-and-set it recorded, or drops them when it fails.
 */
import { Context, Effect } from "effect"
import type { RecordedEvent } from "../../RecordedEvent.ts"

/** What a checkpoint compare-and-set expects: a position, and a generation if it names one. */
export interface Expected {
  readonly position: bigint
  readonly generation: number | undefined
}

export interface Journal {
  /** False once the transaction has ended: a later write (from a fiber it forked) is not part of it. */
  open: boolean
  /** Pending document writes: projection -> id -> JSON text, or null for a delete. */
  readonly documents: Map<string, Map<string, string | null>>
  /** Pending snapshots: stream id -> JSON text of the snapshot. */
  readonly snapshots: Map<string, string>
  /**
   * Pending checkpoint changes, each with what it expects at commit (none for a replace) and the
   * checkpoint it leaves (none for a removal).
   */
  readonly checkpoints: Map<string, {
    readonly expected: Expected | undefined
    readonly next: { readonly position: bigint; readonly generation: number } | undefined
  }>
  /** Applies the journal to the stores; registered by each store that wrote to it. */
  readonly commits: Set<(journal: Journal) => void>
  /** Checks run before anything is applied; a returned error aborts the commit. */
  readonly checks: Set<(journal: Journal) => unknown>
  /** Events appended in the transaction, in log order; undefined until the first append. */
  events: Array<RecordedEvent> | undefined
  /** Run once the transaction has ended, committed or not (the event store releases its writer). */
  readonly ends: Array<Effect.Effect<void>>
}

export const makeJournal = (): Journal => ({
  open: true,
  documents: new Map(),
  snapshots: new Map(),
  checkpoints: new Map(),
  commits: new Set(),
  checks: new Set(),
  events: undefined,
  ends: []
})

export const CurrentJournal = Context.Reference<Journal | undefined>("@facta/core/internal/CurrentJournal", {
  defaultValue: () => undefined
})

/** The journal of the transaction in progress, if any. */
export const currentJournal: Effect.Effect<Journal | undefined> = Effect.map(CurrentJournal, (journal) => journal?.open === true ? journal : undefined)
