/**
 * The tables, indexes and trigger Facta needs, as `effect/sql` Migrator migrations. Running them
 * is idempotent and safe from several processes at once (the Migrator locks its table). The store
 * layers run them on start; {@link run} is there for people who migrate separately.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import * as Tables from "./Tables.ts"

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

/** Appends announce themselves from the store (see SqlEventStore): the trigger goes. */
const notifyFromStore = Effect.fnUntraced(function*(tables: Tables.Tables) {
  const sql = yield* SqlClient.SqlClient
  const unqualified = tables.events.slice(tables.events.lastIndexOf(".") + 1)
  yield* sql`DROP TRIGGER IF EXISTS ${sql(`${unqualified}_notify`)} ON ${sql(tables.events)}`
  yield* sql`DROP FUNCTION IF EXISTS ${sql(`${tables.events}_notify`)}()`
})

/**
 * Creates the schema when needed and applies the pending migrations.
 *
 * @category utilities
 * @since 0.1.0
 */
export const run = Effect.fn("Migrations.run")(function*(options?: Tables.TableOptions) {
  const tables = yield* Tables.make(options)
  const sql = yield* SqlClient.SqlClient
  if (tables.schema !== undefined) yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(tables.schema)}`
  return yield* Migrator.make({})({
    table: tables.migrations,
    loader: Migrator.fromRecord({
      "1_create_tables": createTables(tables),
      "2_create_snapshots": createSnapshots(tables),
      "3_notify_from_store": notifyFromStore(tables),
      "4_create_parked": createParked(tables),
      "5_create_processor_status": createProcessorStatus(tables),
      "6_add_generations": addGenerations(tables)
    })
  })
})

/**
 * Applies the migrations when the layer is built.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Tables.TableOptions) => Layer.effectDiscard(run(options))
