/**
 * One reader of the event log shared by many subscribers: {@link make} reads the log once, live,
 * and hands each batch to every subscriber, each through a bounded buffer of its own, instead of
 * each subscriber reading (and polling or listening on) the store on its own.
 *
 * A subscriber that starts behind the shared reader reads its backlog from the store (with the
 * read that suits its filter: `backlog`) up to the position the shared reader had reached when it
 * joined, then goes on with the shared reader's events after that position: nothing skipped,
 * nothing repeated. The reader starts with the first subscriber, at its position, and stops when
 * the last one leaves.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Fiber, Queue, Schema, Scope, Stream } from "effect"
import { EventStore, type InvalidInput, type RecordedEvent } from "@facta/core"

/**
 * The subscriber read too slowly: its buffer of `bufferSize` events filled, so its stream ended.
 *
 * @category errors
 * @since 0.1.0
 */
export class BufferFull extends Schema.TaggedError<BufferFull>()("BufferFull", {
  bufferSize: Schema.Int
}) {}

/**
 * What a subscriber asks for.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubscribeOptions {
  /** The events after this position. */
  readonly after: bigint
  /** Which events the subscriber wants. */
  readonly wanted: (event: RecordedEvent.RecordedEvent) => boolean
  /**
   * The stored events after a position, in log order, among them at least every wanted one: the
   * store's read that fits the filter (by type, by query, one stream). Read only up to where the
   * shared reader was when the subscriber joined.
   */
  readonly backlog: (after: bigint) => Stream.Stream<RecordedEvent.RecordedEvent, EventStore.EventStoreError | InvalidInput.InvalidInput>
  /** How many events may wait for the subscriber before its stream fails with {@link BufferFull}. */
  readonly bufferSize: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface LogFeed {
  /**
   * The wanted events after `after`, each once, in log order, live. It fails with
   * {@link BufferFull} when the subscriber falls `bufferSize` events behind, and with the store's
   * error when the shared reader fails (every subscriber then does; the next one starts it anew).
   */
  readonly subscribe: (
    options: SubscribeOptions
  ) => Stream.Stream<RecordedEvent.RecordedEvent, BufferFull | EventStore.EventStoreError | InvalidInput.InvalidInput>
  /** How many subscribers the shared reader serves now. */
  readonly subscribers: Effect.Effect<number>
  /** How many times the shared reader has started: once while subscribers come and go without a pause. */
  readonly readersStarted: Effect.Effect<number>
}

type Failure = BufferFull | EventStore.EventStoreError | InvalidInput.InvalidInput

interface Subscriber {
  readonly after: bigint
  readonly wanted: (event: RecordedEvent.RecordedEvent) => boolean
  readonly bufferSize: number
  readonly buffer: Queue.Queue<RecordedEvent.RecordedEvent, Failure | Cause.Done>
}

interface Reader {
  /** The last position it has handed on: every event up to it has reached the subscribers. */
  position: bigint
  readonly subscribers: Set<Subscriber>
  fiber: Fiber.Fiber<void, unknown> | undefined
}

/**
 * A shared reader of the store's log, for the scope's lifetime.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<LogFeed, never, EventStore.EventStore | Scope.Scope> = Effect.gen(function*() {
  const store = yield* EventStore.EventStore
  const scope = yield* Effect.scope
  let reader: Reader | undefined
  let readersStarted = 0

  /** Hands a batch to each subscriber; one whose buffer cannot take it is dropped with `BufferFull`. */
  const handOn = (current: Reader, events: ReadonlyArray<RecordedEvent.RecordedEvent>) => {
    for (const subscriber of current.subscribers) {
      const wanted = events.filter((event) => event.position > subscriber.after && subscriber.wanted(event))
      if (wanted.length > 0 && Queue.offerAllUnsafe(subscriber.buffer, wanted).length > 0) {
        current.subscribers.delete(subscriber)
        Queue.failCauseUnsafe(subscriber.buffer, Cause.fail(new BufferFull({ bufferSize: subscriber.bufferSize })))
      }
    }
    current.position = events[events.length - 1]!.position
  }

  const start = (after: bigint): Effect.Effect<Reader> =>
    Effect.suspend(() => {
      const current: Reader = { position: after, subscribers: new Set(), fiber: undefined }
      reader = current
      readersStarted++
      return store.subscribe({ after }).pipe(
        Stream.runForEachArray((events) => Effect.sync(() => handOn(current, events))),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (reader === current) reader = undefined
            // `subscribe` never ends: the reader stopped on a failure, or was stopped.
            const cause: Cause.Cause<Failure | Cause.Done> = Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)
              ? exit.cause
              : Cause.fail(Cause.Done())
            for (const subscriber of current.subscribers) Queue.failCauseUnsafe(subscriber.buffer, cause)
            current.subscribers.clear()
          })
        ),
        Effect.forkIn(scope),
        Effect.map((fiber) => {
          current.fiber = fiber
          return current
        })
      )
    })

  const leave = (current: Reader, subscriber: Subscriber) =>
    Effect.suspend(() => {
      current.subscribers.delete(subscriber)
      if (current.subscribers.size > 0 || reader !== current) return Effect.void
      // The last one left: stop reading; the next subscriber starts a reader at its own position.
      reader = undefined
      return current.fiber === undefined ? Effect.void : Fiber.interrupt(current.fiber)
    })

  const subscribe = (options: SubscribeOptions) =>
    Stream.unwrap(Effect.gen(function*() {
      const buffer = yield* Queue.bounded<RecordedEvent.RecordedEvent, Failure | Cause.Done>(options.bufferSize)
      const subscriber: Subscriber = { after: options.after, wanted: options.wanted, bufferSize: options.bufferSize, buffer }
      // Joining is one synchronous step: the reader hands on nothing between reading its position
      // and adding the subscriber, so the backlog ends exactly where the shared events begin.
      const { joinedAt } = yield* Effect.acquireRelease(
        Effect.uninterruptible(Effect.suspend(() => {
          const running = reader
          const joined = running === undefined ? start(options.after) : Effect.succeed(running)
          return Effect.map(joined, (current) => {
            const joinedAt = current.position
            current.subscribers.add(subscriber)
            // A reader that failed as it started ends the stream; the client resumes.
            if (reader !== current) Queue.endUnsafe(buffer)
            return { current, joinedAt }
          })
        })),
        ({ current }) => leave(current, subscriber)
      )
      const backlog = options.after >= joinedAt ? Stream.empty : options.backlog(options.after).pipe(
        Stream.takeWhile((event) => event.position <= joinedAt),
        Stream.filter((event) => event.position > options.after && options.wanted(event))
      )
      return Stream.concat(backlog, Stream.fromQueue(buffer))
    }))

  return {
    subscribe,
    subscribers: Effect.sync(() => reader?.subscribers.size ?? 0),
    readersStarted: Effect.sync(() => readersStarted)
  }
})
