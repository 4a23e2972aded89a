/**
 * The envelope the event store keeps around every event, and the codec that turns a domain
 * event (a tagged Schema value) into the JSON the store writes and back.
 *
 * The store never sees domain types: it keeps `type` (the event's `_tag`) and `data` (the event
 * encoded to JSON by its Schema, without the tag). Decoding goes through the same Schema, which is
 * where old shapes are upcast.
 *
 * @since 0.1.0
 */
import { Cause, type DateTime, Effect, Exit, Option, Schema, SchemaAST } from "effect"
import { describeIssue } from "./internal/issue.ts"
import * as PersonalFields from "./internal/personalFields.ts"
import type { KeyStore, KeyStoreError } from "./KeyStore.ts"

/**
 * Metadata stored with an event. `correlationId` ties together everything one request caused;
 * `causationId` names the event or command that directly caused this one. Other keys are the
 * user's own and must be JSON values.
 *
 * @category models
 * @since 0.1.0
 */
export interface EventMetadata {
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  /** The id of the command that produced the event (see `CommandHandler.HandleOptions`). */
  readonly commandId?: string | undefined
  readonly [key: string]: unknown
}

/**
 * An event on its way into the store: its type, its JSON data and metadata. The store assigns the
 * stream version, the global position and the time; it makes an id when none is given.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnsavedEvent {
  readonly id?: string | undefined
  readonly type: string
  readonly data: unknown
  readonly metadata?: EventMetadata | undefined
  /** What the event is about beyond its stream (`course:c1`, `student:s7`), for `EventQuery`. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * A stored event.
 *
 * - `version`: 1-based place in its stream.
 * - `position`: place in the global log. Unique and strictly increasing in the order readers see
 *   the log; not dense, and only comparable within one store.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordedEvent<A = unknown> {
  readonly id: string
  readonly streamId: string
  readonly version: number
  readonly position: bigint
  readonly type: string
  readonly data: A
  readonly metadata: EventMetadata
  readonly recordedAt: DateTime.Utc
  /** The event's tags, in the order given; present only when it has some. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * A stored event as a fold reads it: its stream, version, type and data, without the rest of its
 * envelope (id, position, metadata, time, tags), whose reading costs more than folding most
 * events. A {@link RecordedEvent} is one.
 *
 * @category models
 * @since 0.1.0
 */
export interface EventData<A = unknown> {
  readonly streamId: string
  readonly version: number
  readonly type: string
  readonly data: A
}

/**
 * Metadata for what an event causes (a command, an emitted event): it carries the event's
 * correlation id on, and names the event as the cause.
 *
 * @category constructors
 * @since 0.1.0
 */
export const causedBy = (event: RecordedEvent<unknown>): EventMetadata => ({
  correlationId: event.metadata.correlationId ?? event.id,
  causationId: event.id
})

/**
 * A domain event: any value with a `_tag`, which becomes the stored `type`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tagged {
  readonly _tag: string
}

/**
 * A stored event that its Schema cannot decode.
 *
 * @category errors
 * @since 0.1.0
 */
export class EventDecodeError extends Schema.TaggedError<EventDecodeError>()("EventDecodeError", {
  streamId: Schema.String,
  version: Schema.Number,
  type: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot decode event "${this.type}" at version ${this.version} of stream "${this.streamId}": ${this.detail}`
  }
}

/**
 * A domain event that its Schema cannot encode; raised before anything is sent to the store.
 *
 * @category errors
 * @since 0.1.0
 */
export class EventEncodeError extends Schema.TaggedError<EventEncodeError>()("EventEncodeError", {
  type: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot encode event "${this.type}": ${this.detail}`
  }
}

/**
 * Encodes domain events to stored form and decodes stored events back. `R` is what encoding and
 * decoding need: the `KeyStore` when the events have personal fields (see `PersonalData`),
 * nothing otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export interface EventCodec<A extends Tagged, R = never> {
  readonly encode: (event: A, metadata?: EventMetadata) => Effect.Effect<UnsavedEvent, EventEncodeError, R>
  /** Encodes events in order, in one go (one look-up of the keys their personal fields need). */
  readonly encodeMany: (events: ReadonlyArray<A>, metadata?: EventMetadata) => Effect.Effect<ReadonlyArray<UnsavedEvent>, EventEncodeError, R>
  /** Decodes a stored event that stands for exactly one domain event. */
  readonly decode: (event: RecordedEvent) => Effect.Effect<RecordedEvent<A>, EventDecodeError, R>
  /** Decodes a stored event into the domain events it stands for (several, when an upcaster split it). */
  readonly decodeAll: (event: RecordedEvent) => Effect.Effect<ReadonlyArray<RecordedEvent<A>>, EventDecodeError, R>
  /** Decodes stored events in order, with their upcasters, in one go. */
  readonly decodeMany: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<ReadonlyArray<RecordedEvent<A>>, EventDecodeError, R>
  /** As `decodeMany`, giving the domain events alone, without their envelopes (for folding a stream). */
  readonly decodeData: (events: ReadonlyArray<EventData>) => Effect.Effect<ReadonlyArray<A>, EventDecodeError, R>
  /**
   * Decrypts the personal fields of stored events in one go (one look-up of their keys), so that
   * decoding them one by one looks up none; the events as they are when the Schema has no
   * personal fields. A field it cannot decrypt stays as stored, for its event's decoding to fail
   * on. The result holds personal values in clear: decode it, never store or log it.
   */
  readonly open: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventDecodeError, R>
  /** The stored types the upcasters rewrite, to read besides the current ones. */
  readonly legacyTypes: ReadonlyArray<string>
  /**
   * Every stored type the codec can decode (the Schema's tags and the legacy types); undefined
   * when the Schema's tags cannot be read off it (not a tagged struct, class or union of them).
   */
  readonly knownTypes: ReadonlySet<string> | undefined
}

