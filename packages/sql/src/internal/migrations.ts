/**
 * Facta's migrations, in order, and its SQL functions (see `Migrations`). A migration that has been
 * released is frozen, and so is every builder it calls: `test/Migrations.test.ts` keeps the SQL
 * each one sends. The functions they made are kept by `internal/sqlFunctions` since migration 13,
 * which replaces them with their current definitions and drops those nothing calls.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type * as Tables from "../Tables.ts"
import * as ConditionChecks from "./conditionChecks.ts"
import * as EventStatements from "./eventStatements.ts"
import * as ReadersGate from "./readersGate.ts"

// -- Released: frozen, as they were released ----------------------------------------------------

const createTables = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = (name: string) => name.slice(name.lastIndexOf(".") + 1)
  // The global log is read in (transaction_id, position) order, and only below the oldest
  // running transaction: see SqlEventStore. Stream ids are unbounded text, so uniqueness of
  // (stream, version) is enforced on an md5 of the id, which fits any btree.
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.events)} (
    position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL,
    stream_key uuid NOT NULL GENERATED ALWAYS AS (md5(stream_id)::uuid) STORED,
    version bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  )`
  yield* sql`CREATE UNIQUE INDEX IF NOT EXISTS ${sql(`${unqualified(tables.events)}_stream`)}
    ON ${sql(tables.events)} (stream_key, version)`
  yield* sql`CREATE UNIQUE INDEX IF NOT EXISTS ${sql(`${unqualified(tables.events)}_log`)}
    ON ${sql(tables.events)} (transaction_id, position)`
  // One notification per appending statement, sent by Postgres at commit (never on rollback).
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_notify`)}() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify(${sql.literal(`'${tables.channel}'`)}, ''); RETURN NULL; END $$`
  yield* sql`DROP TRIGGER IF EXISTS ${sql(`${unqualified(tables.events)}_notify`)} ON ${sql(tables.events)}`
  yield* sql`CREATE TRIGGER ${sql(`${unqualified(tables.events)}_notify`)}
    AFTER INSERT ON ${sql(tables.events)} FOR EACH STATEMENT EXECUTE FUNCTION ${sql(`${tables.events}_notify`)}()`
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.projections)} (
    projection text NOT NULL,
    id text NOT NULL,
    document jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, id)
  )`
  // Positions are (transaction id << 64 | sequence): wider than bigint.
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.checkpoints)} (
    processor text PRIMARY KEY,
    position numeric(40, 0) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`
})

const createSnapshots = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.snapshots)} (
    stream_id text NOT NULL,
    stream_key uuid PRIMARY KEY GENERATED ALWAYS AS (md5(stream_id)::uuid) STORED,
    schema_version integer NOT NULL,
    version bigint NOT NULL,
    state jsonb NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
  )`
})

const createParked = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.parked)} (
    processor text NOT NULL,
    event_id uuid NOT NULL,
    transaction_id xid8 NOT NULL,
    position bigint NOT NULL,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL,
    error text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (processor, event_id)
  )`
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.parkedAudit)} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    processor text NOT NULL,
    event_id uuid NOT NULL,
    outcome text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
  )`
})

const createProcessorStatus = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.processorStatus)} (
    processor text NOT NULL,
    instance text NOT NULL,
    state text NOT NULL,
    position numeric(40, 0) NOT NULL,
    lag bigint NOT NULL,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (processor, instance)
  )`
})

/**
 * Blue-green rebuilds: documents are kept by generation, a table says which generation readers
 * see, and a checkpoint names the generation its processor writes.
 */
