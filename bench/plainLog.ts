/**
 * The in-memory baseline: an event log as hand-written plain JS, with the semantics
 * `InMemory.eventStore` promises (version check, data and metadata copied as JSON, a UUID, a
 * global position and a timestamp per event, a per-stream index) and nothing else: no Effect, no
 * Schema, no PubSub.
 */

export interface PlainEvent {
  readonly type: string
  readonly data: unknown
  readonly metadata?: unknown
}

export interface PlainRow {
  readonly id: string
  readonly streamId: string
  readonly version: number
  readonly position: bigint
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  readonly recordedAt: Date
}

const copyJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null))

export class PlainLog {
  readonly log: Array<PlainRow> = []
  readonly streams = new Map<string, Array<PlainRow>>()

  /** Appends atomically if the stream is at `expectedVersion` (when given); returns the new version. */
  append(streamId: string, events: ReadonlyArray<PlainEvent>, expectedVersion?: number): number {
    let stream = this.streams.get(streamId)
    const actual = stream === undefined ? 0 : stream.length
    if (expectedVersion !== undefined && expectedVersion !== actual) {
      throw new Error(`stream ${streamId}: expected ${expectedVersion}, actual ${actual}`)
    }
    const prepared = events.map((event) => ({ type: event.type, data: copyJson(event.data), metadata: copyJson(event.metadata ?? {}) }))
    if (stream === undefined) {
      stream = []
      this.streams.set(streamId, stream)
    }
    const recordedAt = new Date()
    for (const event of prepared) {
      const row: PlainRow = {
        id: crypto.randomUUID(),
        streamId,
        version: stream.length + 1,
        position: BigInt(this.log.length + 1),
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        recordedAt
      }
      this.log.push(row)
      stream.push(row)
    }
    return stream.length
  }

  read(streamId: string): ReadonlyArray<PlainRow> {
    return this.streams.get(streamId) ?? []
  }
}
