/**
 * Where Facta's tables live. A schema and a table prefix let several applications share one
 * database; the names are checked to be plain identifiers, so they can be spliced into DDL safely.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface TableOptions {
  /** A Postgres schema for the tables, created when missing. Default: the connection's search path. */
  readonly schema?: string | undefined
  /** Prepended to every table name. Default `facta_`. */
  readonly tablePrefix?: string | undefined
}

/**
 * The names, qualified by the schema when one is given.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tables {
  readonly schema: string | undefined
  readonly events: string
  /** Events moved out of the live log: deleted and truncated streams' (see `SqlStreamLifecycle`). */
  readonly archive: string
  readonly projections: string
  /** Which generation of each projection's documents readers see. */
  readonly readModels: string
  readonly checkpoints: string
  readonly snapshots: string
  readonly parked: string
  readonly parkedAudit: string
  readonly processorStatus: string
  /** Per lock key, the transaction of the last conditional append on it. */
  readonly conditionHeads: string
  /** Processor leases: owner, epoch and expiry (see `SqlLease`). */
  readonly leases: string
  readonly migrations: string
  /** The SQL functions' definitions as last applied (see `Migrations`). */
  readonly functions: string
  /** The data keys of personal data, by subject (see `SqlKeyStore`). */
  readonly keys: string
  /** The LISTEN/NOTIFY channel appends are announced on. */
  readonly channel: string
}

/**
 * @category errors
 * @since 0.1.0
 */
export class InvalidTableOptions extends Schema.TaggedError<InvalidTableOptions>()("InvalidTableOptions", {
  option: Schema.String,
  value: Schema.String
}) {
  override get message() {
    return `Invalid ${this.option} "${this.value}": use letters, digits and underscores, starting with a letter or underscore (at most 40 characters)`
  }
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: TableOptions): Effect.Effect<Tables, InvalidTableOptions> =>
  Effect.gen(function*() {
    const schema = options?.schema
    const prefix = options?.tablePrefix ?? "facta_"
    if (schema !== undefined && !identifier.test(schema)) return yield* new InvalidTableOptions({ option: "schema", value: schema })
    if (prefix !== "" && !identifier.test(prefix)) return yield* new InvalidTableOptions({ option: "tablePrefix", value: prefix })
    const name = (table: string) => schema === undefined ? `${prefix}${table}` : `${schema}.${prefix}${table}`
    return {
      schema,
      events: name("events"),
      archive: name("events_archive"),
      projections: name("projections"),
      readModels: name("read_models"),
      checkpoints: name("checkpoints"),
      snapshots: name("snapshots"),
      parked: name("parked"),
      parkedAudit: name("parked_audit"),
      processorStatus: name("processor_status"),
      conditionHeads: name("condition_heads"),
      leases: name("leases"),
      migrations: name("migrations"),
      functions: name("functions"),
      keys: name("keys"),
      channel: name("events")
    }
  })
