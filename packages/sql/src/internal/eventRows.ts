/**
 * The rows of the events table and the events they are: how a position is built from a
 * transaction id and a sequence, how a row becomes a `RecordedEvent`, and how a batch of events is
 * encoded before it is sent.
 */
import { DateTime } from "effect"
import type { SqlError } from "effect/sql"
import { EventStore, type RecordedEvent } from "@facta/core"
import { transientOf } from "./transient.ts"

export interface EventRow {
  readonly position: bigint | string | number
  readonly transaction: string
  readonly stream_id: string
  readonly version: bigint | string | number
  readonly event_id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  readonly recorded_at: Date | string
  readonly tags: ReadonlyArray<string> | null
}

export interface HorizonRow {
  readonly horizon_transaction: string
  readonly horizon_position: bigint | string | number
}

export interface AppendRow {
  readonly position: bigint | string | number
  readonly transaction: string
  readonly version: bigint | string | number
  readonly recorded_at: Date | string
}

export const sequenceBits = 64n
export const sequenceMask = (1n << sequenceBits) - 1n

export const toPosition = (transactionId: string, sequence: bigint | string | number) =>
  (BigInt(transactionId) << sequenceBits) | BigInt(sequence)

/** The sequence part of a position: a number that grows with the log, for gauges. */
export const sequenceOf = (position: bigint) => Number(position & sequenceMask)

export const toDateTime = (value: Date | string) => DateTime.fromDateUnsafe(value instanceof Date ? value : new Date(value))

const recordedOf = (row: EventRow, position: bigint): RecordedEvent.RecordedEvent => {
  const event = {
    id: row.event_id,
    streamId: row.stream_id,
    version: Number(row.version),
    position,
    type: row.type,
    data: row.data,
    metadata: (row.metadata ?? {}) as RecordedEvent.EventMetadata,
    recordedAt: toDateTime(row.recorded_at)
  }
  return row.tags == null || row.tags.length === 0 ? event : { ...event, tags: row.tags }
}

export const toRecorded = (row: EventRow): RecordedEvent.RecordedEvent => recordedOf(row, toPosition(row.transaction, row.position))

/**
 * The events of a page of rows. Consecutive rows mostly share a transaction (an append's events
 * do): its part of the position is parsed once, not once per row.
 */
export const toRecordedRows = (rows: ReadonlyArray<EventRow>): Array<RecordedEvent.RecordedEvent> => {
  const events = new Array<RecordedEvent.RecordedEvent>(rows.length)
  let transaction: string | undefined
  let high = 0n
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    if (row.transaction !== transaction) {
      transaction = row.transaction
      high = BigInt(transaction) << sequenceBits
    }
    events[index] = recordedOf(row, high | BigInt(row.position))
  }
  return events
}

export const storeError = (what: string) => (cause: SqlError.SqlError) => {
  const transient = transientOf(cause)
  return new EventStore.EventStoreError({ message: `${what} failed: ${cause.message}`, cause, ...(transient === undefined ? {} : { transient }) })
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface EncodedEvent {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: RecordedEvent.EventMetadata
  readonly tags: ReadonlyArray<string> | undefined
}

/**
 * A batch ready to send: one event as its own JSON values, more as one JSON array. Encoding runs
 * before anything is sent, so bad ids and data that is not JSON fail the append up front.
 */
export interface EncodedBatch {
  readonly encoded: ReadonlyArray<EncodedEvent>
  /** The JSON array of the whole batch; empty for a single event, which needs none. */
  readonly json: string
  /** A single event's data and metadata as JSON; empty for a batch. */
  readonly data: string
  readonly metadata: string
  /** The batch's tags, each once. */
  readonly tags: ReadonlyArray<string>
  /** The keys the batch's events are locked under while appended: `tag:` and each tag. */
  readonly lockKeys: ReadonlyArray<string>
  /** The keys of conditions the events would break: the lock keys, `type:` and each type, and `*`. */
  readonly checkKeys: ReadonlyArray<string>
}

/** The keys of a batch of events: see {@link EncodedBatch}. */
export const keysOf = (events: ReadonlyArray<{ readonly type: string; readonly tags?: ReadonlyArray<string> | undefined }>) => {
  const tags = new Set<string>()
  const checkKeys = new Set<string>(["*"])
  for (const event of events) {
    checkKeys.add(`type:${event.type}`)
    for (const tag of event.tags ?? []) tags.add(tag)
  }
  const lockKeys = [...tags].map((tag) => `tag:${tag}`)
  return { tags: [...tags], lockKeys, checkKeys: [...lockKeys, ...checkKeys] }
}

const encodeEvent = (event: RecordedEvent.UnsavedEvent): EncodedEvent => {
  // Only ids from the caller need checking.
  if (event.id != null && !uuid.test(event.id)) throw new Error(`event id "${event.id}" is not a UUID`)
  return {
    id: event.id ?? crypto.randomUUID(),
    type: event.type,
    data: event.data ?? null,
    metadata: event.metadata ?? {},
    tags: event.tags === undefined || event.tags.length === 0 ? undefined : event.tags
  }
}

export const encodeBatch = (events: ReadonlyArray<RecordedEvent.UnsavedEvent>): EncodedBatch | EventStore.EventStoreError => {
  try {
    if (events.length === 1) {
      const event = encodeEvent(events[0]!)
      return { encoded: [event], json: "", data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata), ...keysOf([event]) }
    }
    const encoded = events.map(encodeEvent)
    return { encoded, json: JSON.stringify(encoded), data: "", metadata: "", ...keysOf(encoded) }
  } catch (cause) {
    return new EventStore.EventStoreError({
      message: `Events cannot be stored: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  }
}


/** The result of an append, from the rows its statement returned. */
export const toResult = (streamId: string, encoded: ReadonlyArray<EncodedEvent>, rows: ReadonlyArray<AppendRow>): EventStore.AppendResult => {
  const recorded = new Array<RecordedEvent.RecordedEvent>(rows.length)
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]!
    const event = encoded[index]!
    recorded[index] = {
      id: event.id,
      streamId,
      version: Number(row.version),
      position: toPosition(row.transaction, row.position),
      type: event.type,
      data: event.data,
      metadata: event.metadata,
      recordedAt: toDateTime(row.recorded_at),
      ...(event.tags === undefined ? {} : { tags: [...event.tags] })
    }
  }
  return { streamId, version: recorded[recorded.length - 1]!.version, events: recorded }
}
