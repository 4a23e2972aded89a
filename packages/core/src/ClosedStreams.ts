/**
 * Closed streams: the markers a stream's lifecycle writes at the end of a stream (an archive
 * closes it, a delete tombstones it), and the errors of an append to a closed stream.
 *
 * A marker is an event of the stream and of the log, committed with the archive or the delete
 * that wrote it, so every processor meets it at its log position. A processor reads only the
 * types it handles: one without a handler for a marker never sees it. A projection that keeps
 * documents by stream handles them by adding {@link Marker} (or {@link Archived}, {@link Deleted})
 * to its event Schema:
 *
 * ```ts
 * Projection.make({
 *   name: "accounts",
 *   event: Schema.Union([AccountEvent, ClosedStreams.Deleted]),
 *   handlers: {
 *     AccountOpened: (event) => accounts.upsert(event.streamId, ...),
 *     $StreamDeleted: (event) => accounts.remove(event.streamId)
 *   }
 * })
 * ```
 *
 * Their types are reserved: an application's append of one is refused with an `InvalidInput`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The type of the marker an archive writes.
 *
 * @category constants
 * @since 0.1.0
 */
export const archivedType = "$StreamArchived"

/**
 * The type of the marker (the tombstone) a delete writes.
 *
 * @category constants
 * @since 0.1.0
 */
export const deletedType = "$StreamDeleted"

/**
 * The data of a marker: the version of the stream's last event before it (0 for a stream that
 * had none), and the operator's reason, when one was given.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Archived = Schema.TaggedStruct(archivedType, {
  lastVersion: Schema.Number,
  reason: Schema.optionalKey(Schema.String)
})

/**
 * @category schemas
 * @since 0.1.0
 */
export const Deleted = Schema.TaggedStruct(deletedType, {
  lastVersion: Schema.Number,
  reason: Schema.optionalKey(Schema.String)
})

/**
 * Either marker, to add to a processor's event Schema.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Marker = Schema.Union([Archived, Deleted])

/**
 * @category models
 * @since 0.1.0
 */
export type Marker = typeof Marker.Type

/**
 * Whether an event type is a marker's (and so reserved).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isMarkerType = (type: string): boolean => type === archivedType || type === deletedType

/**
 * The stream was archived: it takes no more events (but its tombstone); its events still read.
 *
 * @category errors
 * @since 0.1.0
 */
export class StreamArchived extends Schema.TaggedError<StreamArchived>()("StreamArchived", {
  streamId: Schema.String,
  /** The version of its marker. */
  version: Schema.Number
}) {
  override get message() {
    return `Stream "${this.streamId}" is archived (at version ${this.version}): it takes no more events`
  }
}

/**
 * The stream was deleted: its events left the live log, and its id can never be used again.
 *
 * @category errors
 * @since 0.1.0
 */
export class StreamDeleted extends Schema.TaggedError<StreamDeleted>()("StreamDeleted", {
  streamId: Schema.String,
  /** The version of its tombstone. */
  version: Schema.Number
}) {
  override get message() {
    return `Stream "${this.streamId}" is deleted (at version ${this.version}): its id cannot be used again`
  }
}

/**
 * Why an append to a closed stream was refused.
 *
 * @category errors
 * @since 0.1.0
 */
export type StreamClosed = StreamArchived | StreamDeleted

/**
 * The error for an append to a stream whose last event is of `type` at `version`: undefined
 * when that is no marker (the stream is open).
 *
 * @category constructors
 * @since 0.1.0
 */
export const closedBy = (streamId: string, last: { readonly type: string; readonly version: number } | undefined): StreamClosed | undefined =>
  last === undefined
    ? undefined
    : last.type === archivedType
    ? new StreamArchived({ streamId, version: last.version })
    : last.type === deletedType
    ? new StreamDeleted({ streamId, version: last.version })
    : undefined
