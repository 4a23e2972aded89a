/**
 * The documents of one projection, typed by a Schema: the read model a projection writes and a
 * query reads, stored as JSON by the `ProjectionStore`.
 *
 * ```ts
 * const accounts = Documents.make("accounts", AccountView)
 * yield* accounts.upsert(id, { owner, balance: 0 })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import * as Batch from "./internal/batch.ts"
import { CurrentGeneration } from "./internal/generation.ts"
import { describeIssue } from "./internal/issue.ts"
import type { InvalidInput } from "./InvalidInput.ts"
import {
  type DocumentPage,
  DocumentSchemaError,
  type PageOptions,
  ProjectionStore,
  type ProjectionStoreError,
  type StoredDocument
} from "./ProjectionStore.ts"

/**
 * What reading or writing documents can fail with.
 *
 * @category errors
 * @since 0.1.0
 */
export type DocumentError = ProjectionStoreError | DocumentSchemaError | InvalidInput

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
  /** The Schema of a document, as `make` was given it. */
  readonly schema: Schema.Codec<A, unknown>
  readonly get: (id: string) => Effect.Effect<Option.Option<A>, DocumentError, ProjectionStore>
  readonly list: Effect.Effect<ReadonlyArray<StoredDocument<A>>, DocumentError, ProjectionStore>
  /**
   * A page of the documents, ordered by id (by UTF-8 bytes), and the id the next page starts
   * after (undefined on the last page): pass it as `after` to read on.
   */
  readonly page: (options: PageOptions) => Effect.Effect<DocumentPage<A>, DocumentError, ProjectionStore>
  readonly upsert: (id: string, document: A) => Effect.Effect<void, DocumentError, ProjectionStore>
  /**
   * Writes `f` of the current document (none if there is none). Inside a processor's batch the
   * read is deferred too: the documents a batch updates are read in one query when it is
   * flushed, so `f` must be a pure function of the document.
   */
  readonly update: (
    id: string,
    f: (current: Option.Option<A>) => A
  ) => Effect.Effect<void, DocumentError, ProjectionStore>
  readonly delete: (id: string) => Effect.Effect<void, DocumentError, ProjectionStore>
  readonly clear: Effect.Effect<void, DocumentError, ProjectionStore>
}

/** A document's state within a batch. */
type Entry<A> =
  /** Known: read from the store (`dirty` false) or written by the batch. */
  | { readonly _tag: "Known"; readonly document: Option.Option<A>; readonly dirty: boolean }
  /** Updated without a read: the updates wait for the flush, which reads the documents at once. */
  | { readonly _tag: "Deferred"; readonly updates: Array<(current: Option.Option<A>) => A> }

type Known<A> = Extract<Entry<A>, { _tag: "Known" }>

const applyUpdates = <A>(current: Option.Option<A>, updates: ReadonlyArray<(current: Option.Option<A>) => A>): Known<A> => ({
  _tag: "Known",
  document: updates.reduce((document, update) => Option.some(update(document)), current),
  dirty: true
})

/** Encoding and decoding one projection's documents, failing with the document's id. */
const codec = <A, I>(name: string, schema: Schema.Codec<A, I>) => {
  const json = Schema.toCodecJson(schema)
  const decode = Schema.decodeUnknownEffect(json)
  const encode = Schema.encodeEffect(json)
  const schemaError = (id: string) => (error: Schema.SchemaError) =>
    new DocumentSchemaError({ projection: name, id, detail: describeIssue(error.issue) })
  const decodeDocument = (id: string, document: unknown) => Effect.mapError(decode(document), schemaError(id))
  return {
    decodeDocument,
    decodeFound: (id: string, found: Option.Option<unknown>) =>
      Option.isNone(found) ? Effect.succeedNone : Effect.asSome(decodeDocument(id, found.value)),
    encodeDocument: (id: string, document: A) => Effect.mapError(encode(document), schemaError(id))
  }
}

/** A projection's writes in a batch: its entries by id, and the flush that stores them. */
interface Held<A> extends Batch.Writes {
  readonly entries: Map<string, Entry<A>>
}

