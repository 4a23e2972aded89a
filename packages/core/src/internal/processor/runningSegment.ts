/** What a running segment of a processor works with, gathered once when it starts, and its metrics. */
import { type Context, Effect, Metric, type PubSub, type Ref } from "effect"
import type { Checkpoint, CheckpointStore } from "../../CheckpointStore.ts"
import type { EventStore, Segment } from "../../EventStore.ts"
import type { Lease, LeaseLost } from "../../Lease.ts"
import * as Metrics from "../../Metrics.ts"
import type * as StatusBoard from "../../StatusBoard.ts"
import type { Transactor } from "../../Transactor.ts"
import type { Halt, Options, Processor, Status } from "./model.ts"
import type * as Runner from "./runner.ts"

/** What a running processor works with, gathered once when it starts. */
export interface RunningSegment<E, R> {
  readonly processor: Processor<E, R>
  /** The segment this run follows, and the name of its checkpoint, lease and status. */
  readonly segment: Segment
  readonly name: string
  /** Of a processor in segments shared by leases: which this instance holds, and whether it may take one more. */
  readonly shares: LeaseShares | undefined
  readonly options: Options | undefined
  readonly context: Context.Context<R>
  readonly store: EventStore["Service"]
  readonly checkpoints: CheckpointStore["Service"]
  readonly transactor: Transactor["Service"]
  readonly lease: Lease["Service"]
  readonly status: Ref.Ref<Status>
  readonly runner: Runner.Runner
  readonly metrics: ReturnType<typeof metricsOf>
  /** Where the processor reports for operators, if a `StatusBoard` is provided. */
  readonly board: StatusBoard.StatusBoard["Service"] | undefined
  readonly instance: string
  /** The lag last measured. */
  readonly lag: Ref.Ref<number>
  /** Told of every halt of the processor's segments in this process. */
  readonly halts: PubSub.PubSub<Halt>
}

/** The processor's metrics, tagged with its name once. */
export const metricsOf = (processor: string) => ({
  eventsHandled: Metric.withAttributes(Metrics.processorEvents, { processor }),
  position: Metric.withAttributes(Metrics.processorPosition, { processor }),
  lag: Metric.withAttributes(Metrics.processorLag, { processor }),
  halted: Metric.withAttributes(Metrics.processorHalted, { processor })
})

// Events committed behind an open transaction count: readers wait for them, so they are lag.
// The processor's types were checked when it started (see `start`): a refusal is a defect.
export const lagAfter = (running: RunningSegment<any, any>, position: bigint) =>
  running.store.countCommitted({ after: position, types: running.processor.types, segment: running.segment }).pipe(
    Effect.catchTag("InvalidInput", Effect.die)
  )

export const committed = (running: RunningSegment<any, any>, events: number, checkpoint: Checkpoint) =>
  Effect.as(
    Effect.andThen(
      Metric.update(running.metrics.eventsHandled, events),
      Metric.update(running.metrics.position, running.store.gaugeOf(checkpoint.position))
    ),
    checkpoint
  )

/**
 * Where the segments of a processor run, without a cluster: every instance holds a lease of its
 * own in the processor's group (`<name>~<random>`), so each can count the live instances and take
 * segments only up to its fair share, the segment count divided by the instances, rounded up.
 */
export interface LeaseShares {
  readonly holding: Set<number>
  readonly eligible: Effect.Effect<boolean>
  readonly fairShare: Effect.Effect<number, LeaseLost>
}
