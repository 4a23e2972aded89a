/**
 * Appends racing an archive or a delete, round after round: one side wins each append, and
 * nothing is half done. Every acknowledged event lies before the marker (live after an archive,
 * in the archive after a delete), every refused append failed with the closed stream's error or
 * a conflict, and no version is given twice, not even one whose event a delete or a truncation
 * was moving.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as ClosedStreams from "../../ClosedStreams.ts"
import { type AppendResult, EventStore, type ExpectedVersion } from "../../EventStore.ts"
import { StreamLifecycle } from "../../StreamLifecycle.ts"
import { append, readArchived, readStream, type Services, streamOf, typesOf, versionsOf } from "./fixtures.ts"

/** The appenders of a round: "any", the version each read, and stale expectations a moved event could let through. */
const appenders = (streamId: string, writers: number) =>
  Array.from({ length: writers }, (_, i): Effect.Effect<AppendResult, unknown, EventStore> =>
    EventStore.use((store) =>
      Effect.gen(function*() {
        const expected: ExpectedVersion = i % 4 === 0
          ? "any"
          : i % 4 === 1
          ? yield* store.streamVersion(streamId)
          : i % 4 === 2
          ? "noStream"
          : 1
        return yield* store.append(streamId, [{ type: "Racing", data: { writer: i } }, { type: "Racing", data: { writer: i } }], { expectedVersion: expected })
      })
    ))

const race = (kind: "archive" | "delete", rounds: number) =>
  Effect.gen(function*() {
    const lifecycle = yield* StreamLifecycle
    const closedTag = kind === "archive" ? "StreamArchived" : "StreamDeleted"
    for (let round = 0; round < rounds; round++) {
      const streamId = streamOf(`race${kind}`)
      yield* append(streamId, 2)
      const writers = appenders(streamId, 12).map((writer) => Effect.result(writer))
      const closing = kind === "archive" ? lifecycle.archive(streamId) : lifecycle.delete(streamId)
      const [closed, outcomes] = yield* Effect.all([closing, Effect.all(writers, { concurrency: "unbounded" })], { concurrency: "unbounded" })
      const acknowledged = outcomes.filter(Result.isSuccess).flatMap((outcome) => outcome.success.events)
      for (const failure of outcomes.filter(Result.isFailure)) {
        const tag = (failure.failure as { readonly _tag?: string })._tag
        assert.isTrue(tag === closedTag || tag === "WrongExpectedVersion", `round ${round}: ${String(failure.failure)}`)
      }
      const live = yield* readStream(streamId)
      const archived = yield* readArchived(streamId)
      const all = [...archived, ...live]
      // One contiguous stream: the two first events, the acknowledged ones, then the marker.
      assert.deepStrictEqual(versionsOf(all), Array.from({ length: all.length }, (_, i) => i + 1), `round ${round}`)
      assert.strictEqual(all.length, 2 + acknowledged.length + 1, `round ${round}`)
      assert.strictEqual(all[all.length - 1]!.id, closed.marker.id)
      assert.deepStrictEqual(all.slice(2, -1).map((event) => event.id).sort(), acknowledged.map((event) => event.id).sort())
      if (kind === "archive") {
        assert.deepStrictEqual(archived, [], `round ${round}`)
      } else {
        assert.deepStrictEqual(typesOf(live), [ClosedStreams.deletedType], `round ${round}`)
        assert.strictEqual(closed.moved, 2 + acknowledged.length)
      }
      // And after the race, nothing lands.
      for (const writer of appenders(streamId, 4)) {
        const refused = yield* Effect.flip(writer)
        assert.strictEqual((refused as { readonly _tag?: string })._tag, closedTag)
      }
    }
  })

/** Stale appenders racing a truncation: none of them may take a version whose event is moving. */
const raceTruncation = (rounds: number) =>
  Effect.gen(function*() {
    const lifecycle = yield* StreamLifecycle
    const store = yield* EventStore
    for (let round = 0; round < rounds; round++) {
      const streamId = streamOf("raceTruncate")
      yield* append(streamId, 10)
      const stale = [0, 1, 3, 5, 8].map((expectedVersion) => Effect.result(store.append(streamId, [{ type: "Stale", data: {} }], { expectedVersion })))
      const fresh = Array.from({ length: 4 }, () => store.append(streamId, [{ type: "Fresh", data: {} }]))
      const [moved, refused, appended] = yield* Effect.all([
        lifecycle.truncateBefore(streamId, 10),
        Effect.all(stale, { concurrency: "unbounded" }),
        Effect.all(fresh, { concurrency: "unbounded" })
      ], { concurrency: "unbounded" })
      for (const outcome of refused) {
        assert.isTrue(Result.isFailure(outcome) && (outcome.failure as { readonly _tag?: string })._tag === "WrongExpectedVersion", `round ${round}`)
      }
      const all = [...yield* readArchived(streamId), ...yield* readStream(streamId)]
      assert.deepStrictEqual(versionsOf(all), Array.from({ length: 14 }, (_, i) => i + 1), `round ${round}`)
      assert.deepStrictEqual(typesOf(all).filter((type) => type === "Stale"), [], `round ${round}`)
      assert.strictEqual(appended.length, 4)
      assert.isAtLeast(moved, 9)
    }
  })

export const races = (it: Vitest.MethodsNonLive<Services>, rounds: number) => {
  it.effect(`appends with stale versions racing a truncation are refused, whatever it moves meanwhile (${rounds} rounds)`, () =>
    raceTruncation(rounds), 60_000)

  it.effect(`appends racing an archive: each lands before the marker or is refused, and nothing is half done (${rounds} rounds)`, () =>
    race("archive", rounds), 60_000)

  it.effect(`appends racing a delete: each lands before the tombstone (and moves with the stream) or is refused, and no version is given twice (${rounds} rounds)`, () =>
    race("delete", rounds), 60_000)
}
