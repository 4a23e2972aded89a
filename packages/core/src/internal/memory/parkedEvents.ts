/**
 * Parked events in memory. Inside a transaction (`InMemory.transactor`), changes wait for it to
 * commit.
 */
import { DateTime, Effect } from "effect"
import { type AuditEntry, type Parked, ParkedEvents } from "../../ParkedEvents.ts"
import { currentJournal, type Journal } from "./journal.ts"

interface State {
  readonly parked: Map<string, Parked>
  readonly audit: Array<AuditEntry>
}

type Change = (state: State) => void

const key = (processor: string, eventId: string) => `${processor}\u0000${eventId}`

export const make: Effect.Effect<ParkedEvents["Service"]> = Effect.sync(() => {
  const state: State = { parked: new Map(), audit: [] }
  const pending = new WeakMap<Journal, Array<Change>>()
  const apply = (journal: Journal) => {
    for (const change of pending.get(journal) ?? []) change(state)
  }
  /** Applies `change` now, or when the current transaction commits; `view` is what the transaction sees. */
  const change = (f: Change) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) return f(state)
      const changes = pending.get(journal) ?? []
      pending.set(journal, [...changes, f])
      journal.commits.add(apply)
    })
  const byLog = (a: Parked, b: Parked) => a.event.position < b.event.position ? -1 : a.event.position > b.event.position ? 1 : 0
  return ParkedEvents.of({
    park: (processor, event, error) =>
      Effect.flatMap(DateTime.now, (parkedAt) =>
        change((state) => {
          state.parked.set(key(processor, event.id), { processor, event, error, parkedAt })
          state.audit.push({ processor, eventId: event.id, outcome: "parked", at: parkedAt })
        })),
    list: (processor) =>
      Effect.sync(() => [...state.parked.values()].filter((parked) => processor === undefined || parked.processor === processor).sort(byLog)),
    remove: (processor, eventId, outcome) =>
      Effect.gen(function*() {
        const at = yield* DateTime.now
        const found = state.parked.has(key(processor, eventId))
        if (found) {
          yield* change((state) => {
            state.parked.delete(key(processor, eventId))
            state.audit.push({ processor, eventId, outcome, at })
          })
        }
        return found
      }),
    audit: (processor) => Effect.sync(() => state.audit.filter((entry) => processor === undefined || entry.processor === processor))
  })
})
