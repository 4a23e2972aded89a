/**
 * A process manager coordinates a flow across aggregates: it keeps a state per process (stored as
 * a document, in the processor's batch transaction) and reacts to each event by dispatching
 * commands through command handlers, including compensating ones when a step fails.
 *
 * Handlers get the event and the process's state and return the next state. Commands they
 * dispatch should carry `RecordedEvent.causedBy(event)` as metadata, so the flow keeps one
 * correlation id. A batch that fails is retried, so a handler may run more than once for an
 * event: commands it dispatches must be safe to repeat (the aggregate refuses a repeated step).
 *
 * @since 0.1.0
 */
import { Effect, Option, type Schema } from "effect"
import type { ProjectionStore } from "./ProjectionStore.ts"
import * as Documents from "./Documents.ts"
import type { KeyStore } from "./KeyStore.ts"
import { dispatcher } from "./internal/dispatcher.ts"
import type { ContextOf, ErrorOf } from "./Projection.ts"
import type { Processor } from "./internal/processor/model.ts"
import type { EventDecodeError, RecordedEvent, Tagged, Upcasters } from "./RecordedEvent.ts"

/**
 * A process manager: a processor, and the state documents it keeps per process id.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessManager<State, E, R> extends Processor<E, R> {
  readonly states: Documents.Documents<State>
}

/**
 * @category models
 * @since 0.1.0
 */
export type Handlers<Event extends Tagged, State> = {
  readonly [K in Event["_tag"]]?: (
    event: RecordedEvent<Extract<Event, { readonly _tag: K }>>,
    state: State
  ) => Effect.Effect<State, any, any>
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = <Event extends Tagged, I, State, SI, H extends Handlers<Event, State>, K extends KeyStore = never>(definition: {
  readonly name: string
  /** Decodes the stored events. With personal fields (`PersonalData`), the process manager needs the `KeyStore`. */
  readonly event: Schema.Codec<Event, I, K, K>
  /** The state of one process, stored as a document. */
  readonly state: Schema.Codec<State, SI>
  readonly initialState: State
  /** Which process an event belongs to. */
  readonly processId: (event: RecordedEvent<Event>) => string
  readonly handlers: H
  /** Rewrites stored events of old types (renamed or split) before they are decoded. */
  readonly upcasters?: Upcasters | undefined
}): ProcessManager<
  State,
  ErrorOf<H> | EventDecodeError | Documents.DocumentError,
  ContextOf<H> | ProjectionStore | K
> => {
  const { handle, open, types } = dispatcher(definition.event, definition.handlers, definition.upcasters)
  const states = Documents.make(`process:${definition.name}`, definition.state)
  return {
    name: definition.name,
    kind: "process manager",
    types,
    open,
    handle: (recorded) =>
      handle(recorded, (handler, event) =>
        Effect.gen(function*() {
          const id = definition.processId(event)
          const state = Option.getOrElse(yield* states.get(id), () => definition.initialState)
          const next = (yield* handler(event, state)) as State
          yield* states.upsert(id, next)
        })) as Effect.Effect<
        void,
        ErrorOf<H> | EventDecodeError | Documents.DocumentError,
        ContextOf<H> | ProjectionStore | K
      >,
    reset: states.clear,
    states
  }
}