const addGenerations = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.projections.slice(tables.projections.lastIndexOf(".") + 1)
  yield* sql`ALTER TABLE ${sql(tables.projections)} ADD COLUMN IF NOT EXISTS generation integer NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE ${sql(tables.projections)} DROP CONSTRAINT IF EXISTS ${sql(`${unqualified}_pkey`)},
    ADD PRIMARY KEY (projection, generation, id)`
  yield* sql`ALTER TABLE ${sql(tables.checkpoints)} ADD COLUMN IF NOT EXISTS generation integer NOT NULL DEFAULT 0`
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.readModels)} (
    projection text PRIMARY KEY,
    generation integer NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT now()
  )`
})

/**
 * Tags and append conditions (see `SqlEventStore`): a tags column with an index of the tagged
 * events, and the function a conditional append calls to take its locks and then look for a
 * conflicting event with a snapshot taken after them (made by migration 8).
 */
const addTags = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  const events = sql(tables.events)
  yield* sql`ALTER TABLE ${events} ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_tags`)} ON ${events} USING gin (tags) WITH (fastupdate = off) WHERE tags <> '{}'`
  yield* sql`ALTER TABLE ${sql(tables.parked)} ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'`
  const heads = sql(tables.conditionHeads)
  yield* sql`CREATE TABLE IF NOT EXISTS ${heads} (
    key text PRIMARY KEY,
    transaction_id xid8 NOT NULL
  )`
  // An append inside a transaction has an id older than its statement: a conditional append on
  // one of its keys that committed meanwhile with a newer id decided without it, and would come
  // after it in the log. Such an append is refused, and its transaction runs again.
  const newerCondition = (keys: string) =>
    sql`EXISTS (SELECT 1 FROM ${heads} AS h WHERE h.key = ANY (${sql.literal(keys)}) AND h.transaction_id > pg_current_xact_id())`
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_lock_shared`)}(shared_keys text[], check_keys text[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(k.key)
      FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(shared_keys) AS key) AS k
      ORDER BY k.key;
      RETURN NOT ${newerCondition("check_keys")};
    END $$`
  // The condition function itself is made by migration 8.
})

/**
 * The condition's search, planned once: its first version matched a query given as JSON, a plan
 * Postgres estimated so dear that it made a custom plan for every call (a millisecond), and past
 * the JIT threshold once the log was analyzed, compiled one (8 ms: 165 conditional appends a
 * second). Now each item of the query is a simple search with a generic plan, JIT is off, and the
 * table of condition heads is unlogged: after a crash no transaction survives that could need it.
 */
