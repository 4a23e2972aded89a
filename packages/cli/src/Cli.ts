/**
 * `facta`, the command line for operating Facta's stores: the streams and their events, the
 * processors' checkpoints and how far behind they are, which transaction holds the readers'
 * gate, and streams' lifecycle (archive, delete, retention). Built with `effect/cli`.
 *
 * The database is a Postgres server (`--url`, or `DATABASE_URL`) or an embedded data directory
 * (`--data-dir`). Output is a table, or JSON with `--json`. A failure is one line on stderr and a
 * non-zero exit code; a URL's password never appears.
 *
 * An application with processors runs the same commands from a bin of its own, with
 * `Cli.run({ processors })`: `facta processors` then counts each one's lag by the event types it
 * handles.
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { CheckpointStore, Erasure, EventStore, ParkedEvents, Processor, StatusBoard, StreamLifecycle } from "@facta/core"
import { OperatorConsole } from "@facta/console"
import { Embedded, Gate, Postgres, SqlEventStore } from "@facta/sql"
import { Cause, Config, Console, DateTime, Duration, Effect, Layer, Option, Redacted, Schedule, Schema, Stream } from "effect"
import { HttpServer } from "effect/http"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { exitWith } from "./internal/main.ts"
import { blueGreenWithProgress, rebuildWithProgress } from "./internal/rebuild.ts"
import { format, type Table } from "./internal/table.ts"

/**
 * A command failed; the message says why, in one line.
 *
 * @category errors
 * @since 0.1.0
 */
export class FactaError extends Schema.TaggedError<FactaError>()("FactaError", { message: Schema.String }) {
  override get [CliError.userMessage]() {
    return this.message
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The application's processors: `facta processors` counts their lag by their event types. */
  readonly processors?: ReadonlyArray<Processor.Any> | undefined
  /**
   * What the processors' handlers need besides the stores (a mailer, a clock), for `facta rebuild`.
   * Built on the stores, so it may use them.
   */
  readonly services?: Layer.Layer<any, unknown, any> | undefined
  /** Printed by `--version`. */
  readonly version?: string | undefined
}

const url = Flag.Redacted("url").pipe(Flag.withDescription("A Postgres URL (default: DATABASE_URL)"), Flag.optional)
const dataDir = Flag.String("data-dir").pipe(Flag.withDescription("An embedded (PGlite) data directory instead of a server"), Flag.optional)
const schema = Flag.String("schema").pipe(Flag.withDescription("The Postgres schema of Facta's tables"), Flag.optional)
const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of a table"), Flag.withDefault(false))

const facta = Command.make("facta").pipe(
  Command.withSharedFlags({ url, dataDir, schema, json }),
  Command.withDescription("Operate Facta's stores: streams, processors, the readers' gate")
)

/**
 * Why a failure happened, in one line: the error's message and those of its causes (a driver's
 * "Failed to connect" says more with its "connect ECONNREFUSED 127.0.0.1:5432"), with any URL's
 * password masked.
 */
const oneLine = (cause: Cause.Cause<unknown>): string => {
  const messages: Array<string> = []
  for (let error: unknown = Cause.squash(cause), depth = 0; error instanceof Error && depth < 5; error = error.cause, depth++) {
    const message = error.message.split("\n")[0]!.trim()
    if (message !== "" && !messages.some((seen) => seen.includes(message))) messages.push(message)
  }
  return messages.join(": ").replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@")
}

/** The stores of the database the flags name, for one command. */
const stores = Effect.gen(function*() {
  const root = yield* facta
  const tables = Option.isSome(root.schema) ? { schema: root.schema.value } : {}
  if (Option.isSome(root.dataDir)) return Embedded.layer({ ...tables, dataDir: root.dataDir.value })
  const given = Option.filter(
    Option.isSome(root.url) ? root.url : yield* Config.option(Config.Redacted("DATABASE_URL")),
    (url) => Redacted.value(url) !== ""
  )
  if (Option.isNone(given)) return yield* new FactaError({ message: "No database: pass --url, set DATABASE_URL, or pass --data-dir" })
  return Postgres.layer({ ...tables, url: given.value, applicationName: "facta-cli", gateWarning: false, maxConnections: 5, connectTimeout: "5 seconds", retry: Schedule.recurs(1) })
})

/** The services of the stores the flags name (a server's or an embedded database's). */
type StoreServices = Layer.Success<Effect.Success<typeof stores>>

/**
 * Runs `body` on the stores the flags name, with the application's `services` (what its
 * processors' handlers need besides the stores) when given. A failure is one line.
 */
const onStores = <A, E, R extends StoreServices>(body: Effect.Effect<A, E, R>, services?: Layer.Layer<any, unknown, any>) =>
  Effect.gen(function*() {
    const layer = yield* stores
    const storeLayer = layer as Layer.Layer<StoreServices, Postgres.LayerError>
    return yield* Effect.provide(body, services === undefined ? storeLayer : Layer.provideMerge(services, storeLayer) as typeof storeLayer)
  }).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail(new FactaError({ message: oneLine(cause) }))
    )
  )

