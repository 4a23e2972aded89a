import { Effect, type Schema } from "effect"
import type { KeyStore } from "../KeyStore.ts"
import { codec, type RecordedEvent, type Tagged, type Upcasters } from "../RecordedEvent.ts"

/**
 * Decodes an event and finds its handler; shared by every kind of processor.
 */
export const dispatcher = <Event extends Tagged, I, RD extends KeyStore = never, RE extends KeyStore = never>(
  event: Schema.Codec<Event, I, RD, RE>,
  handlers: object,
  upcasters?: Upcasters
) => {
  const events = codec(event, upcasters)
  const table = handlers as Record<string, ((event: RecordedEvent<Event>, ...context: Array<any>) => Effect.Effect<unknown, unknown, unknown>) | undefined>
  const handled = Object.keys(handlers).filter((type) => table[type] !== undefined)
  return {
    types: [...handled, ...events.legacyTypes.filter((type) => !handled.includes(type))],
    /** Decrypts a batch's personal fields in one go (see `EventCodec.open`). */
    open: events.open,
    /** Decodes a stored event and runs the handler of each domain event it stands for. */
    handle: <R>(recorded: RecordedEvent, run: (handler: NonNullable<typeof table[string]>, event: RecordedEvent<Event>) => Effect.Effect<unknown, unknown, R>) =>
      Effect.flatMap(events.decodeAll(recorded), (decoded) =>
        Effect.forEach(decoded, (event) => {
          const handler = table[event.data._tag]
          return handler === undefined ? Effect.void : run(handler, event)
        }, { discard: true }))
  }
}