const planConditions = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const events = sql(tables.events)
  const heads = sql(tables.conditionHeads)
  const name = sql(`${tables.events}_condition`)
  yield* sql`ALTER TABLE ${heads} SET UNLOGGED`
  yield* sql`DROP FUNCTION IF EXISTS ${name}(text[], text[], boolean, text[], text[], jsonb, text[], xid8, bigint)`
  const conflict = sql`jsonb_build_object('event_id', e.event_id, 'stream_id', e.stream_id, 'version', e.version, 'type', e.type,
      'transaction', e.transaction_id::text, 'position', e.position)`
  const matching = sql`(e.transaction_id, e.position) > (after_transaction, after_position)
          AND (cardinality(wanted_types) = 0 OR e.type = ANY (wanted_types))`
  // item_types and item_tags hold each item's types and tags as array literals, one per item.
  yield* sql`CREATE FUNCTION ${name}(
      exclusive_keys text[], shared_keys text[], lock_table boolean, head_keys text[], check_keys text[],
      item_types text[], item_tags text[], after_transaction xid8, after_position bigint
    ) RETURNS jsonb LANGUAGE plpgsql VOLATILE
    -- A plan made while the log is small (before it is analyzed) must not stay a scan of it.
    SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
    DECLARE
      first_conflict jsonb;
      first_transaction xid8;
      first_position bigint;
      candidate record;
      wanted_types text[];
      wanted_tags text[];
    BEGIN
      -- A query with an item of no tag (types only, or every event) locks the table against
      -- appends, which take no lock for untagged events, until the transaction ends.
      IF lock_table THEN
        LOCK TABLE ${events} IN EXCLUSIVE MODE;
      END IF;
      -- Exclusive locks for the query's tags and shared ones for the events' own, taken in one
      -- order, so that no two appends wait for each other in a cycle.
      IF cardinality(exclusive_keys) = 1 AND shared_keys <@ exclusive_keys THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(exclusive_keys[1], 0));
      ELSE
        PERFORM CASE WHEN k.exclusive THEN pg_advisory_xact_lock(k.key) ELSE pg_advisory_xact_lock_shared(k.key) END
        FROM (
          SELECT hashtextextended(keys.key, 0) AS key, bool_or(keys.exclusive) AS exclusive
          FROM (SELECT unnest(exclusive_keys) AS key, true AS exclusive UNION ALL SELECT unnest(shared_keys), false) AS keys
          GROUP BY 1
        ) AS k
        ORDER BY k.key;
      END IF;
      IF cardinality(check_keys) > 0
        AND EXISTS (SELECT 1 FROM ${heads} AS h WHERE h.key = ANY (check_keys) AND h.transaction_id > pg_current_xact_id()) THEN
        RETURN '{"retry": true}'::jsonb;
      END IF;
      -- Each query of a volatile function takes a snapshot of its own, after the locks: every
      -- append that held one of them before has committed, and is seen. The first matching
      -- event of each item; the earliest of them is the conflict.
      FOR i IN 1 .. coalesce(cardinality(item_tags), 0) LOOP
        wanted_types := item_types[i]::text[];
        wanted_tags := item_tags[i]::text[];
        IF cardinality(wanted_tags) > 0 THEN
          -- The tagged events by the tags index first (OFFSET 0 keeps the planner from scanning
          -- the log in order instead, past every other event).
          SELECT e.transaction_id, e.position, ${conflict} AS conflict INTO candidate FROM (
            SELECT * FROM ${events} AS tagged WHERE tagged.tags @> wanted_tags AND tagged.tags <> '{}' OFFSET 0
          ) AS e WHERE ${matching}
          ORDER BY e.transaction_id, e.position LIMIT 1;
        ELSE
          SELECT e.transaction_id, e.position, ${conflict} AS conflict INTO candidate FROM ${events} AS e WHERE ${matching}
          ORDER BY e.transaction_id, e.position LIMIT 1;
        END IF;
        IF FOUND AND (first_conflict IS NULL OR (candidate.transaction_id, candidate.position) < (first_transaction, first_position)) THEN
          first_conflict := candidate.conflict;
          first_transaction := candidate.transaction_id;
          first_position := candidate.position;
        END IF;
      END LOOP;
      IF first_conflict IS NULL THEN
        INSERT INTO ${heads} (key, transaction_id) SELECT DISTINCT unnest(head_keys), pg_current_xact_id()
        ON CONFLICT (key) DO UPDATE SET transaction_id = excluded.transaction_id;
      END IF;
      RETURN first_conflict;
    END $$`
})

/**
 * The parts of a check's search: the event it reports, the events that match an item without tags
 * (after the position, of its types), and those that match an item with tags, which the tags index
 * must find, whatever the size of the log when a session planned the search, and with no planner
 * settings set on the function (a function with SET clauses switches them on every call, which
 * cost conditional appends about 8% of their throughput at eight writers by pgbench). Two things
 * price every other plan out. The containment is stated three times: Postgres prices one of tags
 * it does not know (a generic plan's) at 0.5% of the log, and under a LIMIT would rather read the
 * log until the first match, from about 100,000 events on; three price the match at one row, and
 * the index looks each tag up once. And each event that passes is handed to `<events>_found`,
 * which is priced as dear as 100 operators: a scan of the log would pay that for every event
 * (on a log of a few events it would scan otherwise), the index only for the events it finds.
 */
const searchFragments = (sql: SqlClient.SqlClient, tables: Tables.Tables) => {
  const matching = sql`(e.transaction_id, e.position) > (after_transaction, after_position)
          AND (cardinality(wanted_types) = 0 OR e.type = ANY (wanted_types))`
  return {
    conflict: sql`jsonb_build_object('event_id', e.event_id, 'stream_id', e.stream_id, 'version', e.version, 'type', e.type,
      'transaction', e.transaction_id::text, 'position', e.position)`,
    matching,
    taggedMatching: sql`e.tags @> wanted_tags AND e.tags @> wanted_tags AND e.tags @> wanted_tags AND e.tags <> '{}'
          AND ${matching} AND ${sql(`${tables.events}_found`)}(e.tags)`
  }
}

