/**
 * A projection's read model as `effect/http-api` endpoints. {@link get} makes an endpoint that
 * reads one document by the path's `:id`, {@link list} one that reads a page of them in order of
 * id; both are declared with their answers and errors, so the OpenAPI document and a generated
 * `HttpApiClient` know them. Add them to an `HttpApiGroup` and serve it with {@link layer}.
 *
 * | Request                                                    | Answer                                   |
 * | ---------------------------------------------------------- | ---------------------------------------- |
 * | `GET /accounts/:id`                                        | 200, the document (its Schema's JSON); `ETag` |
 * | the same with `If-None-Match` naming the current `ETag`    | 304, no body                             |
 * | an id with no document                                     | 404 problem (`DocumentNotFound`)         |
 * | `GET /accounts?limit=&after=`                              | 200, `{ documents: [{ id, document }], next }` |
 * | a `limit` that is not an integer from 1 to `maxLimit`      | 400 problem naming `query.limit`         |
 * | `?position=<p>`, and the projection handles it in time     | as without it                            |
 * | `?position=<p>`, and `timeout` passes first                | 503 problem (`ProjectionBehind`)         |
 *
 * The `ETag` is a strong validator of the document: a hash of its JSON, so it changes exactly
 * when the document does. A page's `next` is the id the next page starts after (`?after=`), `null`
 * on the last page.
 *
 * Read your writes: a command's answer carries the log position of its last event
 * (`CommandApi`'s `position`); a query with `?position=` that position waits, up to `timeout`,
 * until the projection has handled every event of its up to it (`Processor.hasHandled`), then
 * reads. If the projection does not get there in time the answer is a 503: the server cannot
 * give the read the client asked for now, and asking again later may succeed.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, type Layer, Option, Schema, SchemaTransformation } from "effect"
import { type HttpRouter, HttpServerResponse } from "effect/http"
import { type HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, type HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { type CheckpointStore, type Documents, type EventStore, InvalidInput, LiveClock, Processor, type ProjectionStore } from "@facta/core"
import type { MiddlewareOf } from "./CommandApi.ts"
import { Position } from "./internal/position.ts"
import { DocumentNotFound, ProjectionBehind } from "./Problems.ts"

/**
 * The processor that writes a read model, as far as reading after a position needs it: a
 * `Projection.make` result.
 *
 * @category models
 * @since 0.1.0
 */
export interface Writer {
  readonly name: string
  readonly types: ReadonlyArray<string>
  readonly segments?: number | undefined
}

/**
 * How a read model is reached over HTTP.
 *
 * @category models
 * @since 0.1.0
 */
export interface RouteOptions<Path extends HttpRouter.PathInput> {
  /** The route; for {@link get} its `:id` names the document. */
  readonly path: Path
  /** The projection that writes the documents: a query's `?position=` waits for it. */
  readonly projection: Writer
}

/**
 * The answer to an `If-None-Match` that names the document's current `ETag`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const NotModified = HttpApiSchema.Empty(304)

/**
 * The query of {@link get}: `position`, a log position to read after (a decimal string).
 *
 * @category schemas
 * @since 0.1.0
 */
export const GetQuery = Schema.Struct({ position: Schema.optional(Position) })

/**
 * The headers {@link get} reads: `If-None-Match`, the entity tags the client has.
 *
 * @category schemas
 * @since 0.1.0
 */
export const GetHeaders = Schema.Struct({ "if-none-match": Schema.optional(Schema.String) })

/**
 * The response headers of a document: its `ETag`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DocumentHeaders = Schema.Struct({ etag: Schema.String })

/**
 * A page size as a query parameter: an integer from 1 to `max`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Limit = (max: number) =>
  Schema.String.check(
    Schema.isPattern(/^[1-9][0-9]{0,8}$/, { expected: `a page size: an integer from 1 to ${max}` })
  ).pipe(Schema.decodeTo(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: max })),
    SchemaTransformation.transform({ decode: (limit: string) => Number(limit), encode: (limit: number) => String(limit) })
  ))

/**
 * The query of {@link list}: `limit` (default 50), `after` (the id the page starts after: the
 * previous page's `next`) and `position`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ListQuery = (maxLimit: number) =>
  Schema.Struct({
    limit: Schema.optional(Limit(maxLimit)),
    after: Schema.optional(Schema.NonEmptyString),
    position: Schema.optional(Position)
  })

/**
 * A page of documents as {@link list} answers it: each with its id, in order of id, and the id
 * the next page starts after (`null` on the last page).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Page = <A>(document: Schema.Codec<A, unknown>) =>
  Schema.Struct({
    documents: Schema.Array(Schema.Struct({ id: Schema.String, document })),
    next: Schema.NullOr(Schema.String)
  })

/** What `layer` needs to serve an endpoint, carried by the endpoint itself. */
class ReadModelRoute extends Context.Service<ReadModelRoute, {
  readonly documents: Documents.Documents<unknown>
  readonly projection: Writer
  /** Of a list: the page size of a query without `limit`. */
  readonly defaultLimit?: number | undefined
}>()("@facta/http/ReadModelApi/ReadModelRoute") {}

