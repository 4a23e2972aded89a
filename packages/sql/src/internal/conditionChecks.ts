/**
 * The checks of conditional appends, as SQL functions (see `sqlFunctions`); `eventStatements`
 * calls them from the append's insert. A check takes the condition's locks, then looks, with a
 * snapshot taken after them, for an event matching the query after the condition's start, and
 * raises FC001 (a conflict, the first such event as its detail) or FC002 (run the transaction
 * again).
 *
 * - A condition may start from the snapshot its read was made in (`after_snapshot`): a matching
 *   event conflicts when its transaction is not visible in that snapshot, so a decision read
 *   without the readers' gate (everything committed before it) conflicts exactly with what it did
 *   not see. Without a snapshot, the condition starts after a position.
 * - The events after the condition's start are looked at first, by the log's index, up to
 *   {@link recentLimit}: usually they are few (those appended since the decision's read) and the
 *   check is done without the tags index, whose search costs in proportion to the events carrying
 *   the tag. Only when there are more, or the condition starts at the beginning of the log, is
 *   the tags index searched.
 * - That search must keep to the tags index whatever the size of the log when a session planned
 *   it, with no planner settings on `_check_item` (a function with SET clauses switches them on
 *   every call, about 8% of a conditional append's throughput at eight writers). Two things price
 *   every other plan out: the containment is stated three times (Postgres prices one of tags it
 *   does not know, a generic plan's, at 0.5% of the log, and under a LIMIT would rather read the
 *   log until the first match), and each event that passes is handed to `<events>_found`, priced
 *   as dear as 100 operators, which a scan of the log would pay for every event.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type * as Tables from "../Tables.ts"
import type { SqlFunction } from "./sqlFunctions.ts"

/** Events after the condition's start looked at by the log's index before the tags index is searched. */
export const recentLimit = 32

const fragments = (sql: SqlClient.SqlClient, tables: Tables.Tables) => {
  const unseen = sql`(after_snapshot IS NULL OR NOT pg_visible_in_snapshot(e.transaction_id, after_snapshot))`
  const matching = sql`(e.transaction_id, e.position) > (after_transaction, after_position)
          AND (cardinality(wanted_types) = 0 OR e.type = ANY (wanted_types)) AND ${unseen}`
  return {
    conflict: sql`jsonb_build_object('event_id', e.event_id, 'stream_id', e.stream_id, 'version', e.version, 'type', e.type,
      'transaction', e.transaction_id::text, 'position', e.position)`,
    matching,
    taggedMatching: sql`e.tags @> wanted_tags AND e.tags @> wanted_tags AND e.tags @> wanted_tags AND e.tags <> '{}'
          AND ${matching} AND ${sql(`${tables.events}_found`)}(e.tags)`,
    // A snapshot's own start: every transaction from its oldest running one on may be unseen.
    fromSnapshot: sql`IF after_snapshot IS NOT NULL THEN
        after_transaction := pg_snapshot_xmin(after_snapshot);
        after_position := -1;
      END IF`,
    recent: sql`SELECT e.transaction_id, e.position, e.type, e.tags FROM ${sql(tables.events)} AS e
        WHERE (e.transaction_id, e.position) > (after_transaction, after_position)
        ORDER BY e.transaction_id, e.position LIMIT ${sql.literal(String(recentLimit))}`,
    candidateUnseen: sql`(after_snapshot IS NULL OR NOT pg_visible_in_snapshot(candidate.transaction_id, after_snapshot))`,
    fromStart: sql`after_transaction = '0'::xid8 AND after_position = 0`
  }
}

