/**
 * Snapshots in memory, kept as JSON like the SQL store keeps them. Inside a transaction
 * (`InMemory.transactor`), saves are held back until it commits, and dropped if it fails.
 */
import { Effect, Option } from "effect"
import { make as makeSnapshotStore, type Snapshot, SnapshotStore, SnapshotStoreError } from "../../SnapshotStore.ts"
import { currentJournal, type Journal } from "./journal.ts"

/** The store, and how the stream lifecycle removes a deleted stream's snapshot. */
export const makeWithRemoval: Effect.Effect<{ readonly store: SnapshotStore["Service"]; readonly remove: (streamId: string) => void }> = Effect.sync(() => {
  const committed = new Map<string, string>()
  const parse = (text: string | undefined) => text === undefined ? undefined : JSON.parse(text) as Snapshot
  // A pending snapshot in the current transaction wins over the committed one.
  const lookup = (journal: Journal | undefined, streamId: string) => journal?.snapshots.get(streamId) ?? committed.get(streamId)
  /** A snapshot replaces one of the same schema only when it is of a later version. */
  const replaces = (snapshot: Snapshot, current: Snapshot | undefined) =>
    current === undefined || current.schemaVersion !== snapshot.schemaVersion || current.version < snapshot.version
  const apply = (journal: Journal) => {
    for (const [streamId, text] of journal.snapshots) {
      if (replaces(parse(text)!, parse(committed.get(streamId)))) committed.set(streamId, text)
    }
  }
  const store = makeSnapshotStore({
    load: (streamId) => Effect.map(currentJournal, (journal) => Option.fromUndefinedOr(parse(lookup(journal, streamId)))),
    save: (snapshot) =>
      Effect.flatMap(currentJournal, (journal) =>
        Effect.try({
          try: () => {
            if (!replaces(snapshot, parse(lookup(journal, snapshot.streamId)))) return
            const text = JSON.stringify(snapshot)
            if (journal === undefined) return void committed.set(snapshot.streamId, text)
            journal.snapshots.set(snapshot.streamId, text)
            journal.commits.add(apply)
          },
          catch: (cause) => new SnapshotStoreError({ message: `Snapshot of "${snapshot.streamId}" is not JSON`, cause })
        })),
    delete: (streamId) =>
      Effect.map(currentJournal, (journal) => {
        journal?.snapshots.delete(streamId)
        committed.delete(streamId)
      })
  })
  return { store, remove: (streamId: string) => void committed.delete(streamId) }
})

export const make: Effect.Effect<SnapshotStore["Service"]> = Effect.map(makeWithRemoval, ({ store }) => store)
