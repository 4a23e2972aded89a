/**
 * How a running segment is: its status, reported to the status board on every change of state,
 * its lag, sampled while it catches up, and the summary of a split processor's segments.
 */
import { Effect, Metric, PubSub, Ref, Schedule } from "effect"
import type { Status } from "./model.ts"
import type { RunningSegment } from "./runningSegment.ts"
import { lagAfter } from "./runningSegment.ts"

/** Updates the status; a change of state is reported to the status board at once. */
export const setStatus = (running: RunningSegment<any, any>, patch: Partial<Status>) =>
  Ref.modify(running.status, (current) => {
    const next = { ...current, ...patch }
    const change = {
      state: next.state !== current.state || next.halted !== current.halted,
      halted: next.halted !== current.halted ? next.halted : undefined,
      cleared: current.halted !== undefined && next.halted === undefined
    }
    return [change, next] as const
  }).pipe(Effect.flatMap((change) =>
    Effect.all([
      change.halted === undefined ? Effect.void : Effect.andThen(Metric.update(running.metrics.halted, 1), PubSub.publish(running.halts, change.halted)),
      change.cleared ? Metric.update(running.metrics.halted, 0) : Effect.void,
      change.state ? report(running) : Effect.void
    ], { discard: true })
  ))

/**
 * Tells the status board how the processor is (`state` overrides its own, for "stopped"); a
 * board that fails is looked past (at debug level).
 */
export const report = (running: RunningSegment<any, any>, state?: string): Effect.Effect<void> => {
  const board = running.board
  if (board === undefined) return Effect.void
  return Effect.all([Ref.get(running.status), Ref.get(running.lag)]).pipe(
    Effect.flatMap(([status, lag]) =>
      board.report({
        processor: running.name,
        instance: running.instance,
        state: state ?? status.state,
        position: status.position,
        lag,
        lastError: status.halted?.message
      })
    ),
    Effect.catch((error) => Effect.logDebug("Could not report to the status board", error))
  )
}

/** Measures the lag now and then while catching up, for as long as the scope lives. */
export const sampleLag = (running: RunningSegment<any, any>) =>
  Ref.get(running.status).pipe(
    Effect.flatMap((current) =>
      current.state === "catching up"
        ? Effect.flatMap(lagAfter(running, current.position), (lag) =>
          Effect.andThen(Ref.set(running.lag, lag), Metric.update(running.metrics.lag, lag)))
        : Effect.void
    ),
    Effect.ignore,
    // The status board hears from a running processor at least this often.
    Effect.andThen(Effect.suspend(() => report(running))),
    Effect.repeat(Schedule.spaced("5 seconds")),
    Effect.forkScoped
  )

/** How a split processor is, from its segments: the most pressing state, the lowest position. */
export const summary = (name: string, segments: ReadonlyArray<Status>): Status => {
  const order: ReadonlyArray<Status["state"]> = ["halted", "rebuilding", "held back", "catching up", "live", "waiting for lease"]
  const held = segments.filter((status) => status.state !== "waiting for lease")
  const state = order.find((state) => held.some((status) => status.state === state)) ?? "waiting for lease"
  const halted = segments.find((status) => status.halted !== undefined)?.halted
  const position = segments.reduce((lowest, status) => status.position < lowest ? status.position : lowest, segments[0]!.position)
  return { name, state, position, ...(halted === undefined ? {} : { halted }) }
}
