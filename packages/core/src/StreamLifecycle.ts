/**
 * A stream's lifecycle, for operators: archive (close) a stream, delete (tombstone) it, truncate
 * it before a version, and retention rules per category applied by a maintenance job. Events that
 * leave the live log move to a cold archive, still readable with `readArchived`.
 *
 * - `archive` writes a `$StreamArchived` marker at the end of the stream: appends after it fail
 *   with `StreamArchived`; its events still read. With `cold`, its events also move to the
 *   archive in the same step (the marker stays).
 * - `delete` writes a `$StreamDeleted` tombstone, moves every other event of the stream to the
 *   archive and removes its snapshot, in one step: appends fail with `StreamDeleted`, for ever.
 *   Reading the stream then gives the tombstone alone.
 * - `truncateBefore` and retention move a stream's oldest events to the archive, never its last
 *   event (the stream keeps its version, so a version is never given twice).
 *
 * Markers are events of the log (see `ClosedStreams`): every processor meets them at their
 * position and may handle them. Moving events out never makes a hole a reader can fall into:
 * readers read after a position, whatever remains there.
 *
 * @since 0.1.0
 */
import { Context, DateTime, Duration, Effect, Option, Stream } from "effect"
import type { StreamClosed, StreamDeleted } from "./ClosedStreams.ts"
import { defaultBatchSize, type EventStoreError, type ReadStreamOptions } from "./EventStore.ts"
import { checkReadOptions } from "./internal/eventChecks.ts"
import { checkId, InvalidInput, limits } from "./InvalidInput.ts"
import type { RecordedEvent } from "./RecordedEvent.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface ArchiveOptions {
  /** Also move the stream's events (all but the marker) to the archive. Default false. */
  readonly cold?: boolean | undefined
  /** Why, kept in the marker's data. */
  readonly reason?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface DeleteOptions {
  /** Why, kept in the tombstone's data. */
  readonly reason?: string | undefined
}

/**
 * A stream closed: the marker written, and how many events moved to the archive.
 *
 * @category models
 * @since 0.1.0
 */
export interface Closed {
  readonly streamId: string
  readonly marker: RecordedEvent
  readonly moved: number
}

/**
 * Retention for the streams of a category (stream ids `<category>-<id>`): their events older
 * than `maxAge`, and all but their last `maxCount`, move to the archive. A stream's last event
 * always stays.
 *
 * @category models
 * @since 0.1.0
 */
