/**
 * `facta rebuild`: runs one processor in this process, rebuilds it, and reports progress until
 * it has caught up: a line that updates in place on a terminal, plain lines otherwise.
 */
import { BlueGreen, EventStore, Placement, Processor, type ProjectionStore } from "@facta/core"
import { Console, Effect, Fiber, Schedule, type Scope } from "effect"

const rate = (events: number, seconds: number) => seconds > 0 ? Math.round(events / seconds) : 0

/** "12,345 of 50,000 events (24%), 8,100 events/s, about 5 s left" */
export const progressLine = (name: string, done: number, total: number, seconds: number) => {
  const perSecond = rate(done, seconds)
  const left = perSecond > 0 ? Math.ceil((total - done) / perSecond) : undefined
  const percent = total === 0 ? 100 : Math.floor(done / total * 100)
  return `rebuilding ${name}: ${done.toLocaleString("en")} of ${total.toLocaleString("en")} events (${percent}%), ` +
    `${perSecond.toLocaleString("en")} events/s${left === undefined ? "" : `, about ${left} s left`}`
}

/** Reports the progress of `run` (which ends when `lag` is 0) every so often, then how long it took. */
const withProgress = <A, E, R>(name: string, total: number, lag: Effect.Effect<number, unknown>, run: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const terminal = process.stdout.isTTY === true
    const report = Effect.gen(function*() {
      const done = Math.max(0, total - (yield* lag))
      const line = progressLine(name, done, total, (Date.now() - started) / 1000)
      yield* terminal ? Effect.sync(() => process.stdout.write(`\r${line}\x1b[K`)) : Console.log(line)
    }).pipe(Effect.ignore)
    const progress = yield* Effect.forkChild(report.pipe(Effect.repeat(Schedule.spaced(terminal ? "200 millis" : "1 second"))))
    const result = yield* run
    yield* Fiber.interrupt(progress)
    const seconds = (Date.now() - started) / 1000
    if (terminal) yield* Effect.sync(() => process.stdout.write("\n"))
    yield* Console.log(`rebuilt ${name}: ${total.toLocaleString("en")} events in ${seconds.toFixed(1)} s (${rate(total, seconds).toLocaleString("en")} events/s)`)
    return result
  })

export const rebuildWithProgress = <E, R>(processor: Processor.Processor<E, R>) =>
  Effect.gen(function*() {
    const total = yield* (yield* EventStore.EventStore).count({ types: processor.types })
    // Run here whatever the application's placement: this process rebuilds.
    const handle = yield* Processor.start(processor).pipe(Effect.provideService(Placement.Placement, Placement.here))
    yield* handle.rebuild
    yield* withProgress(processor.name, total, handle.lag, handle.whenCaughtUp)
  })

/** `--blue-green`: the shadow's progress, then the switch. */
export const blueGreenWithProgress = <E, R>(
  processor: Processor.Processor<E, R>
): Effect.Effect<
  void,
  E | BlueGreen.SwitchError | Processor.ProcessorHalted | Processor.SegmentsChanged,
  Scope.Scope | Processor.Requirements | ProjectionStore.ProjectionStore | R
> =>
  Effect.gen(function*() {
    const total = yield* (yield* EventStore.EventStore).count({ types: processor.types })
    const shadow = yield* BlueGreen.start(processor)
    yield* Console.log(`building generation ${shadow.generation} of ${processor.name} as ${shadow.name}; readers keep the current one`)
    const switched = yield* withProgress(shadow.name, total, shadow.lag, shadow.switch)
    yield* Console.log(`switched ${processor.name} to generation ${switched.generation}; the previous generation is dropped`)
  })
