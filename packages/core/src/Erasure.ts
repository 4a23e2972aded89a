/**
 * Forgetting a data subject (crypto-shredding). {@link forget} first records the intent, a
 * `$SubjectForgotten` event on the subject's own stream (`PersonalData.forgottenStream`), then
 * destroys the subject's key and drops the snapshots it was told of. Processors see the event
 * in the log and drop what they keep of the subject (a projection's documents).
 *
 * The order is what makes a crash harmless: after the intent and before the key is gone, the
 * data still reads and the erasure is on record; {@link completePending} (run at start, see
 * {@link layerCompletePending}) finishes it. The key is never destroyed without its record.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema, Stream } from "effect"
import type { StreamClosed } from "./ClosedStreams.ts"
import { EventStore, type EventStoreError, WrongExpectedVersion } from "./EventStore.ts"
import { checkId, type InvalidInput, limits } from "./InvalidInput.ts"
import { KeyStore, type KeyStoreError } from "./KeyStore.ts"
import { forgottenStream, SubjectForgotten } from "./PersonalData.ts"
import { codec, type EventDecodeError, type EventEncodeError } from "./RecordedEvent.ts"
import { SnapshotStore, type SnapshotStoreError } from "./SnapshotStore.ts"
import type { RetryTransaction } from "./Transactor.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface ForgetOptions {
  /**
   * Streams whose snapshots hold the subject's personal data: they are dropped with the key, and
   * rebuilt from the events (which then read the placeholders).
   */
  readonly snapshots?: ReadonlyArray<string> | undefined
}

/**
 * What {@link forget} did: whether it recorded the intent now (false when it was on record
 * already) and whether it destroyed a key now (false when there was none left).
 *
 * @category models
 * @since 0.1.0
 */
export interface Forgotten {
  readonly subject: string
  readonly recorded: boolean
  readonly keyDestroyed: boolean
}

/**
 * @category models
 * @since 0.1.0
 */
export type ErasureError =
  | EventStoreError
  // The subject's erasure stream was archived or deleted: its intent cannot be recorded.
  | StreamClosed
  | RetryTransaction
  | InvalidInput
  | KeyStoreError
  | SnapshotStoreError
  | EventDecodeError
  | EventEncodeError

/** The intent as stored: the subject and the snapshots to drop. */
const Intent = Schema.TaggedStruct(SubjectForgotten.fields._tag.schema.literal, {
  ...SubjectForgotten.fields,
  snapshots: Schema.optionalKey(Schema.Array(Schema.String))
})
const intents = codec(Intent)

/** Destroys the key and drops the snapshots; each step may run again. */
const complete = (subject: string, snapshots: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const keyDestroyed = yield* (yield* KeyStore).destroy(subject)
    const store = yield* SnapshotStore
    yield* Effect.forEach(snapshots, (streamId) => store.delete(streamId), { discard: true })
    return keyDestroyed
  })

/**
 * Forgets a data subject: records a `$SubjectForgotten` event, then destroys their key. From
 * then on their personal fields read as the placeholders their Schemas declare, and no personal
 * data of theirs can be stored again. Forgetting a forgotten subject records nothing again.
 *
 * @category erasure
 * @since 0.1.0
 */
export const forget: (
  subject: string,
  options?: ForgetOptions
) => Effect.Effect<Forgotten, ErasureError, EventStore | KeyStore | SnapshotStore> = Effect.fn("Erasure.forget")(function*(
  subject: string,
  options?: ForgetOptions
) {
  const invalid = checkId("data subject", subject, limits.streamIdLength)
  if (invalid !== undefined) return yield* invalid
  const snapshots = options?.snapshots ?? []
  const event = yield* intents.encode({ _tag: "$SubjectForgotten", subject, ...(snapshots.length === 0 ? {} : { snapshots }) })
  const store = yield* EventStore
  const recorded = yield* store.append(forgottenStream(subject), [event], { expectedVersion: "noStream" }).pipe(
    Effect.as(true),
    // On record already (a second call, or one that stopped before the key was destroyed).
    Effect.catchIf((error) => error instanceof WrongExpectedVersion, () => Effect.succeed(false))
  )
  const keyDestroyed = yield* complete(subject, snapshots)
  return { subject, recorded, keyDestroyed }
})

/**
 * Finishes every erasure on record whose key still exists (a process stopped between the
 * intent and the key's destruction); returns the subjects it finished.
 *
 * @category erasure
 * @since 0.1.0
 */
export const completePending: Effect.Effect<
  ReadonlyArray<string>,
  ErasureError,
  EventStore | KeyStore | SnapshotStore
> = Effect.gen(function*() {
  const store = yield* EventStore
  const keys = yield* KeyStore
  const recorded = yield* store.readQuery({ items: [{ types: [SubjectForgotten.fields._tag.schema.literal] }] }).pipe(
    Stream.mapEffect(intents.decode),
    Stream.runCollect
  )
  const live = yield* keys.keys(recorded.map((event) => event.data.subject), { purpose: "decrypt" })
  const pending = recorded.filter((event) => live.get(event.data.subject)?._tag === "Live")
  yield* Effect.forEach(pending, (event) => complete(event.data.subject, event.data.snapshots ?? []), { discard: true })
  return pending.map((event) => event.data.subject)
}).pipe(Effect.withSpan("Erasure.completePending"))

/**
 * Runs {@link completePending} when it is built: provide it with the stores at start.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerCompletePending: Layer.Layer<never, ErasureError, EventStore | KeyStore | SnapshotStore> = Layer.effectDiscard(completePending)
