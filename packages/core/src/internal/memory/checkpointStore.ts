/**
 * Checkpoints in memory. Inside a transaction (`InMemory.transactor`), a move is checked when it is
 * made and again when the transaction commits, and applied only then.
 */
import { Effect } from "effect"
import { type Checkpoint, CheckpointConflict, CheckpointStore, make as makeCheckpointStore } from "../../CheckpointStore.ts"
import { start } from "../../EventStore.ts"
import { byBytes } from "../order.ts"
import { currentJournal, type Expected, type Journal } from "./journal.ts"

const matches = (actual: Checkpoint, expected: Expected) =>
  actual.position === expected.position && (expected.generation === undefined || actual.generation === expected.generation)

const conflictOf = (processor: string, expected: Expected, actual: Checkpoint) =>
  new CheckpointConflict({
    processor,
    expected: expected.position,
    actual: actual.position,
    ...(expected.generation === undefined || expected.generation === actual.generation
      ? {}
      : { expectedGeneration: expected.generation, actualGeneration: actual.generation })
  })

export const make: Effect.Effect<CheckpointStore["Service"]> = Effect.sync(() => {
  const committed = new Map<string, Checkpoint>()
  const origin: Checkpoint = { position: start, generation: 0 }
  const conflict = (journal: Journal) => {
    for (const [processor, { expected }] of journal.checkpoints) {
      if (expected === undefined) continue
      const actual = committed.get(processor) ?? origin
      if (!matches(actual, expected)) return conflictOf(processor, expected, actual)
    }
  }
  const apply = (journal: Journal) => {
    for (const [processor, { next }] of journal.checkpoints) next === undefined ? committed.delete(processor) : committed.set(processor, next)
  }
  const current = (processor: string, journal: Journal | undefined): Checkpoint => {
    const pending = journal?.checkpoints.get(processor)
    return pending === undefined ? committed.get(processor) ?? origin : pending.next ?? origin
  }
  /** Records a change: applied at once outside a transaction, at its commit inside one. */
  const change = (processor: string, expected: Expected | undefined, next: Checkpoint | undefined) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) {
        next === undefined ? committed.delete(processor) : committed.set(processor, next)
        return
      }
      const pending = journal.checkpoints.get(processor)
      // The first expectation in the transaction is the one checked at commit.
      journal.checkpoints.set(processor, { expected: pending === undefined ? expected : pending.expected, next })
      journal.checks.add(conflict)
      journal.commits.add(apply)
    })
  return makeCheckpointStore({
    list: Effect.sync(() =>
      [...committed].sort(([a], [b]) => byBytes(a, b)).map(([processor, { position }]) => ({ processor, position }))),
    get: (processor) => Effect.map(currentJournal, (journal) => current(processor, journal).position),
    read: (processor) => Effect.map(currentJournal, (journal) => current(processor, journal)),
    set: (processor, expected, next, generation) =>
      Effect.flatMap(currentJournal, (journal) => {
        const actual = current(processor, journal)
        const expectation = { position: expected, generation }
        if (!matches(actual, expectation)) return Effect.fail(conflictOf(processor, expectation, actual))
        return change(processor, expectation, { position: next, generation: actual.generation })
      }),
    replace: (processor, checkpoint) => change(processor, undefined, checkpoint),
    remove: (processor) => change(processor, undefined, undefined)
  })
})