const makeGet = <const Name extends string, const Path extends HttpRouter.PathInput, A>(
  name: Name,
  documents: Documents.Documents<A>,
  options: RouteOptions<Path>
) =>
  HttpApiEndpoint.get(name, options.path as Path & `/${string}`, {
    params: { id: Schema.String },
    query: GetQuery,
    headers: GetHeaders,
    success: [HttpApiSchema.WithHeaders(documents.schema, DocumentHeaders), NotModified],
    error: [HttpApiError.BadRequestProblem, DocumentNotFound, ProjectionBehind]
  })

const makeList = <const Name extends string, const Path extends HttpRouter.PathInput, A>(
  name: Name,
  documents: Documents.Documents<A>,
  path: Path,
  maxLimit: number
) =>
  HttpApiEndpoint.get(name, path as Path & `/${string}`, {
    query: ListQuery(maxLimit),
    success: Page(documents.schema),
    error: [HttpApiError.BadRequestProblem, ProjectionBehind]
  })

/**
 * The endpoint {@link get} makes.
 *
 * @category models
 * @since 0.1.0
 */
export type GetEndpoint<Name extends string, Path extends HttpRouter.PathInput, A> = ReturnType<typeof makeGet<Name, Path, A>>

/**
 * The endpoint {@link list} makes.
 *
 * @category models
 * @since 0.1.0
 */
export type ListEndpoint<Name extends string, Path extends HttpRouter.PathInput, A> = ReturnType<typeof makeList<Name, Path, A>>

/**
 * An endpoint that reads one document of `documents` by the path's `:id`, with its `ETag`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const get = <const Name extends string, const Path extends HttpRouter.PathInput & `${string}/:id${string}`, A>(
  name: Name,
  documents: Documents.Documents<A>,
  options: RouteOptions<Path>
): GetEndpoint<Name, Path, A> =>
  makeGet(name, documents, options).annotate(ReadModelRoute, {
    documents: documents as Documents.Documents<unknown>,
    projection: options.projection
  }) as GetEndpoint<Name, Path, A>

/**
 * An endpoint that reads a page of the documents of `documents`, in order of id. `limit` is at
 * most `maxLimit` (default 500) and `defaultLimit` (default 50) when the query has none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const list = <const Name extends string, const Path extends HttpRouter.PathInput, A>(
  name: Name,
  documents: Documents.Documents<A>,
  options: RouteOptions<Path> & {
    readonly defaultLimit?: number | undefined
    readonly maxLimit?: number | undefined
  }
): ListEndpoint<Name, Path, A> => {
  const maxLimit = options.maxLimit ?? 500
  const defaultLimit = Math.min(options.defaultLimit ?? 50, maxLimit)
  // Page sizes are code, not input: one no store reads by is a defect, found here.
  if (!isPageSize(maxLimit) || !isPageSize(defaultLimit)) {
    throw new Error(`ReadModelApi.list "${name}": maxLimit and defaultLimit must be integers from 1 to ${InvalidInput.limits.batchSize}, not ${maxLimit} and ${defaultLimit}`)
  }
  return makeList(name, documents, options.path, maxLimit).annotate(ReadModelRoute, {
    documents: documents as Documents.Documents<unknown>,
    projection: options.projection,
    defaultLimit
  }) as ListEndpoint<Name, Path, A>
}

const isPageSize = (size: number) => Number.isInteger(size) && size >= 1 && size <= InvalidInput.limits.batchSize

/** A strong entity tag of a document: a hash of its JSON, quoted. */
const entityTagOf = (json: string) =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(json))).pipe(
    Effect.map((digest) => `"${Array.from(new Uint8Array(digest, 0, 16), (byte) => byte.toString(16).padStart(2, "0")).join("")}"`)
  )

/** Whether `If-None-Match` names `tag`: `*`, or one of its tags, compared weakly (RFC 9110 13.1.2). */
const noneMatch = (header: string | undefined, tag: string) =>
  header !== undefined &&
  (header.trim() === "*" || header.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === tag))

/**
 * Waits until `projection` has handled every event up to `position`, for at most `timeout`; then
 * fails with `ProjectionBehind`.
 */
