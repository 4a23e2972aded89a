/**
 * A command handler's snapshots: where a stream's fold starts (the latest usable snapshot, or the
 * initial state) and saving a new one when the policy says it is due. Neither ever fails or
 * delays a command: a bad or missing snapshot is logged and the stream folded from its start; a
 * save runs in the background.
 */
import { Effect, Option, Schema } from "effect"
import type { Aggregate } from "../Aggregate.ts"
import * as SnapshotStore from "../SnapshotStore.ts"
import * as Batch from "./batch.ts"
import { describeIssue } from "./issue.ts"

/** Where a fold starts; `fresh` false when the snapshot found should be replaced. */
export interface Start<State> {
  readonly state: State
  readonly version: number
  readonly fresh: boolean
}

export interface Snapshotting<State> {
  readonly start: (streamId: string) => Effect.Effect<Start<State>>
  /** Saves `state` at `version` if the policy says so (or the snapshot read was stale). */
  readonly saveIfDue: (streamId: string, start: Start<State>, state: State, from: number, version: number) => Effect.Effect<void>
}

export type Policy<State> = SnapshotStore.Policy<State> & { readonly schema?: Schema.Codec<State, unknown> | undefined }

export const make = <State>(aggregate: Aggregate<any, any, State, any, any>, policy: Policy<State> | undefined): Snapshotting<State> => {
  const initial: Start<State> = { state: aggregate.initialState, version: 0, fresh: true }
  if (policy === undefined) return { start: () => Effect.succeed(initial), saveIfDue: () => Effect.void }
  const codec = Schema.toCodecJson(policy.schema ?? aggregate.state ?? Schema.Unknown as Schema.Codec<State, unknown>)
  const encodeState = Schema.encodeUnknownEffect(codec)
  const decodeState = Schema.decodeUnknownEffect(codec)
  const stale = { ...initial, fresh: false }

  const start = Effect.fnUntraced(function*(streamId: string) {
    const store = yield* Effect.serviceOption(SnapshotStore.SnapshotStore)
    if (Option.isNone(store)) return initial
    const found = yield* store.value.load(streamId).pipe(
      Effect.catch((error) => Effect.as(Effect.logWarning(`Ignoring the snapshot of "${streamId}"`, error), Option.none()))
    )
    if (Option.isNone(found)) return initial
    if (found.value.schemaVersion !== policy.schemaVersion) return stale
    return yield* decodeState(found.value.state).pipe(
      Effect.map((state): Start<State> => ({ state, version: found.value.version, fresh: true })),
      Effect.catch((error) =>
        Effect.as(
          Effect.logWarning(`Ignoring the snapshot of "${streamId}" at version ${found.value.version}: ${describeIssue(error.issue)}`),
          stale
        )
      )
    )
  })

  const save = Effect.fnUntraced(function*(streamId: string, state: State, version: number) {
    const store = yield* Effect.serviceOption(SnapshotStore.SnapshotStore)
    if (Option.isNone(store)) return
    const saving = encodeState(state).pipe(
      Effect.flatMap((encoded) => store.value.save({ streamId, schemaVersion: policy.schemaVersion, version, state: encoded })),
      Effect.catchCause((cause) => Effect.logWarning(`Could not snapshot "${streamId}" at version ${version}`, cause))
    )
    // In a processor's batch the events are written when it commits: the snapshot comes after
    // that, outside its transaction, and not at all if the batch rolls back.
    const batch = yield* Batch.CurrentBatch
    if (batch?.holdsAppends() === true) return batch.afterCommit(saving)
    yield* Effect.forkDetach(saving)
  })

  return {
    start,
    saveIfDue: (streamId, start, state, from, version) =>
      !start.fresh || SnapshotStore.isDue(policy, state, from, version) ? save(streamId, state, version) : Effect.void
  }
}
