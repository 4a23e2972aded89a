/**
 * Group commit: plain appends made outside a transaction by one store at the same moment are
 * written by one statement, in one transaction, so they share a round trip and a commit (one WAL
 * flush) instead of each paying its own.
 *
 * At most `inFlight` statements run at once. An append that finds a free slot runs at once, alone,
 * with the statement it would run without grouping; appends that arrive while every slot is busy
 * wait for the next free one and go together (at most one per stream, and within the size
 * limits; the rest go in the next group). So nothing waits longer than a statement already in
 * flight takes, or `slowAfter` when that statement is held up (waiting for a lock another
 * transaction holds): then the group goes without a slot.
 *
 * Each append keeps its own outcome. The group's statement reads each stream's last event and
 * writes only the appends whose expectation holds, to open streams: the others answer no rows, as their own
 * statement would, and their caller reports the conflict. A statement that fails as a whole
 * either fails each append with its error (a transient failure: each caller retries, or reports a
 * commit in doubt, as it would alone), or, for anything else (another process's append won a
 * version of one of the streams, or one append waited too long for another transaction's lock),
 * each append runs again alone, with its own outcome.
 */
import { ClosedStreams, type EventStore } from "@facta/core"
import { Deferred, type Duration, Effect, Option, Queue, type Scope, Semaphore } from "effect"
import type { SqlError } from "effect/sql"
import type { AppendRow, EncodedBatch } from "./eventRows.ts"
import { append, expectationOf, type Log, sharedLocks } from "./eventStatements.ts"
import { transientOf } from "./transient.ts"

export interface Options {
  /** Statements in flight at once. */
  readonly inFlight: number
  /** Appends in one group. */
  readonly maxAppends: number
  /** Events in one group (an append alone may have more). */
  readonly maxEvents: number
  /** How long waiting appends wait for a slot before they go anyway. */
  readonly slowAfter: Duration.Input
}

export const defaults: Options = { inFlight: 1, maxAppends: 64, maxEvents: 1_000, slowAfter: "20 millis" }

/** Writes an append outside a transaction: its rows, none when its expectation failed. */
export type Write = (streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion) => Effect.Effect<ReadonlyArray<AppendRow>, SqlError.SqlError>

interface Pending {
  readonly streamId: string
  readonly batch: EncodedBatch
  readonly expected: EventStore.ExpectedVersion
  readonly done: Deferred.Deferred<ReadonlyArray<AppendRow>, SqlError.SqlError>
}


/** The appends of a group as one JSON array: stream, expectation, events. */
const groupJson = (group: ReadonlyArray<Pending>) =>
  `[${
    group.map(({ batch, expected, streamId }) =>
      `{"s":${JSON.stringify(streamId)},"e":${expectationOf(expected)},"v":${batch.json === "" ? JSON.stringify(batch.encoded) : batch.json}}`
    ).join(",")
  }]`

/** Rows of the group's statement: each with its stream, so that they go back to their append. */
interface GroupRow extends AppendRow {
  readonly stream_id: string
}

/**
 * How long the group's statement waits for a lock (its transaction's setting): an append waiting
 * for another transaction (one that appended to its stream and is still open, or holds its tag
 * or the table) must not hold up the group's other appends; the group then runs each alone.
 */
const lockTimeout = "100ms"

/**
 * The appends of a group in one statement: each stream's version read by its index, the events
 * of the appends whose expectation holds inserted, after the shared locks of all their tags.
 */
const groupStatement = (log: Log, group: ReadonlyArray<Pending>) => {
  const { events, sql } = log
  const lockKeys = [...new Set(group.flatMap(({ batch }) => batch.lockKeys))]
  const locked = lockKeys.length === 0 ? sql`` : sql` AND ${sharedLocks(log, lockKeys)}`
  return sql<GroupRow>`WITH input AS MATERIALIZED (
      SELECT m.ordinality AS member, m.value->>'s' AS stream_id, (m.value->>'e')::bigint AS expected, m.value->'v' AS events,
        coalesce(l.version, 0) AS version, l.type AS last_type,
        set_config('lock_timeout', ${lockTimeout}, true) AS lock_timeout
      FROM jsonb_array_elements(${groupJson(group)}::jsonb) WITH ORDINALITY AS m
      LEFT JOIN LATERAL (
        SELECT x.version, x.type FROM ${events} AS x WHERE x.stream_key = md5(m.value->>'s')::uuid ORDER BY x.version DESC LIMIT 1
      ) AS l ON true
    )
    INSERT INTO ${events} (stream_id, version, event_id, type, data, metadata, tags)
    SELECT a.stream_id, a.version + e.ordinality, (e.value->>'id')::uuid, e.value->>'type', e.value->'data', e.value->'metadata',
      ARRAY(SELECT jsonb_array_elements_text(coalesce(e.value->'tags', '[]'::jsonb)))
    FROM input AS a, jsonb_array_elements(a.events) WITH ORDINALITY AS e
    WHERE (a.expected = -1 OR (a.expected = -2 AND a.version > 0) OR a.version = a.expected)
      AND (a.last_type IS NULL OR a.last_type NOT IN (${ClosedStreams.archivedType}, ${ClosedStreams.deletedType}))${locked}
    ORDER BY a.member, e.ordinality
    RETURNING stream_id, position, transaction_id::text AS transaction, version, recorded_at`
}