/** True, at the price that keeps a search by tags on the tags index (see `searchFragments`). */
const createFound = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_found`)}(tags text[])
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 100 AS $$ BEGIN RETURN true; END $$`
})

/**
 * Conditions without a second write: a conditional append no longer records its keys in the
 * table of condition heads (an upsert that cost a quarter of its throughput at eight writers) but
 * on its first event, in a `guards` column: the first tag of each item of its query. An append in
 * an older transaction looks for a newer event guarding one of its tags. Where the guards are
 * among the event's own tags (the usual case) the tags index finds it and nothing more is
 * indexed; other guards have a partial index of their own. Conditions on types only, or on every
 * event, still record their keys as heads. The check is now called from the insert's condition
 * and raises its outcome (FC001: a conflict, its event as detail; FC002: run the transaction
 * again), so that a conditional append is the plain append's statement plus one call.
 */
const guardConditions = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  const events = sql(tables.events)
  const heads = sql(tables.conditionHeads)
  yield* sql`ALTER TABLE ${events} ADD COLUMN IF NOT EXISTS guards text[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_guards`)} ON ${events} USING gin (guards) WITH (fastupdate = off)
    WHERE guards <> '{}' AND NOT (guards <@ tags)`
  // Whether a conditional append on one of these keys or tags committed with a newer transaction
  // id: such an append decided without this transaction's events, which would come before it.
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_behind`)}(check_keys text[], check_tags text[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
    BEGIN
      RETURN EXISTS (SELECT 1 FROM ${heads} AS h WHERE h.key = ANY (check_keys) AND h.transaction_id > pg_current_xact_id())
        OR (cardinality(check_tags) > 0 AND (
          EXISTS (SELECT 1 FROM (SELECT * FROM ${events} AS tagged WHERE tagged.tags && check_tags AND tagged.tags <> '{}' OFFSET 0) AS e
            WHERE e.guards && check_tags AND e.transaction_id > pg_current_xact_id())
          OR EXISTS (SELECT 1 FROM (SELECT * FROM ${events} AS guarded WHERE guarded.guards && check_tags AND guarded.guards <> '{}'
              AND NOT (guarded.guards <@ guarded.tags) OFFSET 0) AS e
            WHERE e.transaction_id > pg_current_xact_id())));
    END $$`
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_lock_tags`)}(shared_keys text[], check_keys text[], check_tags text[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(k.key)
      FROM (SELECT DISTINCT hashtextextended(key, 0) AS key FROM unnest(shared_keys) AS key) AS k
      ORDER BY k.key;
      RETURN NOT ${sql(`${tables.events}_behind`)}(check_keys, check_tags);
    END $$`
  yield* createCheck(tables)
})

/**
 * The check of a conditional append (see `guardConditions`). A search by tags asks first whether
 * any event matches, unordered, and only a conflict looks for the first one: ordering the search,
 * even of no rows, cost conditional appends about 5% of their throughput at eight writers (pgbench).
 */
const createCheck = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const { conflict, matching, taggedMatching } = searchFragments(sql, tables)
  const events = sql(tables.events)
  const heads = sql(tables.conditionHeads)
  yield* createFound(tables)
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_check`)}(
      exclusive_keys text[], shared_keys text[], lock_table boolean, head_keys text[], check_keys text[], check_tags text[],
      first_types text[], first_tags text[], item_types text[], item_tags text[], after_transaction xid8, after_position bigint
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
    BEGIN
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
      -- The first item comes as arrays of its own (null for a query of no item), the others as
      -- array literals, one per item: a query of one item, the usual, parses nothing.
      FOR i IN CASE WHEN first_tags IS NULL THEN 1 ELSE 0 END .. coalesce(cardinality(item_tags), 0) LOOP
        IF i = 0 THEN
          wanted_types := first_types;
          wanted_tags := first_tags;
        ELSE
          wanted_types := item_types[i]::text[];
          wanted_tags := item_tags[i]::text[];
        END IF;
        IF cardinality(wanted_tags) > 0 THEN
          PERFORM FROM ${events} AS e WHERE ${taggedMatching} LIMIT 1;
          -- Nothing matches this item: on to the next, before reading a record left unassigned.
          CONTINUE WHEN NOT FOUND;
          SELECT e.transaction_id, e.position, ${conflict} AS conflict INTO candidate FROM ${events} AS e WHERE ${taggedMatching}
          ORDER BY e.transaction_id, e.position LIMIT 1;
        ELSE
          SELECT e.transaction_id, e.position, ${conflict} AS conflict INTO candidate FROM ${events} AS e WHERE ${matching}
          ORDER BY e.transaction_id, e.position LIMIT 1;
        END IF;
        IF FOUND AND (first_conflict IS NULL OR (candidate.transaction_id, candidate.position) < (first_transaction, first_position)) THEN
          first_conflict := candidate.conflict;
          first_transaction := candidate.transaction_id;
          first_position := candidate.position;
        END IF;
      END LOOP;
      IF first_conflict IS NOT NULL THEN
        RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'FC001', DETAIL = first_conflict::text;
      END IF;
      IF cardinality(head_keys) > 0 THEN
        INSERT INTO ${heads} (key, transaction_id) SELECT DISTINCT unnest(head_keys), pg_current_xact_id()
        ON CONFLICT (key) DO UPDATE SET transaction_id = excluded.transaction_id;
      END IF;
      RETURN true;
    END $$`
})

/**
 * The usual condition in a check of its own: a query of one item with tags, appended outside a
 * transaction (`_check` serves every other shape). It takes six values instead of twelve and
 * skips the branches it cannot need, which was a tenth of a conditional append's time in
 * Postgres. Its locks are taken in the same order as `_check` takes them. It sets no planner
 * settings of its own (see `searchFragments`): its one search needs none, and Postgres switches
 * them on every call of a function that has any.
 */
const createCheckItem = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const { conflict, taggedMatching } = searchFragments(sql, tables)
  const events = sql(tables.events)
  yield* createFound(tables)
  yield* sql`CREATE OR REPLACE FUNCTION ${sql(`${tables.events}_check_item`)}(
      exclusive_key text, shared_keys text[], wanted_types text[], wanted_tags text[], after_transaction xid8, after_position bigint
    ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      locked text;
      candidate record;
    BEGIN
      -- The events' own tags other than the exclusive one, usually none. One lock is taken by an
      -- assignment rather than PERFORM: a simple expression runs without a query's executor.
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
      -- A snapshot taken after the locks (see _check); unordered, as there.
      PERFORM FROM ${events} AS e WHERE ${taggedMatching} LIMIT 1;
      IF FOUND THEN
        SELECT ${conflict} AS conflict INTO candidate FROM ${events} AS e WHERE ${taggedMatching}
        ORDER BY e.transaction_id, e.position LIMIT 1;
        RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'FC001', DETAIL = candidate.conflict::text;
      END IF;
      RETURN true;
    END $$`
})

/** The checks, made anew for a log made before their search was unordered (see `createCheck`). */
const searchUnordered = Effect.fnUntraced(function*(tables: Tables.Tables) {
  yield* createCheck(tables)
  yield* createCheckItem(tables)
})

/**
 * Processor leases that expire unless renewed, with an epoch raised by every take (see
 * `SqlLease`). They replace session advisory locks, which a frozen holder kept indefinitely.
 */
const createLeases = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.leases)} (
    name text PRIMARY KEY,
    owner text,
    epoch bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    taken_at timestamptz
  )`
})