/** The general check (any query; in a transaction or not). */
const check = (sql: SqlClient.SqlClient, tables: Tables.Tables) => {
  const { candidateUnseen, conflict, fromSnapshot, fromStart, matching, recent, taggedMatching } = fragments(sql, tables)
  const events = sql(tables.events)
  const heads = sql(tables.conditionHeads)
  // The first item comes as arrays of its own (null for a query of no item), the others as array
  // literals, one per item.
  const eachItem = sql`FOR i IN CASE WHEN first_tags IS NULL THEN 1 ELSE 0 END .. coalesce(cardinality(item_tags), 0) LOOP
            IF i = 0 THEN
              wanted_types := first_types;
              wanted_tags := first_tags;
            ELSE
              wanted_types := item_types[i]::text[];
              wanted_tags := item_tags[i]::text[];
            END IF;`
  return sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_check`)}(
      exclusive_keys text[], shared_keys text[], lock_table boolean, head_keys text[], check_keys text[], check_tags text[],
      first_types text[], first_tags text[], item_types text[], item_tags text[], after_transaction xid8, after_position bigint,
      after_snapshot pg_snapshot
    ) RETURNS boolean LANGUAGE plpgsql VOLATILE
    SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
    DECLARE
      locked text;
      first_conflict jsonb;
      first_transaction xid8;
      first_position bigint;
      candidate record;
      wanted_types text[];
      wanted_tags text[];
      looked integer := 0;
    BEGIN
      -- Only an append in a transaction checks keys: it checks itself first (see readersGate).
      IF cardinality(check_keys) > 0 THEN
        PERFORM ${sql(`${tables.events}_appending`)}();
      END IF;
      IF lock_table THEN
        LOCK TABLE ${events} IN EXCLUSIVE MODE;
      END IF;
      IF cardinality(exclusive_keys) = 1 AND shared_keys <@ exclusive_keys THEN
        locked := pg_advisory_xact_lock(hashtextextended(exclusive_keys[1], 0))::text;
      ELSE
        PERFORM CASE WHEN k.exclusive THEN pg_advisory_xact_lock(k.key) ELSE pg_advisory_xact_lock_shared(k.key) END
        FROM (
          SELECT hashtextextended(keys.key, 0) AS key, bool_or(keys.exclusive) AS exclusive
          FROM (SELECT unnest(exclusive_keys) AS key, true AS exclusive UNION ALL SELECT unnest(shared_keys), false) AS keys
          GROUP BY 1
        ) AS k
        ORDER BY k.key;
      END IF;
      IF cardinality(check_keys) > 0 AND ${sql(`${tables.events}_behind`)}(check_keys, check_tags) THEN
        RAISE EXCEPTION 'behind a newer conditional append' USING ERRCODE = 'FC002';
      END IF;
      ${fromSnapshot};
      -- The events since the start, in log order: the first that matches an item is the conflict.
      IF NOT (${fromStart}) THEN
        FOR candidate IN ${recent} LOOP
          looked := looked + 1;
          CONTINUE WHEN NOT ${candidateUnseen};
          ${eachItem}
            IF (cardinality(wanted_types) = 0 OR candidate.type = ANY (wanted_types)) AND candidate.tags @> wanted_tags THEN
              first_transaction := candidate.transaction_id;
              first_position := candidate.position;
              EXIT;
            END IF;
          END LOOP;
          EXIT WHEN first_transaction IS NOT NULL;
        END LOOP;
      END IF;
      IF first_transaction IS NULL AND (${fromStart} OR looked >= ${sql.literal(String(recentLimit))}) THEN
        ${eachItem}
          IF cardinality(wanted_tags) > 0 THEN
            PERFORM FROM ${events} AS e WHERE ${taggedMatching} LIMIT 1;
            CONTINUE WHEN NOT FOUND;
            SELECT e.transaction_id, e.position INTO candidate FROM ${events} AS e WHERE ${taggedMatching}
            ORDER BY e.transaction_id, e.position LIMIT 1;
          ELSE
            SELECT e.transaction_id, e.position INTO candidate FROM ${events} AS e WHERE ${matching}
            ORDER BY e.transaction_id, e.position LIMIT 1;
            CONTINUE WHEN NOT FOUND;
          END IF;
          IF first_transaction IS NULL OR (candidate.transaction_id, candidate.position) < (first_transaction, first_position) THEN
            first_transaction := candidate.transaction_id;
            first_position := candidate.position;
          END IF;
        END LOOP;
      END IF;
      IF first_transaction IS NOT NULL THEN
        SELECT ${conflict} INTO first_conflict FROM ${events} AS e WHERE e.transaction_id = first_transaction AND e.position = first_position;
        RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'FC001', DETAIL = first_conflict::text;
      END IF;
      IF cardinality(head_keys) > 0 THEN
        INSERT INTO ${heads} (key, transaction_id) SELECT DISTINCT unnest(head_keys), pg_current_xact_id()
        ON CONFLICT (key) DO UPDATE SET transaction_id = excluded.transaction_id;
      END IF;
      RETURN true;
    END $$`
}

