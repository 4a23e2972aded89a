/**
 * The event store in memory, with the semantics of the SQL stores: atomic appends checked against
 * the expected version, data kept as JSON, live delivery through a `PubSub`. Inside a transaction
 * (`InMemory.transactor`) appends are journaled: the transaction reads them back from its
 * streams, and they reach the log when it commits, or never. While a transaction holds appends,
 * other appends wait for it to end, so the positions it was given are the ones the log gets.
 *
 * The same log serves the stream lifecycle (`StreamLifecycle`): events moved to the archive leave
 * a hole at their position, which reads pass over.
 */
import { DateTime, Effect, PubSub, Ref, type Scope, Semaphore } from "effect"
import { archivedType, closedBy, deletedType, type StreamClosed } from "../../ClosedStreams.ts"
import { type EventQuery, matches as matchesQuery } from "../../EventQuery.ts"
import {
  type AppendCondition,
  AppendConditionFailed,
  type AppendOptions,
  type AppendResult,
  conditionFailed,
  EventStore,
  EventStoreError,
  type HeadOptions,
  isExpected,
  type LogPage,
  make as makeEventStore,
  positionOf,
  type QueryPage,
  type Segment,
  start,
  type StreamInfo,
  WrongExpectedVersion
} from "../../EventStore.ts"
import type { RecordedEvent, UnsavedEvent } from "../../RecordedEvent.ts"
import { type Closed, make as makeLifecycle, type StreamLifecycle, type Truncation } from "../../StreamLifecycle.ts"
import { byBytes } from "../order.ts"
import { recordedOf } from "../recording.ts"
import { currentJournal, type Journal } from "./journal.ts"


/**
 * The segment (of `count`) a stream is in: FNV-1a of the id's UTF-16 code units. The SQL stores
 * use the first 32 bits of the id's md5 (its `stream_key`).
 */
const segmentOf = (streamId: string, count: number): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % count
}

/**
 * Round-trips a value through JSON, as a database would store it, failing on what JSON cannot
 * hold (bigints, cycles).
 */
const toJson = (value: unknown, what: string) =>
  Effect.try({
    try: () => JSON.parse(JSON.stringify(value ?? null)) as unknown,
    catch: (cause) => new EventStoreError({ message: `${what} is not a JSON value: ${String(cause)}`, cause })
  })

interface MemoryLog {
  /** The log by position (1-based); a hole where an event moved to the archive. */
  readonly log: Array<RecordedEvent | undefined>
  /** Each stream's live events, in version order: from its first that was not moved. */
  readonly streams: Map<string, Array<RecordedEvent>>
  /** Each stream's archived events, in version order. */
  readonly archive: Map<string, Array<RecordedEvent>>
}

/** The stream's events: the committed ones, then those the transaction appended. */
const streamOf = (current: MemoryLog, streamId: string, journal: Journal | undefined): ReadonlyArray<RecordedEvent> => {
  const committed = current.streams.get(streamId) ?? []
  const pending = journal?.events?.filter((event) => event.streamId === streamId) ?? []
  return pending.length === 0 ? committed : [...committed, ...pending]
}

/** A stream's version: its last event's (0 for none). */
const versionOf = (events: ReadonlyArray<RecordedEvent>) => events.length === 0 ? 0 : events[events.length - 1]!.version

/** The events of a stream from version `from` on, at most `limit`. */
const fromVersion = (events: ReadonlyArray<RecordedEvent>, from: number, limit: number) => {
  const first = Math.max(from - (events[0]?.version ?? 1), 0)
  return events.slice(first, first + limit)
}

/** Moves the first `count` live events of a stream to the archive, leaving holes in the log. */
const moveToArchive = (current: MemoryLog, streamId: string, count: number) => {
  const live = current.streams.get(streamId) ?? []
  const moved = live.splice(0, count)
  for (const event of moved) current.log[Number(event.position) - 1] = undefined
  const archived = current.archive.get(streamId)
  if (archived === undefined) current.archive.set(streamId, moved)
  else archived.push(...moved)
  return moved.length
}

const addToLog = (current: MemoryLog, recorded: ReadonlyArray<RecordedEvent>) => {
  for (const event of recorded) {
    current.log.push(event)
    const stream = current.streams.get(event.streamId)
    if (stream === undefined) current.streams.set(event.streamId, [event])
    else stream.push(event)
  }
}

