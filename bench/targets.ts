/**
 * The stores a benchmark runs against, each as a `ManagedRuntime`: a Postgres server and embedded
 * PGlite (Facta's SQL stores plus the `SqlClient` they use, which the baselines use too) and the
 * in-memory store.
 *
 * Every SQL target gets a fresh `bench` schema holding Facta's tables and baseline tables made
 * with `CREATE TABLE ... (LIKE facta_... INCLUDING ALL)`: a copy of the events table (the same
 * columns, defaults, generated column, identity and indexes, but not its NOTIFY trigger), and of
 * the projections and checkpoints tables for the projection baseline. The copies are taken from
 * the live tables, so the baselines keep up when Facta's migrations change.
 *
 * Every target provides all of Facta's store services (`InMemory.Services`: event, projection,
 * checkpoint and snapshot stores, transactor, lease), so processors and snapshots run on it too.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Queue, Redacted, type Scope } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { type EventStore, InMemory } from "@facta/core"
import { Embedded, PgliteClient, Postgres, Tables } from "@facta/sql"
import * as ServerCpu from "./serverCpu.ts"

export const schema = "bench"

/** `FACTA_BENCH_GROUP_COMMIT`: `off`, or the statements in flight at once; unset, the store's default. */
// `FACTA_BENCH_APPEND_BY_FUNCTION=1`: the server's single appends by the SQL function PGlite uses.
const groupCommitOf = (setting: string | undefined) =>
  setting === undefined || setting === "" ? {} : setting === "off" ? { groupCommit: false as const } : { groupCommit: { inFlight: Number(setting) } }

/** Facta's tables and the baseline copies, schema-qualified. */
export interface BenchTables {
  readonly events: string
  readonly projections: string
  readonly checkpoints: string
  readonly baseline: string
  readonly baselineProjections: string
  readonly baselineCheckpoints: string
}

/** What every target's runtime provides: all of Facta's store services. */
export type Services = InMemory.Services

export interface SqlTarget {
  readonly kind: "sql"
  readonly store: "server" | "pglite"
  readonly run: <A, E>(effect: Effect.Effect<A, E, Services | SqlClient.SqlClient>) => Promise<A>
  readonly tables: BenchTables
  /** Listens on a channel and calls `f` with each payload until the scope closes (raw LISTEN). */
  readonly onNotify: (channel: string, f: (payload: string) => void) => Effect.Effect<void, SqlError.SqlError, Scope.Scope>
  /** Sends a raw NOTIFY. */
  readonly notify: (channel: string, payload: string) => Effect.Effect<void, SqlError.SqlError>
  /** `SHOW server_version`. */
  readonly serverVersion: string
  /** False for PGlite, which is one session: concurrent writers take turns. */
  readonly concurrentSessions: boolean
  readonly pollInterval: string
  /**
   * A second, independent store on the same database (its own pool and listener), standing in
   * for another process: it only learns of this target's appends through NOTIFY or polling.
   * Server only: an in-memory PGlite cannot be opened twice.
   */
  readonly peer?: (() => Promise<Peer>) | undefined
  /**
   * Reads the Postgres server's CPU time (its postmaster and children): only for a server the
   * bench started itself, on Linux; undefined otherwise.
   */
  readonly serverCpu?: ServerCpu.ServerCpu | undefined
  readonly dispose: () => Promise<void>
}

export interface Peer {
  readonly run: <A, E>(effect: Effect.Effect<A, E, EventStore.EventStore>) => Promise<A>
  readonly dispose: () => Promise<void>
}

export interface MemoryTarget {
  readonly kind: "memory"
  readonly store: "memory"
  readonly run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  readonly dispose: () => Promise<void>
}

export type Target = SqlTarget | MemoryTarget

/** Facta's default poll interval, printed for context next to the subscription latency. */
export const pollInterval = "500 millis"

const tablesOf = Effect.map(Tables.make({ schema }), (tables): BenchTables => ({
  events: tables.events,
  projections: tables.projections,
  checkpoints: tables.checkpoints,
  baseline: `${schema}.baseline_events`,
  baselineProjections: `${schema}.baseline_projections`,
  baselineCheckpoints: `${schema}.baseline_checkpoints`
}))