/** The usual condition: a query of one item with tags, outside a transaction. */
const checkItem = (sql: SqlClient.SqlClient, tables: Tables.Tables) => {
  const { candidateUnseen, conflict, fromSnapshot, fromStart, recent, taggedMatching } = fragments(sql, tables)
  const events = sql(tables.events)
  const recentMatch = sql`${candidateUnseen} AND candidate.tags @> wanted_tags AND (cardinality(wanted_types) = 0 OR candidate.type = ANY (wanted_types))`
  return sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_check_item`)}(
      exclusive_key text, shared_keys text[], wanted_types text[], wanted_tags text[], after_transaction xid8, after_position bigint,
      after_snapshot pg_snapshot
    ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      locked text;
      hit record;
      looked integer := 0;
      matched boolean;
    BEGIN
      IF cardinality(shared_keys) = 0 THEN
        locked := pg_advisory_xact_lock(hashtextextended(exclusive_key, 0))::text;
      ELSE
        PERFORM CASE WHEN k.exclusive THEN pg_advisory_xact_lock(k.key) ELSE pg_advisory_xact_lock_shared(k.key) END
        FROM (
          SELECT hashtextextended(keys.key, 0) AS key, bool_or(keys.exclusive) AS exclusive
          FROM (SELECT exclusive_key AS key, true AS exclusive UNION ALL SELECT unnest(shared_keys), false) AS keys
          GROUP BY 1
        ) AS k
        ORDER BY k.key;
      END IF;
      ${fromSnapshot};
      IF NOT (${fromStart}) THEN
        -- One query: most calls find fewer than the limit and no match, and stop here.
        SELECT count(*), coalesce(bool_or(${recentMatch}), false) INTO looked, matched FROM (${recent}) AS candidate;
        IF matched THEN
          SELECT ${conflict} AS conflict INTO hit FROM (${recent}) AS candidate
          JOIN ${events} AS e ON e.transaction_id = candidate.transaction_id AND e.position = candidate.position
          WHERE ${recentMatch}
          ORDER BY candidate.transaction_id, candidate.position LIMIT 1;
          RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'FC001', DETAIL = hit.conflict::text;
        END IF;
        IF looked < ${sql.literal(String(recentLimit))} THEN
          RETURN true;
        END IF;
      END IF;
      PERFORM FROM ${events} AS e WHERE ${taggedMatching} LIMIT 1;
      IF FOUND THEN
        SELECT ${conflict} AS conflict INTO hit FROM ${events} AS e WHERE ${taggedMatching}
        ORDER BY e.transaction_id, e.position LIMIT 1;
        RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'FC001', DETAIL = hit.conflict::text;
      END IF;
      RETURN true;
    END $$`
}

/** True, at the price that keeps a search by tags on the tags index (see `fragments`). */
const found = (sql: SqlClient.SqlClient, tables: Tables.Tables) =>
  sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_found`)}(tags text[])
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 100 AS $$ BEGIN RETURN true; END $$`

/**
 * Whether a conditional append on one of these keys (a query of types only records its keys as
 * condition heads) or guarding one of these tags (on its first event's `guards`) committed with a
 * newer transaction id: it decided without this transaction's events, which would come before it.
 */
const behind = (sql: SqlClient.SqlClient, tables: Tables.Tables) => {
  const events = sql(tables.events)
  return sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_behind`)}(check_keys text[], check_tags text[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
    BEGIN
      RETURN EXISTS (SELECT 1 FROM ${sql(tables.conditionHeads)} AS h WHERE h.key = ANY (check_keys) AND h.transaction_id > pg_current_xact_id())
        OR (cardinality(check_tags) > 0 AND (
          EXISTS (SELECT 1 FROM (SELECT * FROM ${events} AS tagged WHERE tagged.tags && check_tags AND tagged.tags <> '{}' OFFSET 0) AS e
            WHERE e.guards && check_tags AND e.transaction_id > pg_current_xact_id())
          OR EXISTS (SELECT 1 FROM (SELECT * FROM ${events} AS guarded WHERE guarded.guards && check_tags AND guarded.guards <> '{}'
              AND NOT (guarded.guards <@ guarded.tags) OFFSET 0) AS e
            WHERE e.transaction_id > pg_current_xact_id())));
    END $$`
}

/** The checks' functions (see `sqlFunctions`). */
export const functions = Effect.fnUntraced(function*(tables: Tables.Tables): Effect.fn.Return<ReadonlyArray<SqlFunction>, never, SqlClient.SqlClient> {
  const sql = yield* SqlClient.SqlClient
  return [
    { name: `${tables.events}_found`, definition: found(sql, tables) },
    { name: `${tables.events}_behind`, definition: behind(sql, tables) },
    { name: `${tables.events}_check`, definition: check(sql, tables) },
    { name: `${tables.events}_check_item`, definition: checkItem(sql, tables) }
  ]
})