/** Runs `body` on the stores and prints what it returns, as a table or as JSON. */
const withStores = <A extends { readonly table: Table; readonly json: unknown }, E, R extends StoreServices>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const root = yield* facta
    const result = yield* onStores(body)
    yield* Console.log(root.json ? JSON.stringify(result.json, (_, value) => typeof value === "bigint" ? value.toString() : value, 2) : format(result.table))
  })

const migrate = Command.make("migrate", {}, () =>
  withStores(Effect.succeed({ table: { headers: ["migrated"], rows: [["Facta's tables are up to date"]] }, json: { migrated: true } }))).pipe(
    Command.withDescription("Create Facta's tables, or bring them up to date")
  )

const streams = Command.make("streams", {
  prefix: Flag.String("prefix").pipe(Flag.withDescription("Only streams whose id starts with this"), Flag.withDefault("")),
  after: Flag.String("after").pipe(Flag.withDescription("Start after this stream id (the last of the previous page)"), Flag.optional),
  limit: Flag.Int("limit").pipe(Flag.withDescription("Streams per page"), Flag.withDefault(100))
}, ({ after, limit, prefix }) =>
  withStores(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const page = yield* store.listStreams({ prefix, after: Option.getOrUndefined(after), limit })
    return {
      table: {
        headers: ["stream", "version", "last position"],
        rows: page.streams.map((stream) => [stream.streamId, String(stream.version), String(store.gaugeOf(stream.position))]),
        footer: page.next === undefined ? undefined : `more: facta streams --after ${JSON.stringify(page.next)}`
      },
      json: page
    }
  }))).pipe(Command.withDescription("List streams by id, with their versions"))

const stream = Command.make("stream", {
  id: Argument.String("id").pipe(Argument.withDescription("The stream id")),
  from: Flag.Int("from").pipe(Flag.withDescription("The first version to show"), Flag.withDefault(1)),
  limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many events"), Flag.withDefault(100))
}, ({ from, id, limit }) =>
  withStores(Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const events = yield* store.readStreamPage(id, { from, batchSize: limit })
    if (events.length === 0 && from <= 1) return yield* new FactaError({ message: `No such stream: ${JSON.stringify(id)}` })
    return {
      table: {
        headers: ["version", "type", "recorded at", "data"],
        rows: events.map((event) => [String(event.version), event.type, DateTime.formatIso(event.recordedAt), JSON.stringify(event.data)])
      },
      json: events.map((event) => ({ ...event, recordedAt: DateTime.formatIso(event.recordedAt) }))
    }
  }))).pipe(Command.withDescription("Show a stream's events, from a version"))

