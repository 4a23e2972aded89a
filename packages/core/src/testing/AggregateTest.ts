/**
 * Given/when/then for aggregates: given past events, when a command is decided, then expect the
 * new events or a domain error. Runs `decide` and `evolve` only; no store is involved.
 *
 * ```ts
 * yield* AggregateTest.given(Account, opened, deposited(100))
 *   .when(new Withdraw({ amount: 30 }))
 *   .thenEvents(new Withdrawn({ amount: 30 }))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { expect } from "vitest"
import * as Aggregate from "../Aggregate.ts"
import type { Tagged } from "../RecordedEvent.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface When<Event, State, DomainError> {
  /** The events decided, or the domain error. */
  readonly result: Effect.Effect<ReadonlyArray<Event>, DomainError>
  /** Asserts that the command is accepted with exactly these events, and returns the state after them. */
  readonly thenEvents: (...expected: ReadonlyArray<Event>) => Effect.Effect<State>
  /** Asserts that the command is rejected with this error (compared by value) or one matching the predicate. */
  readonly thenFails: (expected: DomainError | ((error: DomainError) => boolean)) => Effect.Effect<void>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Given<Command, Event, State, DomainError> {
  /** The state folded from the given events. */
  readonly state: State
  readonly when: (command: Command) => When<Event, State, DomainError>
}

/**
 * Starts a scenario from the state the given events produce.
 *
 * @category constructors
 * @since 0.1.0
 */
export const given = <Command, Event extends Tagged, State, DomainError>(
  aggregate: Aggregate.Aggregate<Command, Event, State, DomainError>,
  ...events: ReadonlyArray<Event>
): Given<Command, Event, State, DomainError> => {
  const state = Aggregate.fold(aggregate, events)
  return {
    state,
    when: (command) => {
      const result = aggregate.decide(command, state)
      return {
        result,
        thenEvents: (...expected) =>
          Effect.map(Effect.result(result), (outcome) => {
            if (Result.isFailure(outcome)) {
              return expect.fail(`Expected events ${JSON.stringify(expected)}, but the command failed with ${String(outcome.failure)}`)
            }
            expect(outcome.success).toEqual(expected)
            return Aggregate.fold(aggregate, outcome.success, state)
          }),
        thenFails: (expected) =>
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
      }
    }
  }
}
