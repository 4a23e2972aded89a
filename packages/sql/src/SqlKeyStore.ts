/**
 * The keys of personal data in a table (`facta_keys`): one row per subject, its data key wrapped
 * by the `KeyWrapping` given (kept as it is by default), set to NULL when the subject is
 * forgotten. The row stays, so a forgotten subject reads as forgotten rather than unknown.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { KeyStore } from "@facta/core"
import { textArray } from "./internal/eventStatements.ts"
import { open } from "./internal/opening.ts"
import type * as Retries from "./Retries.ts"
import * as Tables from "./Tables.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends Tables.TableOptions, Retries.RetryOptions, KeyStore.MakeOptions {
  /** How keys are kept at rest. Default `KeyStore.plainKeys`. */
  readonly keyWrapping?: KeyStore.KeyWrapping | undefined
}

const storeError = (what: string) => (cause: SqlError.SqlError) =>
  new KeyStore.KeyStoreError({ message: `${what} failed: ${cause.message}`, cause })

const KeyRow = Schema.Struct({ subject: Schema.String, key: Schema.NullOr(Schema.String) })
const decodeRows = Schema.decodeUnknownEffect(Schema.Array(KeyRow))
const badRows = (cause: unknown) => new KeyStore.KeyStoreError({ message: "The keys table returned rows of an unexpected shape", cause })

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: (options?: Options) => Effect.Effect<KeyStore.KeyStore["Service"], Tables.InvalidTableOptions, SqlClient.SqlClient> = Effect.fn(
  "SqlKeyStore.make"
)(function*(options?: Options) {
  // Every statement is idempotent (a read, an insert that keeps an existing row, a destroy).
  const { retry, sql, tables } = yield* open(options)
  const keys = sql(tables.keys)
  const stored = (key: string | null): KeyStore.StoredKey => key === null ? null : Buffer.from(key, "base64")
  const load = (subjects: ReadonlyArray<string>) =>
    // One parameter for any number of subjects: one statement text, planned once per session.
    sql`SELECT subject, key FROM ${keys} WHERE subject = ANY(${textArray(subjects)}::text[])`.pipe(
      retry,
      Effect.mapError(storeError("Loading keys")),
      Effect.flatMap((rows) => Effect.mapError(decodeRows(rows), badRows))
    )
  return KeyStore.make({
    load: (subjects) =>
      Effect.map(load(subjects), (rows) => new Map(rows.map((row) => [row.subject, stored(row.key)] as const))),
    insert: (subject, wrapped) =>
      sql`INSERT INTO ${keys} (subject, key) VALUES (${subject}, ${Buffer.from(wrapped).toString("base64")})
        ON CONFLICT (subject) DO NOTHING`.pipe(
        retry,
        Effect.mapError(storeError(`Storing the key of subject ${JSON.stringify(subject)}`)),
        // The row as it is now: this key, or one a concurrent insert stored first, or none (forgotten).
        Effect.andThen(load([subject])),
        Effect.flatMap((rows) =>
          rows.length === 1
            ? Effect.succeed(stored(rows[0]!.key))
            : Effect.fail(new KeyStore.KeyStoreError({ message: `The key of subject ${JSON.stringify(subject)} is missing after it was stored` }))
        )
      ),
    destroy: (subject) =>
      sql<{ readonly destroyed: boolean }>`
        WITH old AS (SELECT key IS NOT NULL AS live FROM ${keys} WHERE subject = ${subject}),
        destroyed AS (
          INSERT INTO ${keys} (subject, key, destroyed_at) VALUES (${subject}, NULL, now())
          ON CONFLICT (subject) DO UPDATE SET key = NULL, destroyed_at = coalesce(${keys}.destroyed_at, now())
        )
        SELECT coalesce((SELECT live FROM old), false) AS destroyed`.pipe(
        retry,
        Effect.mapError(storeError(`Destroying the key of subject ${JSON.stringify(subject)}`)),
        Effect.map((rows) => rows[0]?.destroyed === true)
      )
  }, options?.keyWrapping, options)
})

/**
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<KeyStore.KeyStore, Tables.InvalidTableOptions, SqlClient.SqlClient> =>
  Layer.effect(KeyStore.KeyStore, make(options))