/** Events as the store keeps them, encoded before the write is taken so a bad event leaves the store untouched. */
const prepare = (events: ReadonlyArray<UnsavedEvent>) =>
  Effect.forEach(events, (event) =>
    Effect.all({
      data: toJson(event.data, `Data of event "${event.type}"`),
      metadata: toJson(event.metadata ?? {}, `Metadata of event "${event.type}"`)
    }).pipe(Effect.map((json) => ({ event, ...json }))))

// Positions are 1-based indexes into the log.
/** Whether an event is of the types (all when none) and in the segment (all when none). */
const wantedBy = (types: ReadonlyArray<string> | undefined, segment: Segment | undefined): ((event: RecordedEvent) => boolean) | undefined => {
  const ofTypes = types === undefined ? undefined : new Set(types)
  if (segment === undefined || segment.count === 1) return ofTypes === undefined ? undefined : (event) => ofTypes.has(event.type)
  return (event) => (ofTypes === undefined || ofTypes.has(event.type)) && segmentOf(event.streamId, segment.count) === segment.index
}

const pageOf = ({ log }: MemoryLog, after: bigint, types: ReadonlyArray<string> | undefined, limit: number, segment: Segment | undefined): LogPage =>
  pageWhere({ log }, after, limit, wantedBy(types, segment))

const pageWhere = ({ log }: Pick<MemoryLog, "log">, after: bigint, limit: number, wanted: ((event: RecordedEvent) => boolean) | undefined): LogPage => {
  const first = after < 0n ? 0 : Number(after)
  const events: Array<RecordedEvent> = []
  for (let i = first; i < log.length && events.length < limit; i++) {
    const event = log[i]
    if (event !== undefined && (wanted === undefined || wanted(event))) events.push(event)
  }
  const end = BigInt(log.length)
  return { events, next: events.length === limit ? events[limit - 1]!.position : after > end ? after : end }
}

const countOf = ({ log }: MemoryLog, after: bigint, types: ReadonlyArray<string> | undefined, segment: Segment | undefined) => {
  const wanted = wantedBy(types, segment)
  let counted = 0
  for (let i = after < 0n ? 0 : Number(after); i < log.length; i++) {
    const event = log[i]
    if (event !== undefined && (wanted === undefined || wanted(event))) counted++
  }
  return counted
}

const headOf = ({ log }: MemoryLog, options: HeadOptions | undefined) => {
  const wanted = wantedBy(options?.types, options?.segment)
  for (let i = log.length - 1; i >= 0; i--) {
    const event = log[i]
    if (event !== undefined && (wanted === undefined || wanted(event))) return event.position
  }
  return start
}

/** The first event after the condition's position that matches its query: committed, or appended by the transaction. */
const firstMatch = (current: MemoryLog, journal: Journal | undefined, condition: AppendCondition) => {
  const after = positionOf(condition.after)
  const wanted = (event: RecordedEvent) => event.position > after && matchesQuery(condition.failIfEventsMatch, event)
  return pageWhere(current, after, 1, wanted).events[0] ?? journal?.events?.find(wanted)
}

/**
 * The store's primitives over the log, given to `EventStore.make`, and the lifecycle's over the
 * same log. `removeSnapshot` drops a deleted stream's snapshot, when a snapshot store shares it.
 */
