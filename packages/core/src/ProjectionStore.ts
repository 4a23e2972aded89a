/**
 * Read models as documents: each projection is a named collection of JSON documents keyed by id.
 * The service stores JSON; `Documents.make` gives a projection a Schema so its documents are
 * typed on the way in and out.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { currentJournal, type Journal, makeJournal } from "./internal/journal.ts"
import { checkId, checkJson, type InvalidInput, limits } from "./InvalidInput.ts"

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
  readonly get: (projection: string, id: string) => Effect.Effect<Option.Option<unknown>, ProjectionStoreError | InvalidInput>
  /** The documents found among `ids`, by id. */
  readonly getMany: (projection: string, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, unknown>, ProjectionStoreError | InvalidInput>
  /** Every document of the projection, ordered by id. */
  readonly list: (projection: string) => Effect.Effect<ReadonlyArray<StoredDocument>, ProjectionStoreError | InvalidInput>
  readonly upsert: (projection: string, id: string, document: unknown) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  /** Writes the documents at once; of two with the same id, the later wins. */
  readonly upsertMany: (projection: string, documents: ReadonlyArray<StoredDocument>) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  readonly delete: (projection: string, id: string) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  readonly deleteMany: (projection: string, ids: ReadonlyArray<string>) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  /** Deletes every document of the projection (for a rebuild). */
  readonly clear: (projection: string) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
}>()("@facta/core/ProjectionStore") {}

const checkName = (projection: string) => checkId("projection name", projection, limits.keyLength)
// The subjects are made only for an error: most documents pass.
const checkDocumentId = (projection: string, id: string) =>
  checkName(projection) ?? checkId(() => `id of a document of projection ${JSON.stringify(projection)}`, id, limits.keyLength)
const checkDocument = (projection: string, id: string, document: unknown) =>
  checkDocumentId(projection, id) ?? checkJson(() => `document ${JSON.stringify(id)} of projection ${JSON.stringify(projection)}`, document)
const first = <A>(items: ReadonlyArray<A>, check: (item: A) => InvalidInput | undefined) => {
  for (const item of items) {
    const invalid = check(item)
    if (invalid !== undefined) return invalid
  }
  return undefined
}
const checked = <A, E>(invalid: InvalidInput | undefined, effect: () => Effect.Effect<A, E>): Effect.Effect<A, E | InvalidInput> =>
  invalid === undefined ? effect() : Effect.fail(invalid)

/**
 * A store's methods behind the checks of `InvalidInput` (projection names, document ids,
 * documents): every implementation passes through it, so every store refuses the same input.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: ProjectionStore["Service"]): ProjectionStore["Service"] =>
  ProjectionStore.of({
    get: (projection, id) => checked(checkDocumentId(projection, id), () => store.get(projection, id)),
    getMany: (projection, ids) => checked(checkName(projection) ?? first(ids, (id) => checkDocumentId(projection, id)), () => store.getMany(projection, ids)),
    list: (projection) => checked(checkName(projection), () => store.list(projection)),
    upsert: (projection, id, document) => checked(checkDocument(projection, id, document), () => store.upsert(projection, id, document)),
    upsertMany: (projection, documents) =>
      checked(checkName(projection) ?? first(documents, ({ document, id }) => checkDocument(projection, id, document)), () => store.upsertMany(projection, documents)),
    delete: (projection, id) => checked(checkDocumentId(projection, id), () => store.delete(projection, id)),
    deleteMany: (projection, ids) => checked(checkName(projection) ?? first(ids, (id) => checkDocumentId(projection, id)), () => store.deleteMany(projection, ids)),
    clear: (projection) => checked(checkName(projection), () => store.clear(projection))
  })

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
  return make({
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
