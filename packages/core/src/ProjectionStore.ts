/**
 * Read models as documents: each projection is a named collection of JSON documents keyed by id.
 * The service stores JSON; {@link documents} gives a projection a Schema so its documents are
 * typed on the way in and out.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { CurrentJournal, type Journal, makeJournal } from "./internal/journal.ts"
import { describeIssue } from "./RecordedEvent.ts"

/**
 * The store failed; nothing of the failed call was written.
 *
 * @since 0.1.0
 */
export class ProjectionStoreError extends Schema.TaggedError<ProjectionStoreError>()("ProjectionStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A document that its projection's Schema cannot encode or decode.
 *
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
 * @since 0.1.0
 */
export interface StoredDocument<A = unknown> {
  readonly id: string
  readonly document: A
}

/**
 * @since 0.1.0
 */
export class ProjectionStore extends Context.Service<ProjectionStore, {
  readonly get: (projection: string, id: string) => Effect.Effect<Option.Option<unknown>, ProjectionStoreError>
  /** Every document of the projection, ordered by id. */
  readonly list: (projection: string) => Effect.Effect<ReadonlyArray<StoredDocument>, ProjectionStoreError>
  readonly upsert: (projection: string, id: string, document: unknown) => Effect.Effect<void, ProjectionStoreError>
  readonly delete: (projection: string, id: string) => Effect.Effect<void, ProjectionStoreError>
  /** Deletes every document of the projection (for a rebuild). */
  readonly clear: (projection: string) => Effect.Effect<void, ProjectionStoreError>
}>()("@facta/core/ProjectionStore") {}

/**
 * The documents of one projection, typed by a Schema.
 *
 * @since 0.1.0
 */
export interface Documents<A> {
  readonly name: string
  readonly get: (id: string) => Effect.Effect<Option.Option<A>, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly list: Effect.Effect<ReadonlyArray<StoredDocument<A>>, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly upsert: (id: string, document: A) => Effect.Effect<void, ProjectionStoreError | DocumentSchemaError, ProjectionStore>
  readonly delete: (id: string) => Effect.Effect<void, ProjectionStoreError, ProjectionStore>
  readonly clear: Effect.Effect<void, ProjectionStoreError, ProjectionStore>
}

/**
 * Names a projection and gives its documents a Schema.
 *
 * @since 0.1.0
 */
export const documents = <A, I>(name: string, schema: Schema.Codec<A, I>): Documents<A> => {
  const json = Schema.toCodecJson(schema)
  const decode = Schema.decodeUnknownEffect(json)
  const encode = Schema.encodeEffect(json)
  const schemaError = (id: string) => (error: Schema.SchemaError) =>
    new DocumentSchemaError({ projection: name, id, detail: describeIssue(error.issue) })
  const decodeDocument = (id: string, document: unknown) => Effect.mapError(decode(document), schemaError(id))
  return {
    name,
    get: (id) =>
      ProjectionStore.use((store) => store.get(name, id)).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (document) => Effect.asSome(decodeDocument(id, document))
        }))
      ),
    list: ProjectionStore.use((store) => store.list(name)).pipe(
      Effect.flatMap(Effect.forEach(({ document, id }) => Effect.map(decodeDocument(id, document), (document) => ({ id, document }))))
    ),
    upsert: (id, document) =>
      encode(document).pipe(
        Effect.mapError(schemaError(id)),
        Effect.flatMap((json) => ProjectionStore.use((store) => store.upsert(name, id, json)))
      ),
    delete: (id) => ProjectionStore.use((store) => store.delete(name, id)),
    clear: ProjectionStore.use((store) => store.clear(name))
  }
}

/**
 * Documents in memory, kept as JSON like the SQL store keeps them. Inside a `Transactor`
 * transaction, writes are held back until it commits.
 *
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
    Effect.map(CurrentJournal, (journal) => {
      if (journal === undefined) return apply({ ...makeJournal(), documents: new Map([[projection, new Map([[id, text]])]]) })
      const writes = journal.documents.get(projection) ?? new Map<string, string | null>()
      journal.documents.set(projection, writes.set(id, text))
      journal.commits.add(apply)
    })
  const texts = (projection: string) =>
    Effect.map(CurrentJournal, (journal) => {
      const merged = new Map(committed.get(projection))
      for (const [id, text] of journal?.documents.get(projection) ?? []) text === null ? merged.delete(id) : merged.set(id, text)
      return merged
    })
  // A pending write in the current transaction wins over the committed document.
  const text = (projection: string, id: string) =>
    Effect.map(CurrentJournal, (journal) => {
      const pending = journal?.documents.get(projection)?.get(id)
      return pending === undefined ? committed.get(projection)?.get(id) : pending ?? undefined
    })
  return ProjectionStore.of({
    get: (projection, id) =>
      Effect.map(text(projection, id), (found) => Option.map(Option.fromUndefinedOr(found), (json) => JSON.parse(json) as unknown)),
    list: (projection) =>
      Effect.map(texts(projection), (documents) =>
        [...documents.keys()].sort().map((id) => ({ id, document: JSON.parse(documents.get(id)!) as unknown }))),
    upsert: (projection, id, document) =>
      Effect.try({
        try: () => JSON.stringify(document ?? null),
        catch: (cause) => new ProjectionStoreError({ message: `Document "${id}" of "${projection}" is not a JSON value`, cause })
      }).pipe(Effect.flatMap((text) => write(projection, id, text))),
    delete: (projection, id) => write(projection, id, null),
    clear: (projection) =>
      Effect.flatMap(texts(projection), (documents) => Effect.forEach(documents.keys(), (id) => write(projection, id, null), { discard: true }))
  })
})

/**
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<ProjectionStore> = Layer.effect(ProjectionStore, makeMemory)
