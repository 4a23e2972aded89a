/**
 * The actions the console runs in the background: rebuilds (in place or blue-green) and replays
 * of parked events. Each runs in the console's scope, in this process (as `facta rebuild` and
 * `facta parked replay` do), and reports its progress (events done of the events to handle) to
 * the page, which polls it. The list lives in memory.
 */
import { BlueGreen, EventStore, ParkedEvents, Placement, Processor, type ProjectionStore } from "@facta/core"
import { Cause, Effect, Fiber, Schedule, type Scope } from "effect"

export interface Job {
  readonly id: string
  readonly processor: string
  readonly kind: "rebuild" | "blue-green" | "replay"
  state: "running" | "done" | "failed"
  total: number
  done: number
  detail: string
  readonly startedAt: string
  finishedAt: string | undefined
}

type Needs = Processor.Requirements | ProjectionStore.ProjectionStore | ParkedEvents.ParkedEvents

export interface Jobs {
  readonly list: () => ReadonlyArray<Job>
  readonly get: (id: string) => Job | undefined
  readonly rebuild: <E, R>(processor: Processor.Processor<E, R>, blueGreen: boolean) => Effect.Effect<Job, never, R | Needs>
  readonly replay: <E, R>(processor: Processor.Processor<E, R>, eventId: string | undefined) => Effect.Effect<Job, never, R | Needs>
  /** The running action on a processor, if any: a second one is refused while it runs. */
  readonly running: (processor: string) => Job | undefined
}

/** How many finished actions are remembered. */
const kept = 20

export const make = (onChange: Effect.Effect<void>): Effect.Effect<Jobs, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const jobs: Array<Job> = []
    let next = 1

    const withProgress = <A, E, R>(job: Job, lag: Effect.Effect<number, unknown>, run: Effect.Effect<A, E, R>) =>
      Effect.gen(function*() {
        const report = Effect.flatMap(lag, (left) =>
          Effect.sync(() => {
            job.done = Math.max(0, Math.min(job.total, job.total - left))
          })).pipe(Effect.ignore)
        const progress = yield* Effect.forkChild(report.pipe(Effect.repeat(Schedule.spaced("200 millis"))))
        const result = yield* run
        yield* Fiber.interrupt(progress)
        return result
      })

    /** Starts `body` in the console's scope as a job of `kind` on `processor`. */
    const launch = <E, R>(processor: string, kind: Job["kind"], body: (job: Job) => Effect.Effect<void, E, R | Scope.Scope>) =>
      Effect.gen(function*() {
        const job: Job = {
          id: String(next++),
          processor,
          kind,
          state: "running",
          total: 0,
          done: 0,
          detail: "",
          startedAt: new Date().toISOString(),
          finishedAt: undefined
        }
        jobs.unshift(job)
        jobs.splice(kept)
        const run = body(job).pipe(
          Effect.scoped,
          Effect.matchCauseEffect({
            onSuccess: () =>
              Effect.sync(() => {
                job.done = job.total
                job.state = "done"
              }),
            onFailure: (cause) =>
              Effect.sync(() => {
                job.state = "failed"
                job.detail = Cause.pretty(cause).split("\n")[0] ?? "failed"
              })
          }),
          Effect.andThen(Effect.sync(() => {
            job.finishedAt = new Date().toISOString()
          })),
          Effect.andThen(Effect.logInfo(`console: ${kind} of ${processor} ${job.state}${job.detail === "" ? "" : `: ${job.detail}`}`)),
          Effect.andThen(onChange)
        )
        yield* Effect.forkIn(run as Effect.Effect<void, never, R>, scope)
        return job
      })

    const rebuild = <E, R>(processor: Processor.Processor<E, R>, blueGreen: boolean) =>
      launch(processor.name, blueGreen ? "blue-green" : "rebuild", (job) =>
        Effect.gen(function*() {
          job.total = yield* (yield* EventStore.EventStore).count({ types: processor.types })
          if (blueGreen) {
            const shadow = yield* BlueGreen.start(processor)
            job.detail = `building generation ${shadow.generation} as ${shadow.name}; readers keep the current one`
            const switched = yield* withProgress(job, shadow.lag, shadow.switch)
            job.detail = `switched to generation ${switched.generation}`
          } else {
            // Run here whatever the application's placement: this process rebuilds.
            const handle = yield* Processor.start(processor).pipe(Effect.provideService(Placement.Placement, Placement.here))
            yield* handle.rebuild
            yield* withProgress(job, handle.lag, handle.whenCaughtUp)
            job.detail = "caught up"
          }
        }))

    const replay = <E, R>(processor: Processor.Processor<E, R>, eventId: string | undefined) =>
      launch(processor.name, "replay", (job) =>
        Effect.gen(function*() {
          const parked = yield* (yield* ParkedEvents.ParkedEvents).list(processor.name)
          job.total = parked.filter((entry) => eventId === undefined || entry.event.id === eventId).length
          job.detail = "waiting for the processor's lease: a running instance of it holds it until it stops"
          job.done = yield* Processor.replayParked(processor, eventId)
          job.total = job.done
          job.detail = `replayed ${job.done} parked event${job.done === 1 ? "" : "s"}`
        }))

    return {
      list: () => jobs,
      get: (id) => jobs.find((job) => job.id === id),
      running: (processor) => jobs.find((job) => job.processor === processor && job.state === "running"),
      rebuild,
      replay
    }
  })
