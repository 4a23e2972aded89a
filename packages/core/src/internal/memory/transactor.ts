/**
 * Transactions in memory: one at a time, each with a journal the memory stores write to; at
 * commit every check the stores recorded runs again, then every write is applied, or none.
 */
import { Effect, Semaphore } from "effect"
import { TransactionError, Transactor } from "../../Transactor.ts"
import { CurrentJournal, currentJournal, makeJournal } from "./journal.ts"

export const make: Effect.Effect<Transactor["Service"]> = Effect.map(Semaphore.make(1), (lock) =>
  Transactor.of({
    withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(currentJournal, (outer): Effect.Effect<A, E | TransactionError, R> => {
        // A nested transaction joins the outer one.
        if (outer !== undefined) return effect
        const journal = makeJournal()
        return lock.withPermits(1)(
          effect.pipe(
            Effect.provideService(CurrentJournal, journal),
            Effect.flatMap((value) =>
              Effect.suspend(() => {
                for (const check of journal.checks) {
                  const error = check(journal)
                  if (error !== undefined) {
                    return Effect.fail(new TransactionError({ message: `Commit refused: ${String(error)}`, cause: error }))
                  }
                }
                for (const commit of journal.commits) commit(journal)
                return Effect.succeed(value)
              })
            ),
            Effect.ensuring(Effect.suspend(() => {
              journal.open = false
              return Effect.forEach(journal.ends, (end) => end, { discard: true })
            }))
          )
        )
      })
  }))