/** The `_tag`s of a tagged struct or class, or of a union of them; undefined for anything else. */
const tagsOf = (schema: unknown): ReadonlyArray<string> | undefined => {
  const candidate = schema as { readonly members?: ReadonlyArray<unknown>; readonly fields?: { readonly _tag?: { readonly ast: SchemaAST.AST } } }
  if (Array.isArray(candidate.members)) {
    const tags: Array<string> = []
    for (const member of candidate.members) {
      const found = tagsOf(member)
      if (found === undefined) return undefined
      tags.push(...found)
    }
    return tags
  }
  const ast = candidate.fields?._tag?.ast
  return ast !== undefined && SchemaAST.isLiteral(ast) ? [String(ast.literal)] : undefined
}

/**
 * Rewrites a stored event of an old type, before its Schema decodes it: into one event of
 * another type (a renamed type), or into several (a split event). Old shapes of one type are
 * better upcast by the event's Schema itself (a union of the current shape and a
 * `Schema.decodeTo` from the old one); upcasters are for what changes the type.
 *
 * @category models
 * @since 0.1.0
 */
export type Upcaster = (event: { readonly type: string; readonly data: unknown }) => ReadonlyArray<{
  readonly type: string
  readonly data: unknown
}>

/**
 * Upcasters keyed by the old stored type.
 *
 * @category models
 * @since 0.1.0
 */
export type Upcasters = { readonly [type: string]: Upcaster }

/**
 * The upcaster of a renamed type: rows stored as the old type read as `type`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const renamedTo = (type: string): Upcaster => (event) => [{ type, data: event.data }]


/**
 * Builds the codec for an event Schema. The Schema is turned into its canonical JSON codec, so
 * dates, bigints and the like are stored as JSON values. A Schema with personal fields
 * (`PersonalData.field`) needs the `KeyStore`, and its codec says so: those fields are stored
 * encrypted, and read back decrypted (or as their placeholder once their subject is forgotten).
 *
 * @category constructors
 * @since 0.1.0
 */
export const codec = <A extends Tagged, I, RD extends KeyStore = never, RE extends KeyStore = never>(
  schema: Schema.Codec<A, I, RD, RE>,
  upcasters: Upcasters = {}
): EventCodec<A, RD | RE> => {
  const plain = plainCodec(schema as Schema.Codec<A, I>, upcasters)
  const plan = PersonalFields.planOf(schema.ast)
  // A plan exists only where `PersonalData.field` is, whose Schema needs the KeyStore: RD | RE has it.
  return plan === undefined ? plain : personalCodec(plain, plan) as EventCodec<A, RD | RE>
}

/** A failure of the personal fields as the codec's error, naming fields and subjects but no value. */
const personalDetail = (error: PersonalFields.PersonalFieldError | KeyStoreError) =>
  error._tag === "PersonalFieldError" ? error.detail : `the KeyStore failed: ${error.message}`

/** The codec around a plain one: personal fields encrypted after encoding, decrypted before decoding. */
const personalCodec = <A extends Tagged>(plain: EventCodec<A>, plan: PersonalFields.Plan): EventCodec<A, KeyStore> => {
  const decrypted = <E extends EventData>(events: ReadonlyArray<E>) =>
    Effect.mapError(PersonalFields.decrypt(plan, events), (error) => {
      const event = events.find((candidate) =>
        error._tag === "PersonalFieldError" && candidate.streamId === error.event.streamId && candidate.version === error.event.version
      ) ?? events[0]!
      return new EventDecodeError({ streamId: event.streamId, version: event.version, type: event.type, detail: personalDetail(error) })
    })
  const encrypted = (events: ReadonlyArray<UnsavedEvent>) =>
    PersonalFields.encrypt(plan, events).pipe(
      Effect.mapError((error) =>
        new EventEncodeError({ type: error._tag === "PersonalFieldError" ? error.event.type : events[0]!.type, detail: personalDetail(error) })
      )
    )
  return {
    ...plain,
    encode: (event, metadata) => Effect.map(Effect.flatMap(plain.encode(event, metadata), (unsaved) => encrypted([unsaved])), ([sealed]) => sealed!),
    encodeMany: (events, metadata) => Effect.flatMap(plain.encodeMany(events, metadata), encrypted),
    decode: (recorded) => Effect.flatMap(decrypted([recorded]), ([opened]) => plain.decode(opened!)),
    decodeAll: (recorded) => Effect.flatMap(decrypted([recorded]), ([opened]) => plain.decodeAll(opened!)),
    decodeMany: (events) => Effect.flatMap(decrypted(events), plain.decodeMany),
    decodeData: (events) => Effect.flatMap(decrypted(events), plain.decodeData),
    open: (events) =>
      Effect.mapError(
        PersonalFields.decrypt(plan, events, { lenient: true }),
        (error) => new EventDecodeError({ streamId: events[0]!.streamId, version: events[0]!.version, type: events[0]!.type, detail: personalDetail(error) })
      )
  }
}

