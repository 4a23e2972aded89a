/**
 * Given/when/then for aggregates: given past events, when a command is decided, then expect the
 * new events or a domain error, and the tags they would be stored with. Runs `decide`, `evolve`
 * and `tags` only; no store is involved.
 *
 * ```ts
 * yield* AggregateTest.given(Account, opened, deposited(100))
 *   .when(new Withdraw({ amount: 30 }))
 *   .thenEvents(new Withdrawn({ amount: 30 }))
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Aggregate from "../Aggregate.ts"
import type { Tagged } from "../RecordedEvent.ts"
import { expectEvents, expectFailure } from "./internal/outcome.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface When<Event, State, DomainError> {
  /** The events decided, or the domain error. */
  readonly result: Effect.Effect<ReadonlyArray<Event>, DomainError>
  /**
   * The tags each event decided is stored with on stream `streamId`, in order (none for an
   * aggregate without `tags`), or the domain error.
   */
  readonly tags: (streamId: string) => Effect.Effect<ReadonlyArray<ReadonlyArray<string>>, DomainError>
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
        tags: (streamId) => Effect.map(result, (decided) => decided.map((event) => aggregate.tags?.(event, streamId) ?? [])),
        thenEvents: (...expected) => Effect.map(expectEvents(result, expected), (decided) => Aggregate.fold(aggregate, decided, state)),
        thenFails: (expected) => expectFailure(result, expected)
      }
    }
  }
}