export const makeWithLifecycle = (removeSnapshot: (streamId: string) => void = () => undefined): Effect.Effect<{
  readonly store: EventStore["Service"]
  readonly lifecycle: StreamLifecycle["Service"]
}, never, Scope.Scope> => Effect.gen(function*() {
  // The log and the per-stream indexes grow in place (appends hold the writer): copying them on
  // every append would make appends linear in the size of the store.
  const state = yield* Ref.make<MemoryLog>({ log: [], streams: new Map(), archive: new Map() })
  const writer = yield* Semaphore.make(1)
  const changes = yield* PubSub.sliding<void>(1)
  yield* Effect.addFinalizer(() => PubSub.shutdown(changes))

  /** The writer is held until the transaction ends; the journal's events reach the log at commit. */
  const joinWriter = (journal: Journal) =>
    journal.events !== undefined ? Effect.void : Effect.uninterruptibleMask((restore) =>
      restore(writer.take(1)).pipe(Effect.andThen(Effect.sync(() => {
        const events: Array<RecordedEvent> = []
        let committed = false
        journal.events = events
        journal.commits.add(() => {
          committed = true
          addToLog(Ref.getUnsafe(state), events)
        })
        journal.ends.push(Effect.suspend(() =>
          (committed && events.length > 0 ? PubSub.publish(changes, undefined) : Effect.void).pipe(
            Effect.ensuring(writer.release(1))
          )
        ))
      })))
    )

  const append = Effect.fnUntraced(function*(
    streamId: string,
    events: ReadonlyArray<UnsavedEvent>,
    options: AppendOptions | undefined,
    condition: AppendCondition | undefined
  ) {
    const expected = options?.expectedVersion ?? "any"
    const prepared = yield* prepare(events)
    const recordedAt = yield* DateTime.now
    const journal = yield* currentJournal
    const write = Effect.sync((): AppendResult | WrongExpectedVersion | AppendConditionFailed | StreamClosed => {
      const current = Ref.getUnsafe(state)
      const stream = streamOf(current, streamId, journal)
      const closed = closedBy(streamId, stream[stream.length - 1])
      if (closed !== undefined) return closed
      const actual = versionOf(stream)
      if (!isExpected(expected, actual)) return new WrongExpectedVersion({ streamId, expected, actual })
      // Appends hold the writer, so nothing can land between this check and the write.
      if (condition !== undefined) {
        const conflicting = firstMatch(current, journal, condition)
        if (conflicting !== undefined) return conditionFailed(streamId, condition, conflicting)
      }
      const first = current.log.length + (journal?.events?.length ?? 0)
      const recorded = recordedOf(prepared, streamId, actual, (index) => BigInt(first + index + 1), recordedAt)
      if (journal?.events !== undefined) journal.events.push(...recorded)
      else addToLog(current, recorded)
      return { streamId, version: actual + recorded.length, events: recorded }
    })
    // In a transaction, subscribers are woken when it commits (see joinWriter).
    const outcome = journal === undefined ? yield* writer.withPermits(1)(write) : yield* Effect.andThen(joinWriter(journal), write)
    if (!("events" in outcome)) return yield* outcome
    if (journal === undefined && outcome.events.length > 0) yield* PubSub.publish(changes, undefined)
    return outcome
  })

  const readStreamPage = (streamId: string, from: number, limit: number) =>
    Effect.map(currentJournal, (journal) =>
      fromVersion(streamOf(Ref.getUnsafe(state), streamId, journal), from, limit))
  const listStreams = (prefix: string, after: string | undefined, limit: number) =>
    Effect.sync(() =>
      [...Ref.getUnsafe(state).streams]
        .filter(([streamId]) => streamId.startsWith(prefix) && (after === undefined || byBytes(streamId, after) > 0))
        .sort(([a], [b]) => byBytes(a, b))
        .slice(0, limit)
        .map(([streamId, events]): StreamInfo => ({ streamId, version: versionOf(events), position: events[events.length - 1]!.position })))
  const readCommand = (streamId: string, commandId: string) =>
    Effect.map(currentJournal, (journal) =>
      streamOf(Ref.getUnsafe(state), streamId, journal).filter((event) => event.metadata.commandId === commandId))

  const readAllPage = (after: bigint, types: ReadonlyArray<string> | undefined, limit: number, segment?: Segment) =>
    Effect.map(Ref.get(state), (current) => pageOf(current, after, types, limit, segment))
  // Appends land in the log in position order: a position is all a read's moment needs.
  const readQueryPage = (query: EventQuery, after: bigint, limit: number) =>
    Effect.map(Ref.get(state), (current): QueryPage => {
      const page = pageWhere(current, after, limit, (event) => matchesQuery(query, event))
      return { ...page, marker: { position: page.next } }
    })
  const count = (after: bigint, types: ReadonlyArray<string> | undefined, segment?: Segment) =>
    Effect.map(Ref.get(state), (current) => countOf(current, after, types, segment))
  const head = (options?: HeadOptions) => Effect.map(Ref.get(state), (current) => headOf(current, options))
  const listen = Effect.map(PubSub.subscribe(changes), (subscription) => Effect.asVoid(PubSub.takeAll(subscription)))

  const streamVersion = (streamId: string) => Effect.map(currentJournal, (journal) => versionOf(streamOf(Ref.getUnsafe(state), streamId, journal)))

  const store = makeEventStore({ append, readStreamPage, listStreams, streamVersion, readCommand, readAllPage, readQueryPage, count, listen, head })

  // The lifecycle holds the writer, as appends do: nothing lands between its check and its write.
  // A transaction may hold the writer until it ends: inside one, the lifecycle refuses to wait for it.
  const outsideTransactions = <A, E>(what: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E | EventStoreError> =>
    Effect.flatMap(currentJournal, (journal): Effect.Effect<A, E | EventStoreError> =>
      journal === undefined
        ? effect
        : Effect.fail(new EventStoreError({ message: `${what}: the memory store's lifecycle runs outside a transaction, not inside one` })))

  const close = (streamId: string, kind: "archive" | "delete", options: { readonly reason: string | undefined; readonly cold: boolean }) =>
    outsideTransactions(`${kind === "archive" ? "Archiving" : "Deleting"} stream "${streamId}"`, Effect.flatMap(DateTime.now, (recordedAt) =>
      writer.withPermits(1)(Effect.suspend((): Effect.Effect<Closed, StreamClosed> => {
        const current = Ref.getUnsafe(state)
        const live = current.streams.get(streamId) ?? []
        const last = live[live.length - 1]
        // Only a tombstone may follow an archive's marker.
        const closed = kind === "delete" && last?.type === archivedType ? undefined : closedBy(streamId, last)
        if (closed !== undefined) return Effect.fail(closed)
        const lastVersion = versionOf(live)
        const type = kind === "archive" ? archivedType : deletedType
        const data = { lastVersion, ...(options.reason === undefined ? {} : { reason: options.reason }) }
        const [marker] = recordedOf([{ event: { type, data }, data, metadata: {} }], streamId, lastVersion, () => BigInt(current.log.length + 1), recordedAt)
        addToLog(current, [marker!])
        const moved = options.cold ? moveToArchive(current, streamId, live.length - 1) : 0
        if (kind === "delete") removeSnapshot(streamId)
        return Effect.as(PubSub.publish(changes, undefined), { streamId, marker: marker!, moved })
      }))))

  const truncate = (streamId: string, before: number, limit: number) =>
    outsideTransactions(`Truncating stream "${streamId}"`, writer.withPermits(1)(Effect.sync(() => {
      const live = Ref.getUnsafe(state).streams.get(streamId) ?? []
      // The last event stays, whatever `before` says.
      const movable = live.slice(0, -1).filter((event) => event.version < before).length
      return moveToArchive(Ref.getUnsafe(state), streamId, Math.min(movable, limit))
    })))

  const plan = (category: string, cutoff: DateTime.Utc | undefined, maxCount: number | undefined) =>
    Effect.sync(() => {
      const truncations: Array<Truncation> = []
      for (const [streamId, live] of Ref.getUnsafe(state).streams) {
        if (!streamId.startsWith(`${category}-`) || live.length < 2) continue
        const last = versionOf(live)
        const young = cutoff === undefined ? undefined : live.find((event) => !DateTime.isLessThan(event.recordedAt, cutoff))
        const byAge = cutoff === undefined ? 0 : young === undefined ? last : young.version
        const byCount = maxCount === undefined ? 0 : last - maxCount + 1
        const before = Math.min(Math.max(byAge, byCount), last)
        const events = live.filter((event) => event.version < before).length
        if (events > 0) truncations.push({ streamId, before, events })
      }
      return truncations.sort((a, b) => byBytes(a.streamId, b.streamId))
    })

  const readArchivedPage = (streamId: string, from: number, limit: number) =>
    Effect.sync(() => fromVersion(Ref.getUnsafe(state).archive.get(streamId) ?? [], from, limit))

  return { store, lifecycle: makeLifecycle({ close, truncate, plan, readArchivedPage }) }
})

/** The store alone (see {@link makeWithLifecycle}). */
export const make: Effect.Effect<EventStore["Service"], never, Scope.Scope> = Effect.map(makeWithLifecycle(), ({ store }) => store)
