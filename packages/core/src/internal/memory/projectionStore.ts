/**
 * Documents in memory, kept as JSON like the SQL store keeps them. Inside a transaction
 * (`InMemory.transactor`), writes are held back until it commits.
 */
import { Effect, Option } from "effect"
import { type DocumentPage, make as makeProjectionStore, ProjectionStore, ProjectionStoreError } from "../../ProjectionStore.ts"
import { byBytes } from "../order.ts"
import { currentJournal, type Journal, makeJournal } from "./journal.ts"

export const make: Effect.Effect<ProjectionStore["Service"]> = Effect.sync(() => {
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
  return makeProjectionStore({
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
