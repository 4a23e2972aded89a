/**
 * A projection keeps a read model in step with the log: handlers keyed by event `_tag` write
 * documents (or SQL tables of your own), and run in the processor's batch transaction, so each
 * event is applied exactly once.
 *
 * ```ts
 * const accounts = ProjectionStore.documents("accounts", AccountView)
 * const projection = Projection.make({
 *   name: "accounts",
 *   event: AccountEvent,
 *   handlers: {
 *     AccountOpened: ({ data, streamId }) => accounts.upsert(streamId, new AccountView({ ... })),
 *   },
 *   reset: accounts.clear
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, type Schema } from "effect"
import type { Processor } from "./Processor.ts"
import { codec, type EventDecodeError, type RecordedEvent, type Tagged, type Upcasters } from "./RecordedEvent.ts"

/**
 * Handlers keyed by event `_tag`; each gets the stored event with its decoded data.
 *
 * @category models
 * @since 0.1.0
 */
export type Handlers<Event extends Tagged, Context extends ReadonlyArray<unknown> = []> = {
  readonly [K in Event["_tag"]]?: (
    event: RecordedEvent<Extract<Event, { readonly _tag: K }>>,
    ...context: Context
  ) => Effect.Effect<unknown, any, any>
}

/**
 * The errors the handlers can fail with.
 *
 * @category utility types
 * @since 0.1.0
 */
export type ErrorOf<H> = {
  [K in keyof H]-?: H[K] extends ((...args: Array<any>) => Effect.Effect<any, infer E, any>) | undefined ? E : never
}[keyof H]

/**
 * The services the handlers need.
 *
 * @category utility types
 * @since 0.1.0
 */
export type ContextOf<H> = {
  [K in keyof H]-?: H[K] extends ((...args: Array<any>) => Effect.Effect<any, any, infer R>) | undefined ? R : never
}[keyof H]

/**
 * Decodes an event and finds its handler; shared by every kind of processor.
 *
 * @category constructors
 * @since 0.1.0
 */
export const dispatcher = <Event extends Tagged, I>(event: Schema.Codec<Event, I>, handlers: object, upcasters?: Upcasters) => {
  const events = codec(event, upcasters)
  const table = handlers as Record<string, ((event: RecordedEvent<Event>, ...context: Array<any>) => Effect.Effect<unknown, unknown, unknown>) | undefined>
  const handled = Object.keys(handlers).filter((type) => table[type] !== undefined)
  return {
    types: [...handled, ...events.legacyTypes.filter((type) => !handled.includes(type))],
    /** Decodes a stored event and runs the handler of each domain event it stands for. */
    handle: <R>(recorded: RecordedEvent, run: (handler: NonNullable<typeof table[string]>, event: RecordedEvent<Event>) => Effect.Effect<unknown, unknown, R>) =>
      Effect.flatMap(events.decodeAll(recorded), (decoded) =>
        Effect.forEach(decoded, (event) => {
          const handler = table[event.data._tag]
          return handler === undefined ? Effect.void : run(handler, event)
        }, { discard: true }))
  }
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = <Event extends Tagged, I, H extends Handlers<Event>, E = never, R = never>(definition: {
  readonly name: string
  /** Decodes the stored events; only the types with a handler are read. */
  readonly event: Schema.Codec<Event, I>
  readonly handlers: H
  /** Clears the read model before a rebuild. */
  readonly reset?: Effect.Effect<void, E, R> | undefined
  /** Rewrites stored events of old types (renamed or split) before they are decoded. */
  readonly upcasters?: Upcasters | undefined
}): Processor<ErrorOf<H> | E | EventDecodeError, ContextOf<H> | R> => {
  const { handle, types } = dispatcher(definition.event, definition.handlers, definition.upcasters)
  return {
    name: definition.name,
    kind: "projection",
    types,
    handle: (recorded) =>
      handle(recorded, (handler, event) => handler(event)) as Effect.Effect<void, ErrorOf<H> | EventDecodeError, ContextOf<H>>,
    reset: definition.reset ?? Effect.void
  }
}
