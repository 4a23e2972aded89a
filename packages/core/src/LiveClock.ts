/**
 * The clock Facta's own waits run on: the delays of its retries, the polls and rechecks of a
 * running processor, lease renewals, and `whenCaughtUp`. They are the infrastructure's time, not
 * the domain's, so they run on the live clock whatever `Clock` the caller provides. A `TestClock`
 * (`it.effect`) moves only when a test adjusts it: a processor retrying a failed batch on it, or a
 * command retrying a conflict, would wait forever. Domain code keeps the caller's clock: a
 * processor's handlers, `decide` and `evolve` see the `TestClock` a test provides.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Schedule } from "effect"

/**
 * The live clock: Effect's default, the time of the machine.
 *
 * @category models
 * @since 0.1.0
 */
export const clock: Clock.Clock = Clock.Clock.defaultValue()

/**
 * Runs the effect, and the fibers it forks, on the live clock.
 *
 * @category combinators
 * @since 0.1.0
 */
export const provide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, Clock.Clock, clock)

/**
 * The schedule with its delays slept on the live clock: `Effect.retry` and `Effect.repeat` with it
 * wait in real time, while the effect they run again keeps the caller's clock.
 *
 * @category combinators
 * @since 0.1.0
 */
export const schedule = <Output, Input, Error, Env>(self: Schedule.Schedule<Output, Input, Error, Env>): Schedule.Schedule<Output, Input, Error, Env> =>
  Schedule.modifyDelay(self, ({ duration }) => Effect.as(provide(Effect.sleep(duration)), Duration.zero))