const plainCodec = <A extends Tagged, I>(schema: Schema.Codec<A, I>, upcasters: Upcasters): EventCodec<A> => {
  const json = Schema.toCodecJson(schema)
  const encodeJson = Schema.encodeEffect(json)
  const decodeJson = Schema.decodeUnknownEffect(json)
  const decodeOne = (stored: EventData, type: string, data: unknown) =>
    decodeJson(typeof data === "object" && data !== null ? { ...data, _tag: type } : data).pipe(
      Effect.mapError((error) =>
        new EventDecodeError({ streamId: stored.streamId, version: stored.version, type: stored.type, detail: describeIssue(error.issue) })
      )
    )
  /** The domain events a stored event stands for: itself, or what its upcaster makes of it. */
  const decodeDataAll = (stored: EventData): Effect.Effect<ReadonlyArray<A>, EventDecodeError> => {
    const upcaster = upcasters[stored.type]
    if (upcaster === undefined) return Effect.map(decodeOne(stored, stored.type, stored.data), (event) => [event])
    return Effect.try({
      try: () => upcaster({ type: stored.type, data: stored.data }),
      catch: (cause) =>
        new EventDecodeError({ streamId: stored.streamId, version: stored.version, type: stored.type, detail: `upcaster failed: ${String(cause)}` })
    }).pipe(Effect.flatMap(Effect.forEach(({ data, type }) => decodeOne(stored, type, data))))
  }
  const decodeAll = (recorded: RecordedEvent) =>
    Effect.map(decodeDataAll(recorded), (events) => events.map((data): RecordedEvent<A> => ({ ...recorded, data })))
  // Decodes without an effect per event. Events with an upcaster, and a Schema that needs to run
  // effects or throws, take the effectful decoder.
  const decodeJsonExit = Schema.decodeUnknownExit(json)
  const decodeEach = <E extends EventData, B>(wrap: (stored: E, data: A) => B) =>
    Effect.fnUntraced(function*(events: ReadonlyArray<E>) {
      const decoded: Array<B> = []
      for (const stored of events) {
        if (upcasters[stored.type] === undefined) {
          const data = stored.data
          const exit = decodeJsonExit(typeof data === "object" && data !== null ? { ...data, _tag: stored.type } : data)
          if (Exit.isSuccess(exit)) {
            decoded.push(wrap(stored, exit.value))
            continue
          }
          const error = Cause.findErrorOption(exit.cause)
          if (Option.isSome(error) && !Cause.hasDies(exit.cause)) {
            return yield* new EventDecodeError({
              streamId: stored.streamId,
              version: stored.version,
              type: stored.type,
              detail: describeIssue(error.value.issue)
            })
          }
        }
        for (const data of yield* decodeDataAll(stored)) decoded.push(wrap(stored, data))
      }
      return decoded
    })
  const decodeMany = decodeEach((recorded: RecordedEvent, data): RecordedEvent<A> => ({ ...recorded, data }))
  const decodeData = decodeEach((_: EventData, data: A) => data)
  const tags = tagsOf(schema)
  const encode = (event: A, metadata?: EventMetadata) =>
    encodeJson(event).pipe(
      Effect.mapError((error) => new EventEncodeError({ type: event._tag, detail: describeIssue(error.issue) })),
      Effect.map((encoded): UnsavedEvent => {
        const { _tag: _, ...data } = encoded as Record<string, unknown>
        return { type: event._tag, data, metadata }
      })
    )
  return {
    legacyTypes: Object.keys(upcasters),
    knownTypes: tags === undefined ? undefined : new Set([...tags, ...Object.keys(upcasters)]),
    decodeMany,
    decodeData,
    open: Effect.succeed,
    encode,
    encodeMany: (events, metadata) => Effect.forEach(events, (event) => encode(event, metadata)),
    decodeAll,
    decode: (recorded) =>
      Effect.flatMap(decodeAll(recorded), (events) =>
        events.length === 1
          ? Effect.succeed(events[0]!)
          : Effect.fail(
            new EventDecodeError({
              streamId: recorded.streamId,
              version: recorded.version,
              type: recorded.type,
              detail: `stands for ${events.length} events where one was expected`
            })
          ))
  }
}
