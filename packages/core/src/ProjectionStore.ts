/**
 * Read models as documents: each projection is a named collection of JSON documents keyed by id.
 * The service stores JSON; {@link documents} gives a projection a Schema so its documents are
 * typed on the way in and out.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { CurrentBatch, type Pending as BatchPending } from "./internal/batch.ts"
import { currentJournal, type Journal, makeJournal } from "./internal/journal.ts"
import { describeIssue } from "./internal/issue.ts"

/**
 * The store failed; nothing of the failed call was written.
 *
 * @category errors
 * @since 0.1.0
 */
export class ProjectionStoreError extends Schema.TaggedError<ProjectionStoreError>()("ProjectionStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A document that its projection's Schema cannot encode or decode.
 *
 * @category errors
 * @since 0.1.0
 */
export class DocumentSchemaError extends Schema.TaggedError<DocumentSchemaError>()("DocumentSchemaError", {
  projection: Schema.String,
  id: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Document "${this.id}" of projection "${this.projection}" does not match its schema: ${this.detail}`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface StoredDocument<A = unknown> {
  readonly id: string
  readonly document: A
}

/**
 * @category services
 * @since 0.1.0
 */
export class ProjectionStore extends Context.Service<ProjectionStore, {
  readonly get: (projection: string, id: string) => Effect.Effect<Option.Option<unknown>, ProjectionStoreError>
  /** The documents found among `ids`, by id. */
  readonly getMany: (projection: string, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, unknown>, ProjectionStoreError>
  /** Every document of the projection, ordered by id. */
  readonly list: (projection: string) => Effect.Effect<ReadonlyArray<StoredDocument>, ProjectionStoreError>
  readonly upsert: (projection: string, id: string, document: unknown) => Effect.Effect<void, ProjectionStoreError>
  /** Writes the documents at once; of two with the same id, the later wins. */
  readonly upsertMany: (projection: string, documents: ReadonlyArray<StoredDocument>) => Effect.Effect<void, ProjectionStoreError>
  readonly delete: (projection: string, id: string) => Effect.Effect<void, ProjectionStoreError>
  readonly deleteMany: (projection: string, ids: ReadonlyArray<string>) => Effect.Effect<void, ProjectionStoreError>
  /** Deletes every document of the projection (for a rebuild). */
  readonly clear: (projection: string) => Effect.Effect<void, ProjectionStoreError>
}>()("@facta/core/ProjectionStore") {}

/**
 * The documents of one projection, typed by a Schema.
 *
 * Inside a processor's batch, writes are held and written together (one multi-row statement on
 * SQL) before the checkpoint moves, in the same transaction; reads through the same `Documents`
 * see them. Read what a handler wrote through this API, not through your own SQL, until the batch
 * commits.
 *
 * @category models
 * @since 0.1.0
 */
export interface Documents<A> {
  readonly name: string
  readonly get: (id: string) => Effect.Effect<Option.Option<A>, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly list: Effect.Effect<ReadonlyArray<StoredDocument<A>>, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly upsert: (id: string, document: A) => Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  /**
   * Writes `f` of the current document (none if there is none). Inside a processor's batch the
   * read is deferred too: the documents a batch updates are read in one query when it is
   * flushed, so `f` must be a pure function of the document.
   */
  readonly update: (
    id: string,
    f: (current: Option.Option<A>) => A
  ) => Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly delete: (id: string) => Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly clear: Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
}

/** A document's state within a batch. */
type Entry<A> =
  /** Known: read from the store (`dirty` false) or written by the batch. */
  | { readonly _tag: "Known"; readonly document: Option.Option<A>; readonly dirty: boolean }
  /** Updated without a read: the updates wait for the flush, which reads the documents at once. */
  | { readonly _tag: "Deferred"; readonly updates: Array<(current: Option.Option<A>) => A> }

const applyUpdates = <A>(current: Option.Option<A>, updates: ReadonlyArray<(current: Option.Option<A>) => A>) =>
  Effect.sync((): Entry<A> => ({
    _tag: "Known",
    document: updates.reduce((document, update) => Option.some(update(document)), current),
    dirty: true
  }))

/**
 * Names a projection and gives its documents a Schema.
 *
 * @category constructors
 * @since 0.1.0
 */
export const documents = <A, I>(name: string, schema: Schema.Codec<A, I>): Documents<A> => {
  const json = Schema.toCodecJson(schema)
  const decode = Schema.decodeUnknownEffect(json)
  const encode = Schema.encodeEffect(json)
  const schemaError = (id: string) => (error: Schema.SchemaError) =>
    new DocumentSchemaError({ projection: name, id, detail: describeIssue(error.issue) })
  const decodeDocument = (id: string, document: unknown) => Effect.mapError(decode(document), schemaError(id))
  const decodeFound = (id: string, found: Option.Option<unknown>) =>
    Option.isNone(found) ? Effect.succeedNone : Effect.asSome(decodeDocument(id, found.value))
  const encodeDocument = (id: string, document: A) => Effect.mapError(encode(document), schemaError(id))
  const read = (id: string) => ProjectionStore.use((store) => store.get(name, id)).pipe(Effect.flatMap((found) => decodeFound(id, found)))

  const owner = {}
  /** This projection's entries in the current batch, or undefined outside one. */
  const entriesOf = Effect.gen(function*() {
    const batch = yield* CurrentBatch
    if (batch === undefined || !batch.open) return undefined
    const pending = batch.pending.get(name)
    if (pending !== undefined && pending.owner === owner) return (pending as Pending<A>).entries
    // Another `documents` of the same name wrote in this batch: its writes go first.
    if (pending !== undefined) yield* pending.flush
    const store = yield* ProjectionStore
    const entries = new Map<string, Entry<A>>()
    const flush = Effect.gen(function*() {
      const deferred = [...entries].filter(([, entry]) => entry._tag === "Deferred").map(([id]) => id)
      if (deferred.length > 0) {
        const found = yield* store.getMany(name, deferred)
        for (const id of deferred) {
          const entry = entries.get(id) as Extract<Entry<A>, { _tag: "Deferred" }>
          entries.set(id, yield* applyUpdates(yield* decodeFound(id, Option.fromUndefinedOr(found.get(id))), entry.updates))
        }
      }
      const upserts: Array<StoredDocument> = []
      const deletes: Array<string> = []
      for (const [id, entry] of entries) {
        if (entry._tag !== "Known" || !entry.dirty) continue
        if (Option.isNone(entry.document)) deletes.push(id)
        else upserts.push({ id, document: yield* encodeDocument(id, entry.document.value) })
        entries.set(id, { ...entry, dirty: false })
      }
      if (upserts.length > 0) yield* store.upsertMany(name, upserts)
      if (deletes.length > 0) yield* store.deleteMany(name, deletes)
    }).pipe(
      // A failure here belongs to no one event: the processor finds the event by replaying unbuffered.
      Effect.onError(() => Effect.sync(() => batch.flushFailed = true))
    )
    batch.pending.set(name, { owner, flush, entries } as Pending<A>)
    return entries
  })

  const write = (id: string, entry: Entry<A>, direct: Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>) =>
    Effect.flatMap(entriesOf, (entries) => entries === undefined ? direct : Effect.sync(() => void entries.set(id, entry)))

  const get = (id: string): Effect.Effect<Option.Option<A>, ProjectionStoreError | DocumentSchemaError, ProjectionStore> =>
    Effect.gen(function*() {
      const entries = yield* entriesOf
      if (entries === undefined) return yield* read(id)
      const entry = entries.get(id)
      if (entry?._tag === "Known") return entry.document
      const current = yield* read(id)
      const known: Entry<A> = entry === undefined ? { _tag: "Known", document: current, dirty: false } : yield* applyUpdates(current, entry.updates)
      entries.set(id, known)
      return (known as Extract<Entry<A>, { _tag: "Known" }>).document
    })

  const upsert = (id: string, document: A) =>
    write(
      id,
      { _tag: "Known", document: Option.some(document), dirty: true },
      Effect.flatMap(encodeDocument(id, document), (encoded) => ProjectionStore.use((store) => store.upsert(name, id, encoded)))
    )

  return {
    name,
    get,
    list: Effect.gen(function*() {
      // Pending writes go to the store first, so the list includes them.
      const batch = yield* CurrentBatch
      const pending = batch?.open ? batch.pending.get(name) : undefined
      if (pending !== undefined) yield* pending.flush
      const stored = yield* ProjectionStore.use((store) => store.list(name))
      return yield* Effect.forEach(stored, ({ document, id }) => Effect.map(decodeDocument(id, document), (document) => ({ id, document })))
    }),
    upsert,
    update: (id, f) =>
      Effect.gen(function*() {
        const entries = yield* entriesOf
        if (entries === undefined) return yield* upsert(id, f(yield* get(id)))
        const entry = entries.get(id)
        if (entry === undefined) entries.set(id, { _tag: "Deferred", updates: [f] })
        else if (entry._tag === "Deferred") entry.updates.push(f)
        else entries.set(id, { _tag: "Known", document: Option.some(f(entry.document)), dirty: true })
      }),
    delete: (id) => write(id, { _tag: "Known", document: Option.none(), dirty: true }, ProjectionStore.use((store) => store.delete(name, id))),
    clear: Effect.gen(function*() {
      const entries = yield* entriesOf
      entries?.clear()
      yield* ProjectionStore.use((store) => store.clear(name))
    })
  }
}

/** A projection's entries in a batch. */
interface Pending<A> extends BatchPending {
  readonly entries: Map<string, Entry<A>>
}

/**
 * Documents in memory, kept as JSON like the SQL store keeps them. Inside a `Transactor`
 * transaction, writes are held back until it commits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<ProjectionStore["Service"]> = Effect.sync(() => {
  const committed = new Map<string, Map<string, string>>()
  const apply = (journal: Journal) => {
    for (const [projection, writes] of journal.documents) {
      const documents = committed.get(projection) ?? new Map<string, string>()
      committed.set(projection, documents)
      for (const [id, text] of writes) text === null ? documents.delete(id) : documents.set(id, text)
    }
  }
  const write = (projection: string, id: string, text: string | null) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) return apply({ ...makeJournal(), documents: new Map([[projection, new Map([[id, text]])]]) })
      const writes = journal.documents.get(projection) ?? new Map<string, string | null>()
      journal.documents.set(projection, writes.set(id, text))
      journal.commits.add(apply)
    })
  const texts = (projection: string) =>
    Effect.map(currentJournal, (journal) => {
      const merged = new Map(committed.get(projection))
      for (const [id, text] of journal?.documents.get(projection) ?? []) text === null ? merged.delete(id) : merged.set(id, text)
      return merged
    })
  // A pending write in the current transaction wins over the committed document.
  const lookup = (journal: Journal | undefined, projection: string, id: string) => {
    const pending = journal?.documents.get(projection)?.get(id)
    return pending === undefined ? committed.get(projection)?.get(id) : pending ?? undefined
  }
  const text = (projection: string, id: string) => Effect.map(currentJournal, (journal) => lookup(journal, projection, id))
  const toText = (projection: string, id: string, document: unknown) =>
    Effect.try({
      try: () => JSON.stringify(document ?? null),
      catch: (cause) => new ProjectionStoreError({ message: `Document "${id}" of "${projection}" is not a JSON value`, cause })
    })
  return ProjectionStore.of({
    get: (projection, id) =>
      Effect.map(text(projection, id), (found) => Option.map(Option.fromUndefinedOr(found), (json) => JSON.parse(json) as unknown)),
    getMany: (projection, ids) =>
      Effect.map(currentJournal, (journal) => {
        const found = new Map<string, unknown>()
        for (const id of ids) {
          const json = lookup(journal, projection, id)
          if (json !== undefined) found.set(id, JSON.parse(json))
        }
        return found
      }),
    list: (projection) =>
      Effect.map(texts(projection), (documents) =>
        [...documents.keys()].sort().map((id) => ({ id, document: JSON.parse(documents.get(id)!) as unknown }))),
    upsert: (projection, id, document) => Effect.flatMap(toText(projection, id, document), (text) => write(projection, id, text)),
    // Every document is encoded before any is written.
    upsertMany: (projection, documents) =>
      Effect.forEach(documents, ({ document, id }) => Effect.map(toText(projection, id, document), (text) => [id, text] as const)).pipe(
        Effect.flatMap((texts) => Effect.forEach(texts, ([id, text]) => write(projection, id, text), { discard: true }))
      ),
    delete: (projection, id) => write(projection, id, null),
    deleteMany: (projection, ids) => Effect.forEach(ids, (id) => write(projection, id, null), { discard: true }),
    clear: (projection) =>
      Effect.flatMap(texts(projection), (documents) => Effect.forEach(documents.keys(), (id) => write(projection, id, null), { discard: true }))
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<ProjectionStore> = Layer.effect(ProjectionStore, makeMemory)
