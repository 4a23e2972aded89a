/**
 * `facta rebuild`: runs one processor in this process, rebuilds it, and reports progress until
 * it has caught up: a line that updates in place on a terminal, plain lines otherwise.
 */
import { EventStore, Processor } from "@facta/core"
import { Console, Effect, Fiber, Schedule } from "effect"

const rate = (events: number, seconds: number) => seconds > 0 ? Math.round(events / seconds) : 0

/** "12,345 of 50,000 events (24%), 8,100 events/s, about 5 s left" */
export const progressLine = (name: string, done: number, total: number, seconds: number) => {
  const perSecond = rate(done, seconds)
  const left = perSecond > 0 ? Math.ceil((total - done) / perSecond) : undefined
  const percent = total === 0 ? 100 : Math.floor(done / total * 100)
  return `rebuilding ${name}: ${done.toLocaleString("en")} of ${total.toLocaleString("en")} events (${percent}%), ` +
    `${perSecond.toLocaleString("en")} events/s${left === undefined ? "" : `, about ${left} s left`}`
}

export const rebuildWithProgress = <E, R>(processor: Processor.Processor<E, R>) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const handle = yield* Processor.start(processor)
    const total = yield* store.count({ types: processor.types })
    const started = Date.now()
    const terminal = process.stdout.isTTY === true
    const report = Effect.gen(function*() {
      const done = Math.max(0, total - (yield* handle.lag))
      const line = progressLine(processor.name, done, total, (Date.now() - started) / 1000)
      yield* terminal ? Effect.sync(() => process.stdout.write(`\r${line}\x1b[K`)) : Console.log(line)
    })
    yield* handle.rebuild
    const progress = yield* Effect.forkChild(report.pipe(Effect.repeat(Schedule.spaced(terminal ? "200 millis" : "1 second"))))
    yield* handle.whenCaughtUp
    yield* Fiber.interrupt(progress)
    const seconds = (Date.now() - started) / 1000
    if (terminal) yield* Effect.sync(() => process.stdout.write("\n"))
    yield* Console.log(`rebuilt ${processor.name}: ${total.toLocaleString("en")} events in ${seconds.toFixed(1)} s (${rate(total, seconds).toLocaleString("en")} events/s)`)
  })
