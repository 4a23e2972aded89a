/**
 * Figure 8: the in-memory store. Command throughput comes from `commands.ts` (the same command as
 * figure 4, through `InMemory.eventStore`); heap bytes per stored event are measured in child
 * processes (`memoryHeap.ts`) started with `--expose-gc`, one per side, so neither heap holds the
 * other's leftovers or this process's.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { memoryFigures as memoryCommands } from "./commands.ts"
import { type Figure, lowerIsBetter, type Plan } from "./measure.ts"
import type { MemoryTarget } from "./targets.ts"

const script = fileURLToPath(new URL("./memoryHeap.ts", import.meta.url))

interface HeapResult {
  readonly bytesPerEvent: number
  readonly stored: number
  readonly ms: number
}

const measureHeap = (side: "facta" | "baseline", events: number): Promise<HeapResult> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, ["--expose-gc", "--conditions=@facta/source", script, side, String(events)], { encoding: "utf8", maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`memoryHeap.ts ${side} failed: ${error.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop()!) as HeapResult)
      } catch (cause) {
        reject(new Error(`memoryHeap.ts ${side} printed no result: ${stdout}\n${stderr}`, { cause }))
      }
    })
  })

export const heapFigure = async (plan: Plan): Promise<Figure> => {
  const facta = await measureHeap("facta", plan.heapEvents)
  const baseline = await measureHeap("baseline", plan.heapEvents)
  const events = plan.heapEvents.toLocaleString("en-US")
  return lowerIsBetter({
    id: "8",
    title: "Heap per stored event (small events, batches of 100)",
    store: "memory",
    metric: "heap",
    unit: "bytes/event",
    facta: facta.bytesPerEvent,
    baseline: baseline.bytesPerEvent,
    note: `${events} events${plan.quick ? " (--quick; full mode stores 1,000,000)" : ""}; baseline: PlainLog, same envelope fields as plain objects`
  })
}

export const figures = async (target: MemoryTarget, plan: Plan): Promise<Array<Figure>> => [
  ...(await memoryCommands(target, plan)),
  await heapFigure(plan)
]
