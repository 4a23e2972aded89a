/**
 * A reactor turns events into side effects: it calls the outside world (at least once per event:
 * use `idempotencyKey` where duplicates matter) and may append events of the types it declares.
 * Every event it emits carries the source event's correlation id and names it as the cause.
 *
 * @since 0.1.0
 */
import { Effect, Schema, SchemaAST } from "effect"
import type { StreamClosed } from "./ClosedStreams.ts"
import { EventStore, type AppendOptions, type AppendResult, type EventStoreError, type WrongExpectedVersion } from "./EventStore.ts"
import type { RetryTransaction } from "./Transactor.ts"
import { dispatcher } from "./internal/dispatcher.ts"
import type { InvalidInput } from "./InvalidInput.ts"
import type { ContextOf, ErrorOf } from "./Projection.ts"
import type { Processor } from "./internal/processor/model.ts"
import type { KeyStore } from "./KeyStore.ts"
import { causedBy, codec, type EventDecodeError, type EventEncodeError, type RecordedEvent, type Tagged, type Upcasters } from "./RecordedEvent.ts"

/**
 * A tagged Schema (a `Schema.TaggedClass` or `Schema.TaggedStruct`) a reactor may emit.
 *
 * @category models
 * @since 0.1.0
 */
export interface Emittable extends Schema.Codec<Tagged, unknown> {
  readonly fields: { readonly _tag: { readonly ast: SchemaAST.AST } }
}

/**
 * The reactor emitted an event type it did not declare; nothing was appended.
 *
 * @category errors
 * @since 0.1.0
 */
export class UndeclaredEvent extends Schema.TaggedError<UndeclaredEvent>()("UndeclaredEvent", {
  reactor: Schema.String,
  type: Schema.String,
  declared: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Reactor "${this.reactor}" may not emit "${this.type}"; it declares ${this.declared.map((type) => `"${type}"`).join(", ") || "no events"}`
  }
}

/**
 * What a reactor's handler gets besides the event.
 *
 * @category models
 * @since 0.1.0
 */
export interface Context<Emits> {
  /** Appends events caused by the event being handled. */
  readonly emit: (
    streamId: string,
    events: ReadonlyArray<Emits>,
    options?: AppendOptions
  ) => Effect.Effect<AppendResult, UndeclaredEvent | EventEncodeError | WrongExpectedVersion | StreamClosed | RetryTransaction | EventStoreError | InvalidInput, EventStore>
  /** `reactor:eventId`: the same for every delivery of this event to this reactor. */
  readonly idempotencyKey: string
}

/**
 * @category models
 * @since 0.1.0
 */
export type Handlers<Event extends Tagged, Emits> = {
  readonly [K in Event["_tag"]]?: (
    event: RecordedEvent<Extract<Event, { readonly _tag: K }>>,
    context: Context<Emits>
  ) => Effect.Effect<unknown, any, any>
}

const tagOf = (schema: Emittable) => {
  const ast = schema.fields._tag.ast
  return SchemaAST.isLiteral(ast) ? String(ast.literal) : undefined
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  Event extends Tagged,
  I,
  const Emits extends ReadonlyArray<Emittable>,
  H extends Handlers<Event, Emits[number]["Type"]>,
  K extends KeyStore = never
>(definition: {
  readonly name: string
  /** Decodes the stored events. With personal fields (`PersonalData`), the reactor needs the `KeyStore`. */
  readonly event: Schema.Codec<Event, I, K, K>
  /** The event types the reactor may emit. */
  readonly emits: Emits
  readonly handlers: H
  /** Rewrites stored events of old types (renamed or split) before they are decoded. */
  readonly upcasters?: Upcasters | undefined
  /** Into how many segments the processor is split, by stream (see `Processor.segments`). Default 1. */
  readonly segments?: number | undefined
}): Processor<ErrorOf<H> | EventDecodeError, ContextOf<H> | EventStore | K> => {
  const { handle, open, types } = dispatcher(definition.event, definition.handlers, definition.upcasters)
  const declared = definition.emits.flatMap((schema) => tagOf(schema) ?? [])
  const emitted = codec(Schema.Union(definition.emits) as unknown as Schema.Codec<Emits[number]["Type"], unknown>)
  const contextFor = (source: RecordedEvent<Event>): Context<Emits[number]["Type"]> => ({
    idempotencyKey: `${definition.name}:${source.id}`,
    emit: (streamId, events, options) =>
      Effect.gen(function*() {
        const undeclared = events.find((event) => !declared.includes(event._tag))
        if (undeclared !== undefined) {
          return yield* new UndeclaredEvent({ reactor: definition.name, type: undeclared._tag, declared })
        }
        const unsaved = yield* Effect.forEach(events, (event) => emitted.encode(event, causedBy(source)))
        const store = yield* EventStore
        return yield* store.append(streamId, unsaved, options)
      })
  })
  return {
    name: definition.name,
    kind: "reactor",
    types,
    open,
    handle: (recorded) =>
      handle(recorded, (handler, event) => handler(event, contextFor(event))) as Effect.Effect<
        void,
        ErrorOf<H> | EventDecodeError,
        ContextOf<H> | EventStore | K
      >,
    reset: Effect.void,
    ...(definition.segments === undefined ? {} : { segments: definition.segments })
  }
}
