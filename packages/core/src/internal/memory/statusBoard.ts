/**
 * The status board in memory: the reports of the processors of this process.
 */
import { DateTime, Effect } from "effect"
import { type Entry, StatusBoard } from "../../StatusBoard.ts"

export const make: Effect.Effect<StatusBoard["Service"]> = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  return StatusBoard.of({
    report: (report) =>
      Effect.map(DateTime.now, (updatedAt) => void entries.set(`${report.processor}\u0000${report.instance}`, { ...report, updatedAt })),
    list: Effect.sync(() =>
      [...entries.values()].sort((a, b) =>
        a.processor === b.processor ? (a.instance < b.instance ? -1 : 1) : a.processor < b.processor ? -1 : 1
      ))
  })
})
