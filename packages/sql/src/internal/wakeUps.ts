/**
 * How the SQL event store's subscribers learn of appends: one `changes` hub per store wakes them;
 * appends in this process publish to it at once, and other processes' appends arrive by
 * LISTEN/NOTIFY (or, without a listener, subscribers poll).
 */
import { Effect, PubSub, Queue, type Scope } from "effect"
import type { SqlClient, SqlError } from "effect/sql"

export interface WakeUps {
  /** Wakes subscribers: one offer makes sure each gets a wake-up. */
  readonly changes: PubSub.PubSub<void>
  /** Tells other processes of an append made outside a transaction, debounced. */
  readonly announce: () => void
  /** The notification, for appends inside a transaction: Postgres delivers it when it commits. */
  readonly notify: Effect.Effect<unknown, SqlError.SqlError>
}

export type Listen = (channel: string) => Effect.Effect<Queue.Dequeue<unknown, unknown>, SqlError.SqlError, Scope.Scope>

export const make = (sql: SqlClient.SqlClient, channel: string, listen: Listen | undefined): Effect.Effect<WakeUps, never, Scope.Scope> =>
  Effect.gen(function*() {
    const changes = yield* PubSub.sliding<void>(1)
    yield* Effect.addFinalizer(() => PubSub.shutdown(changes))
    const notify = sql`SELECT pg_notify(${channel}, '')`
    const announce = yield* announcer(notify)
    if (listen !== undefined) yield* listenFor(channel, listen, changes)
    return { changes, announce, notify }
  })

/**
 * A notifying commit takes a lock that serialises all notifying commits in the cluster, so
 * appends do not notify themselves: after them, one fiber sends at most one notification per few
 * milliseconds. While an offer waits in the outbox, later appends have nothing to add and skip it.
 */
const announcer = Effect.fnUntraced(function*(notify: Effect.Effect<unknown, SqlError.SqlError>) {
  const outbox = yield* Queue.sliding<void>(1)
  let pending = false
  yield* Queue.take(outbox).pipe(
    Effect.andThen(Effect.sync(() => {
      pending = false
    })),
    Effect.andThen(notify),
    Effect.andThen(Effect.sleep("5 millis")),
    Effect.catchCause((cause) => Effect.logWarning("Could not announce appends; subscribers elsewhere will poll", cause)),
    Effect.forever,
    Effect.forkScoped
  )
  return () => {
    if (pending) return
    pending = true
    Queue.offerUnsafe(outbox, undefined)
  }
})

/** Relays notifications to `changes`; a lost listener is survived by polling until it listens again. */
const listenFor = (channel: string, listen: Listen, changes: PubSub.PubSub<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const queue = yield* listen(channel)
    while (true) {
      yield* Queue.take(queue)
      yield* PubSub.publish(changes, undefined)
    }
  })).pipe(
    Effect.catchCause((cause) => Effect.logWarning("Event notifications lost; polling until listening again", cause)),
    Effect.andThen(Effect.sleep("1 second")),
    Effect.forever,
    Effect.forkScoped
  )
