/**
 * Runs an effect as one transaction over the read-side stores: the projection documents and
 * checkpoint moves it writes commit together or not at all. Processors use it to commit a batch's
 * read-model writes with the checkpoint move.
 *
 * The SQL layers run the effect in a database transaction (everything on the same `SqlClient`
 * joins it, appends to the event store included). In memory, document writes, checkpoint moves
 * and appends are journaled and applied at once on success, after every checkpoint
 * compare-and-set is checked again, or dropped on failure, as on SQL; transactions take turns,
 * and while one holds appends, other appends wait for it to end.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, Semaphore } from "effect"
import { CurrentJournal, currentJournal, makeJournal } from "./internal/journal.ts"

/**
 * The transaction could not be run or committed.
 *
 * @category errors
 * @since 0.1.0
 */
export class TransactionError extends Schema.TaggedError<TransactionError>()("TransactionError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @category services
 * @since 0.1.0
 */
export class Transactor extends Context.Service<Transactor, {
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | TransactionError, R>
}>()("@facta/core/Transactor") {}

/**
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<Transactor["Service"]> = Effect.map(Semaphore.make(1), (lock) =>
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

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Transactor> = Layer.effect(Transactor, makeMemory)
