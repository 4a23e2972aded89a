/**
 * Read-model documents as JSON rows keyed by (projection, generation, id). Inside a transaction of
 * the same `SqlClient` (a processor's batch), writes commit or roll back with it.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { ProjectionStore } from "@facta/core"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new ProjectionStore.ProjectionStoreError({ message: `${what} failed: ${cause.message}`, cause })

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (
  options?: Tables.TableOptions & Retries.RetryOptions
) => Effect.Effect<ProjectionStore.ProjectionStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn("SqlProjectionStore.make")(function*(
  options?: Tables.TableOptions & Retries.RetryOptions
) {
  // Every statement here is idempotent (upserts, deletes, a compare-and-set), so even one in doubt may run again.
  const { retry, sql, tables } = yield* open(options)
  const projections = sql(tables.projections)
  const readModels = sql(tables.readModels)
  // Without a generation, the one readers see, looked up in the statement itself: a statement
  // reads one generation, whatever switch commits while it runs.
  const gen = (projection: string, generation: number | undefined) =>
    generation === undefined
      ? sql`coalesce((SELECT generation FROM ${readModels} WHERE projection = ${projection}), 0)`
      : sql`${generation}::integer`
  return ProjectionStore.make({
    get: (projection, id, generation) =>
      sql<{ readonly document: unknown }>`SELECT document FROM ${projections} WHERE projection = ${projection} AND generation = ${gen(projection, generation)} AND id = ${id}`.pipe(
        Effect.map((rows) => Option.map(Option.fromUndefinedOr(rows[0]), (row) => row.document)),
        retry,
        Effect.mapError(storeError(`Reading "${id}" of "${projection}"`))
      ),
    // The ids and documents travel as one JSON parameter: one statement text whatever their number.
    getMany: (projection, ids, generation) =>
      ids.length === 0 ? Effect.succeed(new Map()) : sql<{ readonly id: string; readonly document: unknown }>`SELECT id, document FROM ${projections}
        WHERE projection = ${projection} AND generation = ${gen(projection, generation)}
          AND id = ANY (ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)))`.pipe(
        Effect.map((rows) => new Map(rows.map((row) => [row.id, row.document]))),
        retry,
        Effect.mapError(storeError(`Reading ${ids.length} documents of "${projection}"`))
      ),
    list: (projection, generation) =>
      sql<{ readonly id: string; readonly document: unknown }>`SELECT id, document FROM ${projections}
        WHERE projection = ${projection} AND generation = ${gen(projection, generation)} ORDER BY id COLLATE "C"`.pipe(
        retry,
        Effect.mapError(storeError(`Listing "${projection}"`))
      ),
    // One row more than the page, to know whether another page follows.
    listPage: (projection, { after, limit }, generation) =>
      sql<{ readonly id: string; readonly document: unknown }>`SELECT id, document FROM ${projections}
        WHERE projection = ${projection} AND generation = ${gen(projection, generation)}
          ${after === undefined ? sql`` : sql`AND id COLLATE "C" > ${after}`}
        ORDER BY id COLLATE "C" LIMIT ${limit + 1}`.pipe(
        Effect.map((rows) => {
          const documents = rows.slice(0, limit)
          return { documents, next: rows.length > limit ? documents[documents.length - 1]!.id : undefined }
        }),
        retry,
        Effect.mapError(storeError(`Listing a page of "${projection}"`))
      ),
    upsert: (projection, id, document, generation) =>
      Effect.try({
        try: () => JSON.stringify(document ?? null),
        catch: (cause) => new ProjectionStore.ProjectionStoreError({ message: `Document "${id}" of "${projection}" is not a JSON value`, cause })
      }).pipe(Effect.flatMap((json) =>
        sql`INSERT INTO ${projections} (projection, generation, id, document)
          VALUES (${projection}, ${gen(projection, generation)}, ${id}, ${json}::jsonb)
          ON CONFLICT (projection, generation, id) DO UPDATE SET document = excluded.document, updated_at = now()`.pipe(
          Effect.asVoid,
          retry,
        Effect.mapError(storeError(`Writing "${id}" of "${projection}"`))
        )
      )),
    upsertMany: (projection, documents, generation) =>
      Effect.try({
        // Of two documents with the same id the later wins (one statement cannot write a row twice).
        try: () => JSON.stringify([...new Map(documents.map(({ document, id }) => [id, { id, document: document ?? null }])).values()]),
        catch: (cause) => new ProjectionStore.ProjectionStoreError({ message: `A document of "${projection}" is not a JSON value`, cause })
      }).pipe(Effect.flatMap((json) =>
        documents.length === 0 ? Effect.void : sql`INSERT INTO ${projections} (projection, generation, id, document)
          SELECT ${projection}, ${gen(projection, generation)}, d.id, d.document FROM jsonb_to_recordset(${json}::jsonb) AS d(id text, document jsonb)
          ON CONFLICT (projection, generation, id) DO UPDATE SET document = excluded.document, updated_at = now()`.pipe(
          Effect.asVoid,
          retry,
        Effect.mapError(storeError(`Writing ${documents.length} documents of "${projection}"`))
        )
      )),
    delete: (projection, id, generation) =>
      sql`DELETE FROM ${projections} WHERE projection = ${projection} AND generation = ${gen(projection, generation)} AND id = ${id}`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Deleting "${id}" of "${projection}"`))
      ),
    deleteMany: (projection, ids, generation) =>
      ids.length === 0 ? Effect.void : sql`DELETE FROM ${projections}
        WHERE projection = ${projection} AND generation = ${gen(projection, generation)}
          AND id = ANY (ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)))`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Deleting ${ids.length} documents of "${projection}"`))
      ),
    clear: (projection, generation) =>
      sql`DELETE FROM ${projections} WHERE projection = ${projection} AND generation = ${gen(projection, generation)}`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Clearing "${projection}"`))
      ),
    liveGeneration: (projection) =>
      sql<{ readonly generation: number }>`SELECT generation FROM ${readModels} WHERE projection = ${projection}`.pipe(
        Effect.map((rows) => rows[0]?.generation ?? 0),
        retry,
        Effect.mapError(storeError(`Reading the live generation of "${projection}"`))
      ),
    switchGeneration: (names, generation) =>
      names.length === 0 ? Effect.void : sql`INSERT INTO ${readModels} (projection, generation)
        SELECT name, ${generation}::integer FROM jsonb_array_elements_text(${JSON.stringify(names)}::jsonb) AS name
        ON CONFLICT (projection) DO UPDATE SET generation = excluded.generation, switched_at = now()`.pipe(
        Effect.asVoid,
        retry,
        Effect.mapError(storeError(`Switching ${names.map((name) => `"${name}"`).join(", ")} to generation ${generation}`))
      )
  })
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions & Retries.RetryOptions) => Layer.effect(ProjectionStore.ProjectionStore, make(options))
