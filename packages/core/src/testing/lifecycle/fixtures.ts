/**
 * What the lifecycle suite's parts share: the services it runs on, fresh names (categories hold
 * no "-"), events to append, and reads of a stream, the log and the archive.
 */
import { assert } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { EventStore } from "../../EventStore.ts"
import type { RecordedEvent, UnsavedEvent } from "../../RecordedEvent.ts"
import { StreamLifecycle } from "../../StreamLifecycle.ts"
import type { Services as ProcessorServices } from "../processor/fixtures.ts"

/**
 * The services the suite runs on: every store, and the lifecycle.
 *
 * @category models
 * @since 0.1.0
 */
export type Services = ProcessorServices | StreamLifecycle

/** A fresh category: letters and digits only. */
export const category = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll("-", "")}`

/** A fresh stream id, `<category>-<id>`. */
export const streamOf = (prefix: string) => `${category(prefix)}-1`

export const events = (type: string, count: number, from = 1): Array<UnsavedEvent> =>
  Array.from({ length: count }, (_, i) => ({ type, data: { n: from + i } }))

export const append = (streamId: string, count: number, type = "Lived") => EventStore.use((store) => store.append(streamId, events(type, count)))

export const readStream = (streamId: string, batchSize?: number) =>
  EventStore.use((store) => Stream.runCollect(store.readStream(streamId, batchSize === undefined ? undefined : { batchSize })))

export const readArchived = (streamId: string, batchSize?: number) =>
  StreamLifecycle.use((lifecycle) => Stream.runCollect(lifecycle.readArchived(streamId, batchSize === undefined ? undefined : { batchSize })))

export const versionsOf = (events: ReadonlyArray<RecordedEvent>) => events.map((event) => event.version)

export const typesOf = (events: ReadonlyArray<RecordedEvent>) => events.map((event) => event.type)

/** The events of the log (of these types) after a position. */
export const readLog = (types: ReadonlyArray<string>, after = 0n) => EventStore.use((store) => Stream.runCollect(store.readAll({ after, types })))

/** Fails unless `effect` fails with an error tagged `tag`; gives the error. */
export const failsWith = <A, E, R>(effect: Effect.Effect<A, E, R>, tag: string) =>
  Effect.map(Effect.flip(effect), (error) => {
    assert.strictEqual((error as { readonly _tag?: unknown })._tag, tag, String(error))
    return error
  })
