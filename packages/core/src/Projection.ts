/**
 * A projection keeps a read model in step with the log: handlers keyed by event `_tag` write
 * documents (or SQL tables of your own), and run in the processor's batch transaction, so each
 * event is applied exactly once.
 *
 * ```ts
 * const accounts = Documents.make("accounts", AccountView)
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
import type { DocumentError, Documents } from "./Documents.ts"
import type { Processor } from "./internal/processor/model.ts"
import type { KeyStore } from "./KeyStore.ts"
import type { ProjectionStore } from "./ProjectionStore.ts"
import { dispatcher } from "./internal/dispatcher.ts"
import type { EventDecodeError, RecordedEvent, Tagged, Upcasters } from "./RecordedEvent.ts"

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
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  Event extends Tagged,
  I,
  H extends Handlers<Event>,
  E = never,
  R = never,
  const D extends ReadonlyArray<Documents<any>> = readonly [],
  K extends KeyStore = never
>(definition: {
  readonly name: string
  /**
   * Decodes the stored events; only the types with a handler are read. With personal fields
   * (`PersonalData`), the processor needs the `KeyStore`.
   */
  readonly event: Schema.Codec<Event, I, K, K>
  readonly handlers: H
  /**
   * The documents the handlers write: its read model. A rebuild clears them (unless `reset` says
   * otherwise), and a blue-green rebuild builds a new generation of them (see `BlueGreen`).
   */
  readonly documents?: D | undefined
  /** Clears the read model before a rebuild. Default: clears `documents`. */
  readonly reset?: Effect.Effect<void, E, R> | undefined
  /** Rewrites stored events of old types (renamed or split) before they are decoded. */
  readonly upcasters?: Upcasters | undefined
  /** Into how many segments the processor is split, by stream (see `Processor.segments`). Default 1. */
  readonly segments?: number | undefined
}): Processor<ErrorOf<H> | E | EventDecodeError | ResetError<D>, ContextOf<H> | R | ResetContext<D> | K> => {
  const { handle, open, types } = dispatcher(definition.event, definition.handlers, definition.upcasters)
  const documents = definition.documents ?? []
  return {
    name: definition.name,
    kind: "projection",
    types,
    open,
    handle: (recorded) =>
      handle(recorded, (handler, event) => handler(event)) as Effect.Effect<void, ErrorOf<H> | EventDecodeError, ContextOf<H> | K>,
    // With no documents declared, clearing them is `Effect.void`: the types say so.
    reset: definition.reset ??
      (Effect.forEach(documents, (collection) => collection.clear, { discard: true }) as Effect.Effect<void, ResetError<D>, ResetContext<D>>),
    documents: documents.map((collection) => collection.name),
    ...(definition.segments === undefined ? {} : { segments: definition.segments })
  }
}

/** What clearing the declared documents can fail with: nothing when none are declared. */
type ResetError<D extends ReadonlyArray<Documents<any>>> = D extends readonly [] ? never : DocumentError
/** What clearing the declared documents needs. */
type ResetContext<D extends ReadonlyArray<Documents<any>>> = D extends readonly [] ? never : ProjectionStore