const held = <A>(
  name: string,
  store: ProjectionStore["Service"],
  generation: number | undefined,
  { decodeFound, encodeDocument }: ReturnType<typeof codec<A, unknown>>
): Held<A> => {
  const entries = new Map<string, Entry<A>>()
  const flush = Effect.gen(function*() {
    const deferred = [...entries].filter(([, entry]) => entry._tag === "Deferred").map(([id]) => id)
    if (deferred.length > 0) {
      const found = yield* store.getMany(name, deferred, generation)
      for (const id of deferred) {
        const entry = entries.get(id) as Extract<Entry<A>, { _tag: "Deferred" }>
        entries.set(id, applyUpdates(yield* decodeFound(id, Option.fromUndefinedOr(found.get(id))), entry.updates))
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
    if (upserts.length > 0) yield* store.upsertMany(name, upserts, generation)
    if (deletes.length > 0) yield* store.deleteMany(name, deletes, generation)
  })
  return { entries, flush }
}

/**
 * Names a projection and gives its documents a Schema.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A, I>(name: string, schema: Schema.Codec<A, I>): Documents<A> => {
  const documents = codec(name, schema)
  /** Runs `f` with the store and the generation the current processor writes (the live one outside a processor). */
  const withStore = <X, E>(f: (store: ProjectionStore["Service"], generation: number | undefined) => Effect.Effect<X, E>) =>
    Effect.flatMap(CurrentGeneration, (generation) => ProjectionStore.use((store) => f(store, generation)))
  const read = (id: string) => withStore((store, generation) => store.get(name, id, generation)).pipe(Effect.flatMap((found) => documents.decodeFound(id, found)))
  const owner = {}
  // Run only for the first write of a batch: later ones find the writes already held.
  const hold = withStore((store, generation) => Effect.sync(() => held(name, store, generation, documents)))
  /** This projection's entries in the current batch; undefined outside one. */
  const entriesOf = Effect.gen(function*() {
    const batch = yield* Batch.CurrentBatch
    if (batch === undefined) return undefined
    const writes = yield* batch.writesOf(name, owner, hold)
    return writes?.entries
  })
  const write = (id: string, entry: Entry<A>, direct: Effect.Effect<void, DocumentError, ProjectionStore>) =>
    Effect.flatMap(entriesOf, (entries) => entries === undefined ? direct : Effect.sync(() => void entries.set(id, entry)))

  const get = Effect.fnUntraced(function*(id: string) {
    const entries = yield* entriesOf
    if (entries === undefined) return yield* read(id)
    const entry = entries.get(id)
    if (entry?._tag === "Known") return entry.document
    const current = yield* read(id)
    const known: Known<A> = entry === undefined ? { _tag: "Known", document: current, dirty: false } : applyUpdates(current, entry.updates)
    entries.set(id, known)
    return known.document
  })
  const upsert = (id: string, document: A) =>
    write(
      id,
      { _tag: "Known", document: Option.some(document), dirty: true },
      Effect.flatMap(documents.encodeDocument(id, document), (encoded) => withStore((store, generation) => store.upsert(name, id, encoded, generation)))
    )
  const update = Effect.fnUntraced(function*(id: string, f: (current: Option.Option<A>) => A) {
    const entries = yield* entriesOf
    if (entries === undefined) return yield* upsert(id, f(yield* get(id)))
    const entry = entries.get(id)
    if (entry === undefined) entries.set(id, { _tag: "Deferred", updates: [f] })
    else if (entry._tag === "Deferred") entry.updates.push(f)
    else entries.set(id, { _tag: "Known", document: Option.some(f(entry.document)), dirty: true })
  })

  return {
    name,
    schema,
    get,
    list: Effect.gen(function*() {
      // Writes held in the batch go to the store first, so the list includes them.
      const batch = yield* Batch.CurrentBatch
      if (batch !== undefined) yield* batch.flush(name)
      const stored = yield* withStore((store, generation) => store.list(name, generation))
      return yield* Effect.forEach(stored, ({ document, id }) => Effect.map(documents.decodeDocument(id, document), (document) => ({ id, document })))
    }),
    page: (options) =>
      Effect.gen(function*() {
        const batch = yield* Batch.CurrentBatch
        if (batch !== undefined) yield* batch.flush(name)
        const stored = yield* withStore((store, generation) => store.listPage(name, options, generation))
        const decoded = yield* Effect.forEach(stored.documents, ({ document, id }) =>
          Effect.map(documents.decodeDocument(id, document), (document) => ({ id, document })))
        return { documents: decoded, next: stored.next }
      }),
    upsert,
    update,
    delete: (id) => write(id, { _tag: "Known", document: Option.none(), dirty: true }, withStore((store, generation) => store.delete(name, id, generation))),
    clear: Effect.gen(function*() {
      const entries = yield* entriesOf
      entries?.clear()
      yield* withStore((store, generation) => store.clear(name, generation))
    })
  }
}
