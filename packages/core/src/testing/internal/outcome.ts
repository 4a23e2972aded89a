/**
 * The assertions of given/when/then scenarios: a decision's result is the expected events, or
 * the expected failure.
 */
import { Effect, Result } from "effect"
import { expect } from "vitest"

/** Asserts that `result` succeeds with exactly `expected`, and returns what it decided. */
export const expectEvents = <Event, DomainError>(result: Effect.Effect<ReadonlyArray<Event>, DomainError>, expected: ReadonlyArray<Event>) =>
  Effect.map(Effect.result(result), (outcome): ReadonlyArray<Event> => {
    if (Result.isFailure(outcome)) {
      return expect.fail(`Expected events ${JSON.stringify(expected)}, but the command failed with ${String(outcome.failure)}`)
    }
    expect(outcome.success).toEqual(expected)
    return outcome.success
  })

/** Asserts that `result` fails with `expected` (compared by value) or an error matching the predicate. */
export const expectFailure = <Event, DomainError>(
  result: Effect.Effect<ReadonlyArray<Event>, DomainError>,
  expected: DomainError | ((error: DomainError) => boolean)
) =>
  Effect.map(Effect.result(result), (outcome) => {
    if (Result.isSuccess(outcome)) {
      return expect.fail(`Expected the command to fail, but it decided ${JSON.stringify(outcome.success)}`)
    }
    if (typeof expected === "function") {
      const matches = (expected as (error: DomainError) => boolean)(outcome.failure)
      expect(matches, `unexpected error ${String(outcome.failure)}`).toBe(true)
    } else {
      expect(outcome.failure).toEqual(expected)
    }
  })
