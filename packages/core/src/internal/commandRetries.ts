/**
 * When a command runs again: after a conflict, as its retry allows (unless it is pinned to the
 * version its caller saw), and, for a command with an id, after a transient failure of the store.
 */
import { Effect, Predicate, Schedule } from "effect"
import type { EventStoreError, ExpectedVersion, WrongExpectedVersion } from "../EventStore.ts"

export const isConflict = (error: unknown): error is WrongExpectedVersion => Predicate.isTagged(error, "WrongExpectedVersion")

/** An expectation the stream's version alone answers: what was decided on it cannot be decided again. */
export const isPinned = (expected: ExpectedVersion) => typeof expected === "number" || expected === "noStream"

/** Runs `attempt` again after a conflict, as `retry` allows; the schedule still sees the first conflict. */
export const retryConflicts = <A, E, R>(attempt: Effect.Effect<A, E, R>, retry: Schedule.Schedule<unknown, unknown>) =>
  // The retry is set up after a first conflict only: most commands never conflict.
  Effect.catchIf(attempt, isConflict, (conflict) => {
    let first = true
    return Effect.retry(
      Effect.suspend(() => first ? (first = false, Effect.fail(conflict)) : attempt),
      { schedule: retry, while: isConflict }
    )
  })

/** The default retry of transient failures, for commands with an id. */
export const defaultTransientRetry: Schedule.Schedule<unknown, unknown> = Schedule.min([
  Schedule.exponential("50 millis"),
  Schedule.spaced("2 seconds")
]).pipe(Schedule.upTo({ times: 12 }))

export const isTransient = (error: unknown) => Predicate.isTagged(error, "EventStoreError") && (error as EventStoreError).transient !== undefined

export const isInDoubt = (error: unknown) => Predicate.isTagged(error, "EventStoreError") && (error as EventStoreError).transient === "inDoubt"
