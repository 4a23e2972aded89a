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
import { CheckpointStore, EventStore, ParkedEvents, Processor, StatusBoard } from "@facta/core"
import { Gate } from "@facta/sql"
import { Console, DateTime, Duration, Effect, Layer, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { consoleCommand } from "./internal/consoleCommand.ts"
import { archive, archived, deleteCommand, forget, retention } from "./internal/lifecycleCommands.ts"
import { exitWith } from "./internal/main.ts"
import { blueGreenWithProgress, rebuildWithProgress } from "./internal/rebuild.ts"
import { facta, FactaError, knownProcessor, onStores, type StoreServices, withStores } from "./internal/stores.ts"

export {
  /**
   * A command failed; the message says why, in one line.
   *
   * @category errors
   * @since 0.1.0
   */
  FactaError
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
