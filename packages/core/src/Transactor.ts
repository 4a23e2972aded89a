/**
 * Runs an effect as one transaction over the read-side stores: the projection documents and
 * checkpoint moves it writes commit together or not at all. Processors use it to commit a batch's
 * read-model writes with the checkpoint move.
 *
 * The SQL layers run the effect in a database transaction (everything on the same `SqlClient`
 * joins it, appends to the event store included), and an append that would land behind events
 * readers may have passed refuses with {@link RetryTransaction}. In memory (`InMemory.transactor`),
 * document writes, checkpoint moves and appends are journaled and applied at once on success, after every checkpoint
 * compare-and-set is checked again, or dropped on failure, as on SQL; transactions take turns,
 * and while one holds appends, other appends wait for it to end.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"

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
 * Nothing is wrong with the append but the moment: it was made inside a transaction older than
 * an event committed meanwhile (one of the stream, or any event, for a transaction that wrote
 * elsewhere before its first append without saying it might append, as the SQL `Transactor`
 * does), so its event would come before one that readers may already have passed. Nothing was
 * written; the whole transaction should run again, as a newer one. Processors rerun such a batch
 * at once. Only SQL stores, inside a transaction, fail this way.
 *
 * @category errors
 * @since 0.1.0
 */
export class RetryTransaction extends Schema.TaggedError<RetryTransaction>()("RetryTransaction", {
  streamId: Schema.String
}) {
  override get message() {
    return `Append to "${this.streamId}" refused: an event was committed by a transaction newer than this one, ` +
      "so this event would come before it in the log; run the transaction again"
  }
}
