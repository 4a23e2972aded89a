/**
 * Read models as documents: each projection is a named collection of JSON documents keyed by id.
 * The service stores JSON; `Documents.make` gives a projection a Schema so its documents are
 * typed on the way in and out.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Option, Schema } from "effect"
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