/** The baseline tables: Facta's events table without its trigger, its projections and checkpoints tables. */
const createBaseline = (tables: BenchTables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE ${sql(tables.baseline)} (LIKE ${sql(tables.events)} INCLUDING ALL)`
    yield* sql`CREATE TABLE ${sql(tables.baselineProjections)} (LIKE ${sql(tables.projections)} INCLUDING ALL)`
    yield* sql`CREATE TABLE ${sql(tables.baselineCheckpoints)} (LIKE ${sql(tables.checkpoints)} INCLUDING ALL)`
    const [row] = yield* sql<{ readonly server_version: string }>`SHOW server_version`
    return row?.server_version ?? "unknown"
  })

const forEachPayload = <A, E>(queue: Queue.Dequeue<A, E>, payload: (item: A) => string, f: (payload: string) => void) =>
  Queue.take(queue).pipe(Effect.map((item) => f(payload(item))), Effect.forever, Effect.ignore, Effect.forkScoped, Effect.asVoid)

/** The CPU reader of the server's processes, found by its data directory; undefined when it cannot be read. */
const serverCpuOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly data_directory: string }>`SHOW data_directory`
  return row === undefined ? undefined : ServerCpu.ofDataDirectory(row.data_directory)
}).pipe(Effect.orElseSucceed(() => undefined))

/**
 * A Postgres server at `url`; the `bench` schema is dropped first so every run starts empty.
 * `ownServer`: the bench started it (not `DATABASE_URL`), so its CPU is measured too.
 */
export const server = async (url: string, options?: { readonly ownServer?: boolean | undefined }): Promise<SqlTarget> => {
  const redacted = Redacted.make(url)
  await Effect.runPromise(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
    }).pipe(Effect.provide(PgClient.layer({ url: redacted, maxConnections: 1 })))
  )
  const runtime = ManagedRuntime.make(Postgres.layer({ url: redacted, schema, ...groupCommitOf(process.env["FACTA_BENCH_GROUP_COMMIT"]), appendByFunction: process.env["FACTA_BENCH_APPEND_BY_FUNCTION"] === "1" }))
  try {
    return await runtime.runPromise(Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      const tables = yield* tablesOf
      const serverVersion = yield* createBaseline(tables)
      const serverCpu = options?.ownServer === true ? yield* serverCpuOf : undefined
      return {
        kind: "sql",
        store: "server",
        serverCpu,
        run: (effect) => runtime.runPromise(effect),
        tables,
        onNotify: (channel, f) => Effect.flatMap(pg.listen(channel), (queue) => forEachPayload(queue, (n) => n.payload, f)),
        notify: (channel, payload) => pg.notify(channel, payload),
        serverVersion,
        concurrentSessions: true,
        pollInterval,
        peer: async () => {
          const peer = ManagedRuntime.make(Postgres.layer({ url: redacted, schema, maxConnections: 2 }))
          await peer.runPromise(Effect.void)
          return { run: (effect) => peer.runPromise(effect), dispose: () => peer.dispose() }
        },
        dispose: () => runtime.dispose()
      } satisfies SqlTarget
    }))
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}

/** Embedded PGlite, in memory. */
export const pglite = async (): Promise<SqlTarget> => {
  const runtime = ManagedRuntime.make(Embedded.layer({ schema }))
  try {
    return await runtime.runPromise(Effect.gen(function*() {
      const client = yield* PgliteClient.PgliteClient
      const tables = yield* tablesOf
      const serverVersion = yield* createBaseline(tables)
      return {
        kind: "sql",
        store: "pglite",
        run: (effect) => runtime.runPromise(effect),
        tables,
        onNotify: (channel, f) => Effect.flatMap(client.listen(channel), (queue) => forEachPayload(queue, (payload) => payload, f)),
        notify: (channel, payload) => client.notify(channel, payload),
        serverVersion,
        concurrentSessions: false,
        pollInterval,
        dispose: () => runtime.dispose()
      } satisfies SqlTarget
    }))
  } catch (error) {
    await runtime.dispose()
    throw error
  }
}

/** `InMemory.layer`: every store in memory. */
export const memory = (): MemoryTarget => {
  const runtime = ManagedRuntime.make(InMemory.layer satisfies Layer.Layer<Services>)
  return { kind: "memory", store: "memory", run: (effect) => runtime.runPromise(effect), dispose: () => runtime.dispose() }
}
