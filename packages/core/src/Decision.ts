/**
 * Decisions over a consistency boundary defined by a query rather than a stream: the write-side
 * counterpart of an `Aggregate` for rules that span entities ("a course takes at most 30
 * students and a student at most 5 courses").
 *
 * A decision names small projections of the log, each a query (built from the command: its
 * tags), an initial state and an `evolve`; `decide` sees their states together. The handler
 * reads the events matching all the queries, folds each projection over the events its own query
 * matches, decides, and appends the new events on the condition that nothing matching the
 * queries was committed since the read (`EventStore.appendIf`), retrying the whole cycle when
 * something was. A decision is pure data, as an `Aggregate` is; `DecisionHandler.make` runs it
 * against the event store, as `CommandHandler` runs an aggregate.
 *
 * ```ts
 * const subscribe = Decision.make({
 *   name: "subscribe",
 *   command: Subscribe,
 *   event: CourseEvent,
 *   state: (command) => ({ course: courseCapacity(command.courseId), student: studentLoad(command.studentId) }),
 *   decide: (command, { course, student }) => ...,
 *   tags: (event) => [`course:${event.courseId}`, `student:${event.studentId}`],
 *   streamId: (command) => `subscription-${command.courseId}-${command.studentId}`
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Schema } from "effect"
import * as EventQuery from "./EventQuery.ts"
import type { KeyStore } from "./KeyStore.ts"
import { codec, type EventCodec, type Tagged, type Upcasters } from "./RecordedEvent.ts"

/**
 * One projection a decision reads: the events its query matches, folded from `initial`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StateOf<S, Event> {
  readonly query: EventQuery.EventQuery
  readonly initial: S
  readonly evolve: (state: S, event: Event) => S
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const projection = <S, Event>(definition: StateOf<S, Event>): StateOf<S, Event> => definition

/**
 * The states of a record of projections: what `decide` sees.
 *
 * @category utility types
 * @since 0.1.0
 */
export type States<P extends Record<string, StateOf<any, any>>> = { readonly [K in keyof P]: P[K]["initial"] }

/**
 * @category models
 * @since 0.1.0
 */
export interface Definition<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError, K extends KeyStore = never> {
  readonly name: string
  /** Validates the command: `handle` decodes unknown input with it. */
  readonly command: Schema.Codec<Command, any>
  /**
   * Encodes the events decided and decodes those read. With personal fields (`PersonalData`),
   * the decision needs the `KeyStore` (`K`).
   */
  readonly event: Schema.Codec<Event, any, K, K>
  /** The projections to read for this command (their queries use its ids). */
  readonly state: (command: Command) => P
  readonly decide: (command: Command, state: States<P>) => Effect.Effect<ReadonlyArray<Event>, DomainError>
  /** The tags a decided event is stored with: the ids other decisions will query it by. */
  readonly tags: (event: Event) => ReadonlyArray<string>
  /** The stream the decided events are appended to. */
  readonly streamId: (command: Command) => string
  readonly upcasters?: Upcasters | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Decision<Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError, K extends KeyStore = never>
  extends Definition<Command, Event, P, DomainError, K>
{
  readonly events: EventCodec<Event, K>
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = <Command, Event extends Tagged, P extends Record<string, StateOf<any, Event>>, DomainError = never, K extends KeyStore = never>(
  definition: Definition<Command, Event, P, DomainError, K>
): Decision<Command, Event, P, DomainError, K> => ({ ...definition, events: codec(definition.event, definition.upcasters) })

/**
 * The query of all the decision's projections for a command: what its condition is about.
 *
 * @category utilities
 * @since 0.1.0
 */
export const queryOf = (projections: Record<string, StateOf<any, any>>): EventQuery.EventQuery =>
  Object.values(projections).reduce((query, projection) => EventQuery.or(query, projection.query), EventQuery.make())

/**
 * Folds each projection over the events its query matches.
 *
 * @category utilities
 * @since 0.1.0
 */
export const fold = <Event, P extends Record<string, StateOf<any, Event>>>(
  projections: P,
  events: ReadonlyArray<{ readonly type: string; readonly tags?: ReadonlyArray<string> | undefined; readonly data: Event }>
): States<P> => {
  const states: Record<string, unknown> = {}
  for (const [key, projection] of Object.entries(projections)) {
    let state = projection.initial
    for (const event of events) if (EventQuery.matches(projection.query, event)) state = projection.evolve(state, event.data)
    states[key] = state
  }
  return states as States<P>
}
