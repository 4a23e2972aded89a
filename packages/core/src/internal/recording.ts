/** Events as a store records them: with their stream, versions, positions and time. */
import type { DateTime } from "effect"
import type { RecordedEvent, UnsavedEvent } from "../RecordedEvent.ts"

/** Prepared events as stored after `version`, the `index`th at `positionOf(index)`. */
export const recordedOf = (
  prepared: ReadonlyArray<{ readonly event: UnsavedEvent; readonly data: unknown; readonly metadata: unknown }>,
  streamId: string,
  version: number,
  positionOf: (index: number) => bigint,
  recordedAt: DateTime.Utc
) =>
  prepared.map(({ data, event, metadata }, index): RecordedEvent => ({
    id: event.id ?? crypto.randomUUID(),
    streamId,
    version: version + index + 1,
    position: positionOf(index),
    type: event.type,
    data,
    metadata: metadata as RecordedEvent["metadata"],
    recordedAt,
    ...(event.tags === undefined || event.tags.length === 0 ? {} : { tags: [...event.tags] })
  }))