const waitFor = (projection: Writer, position: bigint | undefined, timeout: Duration.Duration) =>
  position === undefined ? Effect.void : Effect.gen(function*() {
    while (!(yield* Processor.hasHandled(projection, position))) yield* Effect.sleep("20 millis")
  }).pipe(
    Effect.timeoutOption(timeout),
    // The wait is real time, whatever clock the application runs on.
    LiveClock.provide,
    Effect.orDie,
    Effect.flatMap(Option.match({
      onSome: () => Effect.void,
      onNone: () =>
        Effect.fail(
          new ProjectionBehind({
            projection: projection.name,
            position,
            detail: `projection "${projection.name}" had not handled the events up to position ${position} within ${Duration.format(timeout)}; try again later`
          })
        )
    }))
  )

/** A store's refusal of the id or cursor as the problem of the request's value that carried it. */
const refused = (path: ReadonlyArray<string>) => (error: InvalidInput.InvalidInput) =>
  Effect.fail(new HttpApiError.BadRequestProblem({ detail: error.message, errors: [{ path: [...path], message: error.reason }] }))

/** The request a read model's handler sees. */
interface ReadRequest {
  readonly params?: { readonly id: string }
  readonly query: { readonly position?: bigint | undefined; readonly limit?: number | undefined; readonly after?: string | undefined }
  readonly headers?: { readonly "if-none-match"?: string | undefined }
}

/**
 * Serves the group `group` of `api`, whose endpoints were all made by {@link get} and
 * {@link list}. A query with `?position=` waits up to `timeout` (default 5 seconds) for the
 * projection to handle it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <ApiId extends string, Groups extends HttpApiGroup.Constraint, const Name extends HttpApiGroup.Identifier<Groups>>(
  api: HttpApi.HttpApi<ApiId, Groups>,
  group: Name,
  options?: {
    /** How long a query with `?position=` waits for the projection. Default 5 seconds. */
    readonly timeout?: Duration.Input | undefined
  }
): Layer.Layer<
  HttpApiGroup.Service<ApiId, Name>,
  never,
  ProjectionStore.ProjectionStore | EventStore.EventStore | CheckpointStore.CheckpointStore | MiddlewareOf<Groups, Name>
> =>
  // The endpoints are only known at run time here; `get` and `list` typed each of them.
  HttpApiBuilder.group(api, group, (handlers) =>
    Effect.gen(function*() {
      const context = yield* Effect.context<ProjectionStore.ProjectionStore | EventStore.EventStore | CheckpointStore.CheckpointStore>()
      const timeout = Duration.fromInputUnsafe(options?.timeout ?? "5 seconds")
      let all = handlers as unknown as {
        handle: (identifier: string, handle: (request: ReadRequest) => Effect.Effect<unknown, unknown, unknown>) => typeof all
      }
      for (const endpoint of Object.values((api.groups as unknown as Record<string, HttpApiGroup.Top>)[group]!.endpoints)) {
        const route = Context.getOption(endpoint.annotations as Context.Context<ReadModelRoute>, ReadModelRoute)
        if (route._tag === "None") {
          return yield* Effect.die(new Error(`Endpoint "${endpoint.identifier}" of group "${group}" was not made by ReadModelApi.get or ReadModelApi.list`))
        }
        const { defaultLimit, documents, projection } = route.value
        const encode = Schema.encodeEffect(Schema.toCodecJson(documents.schema))
        all = all.handle(endpoint.identifier, (request) =>
          Effect.gen(function*() {
            yield* waitFor(projection, request.query.position, timeout)
            if (defaultLimit !== undefined) {
              const page = yield* documents.page({ after: request.query.after, limit: request.query.limit ?? defaultLimit }).pipe(
                Effect.catchTag("InvalidInput", refused(["query", "after"]))
              )
              return { documents: page.documents, next: page.next ?? null }
            }
            const id = request.params!.id
            const found = yield* documents.get(id).pipe(Effect.catchTag("InvalidInput", refused(["params", "id"])))
            if (Option.isNone(found)) {
              return yield* new DocumentNotFound({ projection: documents.name, id, detail: `no document "${id}" in "${documents.name}"` })
            }
            const etag = yield* entityTagOf(JSON.stringify(yield* Effect.orDie(encode(found.value))))
            if (noneMatch(request.headers?.["if-none-match"], etag)) return HttpServerResponse.empty({ status: 304, headers: { etag } })
            return HttpApiSchema.withHeaders({ body: found.value, headers: { etag } })
          }).pipe(
            // The store failing, or a stored document its Schema refuses, is the server's fault: a 500.
            Effect.catchTag("ProjectionStoreError", Effect.die),
            Effect.catchTag("DocumentSchemaError", Effect.die),
            Effect.provideContext(context)
          ))
      }
      return all as unknown as HttpApiBuilder.Handlers<never>
    })) as unknown as Layer.Layer<
      HttpApiGroup.Service<ApiId, Name>,
      never,
      ProjectionStore.ProjectionStore | EventStore.EventStore | CheckpointStore.CheckpointStore | MiddlewareOf<Groups, Name>
    >
