/**
 * Read models as documents: each projection is a named collection of JSON documents keyed by id.
 * The service stores JSON; `Documents.make` gives a projection a Schema so its documents are
 * typed on the way in and out.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { currentJournal, type Journal, makeJournal } from "./internal/journal.ts"
import { byBytes } from "./internal/order.ts"
import { checkId, checkJson, InvalidInput, limits } from "./InvalidInput.ts"

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
 * One page of a projection's documents, ordered by id (by UTF-8 bytes), and the id the next page
 * starts after: undefined on the last page.
 *
 * @category models
 * @since 0.1.0
 */
export interface DocumentPage<A = unknown> {
  readonly documents: ReadonlyArray<StoredDocument<A>>
  readonly next: string | undefined
}

/**
 * Where a page of documents starts and how many it holds: from 1 to `limits.batchSize`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PageOptions {
  /** The id the page starts after; the first page without one. */
  readonly after?: string | undefined
  readonly limit: number
}

/**
 * @category services
 * @since 0.1.0
 */
export class ProjectionStore extends Context.Service<ProjectionStore, {
  readonly get: (projection: string, id: string, generation?: number) => Effect.Effect<Option.Option<unknown>, ProjectionStoreError | InvalidInput>
  /** The documents found among `ids`, by id. */
  readonly getMany: (projection: string, ids: ReadonlyArray<string>, generation?: number) => Effect.Effect<ReadonlyMap<string, unknown>, ProjectionStoreError | InvalidInput>
  /** Every document of the projection, ordered by id. */
  readonly list: (projection: string, generation?: number) => Effect.Effect<ReadonlyArray<StoredDocument>, ProjectionStoreError | InvalidInput>
  /** A page of the projection's documents, ordered by id (by UTF-8 bytes), as `list` orders them. */
  readonly listPage: (projection: string, options: PageOptions, generation?: number) => Effect.Effect<DocumentPage, ProjectionStoreError | InvalidInput>
  readonly upsert: (projection: string, id: string, document: unknown, generation?: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  /** Writes the documents at once; of two with the same id, the later wins. */
  readonly upsertMany: (projection: string, documents: ReadonlyArray<StoredDocument>, generation?: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  readonly delete: (projection: string, id: string, generation?: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  readonly deleteMany: (projection: string, ids: ReadonlyArray<string>, generation?: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  /** Deletes every document of the projection (for a rebuild, or to drop an old generation). */
  readonly clear: (projection: string, generation?: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
  /** The generation readers of the projection see: 0 until a blue-green rebuild switches it. */
  readonly liveGeneration: (projection: string) => Effect.Effect<number, ProjectionStoreError | InvalidInput>
  /**
   * Makes `generation` the one readers of the projections see. Each statement reads one
   * generation, so a reader sees the old documents or the new, never a mix of the two.
   */
  readonly switchGeneration: (projections: ReadonlyArray<string>, generation: number) => Effect.Effect<void, ProjectionStoreError | InvalidInput>
}>()("@facta/core/ProjectionStore") {}

const checkName = (projection: string) => checkId("projection name", projection, limits.keyLength)
// The subjects are made only for an error: most documents pass.
const checkDocumentId = (projection: string, id: string) =>
  checkName(projection) ?? checkId(() => `id of a document of projection ${JSON.stringify(projection)}`, id, limits.keyLength)
const checkDocument = (projection: string, id: string, document: unknown) =>
  checkDocumentId(projection, id) ?? checkJson(() => `document ${JSON.stringify(id)} of projection ${JSON.stringify(projection)}`, document)
const checkPage = (projection: string, options: PageOptions): InvalidInput | undefined => {
  const invalidName = checkName(projection)
  if (invalidName !== undefined) return invalidName
  const { after, limit } = options
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > limits.batchSize) {
    return new InvalidInput({
      subject: `page options of projection ${JSON.stringify(projection)}`,
      path: "$.limit",
      reason: `must be an integer from 1 to ${limits.batchSize}, not ${String(limit)}`
    })
  }
  const invalidAfter = after === undefined ? undefined : checkDocumentId(projection, after)
  return invalidAfter === undefined
    ? undefined
    : new InvalidInput({ subject: `page options of projection ${JSON.stringify(projection)}`, path: "$.after", reason: invalidAfter.reason })
}
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
 * Every method takes an optional `generation`: without one it works on the generation readers
 * see (the live one); a processor's batch names the generation it writes, which during a
 * blue-green rebuild is not the live one.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (store: ProjectionStore["Service"]): ProjectionStore["Service"] =>
  ProjectionStore.of({
    get: (projection, id, generation) => checked(checkDocumentId(projection, id), () => store.get(projection, id, generation)),
    getMany: (projection, ids, generation) =>
      checked(checkName(projection) ?? first(ids, (id) => checkDocumentId(projection, id)), () => store.getMany(projection, ids, generation)),
    list: (projection, generation) => checked(checkName(projection), () => store.list(projection, generation)),
    listPage: (projection, options, generation) => checked(checkPage(projection, options), () => store.listPage(projection, options, generation)),
    upsert: (projection, id, document, generation) =>
      checked(checkDocument(projection, id, document), () => store.upsert(projection, id, document, generation)),
    upsertMany: (projection, documents, generation) =>
      checked(
        checkName(projection) ?? first(documents, ({ document, id }) => checkDocument(projection, id, document)),
        () => store.upsertMany(projection, documents, generation)
      ),
    delete: (projection, id, generation) => checked(checkDocumentId(projection, id), () => store.delete(projection, id, generation)),
    deleteMany: (projection, ids, generation) =>
      checked(checkName(projection) ?? first(ids, (id) => checkDocumentId(projection, id)), () => store.deleteMany(projection, ids, generation)),
    clear: (projection, generation) => checked(checkName(projection), () => store.clear(projection, generation)),
    liveGeneration: (projection) => checked(checkName(projection), () => store.liveGeneration(projection)),
    switchGeneration: (projections, generation) => checked(first(projections, checkName), () => store.switchGeneration(projections, generation))
  })

/**
 * Documents in memory, kept as JSON like the SQL store keeps them. Inside a `Transactor`
 * transaction, writes are held back until it commits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<ProjectionStore["Service"]> = Effect.sync(() => {
  // Documents are kept by projection and generation: the key of generation 0 is the name alone,
  // and no name holds a NUL, so no two keys meet.
  const committed = new Map<string, Map<string, string>>()
  const live = new Map<string, number>()
  const keyOf = (projection: string, generation: number | undefined) => {
    const resolved = generation ?? live.get(projection) ?? 0
    return resolved === 0 ? projection : `${projection}\u0000${resolved}`
  }
  const apply = (journal: Journal) => {
    for (const [key, writes] of journal.documents) {
      const documents = committed.get(key) ?? new Map<string, string>()
      committed.set(key, documents)
      for (const [id, text] of writes) text === null ? documents.delete(id) : documents.set(id, text)
    }
  }
  const write = (key: string, id: string, text: string | null) =>
    Effect.map(currentJournal, (journal) => {
      if (journal === undefined) return apply({ ...makeJournal(), documents: new Map([[key, new Map([[id, text]])]]) })
      const writes = journal.documents.get(key) ?? new Map<string, string | null>()
      journal.documents.set(key, writes.set(id, text))
      journal.commits.add(apply)
    })
  const texts = (key: string) =>
    Effect.map(currentJournal, (journal) => {
      const merged = new Map(committed.get(key))
      for (const [id, text] of journal?.documents.get(key) ?? []) text === null ? merged.delete(id) : merged.set(id, text)
      return merged
    })
  // A pending write in the current transaction wins over the committed document.
  const lookup = (journal: Journal | undefined, key: string, id: string) => {
    const pending = journal?.documents.get(key)?.get(id)
    return pending === undefined ? committed.get(key)?.get(id) : pending ?? undefined
  }
  const toText = (projection: string, id: string, document: unknown) =>
    Effect.try({
      try: () => JSON.stringify(document ?? null),
      catch: (cause) => new ProjectionStoreError({ message: `Document "${id}" of "${projection}" is not a JSON value`, cause })
    })
  return make({
    get: (projection, id, generation) =>
      Effect.map(currentJournal, (journal) =>
        Option.map(Option.fromUndefinedOr(lookup(journal, keyOf(projection, generation), id)), (json) => JSON.parse(json) as unknown)),
    getMany: (projection, ids, generation) =>
      Effect.map(currentJournal, (journal) => {
        const key = keyOf(projection, generation)
        const found = new Map<string, unknown>()
        for (const id of ids) {
          const json = lookup(journal, key, id)
          if (json !== undefined) found.set(id, JSON.parse(json))
        }
        return found
      }),
    list: (projection, generation) =>
      Effect.map(texts(keyOf(projection, generation)), (documents) =>
        [...documents.keys()].sort(byBytes).map((id) => ({ id, document: JSON.parse(documents.get(id)!) as unknown }))),
    listPage: (projection, { after, limit }, generation) =>
      Effect.map(texts(keyOf(projection, generation)), (documents): DocumentPage => {
        const ids = [...documents.keys()].filter((id) => after === undefined || byBytes(id, after) > 0).sort(byBytes)
        const page = ids.slice(0, limit).map((id) => ({ id, document: JSON.parse(documents.get(id)!) as unknown }))
        return { documents: page, next: ids.length > limit ? page[page.length - 1]!.id : undefined }
      }),
    upsert: (projection, id, document, generation) =>
      Effect.flatMap(toText(projection, id, document), (text) => write(keyOf(projection, generation), id, text)),
    // Every document is encoded before any is written.
    upsertMany: (projection, documents, generation) =>
      Effect.forEach(documents, ({ document, id }) => Effect.map(toText(projection, id, document), (text) => [id, text] as const)).pipe(
        Effect.flatMap((texts) => {
          const key = keyOf(projection, generation)
          return Effect.forEach(texts, ([id, text]) => write(key, id, text), { discard: true })
        })
      ),
    delete: (projection, id, generation) => write(keyOf(projection, generation), id, null),
    deleteMany: (projection, ids, generation) => {
      const key = keyOf(projection, generation)
      return Effect.forEach(ids, (id) => write(key, id, null), { discard: true })
    },
    clear: (projection, generation) => {
      const key = keyOf(projection, generation)
      return Effect.flatMap(texts(key), (documents) => Effect.forEach(documents.keys(), (id) => write(key, id, null), { discard: true }))
    },
    liveGeneration: (projection) => Effect.sync(() => live.get(projection) ?? 0),
    switchGeneration: (projections, generation) =>
      Effect.map(currentJournal, (journal) => {
        const switchAll = () => projections.forEach((projection) => live.set(projection, generation))
        if (journal === undefined) switchAll()
        else journal.commits.add(switchAll)
      })
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<ProjectionStore> = Layer.effect(ProjectionStore, makeMemory)