const processorsCommand = (known: ReadonlyArray<Processor.Any>) =>
  Command.make("processors", {}, () =>
    withStores(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const checkpoints = yield* (yield* CheckpointStore.CheckpointStore).list
      const board = yield* (yield* StatusBoard.StatusBoard).list
      const now = yield* DateTime.now
      // A processor in segments is listed by segment: each has its checkpoint and instances.
      const parts = known.flatMap((processor) => Processor.segmentsOf(processor).map((part) => ({ ...part, processor })))
      const names = new Set([...checkpoints.map(({ processor }) => processor), ...parts.map((part) => part.name)])
      const rows = yield* Effect.forEach([...names].sort(), (name) =>
        Effect.gen(function*() {
          const position = checkpoints.find((checkpoint) => checkpoint.processor === name)?.position ?? EventStore.start
          const part = parts.find((part) => part.name === name)
          const processor = part?.processor
          // Without the processor's code its event types are unknown: every event after it counts.
          const lag = yield* store.count({ after: position, types: processor?.types, segment: part?.segment })
          const instances = board.filter((entry) => entry.processor === name).map((entry) => ({
            instance: entry.instance,
            state: entry.state,
            secondsAgo: Math.round(Duration.toSeconds(DateTime.distance(entry.updatedAt, now))),
            lastError: entry.lastError
          }))
          return { processor: name, kind: processor?.kind, position, lag, lagCounts: processor === undefined ? "all types" : "its types", instances }
        }))
      return {
        table: {
          headers: ["processor", "kind", "checkpoint", "behind", "counting", "instances (state, last report)"],
          rows: rows.map((row) => [
            row.processor,
            row.kind ?? "?",
            String(store.gaugeOf(row.position)),
            String(row.lag),
            row.lagCounts,
            row.instances.map((entry) => `${entry.instance}: ${entry.state}, ${entry.secondsAgo} s ago`).join("; ") || "none reporting"
          ])
        },
        json: rows
      }
    }))).pipe(Command.withDescription("The processors' checkpoints, how many events they are behind, and their running instances"))

const gate = Command.make("gate", {}, () =>
  Effect.flatMap(facta, (root) => withStores(Effect.gen(function*() {
    // Readers read below the oldest appending transaction still running: its backend holds the gate.
    const rows = yield* Gate.holders(Option.isSome(root.schema) ? { schema: root.schema.value } : {})
    return {
      table: {
        headers: ["pid", "transaction", "age", "state", "application", "query"],
        rows: rows.slice(0, 5).map((row) => [String(row.pid), row.transaction, `${row.ageSeconds.toFixed(1)} s`, row.state ?? "", row.application ?? "", row.query ?? ""]),
        footer: rows.length === 0 ? "No transaction holds the readers' gate" : "The first row holds the readers' gate: readers wait until it ends"
      },
      json: { holders: rows }
    }
  })))).pipe(Command.withDescription("Which transactions hold the readers' gate (oldest first)"))

const tail = Command.make("tail", {
  types: Flag.String("types").pipe(Flag.withDescription("Only these event types, comma-separated"), Flag.optional),
  fromStart: Flag.Boolean("from-start").pipe(Flag.withDescription("Print the whole log first, then follow"), Flag.withDefault(false)),
  limit: Flag.Int("limit").pipe(Flag.withDescription("Stop after this many events (default: follow until interrupted)"), Flag.optional)
}, ({ fromStart, limit, types }) =>
  Effect.gen(function*() {
    const root = yield* facta
    const wanted = Option.map(types, (list) => list.split(",").map((type) => type.trim()).filter((type) => type !== ""))
    const follow = Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      // From the head as committed now: what commits next is printed as it becomes readable.
      const after = fromStart ? EventStore.start : yield* store.head()
      const events = store.subscribe({ after, types: Option.getOrUndefined(wanted) })
      yield* (Option.isSome(limit) ? Stream.take(events, limit.value) : events).pipe(
        Stream.runForEach((event) =>
          Console.log(
            root.json
              ? JSON.stringify({ ...event, position: event.position.toString(), recordedAt: DateTime.formatIso(event.recordedAt) })
              : `${store.gaugeOf(event.position)}  ${event.streamId}@${event.version}  ${event.type}  ${JSON.stringify(event.data)}`
          ))
      )
    })
    yield* onStores(follow)
  })).pipe(
    Command.withDescription("Print events as they commit (one line each, or JSON lines)")
  )

/** One of the application's processors, by name. */
const knownProcessor = (known: ReadonlyArray<Processor.Any>, name: string) => {
  const processor = known.find((processor) => processor.name === name)
  return processor !== undefined ? Effect.succeed(processor) : Effect.fail(
    new FactaError({
      message: known.length === 0
        ? `Unknown processor "${name}": this facta has no processors; run the application's own bin (Cli.main({ processors }))`
        : `Unknown processor "${name}"; the processors are ${known.map((processor) => processor.name).join(", ")}`
    })
  )
}

