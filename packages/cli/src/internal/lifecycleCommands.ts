/** The data lifecycle's commands: archive, delete, archived, retention and forget. */
import { Erasure, StreamLifecycle } from "@facta/core"
import { DateTime, type Duration, Effect, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { FactaError, withStores } from "./stores.ts"

const reason = Flag.String("reason").pipe(Flag.withDescription("Why, kept in the marker's data"), Flag.optional)

/** A closed stream, as the archive and delete commands print it. */
const closedTable = (verb: string, closed: StreamLifecycle.Closed) => ({
  table: {
    headers: ["stream", verb, "marker version", "events moved to the archive"],
    rows: [[closed.streamId, closed.marker.type, String(closed.marker.version), String(closed.moved)]]
  },
  json: { streamId: closed.streamId, marker: { ...closed.marker, recordedAt: DateTime.formatIso(closed.marker.recordedAt) }, moved: closed.moved }
})

export const archive = Command.make("archive", {
  id: Argument.String("id").pipe(Argument.withDescription("The stream id")),
  cold: Flag.Boolean("cold").pipe(Flag.withDescription("Also move its events to the archive table (reads then need the archive)"), Flag.withDefault(false)),
  reason
}, ({ cold, id, reason }) =>
  withStores(Effect.gen(function*() {
    const closed = yield* (yield* StreamLifecycle.StreamLifecycle).archive(id, { cold, reason: Option.getOrUndefined(reason) })
    return closedTable("archived by", closed)
  }))).pipe(Command.withDescription("Close a stream: appends to it fail from now on; its events still read"))

export const deleteCommand = Command.make("delete", {
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

export const archived = Command.make("archived", {
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

export const retention = Command.make("retention", {
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

export const forget = Command.make("forget", {
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