export interface RetentionRule {
  readonly category: string
  readonly maxAge?: Duration.Input | undefined
  readonly maxCount?: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RetentionOptions {
  /** Report what would move, moving nothing. */
  readonly dryRun?: boolean | undefined
  /** Events moved per transaction, so live appends are not held up. Default 500. */
  readonly batchSize?: number | undefined
}

/**
 * What one rule moved (or would move, in a dry run): streams and events.
 *
 * @category models
 * @since 0.1.0
 */
export interface RuleReport {
  readonly category: string
  readonly streams: number
  readonly events: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RetentionReport {
  readonly dryRun: boolean
  readonly rules: ReadonlyArray<RuleReport>
}

/**
 * Where a stream is to be truncated by retention: its events before `before` move, `events` of them.
 *
 * @category models
 * @since 0.1.0
 */
export interface Truncation {
  readonly streamId: string
  readonly before: number
  readonly events: number
}

/**
 * @category services
 * @since 0.1.0
 */
export class StreamLifecycle extends Context.Service<StreamLifecycle, {
  /** Closes the stream (see the module's doc); an archived or deleted stream fails as such. */
  readonly archive: (streamId: string, options?: ArchiveOptions) => Effect.Effect<Closed, StreamClosed | EventStoreError | InvalidInput>
  /** Tombstones the stream and moves its events to the archive (see the module's doc). */
  readonly delete: (streamId: string, options?: DeleteOptions) => Effect.Effect<Closed, StreamDeleted | EventStoreError | InvalidInput>
  /**
   * Moves the stream's events before `version` to the archive, but its last event, a batch per
   * transaction; answers how many moved.
   */
  readonly truncateBefore: (streamId: string, version: number) => Effect.Effect<number, EventStoreError | InvalidInput>
  /** Applies retention rules (see {@link RetentionRule}), a batch per transaction, or reports them. */
  readonly applyRetention: (
    rules: ReadonlyArray<RetentionRule>,
    options?: RetentionOptions
  ) => Effect.Effect<RetentionReport, EventStoreError | InvalidInput>
  /** The stream's events in the archive, in version order. */
  readonly readArchived: (streamId: string, options?: ReadStreamOptions) => Stream.Stream<RecordedEvent, EventStoreError | InvalidInput>
}>()("@facta/core/StreamLifecycle") {}

/**
 * What a store implementation provides to {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Primitives {
  /** Writes the marker and, for a delete or a cold archive, moves the stream's other events, in one transaction. */
  readonly close: (
    streamId: string,
    kind: "archive" | "delete",
    options: { readonly reason: string | undefined; readonly cold: boolean }
  ) => Effect.Effect<Closed, StreamClosed | EventStoreError>
  /** Moves at most `limit` events of the stream before `before` (never its last), oldest first, in one transaction. */
  readonly truncate: (streamId: string, before: number, limit: number) => Effect.Effect<number, EventStoreError>
  /**
   * The streams of the category with events to move: before the first recorded at or after
   * `cutoff`, and before the last `maxCount`; never the last.
   */
  readonly plan: (
    category: string,
    cutoff: DateTime.Utc | undefined,
    maxCount: number | undefined
  ) => Effect.Effect<ReadonlyArray<Truncation>, EventStoreError>
  /** Up to `limit` archived events of the stream from version `from` on. */
  readonly readArchivedPage: (streamId: string, from: number, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
}

const refuse = (subject: string, path: string, reason: string) => new InvalidInput({ subject, path, reason })

const checkReason = (subject: string, options: { readonly reason?: unknown } | undefined) => {
  const reason = options?.reason
  if (reason === undefined || (typeof reason === "string" && reason.length <= limits.keyLength)) return undefined
  return refuse(subject, "$.reason", `must be a string of at most ${limits.keyLength} characters`)
}

const isCount = (value: unknown, max: number): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= max

/** The first thing wrong with a rule, or undefined; its age as a duration. */
const checkRule = (rule: unknown, index: number): InvalidInput | { readonly maxAge: Duration.Duration | undefined } => {
  const subject = `retention rule ${index + 1}`
  if (typeof rule !== "object" || rule === null) return refuse(subject, "$", "must be an object with a category, and maxAge or maxCount")
  const { category, maxAge, maxCount } = rule as { readonly category?: unknown; readonly maxAge?: unknown; readonly maxCount?: unknown }
  const invalidCategory = checkId(subject, category, limits.streamIdLength)
  if (invalidCategory !== undefined) return refuse(subject, "$.category", invalidCategory.reason)
  if ((category as string).includes("-")) return refuse(subject, "$.category", `"${category as string}" holds a "-": a category is what comes before the first "-" of a stream id`)
  if (maxAge === undefined && maxCount === undefined) return refuse(subject, "$", "needs maxAge, maxCount or both")
  if (maxCount !== undefined && !isCount(maxCount, Number.MAX_SAFE_INTEGER)) return refuse(subject, "$.maxCount", "must be an integer from 1")
  if (maxAge === undefined) return { maxAge: undefined }
  const age = Duration.fromInput(maxAge as Duration.Input)
  if (Option.isNone(age) || !Duration.isFinite(age.value) || Duration.toMillis(age.value) < 0) {
    return refuse(subject, "$.maxAge", "must be a finite duration (\"30 days\", a number of milliseconds)")
  }
  return { maxAge: age.value }
}

/**
 * Builds a {@link StreamLifecycle} from a store's primitives, checking every input first.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (primitives: Primitives): StreamLifecycle["Service"] => {
  const truncateAll = (streamId: string, before: number, batchSize: number): Effect.Effect<number, EventStoreError> =>
    Effect.flatMap(primitives.truncate(streamId, before, batchSize), (moved) =>
      moved < batchSize ? Effect.succeed(moved) : Effect.map(truncateAll(streamId, before, batchSize), (more) => moved + more))

  // Operators' actions, rare and weighty: each is a span of its own.
  const traced = (name: string, attributes: Record<string, unknown>) => Effect.withSpan(`StreamLifecycle.${name}`, { attributes }, { captureStackTrace: false })

  return StreamLifecycle.of({
    archive: (streamId, options) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReason("archive options", options)
      return invalid !== undefined
        ? Effect.fail(invalid)
        : primitives.close(streamId, "archive", { reason: options?.reason, cold: options?.cold === true }).pipe(traced("archive", { streamId }))
    },
    delete: (streamId, options) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReason("delete options", options)
      // Only a tombstone refuses a delete: an archived stream takes one.
      return invalid !== undefined
        ? Effect.fail(invalid)
        : (primitives.close(streamId, "delete", { reason: options?.reason, cold: true }) as Effect.Effect<Closed, StreamDeleted | EventStoreError>).pipe(
          traced("delete", { streamId })
        )
    },
    truncateBefore: (streamId, version) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ??
        (isCount(version, Number.MAX_SAFE_INTEGER) ? undefined : refuse("version to truncate before", "$", "must be an integer from 1"))
      return invalid !== undefined ? Effect.fail(invalid) : truncateAll(streamId, version, defaultBatchSize).pipe(traced("truncateBefore", { streamId, version }))
    },
    applyRetention: (rules, options) =>
      Effect.gen(function*() {
        if (!Array.isArray(rules)) return yield* refuse("retention rules", "$", "must be an array of rules")
        const batchSize = options?.batchSize ?? defaultBatchSize
        if (!isCount(batchSize, limits.batchSize)) return yield* refuse("retention options", "$.batchSize", `must be an integer from 1 to ${limits.batchSize}`)
        const checked: Array<{ readonly rule: RetentionRule; readonly maxAge: Duration.Duration | undefined }> = []
        for (let i = 0; i < rules.length; i++) {
          const outcome = checkRule(rules[i], i)
          if (outcome instanceof InvalidInput) return yield* outcome
          checked.push({ rule: rules[i]!, maxAge: outcome.maxAge })
        }
        const now = yield* DateTime.now
        const dryRun = options?.dryRun === true
        const reports: Array<RuleReport> = []
        for (const { maxAge, rule } of checked) {
          const cutoff = maxAge === undefined ? undefined : DateTime.subtract(now, { milliseconds: Duration.toMillis(maxAge) })
          const plan = yield* primitives.plan(rule.category, cutoff, rule.maxCount)
          let events = 0
          for (const truncation of plan) {
            events += dryRun ? truncation.events : yield* truncateAll(truncation.streamId, truncation.before, batchSize)
          }
          reports.push({ category: rule.category, streams: plan.length, events })
        }
        return { dryRun, rules: reports }
      }).pipe(traced("applyRetention", { rules: Array.isArray(rules) ? rules.length : 0, dryRun: options?.dryRun === true })),
    readArchived: (streamId, options) => {
      const invalid = checkId("stream id", streamId, limits.streamIdLength) ?? checkReadOptions("read options", options)
      if (invalid !== undefined) return Stream.fail(invalid)
      const limit = options?.batchSize ?? defaultBatchSize
      return Stream.paginate(options?.from ?? 1, (from) =>
        Effect.map(primitives.readArchivedPage(streamId, from, limit), (page) =>
          [page, page.length < limit ? Option.none() : Option.some(page[page.length - 1]!.version + 1)] as const))
    }
  })
}