const rebuild = (known: ReadonlyArray<Processor.Any>, services: Layer.Layer<any, unknown, any> | undefined) =>
  Command.make("rebuild", {
    name: Argument.String("processor").pipe(Argument.withDescription("The processor to rebuild (one of the application's)")),
    blueGreen: Flag.Boolean("blue-green").pipe(
      Flag.withDescription("Build a new generation of its documents while readers keep the current one, then switch them over"),
      Flag.withDefault(false)
    )
  }, ({ blueGreen, name }) =>
    Effect.gen(function*() {
      const processor = yield* knownProcessor(known, name) as Effect.Effect<Processor.Processor<unknown, StoreServices>, FactaError>
      // The handlers' services are the application's: the CLI knows the stores, the rest comes with `services`.
      yield* onStores(Effect.scoped(blueGreen ? blueGreenWithProgress(processor) : rebuildWithProgress(processor)), services)
    })).pipe(Command.withDescription("Clear what a processor built and replay the log into it, with progress; or --blue-green"))

const parkedList = Command.make("list", {
  processor: Flag.String("processor").pipe(Flag.withDescription("Only this processor's"), Flag.optional)
}, ({ processor }) =>
  withStores(Effect.gen(function*() {
    const parked = yield* (yield* ParkedEvents.ParkedEvents).list(Option.getOrUndefined(processor))
    return {
      table: {
        headers: ["processor", "event", "stream", "type", "parked at", "error"],
        rows: parked.map((entry) => [
          entry.processor,
          entry.event.id,
          `${entry.event.streamId}@${entry.event.version}`,
          entry.event.type,
          DateTime.formatIso(entry.parkedAt),
          entry.error
        ])
      },
      json: parked.map((entry) => ({
        ...entry,
        event: { ...entry.event, recordedAt: DateTime.formatIso(entry.event.recordedAt) },
        parkedAt: DateTime.formatIso(entry.parkedAt)
      }))
    }
  }))).pipe(Command.withDescription("The events processors parked, with their errors"))

const parkedDrop = Command.make("drop", {
  processor: Argument.String("processor"),
  event: Argument.String("event").pipe(Argument.withDescription("The parked event's id"))
}, ({ event, processor }) =>
  withStores(Effect.gen(function*() {
    const dropped = yield* (yield* ParkedEvents.ParkedEvents).remove(processor, event, "dropped")
    if (!dropped) return yield* new FactaError({ message: `No parked event ${event} of processor "${processor}"` })
    return { table: { headers: ["dropped"], rows: [[`${processor} ${event}`]] }, json: { dropped: { processor, event } } }
  }))).pipe(Command.withDescription("Drop a parked event for good (recorded in the audit)"))

const parkedReplay = (known: ReadonlyArray<Processor.Any>, services: Layer.Layer<any, unknown, any> | undefined) =>
  Command.make("replay", {
    name: Argument.String("processor"),
    event: Flag.String("event").pipe(Flag.withDescription("Only this parked event (default: all of the processor's)"), Flag.optional)
  }, ({ event, name }) =>
    Effect.gen(function*() {
      const processor = yield* knownProcessor(known, name)
      const replayed = yield* onStores(Processor.replayParked(processor as Processor.Processor<unknown, StoreServices>, Option.getOrUndefined(event)), services)
      yield* Console.log(`replayed ${replayed} parked event${replayed === 1 ? "" : "s"} of ${name}`)
    })).pipe(Command.withDescription("Handle a processor's parked events again, once the cause is fixed"))

const parkedCommand = (known: ReadonlyArray<Processor.Any>, services: Layer.Layer<any, unknown, any> | undefined) =>
  Command.make("parked").pipe(
    Command.withDescription("Events processors parked (onPoison: \"park\"): list, replay, drop"),
    Command.withSubcommands([parkedList, parkedReplay(known, services), parkedDrop])
  )