/** Each append alone, with its own outcome. */
const alone = (log: Log, group: ReadonlyArray<Pending>) =>
  Effect.forEach(group, (pending) =>
    Effect.exit(append(log, pending.streamId, pending.batch, pending.expected, false, undefined)).pipe(
      Effect.flatMap((exit) => Deferred.done(pending.done, exit))
    ), { concurrency: "unbounded", discard: true })

const runGroup = (log: Log, group: ReadonlyArray<Pending>): Effect.Effect<void> => {
  if (group.length === 1) return alone(log, group)
  return Effect.matchEffect(groupStatement(log, group), {
    onFailure: (error) =>
      error.reason._tag === "LockTimeoutError" || transientOf(error) === undefined
        ? alone(log, group)
        : Effect.forEach(group, (pending) => Deferred.fail(pending.done, error), { discard: true }),
    onSuccess: (rows) => {
      const byStream = new Map<string, Array<AppendRow>>()
      for (const row of rows) {
        const written = byStream.get(row.stream_id)
        if (written === undefined) byStream.set(row.stream_id, [row])
        else written.push(row)
      }
      return Effect.forEach(group, (pending) => {
        const written = byStream.get(pending.streamId) ?? []
        written.sort((a, b) => Number(a.version) - Number(b.version))
        return Deferred.succeed(pending.done, written)
      }, { discard: true })
    }
  })
}

/** The next group from what waits: the first of each stream, within the limits; the rest stays. */
const nextGroup = (waiting: Array<Pending>, options: Options) => {
  const group: Array<Pending> = []
  const rest: Array<Pending> = []
  const streams = new Set<string>()
  let events = 0
  for (const pending of waiting) {
    const size = pending.batch.encoded.length
    const fits = group.length === 0 || (group.length < options.maxAppends && events + size <= options.maxEvents && !streams.has(pending.streamId))
    if (fits) {
      group.push(pending)
      streams.add(pending.streamId)
      events += size
    } else {
      rest.push(pending)
    }
  }
  return { group, rest }
}

/** Starts the store's group committer; its fiber ends with the scope. */
export const make = (log: Log, options: Options = defaults): Effect.Effect<Write, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending>()
    const slots = yield* Semaphore.make(Math.max(1, options.inFlight))
    const scope = yield* Effect.scope
    // Appends taken from the queue that have not gone yet, oldest first.
    let waiting: Array<Pending> = []
    yield* Effect.gen(function*() {
      if (waiting.length === 0) waiting = yield* Queue.takeAll(queue)
      // Statements held up (by a lock another transaction holds) keep their slots only so long.
      const slot = yield* Effect.timeoutOption(Semaphore.take(slots, 1), options.slowAfter)
      const { group, rest } = nextGroup([...waiting, ...yield* Queue.clear(queue)], options)
      waiting = rest
      const run = runGroup(log, group)
      yield* (Option.isSome(slot) ? Effect.ensuring(run, Semaphore.release(slots, 1)) : run).pipe(Effect.forkIn(scope))
    }).pipe(Effect.forever, Effect.forkScoped)
    const enqueue = (streamId: string, batch: EncodedBatch, expected: EventStore.ExpectedVersion) =>
      Effect.flatMap(Deferred.make<ReadonlyArray<AppendRow>, SqlError.SqlError>(), (done) =>
        Effect.andThen(Queue.offer(queue, { streamId, batch, expected, done }), Deferred.await(done)))
    // With nothing waiting and a slot free, an append runs at once on its caller's fiber.
    return (streamId, batch, expected) =>
      Effect.suspend(() =>
        waiting.length > 0 || Queue.sizeUnsafe(queue) > 0
          ? enqueue(streamId, batch, expected)
          : Effect.flatMap(Semaphore.takeIfAvailable(slots, 1), (took) =>
            took
              ? Effect.ensuring(append(log, streamId, batch, expected, false, undefined), Semaphore.release(slots, 1))
              : enqueue(streamId, batch, expected))
      )
  })
