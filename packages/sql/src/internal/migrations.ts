/**
 * Facta's migrations, in order, and its SQL functions (see `Migrations`). A migration that has been
 * released is frozen: `test/Migrations.test.ts` keeps the SQL each one sends.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type * as Tables from "../Tables.ts"
import * as ConditionChecks from "./conditionChecks.ts"
import * as ReadersGate from "./readersGate.ts"

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
 * events, and the table where conditions of types only record their keys.
 */
const addTags = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  const events = sql(tables.events)
  yield* sql`ALTER TABLE ${events} ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_tags`)} ON ${events} USING gin (tags) WITH (fastupdate = off) WHERE tags <> '{}'`
  yield* sql`ALTER TABLE ${sql(tables.parked)} ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.conditionHeads)} (
    key text PRIMARY KEY,
    transaction_id xid8 NOT NULL
  )`
})

/** Condition heads need not survive a crash: no transaction that could need them does. */
const unlogHeads = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE ${sql(tables.conditionHeads)} SET UNLOGGED`
})

/**
 * A conditional append records its keys on its first event, in a `guards` column (the first tag
 * of each item of its query): an append in an older transaction looks for a newer event guarding
 * one of its tags. Where the guards are among the event's own tags (the usual case) the tags index
 * finds it; other guards have a partial index of their own.
 */
const addGuards = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  const events = sql(tables.events)
  yield* sql`ALTER TABLE ${events} ADD COLUMN IF NOT EXISTS guards text[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE INDEX IF NOT EXISTS ${sql(`${unqualified}_guards`)} ON ${events} USING gin (guards) WITH (fastupdate = off)
    WHERE guards <> '{}' AND NOT (guards <@ tags)`
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

/** A migration whose functions `internal/sqlFunctions` keeps now. */
const functionsOnly = Effect.void

/** Every SQL function, in an order in which each finds those it calls. */
export const sqlFunctions = (tables: Tables.Tables) =>
  Effect.map(Effect.all([ReadersGate.functions(tables), ConditionChecks.functions(tables)]), (groups) => groups.flat())

/** The migrations by `<id>_<name>`, as the Migrator loads them. */
export const steps = (tables: Tables.Tables) => ({
  "1_create_tables": createTables(tables),
  "2_create_snapshots": createSnapshots(tables),
  "3_notify_from_store": notifyFromStore(tables),
  "4_create_parked": createParked(tables),
  "5_create_processor_status": createProcessorStatus(tables),
  "6_add_generations": addGenerations(tables),
  "7_add_tags": addTags(tables),
  "8_plan_conditions": unlogHeads(tables),
  "9_create_leases": createLeases(tables),
  "10_guard_conditions": addGuards(tables),
  "11_check_one_item": functionsOnly,
  "12_search_unordered": functionsOnly,
  "13_gate_appenders": functionsOnly,
  "14_functions_as_code": functionsAsCode(tables)
})