const consoleCommand = (known: ReadonlyArray<Processor.Any>, services: Layer.Layer<any, unknown, any> | undefined) =>
  Command.make("console", {
    port: Flag.Int("port").pipe(Flag.withDescription("The port to listen on (0: any free port)"), Flag.withDefault(7700)),
    host: Flag.String("host").pipe(Flag.withDescription("The address to listen on; other machines reach it only if this is not a loopback address"), Flag.withDefault("127.0.0.1")),
    token: Flag.Redacted("token").pipe(
      Flag.withDescription("Enables the actions (replay, drop, rebuild) for a page that has this token (default: FACTA_CONSOLE_TOKEN; without one the console is read-only)"),
      Flag.optional
    )
  }, ({ host, port, token }) =>
    Effect.gen(function*() {
      const root = yield* facta
      const tables = Option.isSome(root.schema) ? { schema: root.schema.value } : {}
      const given = Option.filter(
        Option.isSome(token) ? token : yield* Config.option(Config.Redacted("FACTA_CONSOLE_TOKEN")),
        (value) => Redacted.value(value) !== ""
      )
      const server = OperatorConsole.serve({
        processors: known as ReadonlyArray<Processor.Processor<unknown, StoreServices>>,
        token: Option.getOrUndefined(given),
        host,
        port,
        gate: Gate.holders(tables),
        findEvent: (id) => SqlEventStore.readEvent(id, tables)
      })
      const announce = Effect.flatMap(HttpServer.HttpServer, ({ address }) => {
        const url = OperatorConsole.urlOf(address)
        return Console.log(
          Option.isSome(given)
            ? `The console is at ${url}#token=${encodeURIComponent(Redacted.value(given.value))} (actions enabled; ctrl-c stops it)`
            : `The console is at ${url} (read-only: pass --token or set FACTA_CONSOLE_TOKEN for actions; ctrl-c stops it)`
        )
      })
      yield* onStores(Effect.provide(Effect.andThen(announce, Effect.never), server), services)
    })).pipe(Command.withDescription("Serve the operator's console: streams, the live log, processors, parked events, rebuilds, the readers' gate"))

const reason = Flag.String("reason").pipe(Flag.withDescription("Why, kept in the marker's data"), Flag.optional)

/** A closed stream, as the archive and delete commands print it. */
const closedTable = (verb: string, closed: StreamLifecycle.Closed) => ({
  table: {
    headers: ["stream", verb, "marker version", "events moved to the archive"],
    rows: [[closed.streamId, closed.marker.type, String(closed.marker.version), String(closed.moved)]]
  },
  json: { streamId: closed.streamId, marker: { ...closed.marker, recordedAt: DateTime.formatIso(closed.marker.recordedAt) }, moved: closed.moved }
})

const archive = Command.make("archive", {
  id: Argument.String("id").pipe(Argument.withDescription("The stream id")),
  cold: Flag.Boolean("cold").pipe(Flag.withDescription("Also move its events to the archive table (reads then need the archive)"), Flag.withDefault(false)),
  reason
}, ({ cold, id, reason }) =>
  withStores(Effect.gen(function*() {
    const closed = yield* (yield* StreamLifecycle.StreamLifecycle).archive(id, { cold, reason: Option.getOrUndefined(reason) })
    return closedTable("archived by", closed)
  }))).pipe(Command.withDescription("Close a stream: appends to it fail from now on; its events still read"))

const deleteCommand = Command.make("delete", {
  id: Argument.String("id").pipe(Argument.withDescription("The stream id")),
  yes: Flag.Boolean("yes").pipe(Flag.withDescription("Confirm: the stream's events leave the live log and its id is refused for ever"), Flag.withDefault(false)),
  reason
}, ({ id, reason, yes }) =>
  yes
    ? withStores(Effect.gen(function*() {
      const closed = yield* (yield* StreamLifecycle.StreamLifecycle).delete(id, { reason: Option.getOrUndefined(reason) })
      return closedTable("deleted by", closed)
    }))
    : Effect.fail(new FactaError({ message: `Deleting "${id}" moves its events out of the live log and refuses its id for ever: pass --yes to confirm` }))
).pipe(Command.withDescription("Delete a stream: a tombstone ends it, its events move to the archive, its snapshot goes"))

const archived = Command.make("archived", {
  id: Argument.String("id").pipe(Argument.withDescription("The stream id")),
  from: Flag.Int("from").pipe(Flag.withDescription("The first version to show"), Flag.withDefault(1)),
  limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many events"), Flag.withDefault(100))
}, ({ from, id, limit }) =>
  withStores(Effect.gen(function*() {
    const lifecycle = yield* StreamLifecycle.StreamLifecycle
    const events = yield* Stream.runCollect(Stream.take(lifecycle.readArchived(id, { from, batchSize: Math.min(limit, 1000) }), limit))
    return {
      table: {
        headers: ["version", "type", "recorded at", "data"],
        rows: events.map((event) => [String(event.version), event.type, DateTime.formatIso(event.recordedAt), JSON.stringify(event.data)]),
        footer: events.length === 0 ? `No archived events of ${JSON.stringify(id)}` : undefined
      },
      json: events.map((event) => ({ ...event, recordedAt: DateTime.formatIso(event.recordedAt) }))
    }
  }))).pipe(Command.withDescription("Show a stream's events in the archive (moved by a delete, a cold archive, truncation or retention)"))