/** Appends announce themselves from the store (see SqlEventStore): the trigger goes. */
const notifyFromStore = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  yield* sql`DROP TRIGGER IF EXISTS ${sql(`${unqualified}_notify`)} ON ${sql(tables.events)}`
  yield* sql`DROP FUNCTION IF EXISTS ${sql(`${tables.events}_notify`)}()`
})

// -- Not released yet ---------------------------------------------------------------------------

/**
 * The functions table (see `internal/sqlFunctions`), and no function that nothing calls: those of
 * conditions before their guards (`_condition`, `_lock_shared`), and the checks' signatures before
 * conditions could start from a snapshot.
 */
const functionsAsCode = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const named = (suffix: string) => sql(`${tables.events}_${suffix}`)
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.functions)} (
    name text PRIMARY KEY,
    hash text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`
  yield* sql`DROP FUNCTION IF EXISTS ${named("condition")}(text[], text[], boolean, text[], text[], text[], text[], xid8, bigint)`
  yield* sql`DROP FUNCTION IF EXISTS ${named("condition")}(text[], text[], boolean, text[], text[], jsonb, text[], xid8, bigint)`
  yield* sql`DROP FUNCTION IF EXISTS ${named("lock_shared")}(text[], text[])`
  yield* sql`DROP FUNCTION IF EXISTS ${named("check")}(text[], text[], boolean, text[], text[], text[], text[], text[], text[], text[], xid8, bigint)`
  yield* sql`DROP FUNCTION IF EXISTS ${named("check_item")}(text, text[], text[], text[], xid8, bigint)`
})

/**
 * The cold archive of events moved out of the live log (see `SqlStreamLifecycle`): the events'
 * columns, and when each moved. A stream's versions are never given twice, so they key it.
 */
const createArchive = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.archive)} (
    stream_key uuid NOT NULL,
    version bigint NOT NULL,
    stream_id text NOT NULL,
    position bigint NOT NULL,
    transaction_id xid8 NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    archived_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_key, version)
  )`
})

