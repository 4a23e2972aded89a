/**
 * What every SQL store opens with: the client in context, the names of its tables, and the retry
 * of its statements after a transient failure.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { EventStore } from "@facta/core"
import * as Retries from "../Retries.ts"
import * as Tables from "../Tables.ts"
import { retrying } from "./transient.ts"

/**
 * `safe` says which transient failures a statement may be tried again after: every one by
 * default, for stores whose statements are idempotent (upserts, deletes, compare-and-sets).
 */
export const open = (
  options: (Tables.TableOptions & Retries.RetryOptions) | undefined,
  safe?: (transient: EventStore.Transient) => boolean
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* Tables.make(options)
    return { sql, tables, retry: retrying(sql, options?.retry ?? Retries.defaultSchedule, safe) }
  })