const retention = Command.make("retention", {
  category: Argument.String("category").pipe(Argument.withDescription("The category: streams whose id is <category>-<id>")),
  maxAge: Flag.String("max-age").pipe(Flag.withDescription("Move events older than this (\"30 days\")"), Flag.optional),
  maxCount: Flag.Int("max-count").pipe(Flag.withDescription("Keep at most this many events per stream"), Flag.optional),
  dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("Report what would move, moving nothing"), Flag.withDefault(false)),
  batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("Events moved per transaction"), Flag.withDefault(500))
}, ({ batchSize, category, dryRun, maxAge, maxCount }) =>
  withStores(Effect.gen(function*() {
    const rule: StreamLifecycle.RetentionRule = {
      category,
      ...(Option.isSome(maxAge) ? { maxAge: maxAge.value as Duration.Input } : {}),
      ...(Option.isSome(maxCount) ? { maxCount: maxCount.value } : {})
    }
    const report = yield* (yield* StreamLifecycle.StreamLifecycle).applyRetention([rule], { dryRun, batchSize })
    return {
      table: {
        headers: ["category", "streams", dryRun ? "events that would move" : "events moved"],
        rows: report.rules.map((rule) => [rule.category, String(rule.streams), String(rule.events)]),
        footer: dryRun ? "Dry run: nothing moved" : undefined
      },
      json: report
    }
  }))).pipe(Command.withDescription("Move a category's old events to the archive (never a stream's last), or --dry-run to see what would"))

const forget = Command.make("forget", {
  subject: Argument.String("subject").pipe(Argument.withDescription("The data subject's id, as the personal fields name it")),
  snapshots: Flag.String("snapshots").pipe(
    Flag.withDescription("Streams whose snapshots hold the subject's data, comma-separated: they are dropped"),
    Flag.optional
  )
}, ({ snapshots, subject }) =>
  withStores(Effect.gen(function*() {
    // A `forget` that stopped between its record and the key's destruction is finished first.
    const completed = yield* Erasure.completePending
    const streams = Option.match(snapshots, { onNone: () => [], onSome: (list) => list.split(",").map((id) => id.trim()).filter((id) => id !== "") })
    const forgotten = yield* Erasure.forget(subject, { snapshots: streams })
    return {
      table: {
        headers: ["subject", "recorded", "key destroyed"],
        rows: [[forgotten.subject, forgotten.recorded ? "now" : "already", forgotten.keyDestroyed ? "now" : "already gone"]],
        footer: completed.length === 0 ? undefined : `also completed the pending erasure of ${completed.join(", ")}`
      },
      json: { ...forgotten, completedPending: completed }
    }
  }))).pipe(Command.withDescription("Forget a data subject: record it in the log, then destroy their key (their personal fields read as placeholders)"))

/**
 * The `facta` command, with the application's processors if it has any.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = (options?: Options) =>
  facta.pipe(Command.withSubcommands([
    migrate,
    streams,
    stream,
    tail,
    processorsCommand(options?.processors ?? []),
    rebuild(options?.processors ?? [], options?.services),
    parkedCommand(options?.processors ?? [], options?.services),
    gate,
    consoleCommand(options?.processors ?? [], options?.services),
    archive,
    deleteCommand,
    archived,
    retention,
    forget
  ]))

/**
 * Runs `facta` on the process's arguments: the entry point of a bin.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (options?: Options): Effect.Effect<void, unknown> =>
  command(options).pipe(
    Command.run({ version: options?.version ?? "0.1.0", renderErrors: false }),
    Effect.provide(NodeServices.layer)
  )

/**
 * Runs `facta` as this process, the whole body of a bin: a failure is one line on stderr and
 * exit code 1 (2 for a command line that does not parse).
 *
 * ```ts
 * #!/usr/bin/env node
 * import { Cli } from "@facta/cli"
 * Cli.main({ processors: [accounts, notifier] })
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const main = (options?: Options): void => exitWith(run(options))