/**
 * Stream ids in byte order, for listing streams by a skip scan (see `readStatements.listStreams`)
 * rather than a read of every event. A btree entry holds at most about 2.7 kB, and an id may be
 * longer: ids of more than 2,000 bytes are indexed by their stream's key instead, to be sorted
 * when listed (they are rare).
 */
const indexStreamIds = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  const events = sql(tables.events)
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_stream_ids`)} ON ${events} (stream_id COLLATE "C")
    WHERE octet_length(stream_id) <= 2000`
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_long_stream_ids`)} ON ${events} (stream_key)
    WHERE octet_length(stream_id) > 2000`
})

/**
 * The data keys of personal data: one row per subject, its key (base64, wrapped) until it is
 * destroyed; the row stays, so a forgotten subject is known from an unknown one.
 */
const createKeys = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.keys)} (
    subject text PRIMARY KEY,
    key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz
  )`
})

/** Every SQL function, in an order in which each finds those it calls. */
export const sqlFunctions = (tables: Tables.Tables) =>
  Effect.map(Effect.all([ReadersGate.functions(tables), ConditionChecks.functions(tables), EventStatements.functions(tables)]), (groups) => groups.flat())

/** The migrations by `<id>_<name>`, as the Migrator loads them. */
export const steps = (tables: Tables.Tables) => ({
  "1_create_tables": createTables(tables),
  "2_create_snapshots": createSnapshots(tables),
  "3_notify_from_store": notifyFromStore(tables),
  "4_create_parked": createParked(tables),
  "5_create_processor_status": createProcessorStatus(tables),
  "6_add_generations": addGenerations(tables),
  "7_add_tags": addTags(tables),
  "8_plan_conditions": planConditions(tables),
  "9_create_leases": createLeases(tables),
  "10_guard_conditions": guardConditions(tables),
  "11_check_one_item": createCheckItem(tables),
  "12_search_unordered": searchUnordered(tables),
  "13_functions_as_code": functionsAsCode(tables),
  "14_create_archive": createArchive(tables),
  "15_index_stream_ids": indexStreamIds(tables),
  "16_create_keys": createKeys(tables)
})
