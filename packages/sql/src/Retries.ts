/**
 * How a store tries a statement again after a transient failure (a lost connection, a deadlock,
 * a serialization failure; see `EventStore.Transient`): outside a transaction, reads always, and
 * writes where trying again cannot apply them twice. Inside a transaction nothing is retried
 * alone, since the failure aborted the whole transaction: its owner runs it again.
 *
 * @since 0.1.0
 */
import { Schedule } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface RetryOptions {
  /** When to try again; default {@link defaultSchedule}. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * Up to 12 retries, exponential from 50 ms and at most 2 s apart (about 15 s in all), which rides
 * out a server restart or a failover.
 *
 * @category schedules
 * @since 0.1.0
 */
export const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("50 millis"),
  Schedule.spaced("2 seconds")
]).pipe(Schedule.upTo({ times: 12 }))
