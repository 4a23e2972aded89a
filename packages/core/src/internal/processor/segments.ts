/**
 * A processor's checkpoints by the number of segments they were made for, and the split of an
 * unsplit processor into segments when they first start.
 */
import { Effect } from "effect"
import { SegmentsChanged, segmentsOf } from "./model.ts"
import type { RunningSegment } from "./runningSegment.ts"

/** The segment count of a checkpoint of processor `name`, or undefined if it is not one of its. */
const segmentCountOf = (name: string, checkpoint: string): number | undefined => {
  if (checkpoint === name) return 1
  if (!checkpoint.startsWith(`${name}[`)) return undefined
  const match = /^\[(\d+)\/(\d+)\]$/.exec(checkpoint.slice(name.length))
  return match === null ? undefined : Number(match[2])
}

/** This processor's checkpoints, by the number of segments they were made for. */
export const checkpointsByCount = (running: RunningSegment<any, any>) =>
  Effect.map(running.checkpoints.list, (all) => {
    const found = new Map<number, Array<string>>()
    for (const { processor } of all) {
      const count = segmentCountOf(running.processor.name, processor)
      if (count !== undefined) found.set(count, [...(found.get(count) ?? []), processor])
    }
    return found
  })

/**
 * Makes sure the checkpoints are those of the processor's segments. When it has none yet but the
 * unsplit processor has one, splits that: under the unsplit processor's lease (so no instance of
 * it runs), in one transaction, every segment starts from its checkpoint, which goes. Checkpoints
 * for any other number of segments: `SegmentsChanged`, since reading on could handle events twice
 * or never.
 */
export const ensureSegments = Effect.fnUntraced(function*(running: RunningSegment<any, any>) {
  const { checkpoints, lease, processor, segment, transactor } = running
  const changed = (found: number) => new SegmentsChanged({ processor: processor.name, segments: segment.count, found })
  const refusal = (found: Map<number, Array<string>>) => {
    const other = [...found.keys()].find((count) => count !== segment.count)
    if (other === undefined) return undefined
    return found.has(segment.count) || other !== 1 || segment.count === 1 ? changed(other) : "split" as const
  }
  const first = refusal(yield* checkpointsByCount(running))
  if (first === undefined) return
  if (first !== "split") return yield* first
  yield* Effect.scoped(Effect.gen(function*() {
    const unsplit = yield* lease.acquire(processor.name)
    const now = refusal(yield* checkpointsByCount(running))
    // Split meanwhile by another instance.
    if (now === undefined) return
    if (now !== "split") return yield* now
    const from = yield* checkpoints.read(processor.name)
    yield* transactor.withTransaction(Effect.gen(function*() {
      for (const { name } of segmentsOf(processor)) yield* checkpoints.replace(name, from)
      yield* checkpoints.remove(processor.name)
      yield* unsplit.fence
    }))
    yield* Effect.logInfo(`Processor "${processor.name}" split into ${segment.count} segments, each from position ${from.position}`)
  }))
})
