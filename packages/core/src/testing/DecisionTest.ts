/**
 * Given/when/then for decisions: given past events (tagged as the decision tags them), when a
 * command is decided, then expect the new events or a domain error. Folds each projection over
 * the events its query matches and runs `decide`; no store is involved.
 *
 * ```ts
 * yield* DecisionTest.given(subscribe, courseDefined("c1", 1), subscribed("c1", "s1"))
 *   .when(new Subscribe({ courseId: "c1", studentId: "s2" }))
 *   .thenFails(new CourseFull({ courseId: "c1" }))
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Decision from "../Decision.ts"
import type { Tagged } from "../RecordedEvent.ts"
import { expectEvents, expectFailure } from "./internal/outcome.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface When<Event, DomainError> {
  /** The events decided, or the domain error. */
  readonly result: Effect.Effect<ReadonlyArray<Event>, DomainError>
  /** Asserts that the command is accepted with exactly these events. */
  readonly thenEvents: (...expected: ReadonlyArray<Event>) => Effect.Effect<void>
  /** Asserts that the command is rejected with this error (compared by value) or one matching the predicate. */
  readonly thenFails: (expected: DomainError | ((error: DomainError) => boolean)) => Effect.Effect<void>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Given<Command, Event, DomainError> {
  readonly when: (command: Command) => When<Event, DomainError>
}

/**
 * Starts a scenario from the given events, in log order.
 *
 * @category constructors
 * @since 0.1.0
 */
export const given = <Command, Event extends Tagged, P extends Record<string, Decision.StateOf<any, Event>>, DomainError>(
  decision: Decision.Decision<Command, Event, P, DomainError>,
  ...events: ReadonlyArray<Event>
): Given<Command, Event, DomainError> => ({
  when: (command) => {
    const tagged = events.map((event) => ({ type: event._tag, tags: decision.tags(event), data: event }))
    const result = decision.decide(command, Decision.fold(decision.state(command), tagged))
    return {
      result,
      thenEvents: (...expected) => Effect.asVoid(expectEvents(result, expected)),
      thenFails: (expected) => expectFailure(result, expected)
    }
  }
})
