/**
 * Facta's SQL functions are code, not migrations. Each is defined beside the statements that call
 * it (`readersGate`, `conditionChecks`, `eventStatements`); {@link apply} creates or replaces
 * every one whose definition differs from the one the database last got, kept by name and hash in
 * the functions table. So a changed body reaches every database, old or new, and migrations stay
 * frozen: they create tables, columns and indexes, and drop a function whose signature is gone.
 *
 * A body must keep serving callers of the previous release while an upgrade rolls out: a call
 * that means something new takes a new signature (and a migration drops the old one later).
 */
import { createHash } from "node:crypto"
import { Effect } from "effect"
import { SqlClient, type Statement } from "effect/sql"

export interface SqlFunction {
  /** Its name, qualified like the tables. */
  readonly name: string
  /** Its `CREATE OR REPLACE FUNCTION` statement. */
  readonly definition: Statement.Statement<unknown>
}

/** A definition's fingerprint: its SQL text as it is sent. */
export const hashOf = (definition: Statement.Statement<unknown>): string => {
  const [text, params] = definition.compile()
  return createHash("sha256").update(text).update(JSON.stringify(params)).digest("hex")
}

/**
 * Creates or replaces the functions whose definitions changed, in one transaction. Processes that
 * start together wait for the one that applies them (the table's lock) and then find them
 * applied; a database that is up to date costs one read.
 */
export const apply = Effect.fnUntraced(function*(table: string, functions: ReadonlyArray<SqlFunction>) {
  const sql = yield* SqlClient.SqlClient
  const wanted = functions.map((fn) => ({ ...fn, hash: hashOf(fn.definition) }))
  const applied = sql<{ readonly name: string; readonly hash: string }>`SELECT name, hash FROM ${sql(table)}`
  const stale = (rows: ReadonlyArray<{ readonly name: string; readonly hash: string }>) => {
    const hashes = new Map(rows.map((row) => [row.name, row.hash]))
    return wanted.filter((fn) => hashes.get(fn.name) !== fn.hash)
  }
  if (stale(yield* applied).length === 0) return
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`LOCK TABLE ${sql(table)} IN EXCLUSIVE MODE`
    for (const fn of stale(yield* applied)) {
      yield* fn.definition
      yield* sql`INSERT INTO ${sql(table)} (name, hash) VALUES (${fn.name}, ${fn.hash})
        ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, applied_at = now()`
    }
  }))
})
