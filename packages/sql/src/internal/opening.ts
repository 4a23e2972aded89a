/**
 * What every SQL store opens with: the client in context, the names of its tables, and the retry
 * of its statements after a transient failure.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { EventStore } from "@facta/core"
import * as Tables from "../Tables.ts"
import { defaultSchedule, retrying } from "./transient.ts"

/**
 * `safe` says which transient failures a statement may be tried again after: every one by
 * default, for stores whose statements are idempotent (upserts, deletes, compare-and-sets).
 */
export const open = (
  options: (Tables.TableOptions & Tables.RetryOptions) | undefined,
  safe?: (transient: EventStore.Transient) => boolean
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* Tables.make(options)
    return { sql, tables, retry: retrying(sql, options?.retry ?? defaultSchedule, safe) }
  })
