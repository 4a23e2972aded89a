/**
 * Snapshots of aggregate state, so a long stream loads from its latest snapshot plus the events
 * after it instead of from its first event. A snapshot keeps the state as JSON (encoded by the
 * aggregate's state Schema), the stream version it reflects and the schema version it was written
 * with: bumping the schema version makes older snapshots ignored, then replaced.
 *
 * Snapshots are an optimisation only: a missing, outdated or undecodable snapshot means a full
 * fold, and failing to take one never fails a command.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Option, Schema } from "effect"
import { checkId, checkJson, type InvalidInput, limits } from "./InvalidInput.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly streamId: string
  /** The version of the state's schema it was written with. */
  readonly schemaVersion: number
  /** The stream version the state reflects. */
  readonly version: number
  /** The state, encoded to JSON. */
  readonly state: unknown
}

/**
 * @category errors
 * @since 0.1.0
 */
export class SnapshotStoreError extends Schema.TaggedError<SnapshotStoreError>()("SnapshotStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * @category services
 * @since 0.1.0
 */
export class SnapshotStore extends Context.Service<SnapshotStore, {
  readonly load: (streamId: string) => Effect.Effect<Option.Option<Snapshot>, SnapshotStoreError | InvalidInput>
  /** Keeps the snapshot unless the stored one is of the same schema version and newer. */
  readonly save: (snapshot: Snapshot) => Effect.Effect<void, SnapshotStoreError | InvalidInput>
  /** Drops the stream's snapshot, if any (its state held what must be forgotten, say). */
  readonly delete: (streamId: string) => Effect.Effect<void, SnapshotStoreError | InvalidInput>
}>()("@facta/core/SnapshotStore") {}

/**
 * A store's methods behind the checks of `InvalidInput` (stream ids, states): every
 * implementation passes through it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: SnapshotStore["Service"]): SnapshotStore["Service"] =>
  SnapshotStore.of({
    load: (streamId) => {
      const invalid = checkId("stream id of a snapshot", streamId, limits.streamIdLength)
      return invalid === undefined ? store.load(streamId) : Effect.fail(invalid)
    },
    save: (snapshot) => {
      const invalid = checkId("stream id of a snapshot", snapshot.streamId, limits.streamIdLength) ??
        checkJson(() => `snapshot state of stream ${JSON.stringify(snapshot.streamId)}`, snapshot.state)
      return invalid === undefined ? store.save(snapshot) : Effect.fail(invalid)
    },
    delete: (streamId) => {
      const invalid = checkId("stream id of a snapshot", streamId, limits.streamIdLength)
      return invalid === undefined ? store.delete(streamId) : Effect.fail(invalid)
    }
  })

/**
 * When to take a snapshot after a command: every `every` events, or when `when` says so.
 *
 * @category models
 * @since 0.1.0
 */
export interface Policy<State> {
  /** The state's schema version; bump it when the state's shape changes. */
  readonly schemaVersion: number
  /** Take a snapshot when the stream version crosses a multiple of `every`. */
  readonly every?: number | undefined
  /** Or decide from the new state and version. */
  readonly when?: ((state: State, version: number) => boolean) | undefined
}

/**
 * Whether a command that moved the stream from `before` to `after` should leave a snapshot.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isDue = <State>(policy: Policy<State>, state: State, before: number, after: number): boolean =>
  (policy.every !== undefined && Math.floor(after / policy.every) > Math.floor(before / policy.every)) ||
  (policy.when?.(state, after) ?? false)
