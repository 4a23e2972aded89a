/**
 * An aggregate is data and two pure functions: Schemas for its commands, events and (optionally)
 * state, `decide` which turns a command and the current state into new events or a domain error,
 * and `evolve` which folds one event into the state. It needs no services, so it is tested with
 * plain values. Its events may carry tags (`tags`), so that a `Decision` can read them by query.
 *
 * @since 0.1.0
 */
import type { Effect, Schema } from "effect"
import type { KeyStore } from "./KeyStore.ts"
import * as RecordedEvent from "./RecordedEvent.ts"

/**
 * `R` is what the events' Schema needs: the `KeyStore` when they have personal fields (see
 * `PersonalData`), nothing otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export interface Definition<Command, Event extends RecordedEvent.Tagged, State, DomainError, R extends KeyStore = never> {
  /** Names the aggregate in errors, logs and traces. */
  readonly name: string
  /** Validates and decodes incoming commands. */
  readonly command: Schema.Codec<Command, unknown>
  /** Encodes events for the store and decodes (and upcasts) stored ones. */
  readonly event: Schema.Codec<Event, unknown, R, R>
  /** Encodes the state for snapshots. */
  readonly state?: Schema.Codec<State, unknown> | undefined
  readonly initialState: State
  /** Pure: the events a command produces in a state, or a domain error. */
  readonly decide: (command: Command, state: State) => Effect.Effect<ReadonlyArray<Event>, DomainError>
  /** Pure and total: the state after one event. */
  readonly evolve: (state: State, event: Event) => State
  /** Rewrites stored events of old types (renamed or split) before they are decoded. */
  readonly upcasters?: RecordedEvent.Upcasters | undefined
  /**
   * Pure: the tags an event is stored with, from the event and its stream's id. They are what
   * a `Decision`'s query finds the aggregate's events by (`student:${event.studentId}`), and its
   * condition breaks when the aggregate appends one it matches. Without it, events have no tags.
   */
  readonly tags?: ((event: Event, streamId: string) => ReadonlyArray<string>) | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Aggregate<Command, Event extends RecordedEvent.Tagged, State, DomainError, R extends KeyStore = never>
  extends Definition<Command, Event, State, DomainError, R>
{
  /** The store codec derived from the event Schema. */
  readonly events: RecordedEvent.EventCodec<Event, R>
}

/**
 * @category utility types
 * @since 0.1.0
 */
export type Any = Aggregate<any, any, any, any, any>

/**
 * @category utility types
 * @since 0.1.0
 */
export type Command<A extends Any> = A extends Aggregate<infer C, any, any, any, any> ? C : never
/**
 * @category utility types
 * @since 0.1.0
 */
export type Event<A extends Any> = A extends Aggregate<any, infer E, any, any, any> ? E : never
/**
 * @category utility types
 * @since 0.1.0
 */
export type State<A extends Any> = A extends Aggregate<any, any, infer S, any, any> ? S : never
/**
 * @category utility types
 * @since 0.1.0
 */
export type DomainError<A extends Any> = A extends Aggregate<any, any, any, infer D, any> ? D : never

/**
 * Defines an aggregate. The command and event types are inferred from their Schemas.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Command, Event extends RecordedEvent.Tagged, State, DomainError = never, R extends KeyStore = never>(
  definition: Definition<Command, Event, State, DomainError, R>
): Aggregate<Command, Event, State, DomainError, R> => ({
  ...definition,
  events: RecordedEvent.codec(definition.event, definition.upcasters)
})

/**
 * Folds events into a state, starting from the aggregate's initial state or from `state`.
 *
 * @category utilities
 * @since 0.1.0
 */
export const fold = <Event extends RecordedEvent.Tagged, State>(
  aggregate: Pick<Definition<any, Event, State, any, any>, "evolve" | "initialState">,
  events: Iterable<Event>,
  state: State = aggregate.initialState
): State => {
  let current = state
  for (const event of events) current = aggregate.evolve(current, event)
  return current
}
