/**
 * The readers' gate: how far a reader of the log may go without an event appearing behind it
 * later, and what an append does so that the gate stays exact.
 *
 * The log is ordered by the writers' transaction ids, which are taken in one order and committed
 * in another. A reader therefore stops below the oldest transaction that may still append events.
 * Which ones may: every transaction that holds the events table's RowExclusiveLock (an INSERT
 * takes it first, and keeps it to the end of its transaction) or has said it may append (a shared
 * advisory lock of the table's, which conflicts with nothing), as `pg_locks` shows them. Any other
 * transaction of the cluster (autovacuum, another database, a read-only or unrelated one) is
 * passed by.
 *
 * One case needs the appender's help: a transaction that took its id before it appends (it wrote
 * elsewhere first), and was passed by a reader meanwhile. Its first append (or a first call of
 * `<events>_appending()`, which the `Transactor` makes at the start of each of its transactions on
 * a server) looks for an event committed with a newer id than its own; if
 * there is one, a reader may have passed it, and the append is refused with a "run again"
 * (FC002, `RetryTransaction`). Otherwise it marks its transaction as appending (a setting local
 * to the transaction), takes the advisory lock of `appendingLock`, and is waited for from then on.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlFunction } from "./sqlFunctions.ts"
import type * as Tables from "../Tables.ts"

/** The function that gives the gate: readers read the log below the transaction id it returns. */
const gateFunction = (tables: Tables.Tables) => `${tables.events}_gate`

/** The function an append in a transaction calls first (see the module's doc). */
const appendingFunction = (tables: Tables.Tables) => `${tables.events}_appending`

/** The transaction-local setting that says the transaction appends to this table. */
const appendingSetting = (tables: Tables.Tables) => `facta.${tables.events.replace(".", "__")}_appending`

/**
 * The advisory lock (two int4 keys: `pg_locks` shows them as classid, objid, objsubid 2) a
 * transaction takes, shared, to say it may append to the table: "Fact", and the table's name
 * hashed (FNV-1a).
 */
export const appendingLock = (tables: Tables.Tables): readonly [number, number] => {
  let hash = 0x811c9dc5
  for (let i = 0; i < tables.events.length; i++) {
    hash ^= tables.events.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return [0x46616374, (hash >>> 0) & 0x7fffffff]
}

/**
 * The gate and the appenders' check, as SQL functions (see `sqlFunctions`).
 *
 * The gate, in the caller's snapshot S: S's upper bound (`xmax`) when nothing runs; otherwise the
 * oldest transaction running in S, leaving out those that `pg_locks` shows still running without
 * the events table's lock or the advisory lock of `appendingLock`. A transaction
 * that S saw running but that has ended since is kept in (its events are not in S): the next read
 * passes it. The lock table is read only when some transaction runs.
 */
export const functions = Effect.fnUntraced(function*(tables: Tables.Tables): Effect.fn.Return<ReadonlyArray<SqlFunction>, never, SqlClient.SqlClient> {
  const sql = yield* SqlClient.SqlClient
  const events = sql(tables.events)
  const table = sql.literal(`'${tables.events.replace(/'/g, "''")}'`)
  const setting = sql.literal(`'${appendingSetting(tables)}'`)
  const [lockClass, lockObject] = appendingLock(tables).map((key) => sql.literal(String(key)))
  // PL/pgSQL keeps the query's plan for the session (a SQL function's is made again on every call,
  // which cost a read of the log more than the rest of its statement); STABLE, it runs in the
  // caller's snapshot.
  const gate = sql`CREATE OR REPLACE FUNCTION ${sql(gateFunction(tables))}() RETURNS xid8 LANGUAGE plpgsql STABLE AS $$
    BEGIN
    RETURN (SELECT CASE WHEN pg_snapshot_xmin(s.snapshot) = pg_snapshot_xmax(s.snapshot) THEN pg_snapshot_xmax(s.snapshot) ELSE coalesce((
      WITH locks AS MATERIALIZED (
        SELECT locktype, database, relation, classid, objid, objsubid, transactionid, virtualtransaction, mode FROM pg_locks
        WHERE locktype IN ('relation', 'transactionid', 'advisory')
      )
      SELECT min(running) FROM pg_snapshot_xip(s.snapshot) AS running
      WHERE xid(running) NOT IN (
        SELECT idle.transactionid FROM locks AS idle
        WHERE idle.locktype = 'transactionid' AND idle.transactionid IS NOT NULL AND idle.virtualtransaction NOT IN (
          SELECT appending.virtualtransaction FROM locks AS appending
          WHERE appending.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND (
            (appending.locktype = 'relation' AND appending.mode = 'RowExclusiveLock' AND appending.relation = ${table}::regclass)
            OR (appending.locktype = 'advisory' AND appending.classid = ${lockClass} AND appending.objid = ${lockObject} AND appending.objsubid = 2))
        )
      )
    ), pg_snapshot_xmax(s.snapshot)) END
    FROM (SELECT pg_current_snapshot() AS snapshot) AS s);
    END $$`
  const appending = sql`CREATE OR REPLACE FUNCTION ${sql(appendingFunction(tables))}() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      mine xid8;
    BEGIN
      IF current_setting(${setting}, true) = 'on' THEN
        RETURN true;
      END IF;
      -- Held from here to the end of the transaction: readers wait for it from now on. (Not the
      -- table's lock: a condition that locks the table takes it before its insert.)
      PERFORM pg_advisory_xact_lock_shared(${lockClass}, ${lockObject});
      mine := pg_current_xact_id_if_assigned();
      -- A query of a volatile function sees what committed before it, after the lock.
      IF mine IS NOT NULL AND EXISTS (SELECT 1 FROM ${events} WHERE transaction_id > mine) THEN
        RAISE EXCEPTION 'a transaction older than an event readers may have passed cannot append' USING ERRCODE = 'FC002';
      END IF;
      PERFORM set_config(${setting}, 'on', true);
      RETURN true;
    END $$`
  // An append in a transaction takes its locks here: it checks itself first.
  const lockTags = sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_lock_tags`)}(shared_keys text[], check_keys text[], check_tags text[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      PERFORM ${sql(appendingFunction(tables))}();
      PERFORM pg_advisory_xact_lock_shared(k.key)
      FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(shared_keys) AS key) AS k
      ORDER BY k.key;
      RETURN NOT ${sql(`${tables.events}_behind`)}(check_keys, check_tags);
    END $$`
  return [
    { name: gateFunction(tables), definition: gate },
    { name: appendingFunction(tables), definition: appending },
    { name: `${tables.events}_lock_tags`, definition: lockTags }
  ]
})
