/**
 * The arrows of ARCHITECTURE.md, checked: no import cycle among the packages' sources, and in
 * `@facta/core` imports go only from a part to the same part or one below it (domain, ports,
 * flows, runtime, adapters). Type-only imports count: they bind the modules as much.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const packages = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const core = join(packages, "core/src")

const sourcesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourcesUnder(path) : path.endsWith(".ts") ? [path] : []
  })

/** The relative imports (and re-exports) of each source file, resolved to files. */
const importsOf = (files: ReadonlyArray<string>) => {
  const known = new Set(files)
  return new Map(files.map((file) => {
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^"']*?from\s+["'](\.[^"']+)["']/g)]
      .map((match) => resolve(dirname(file), match[1]!))
      .filter((target) => known.has(target))
    return [file, targets] as const
  }))
}

const cyclesIn = (imports: Map<string, ReadonlyArray<string>>) => {
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const cycles: Array<string> = []
  const visit = (file: string) => {
    state.set(file, "visiting")
    stack.push(file)
    for (const target of imports.get(file) ?? []) {
      if (state.get(target) === "visiting") cycles.push([...stack.slice(stack.indexOf(target)), target].map((f) => relative(packages, f)).join(" -> "))
      else if (!state.has(target)) visit(target)
    }
    stack.pop()
    state.set(file, "done")
  }
  for (const file of imports.keys()) if (!state.has(file)) visit(file)
  return cycles
}

const parts = ["domain", "ports", "flows", "runtime", "adapters"] as const
type Part = typeof parts[number]

/** Each module of the core and its part; a module not named here fails the test. */
const partOf: Record<string, Part> = {
  "Aggregate.ts": "domain",
  "Decision.ts": "domain",
  "EventQuery.ts": "domain",
  "RecordedEvent.ts": "domain",
  "ValidationError.ts": "domain",
  "InvalidInput.ts": "domain",
  "ClosedStreams.ts": "domain",
  "internal/issue.ts": "domain",
  "PersonalData.ts": "domain",
  "internal/personalFields.ts": "domain",
  // A service, but the codec's: encoding an event with personal fields needs its keys.
  "KeyStore.ts": "domain",
  "EventStore.ts": "ports",
  "StreamLifecycle.ts": "ports",
  "ProjectionStore.ts": "ports",
  "Documents.ts": "ports",
  "CheckpointStore.ts": "ports",
  "SnapshotStore.ts": "ports",
  "Transactor.ts": "ports",
  "Lease.ts": "ports",
  "ParkedEvents.ts": "ports",
  "StatusBoard.ts": "ports",
  "Placement.ts": "ports",
  "Metrics.ts": "ports",
  "LiveClock.ts": "ports",
  "internal/batch.ts": "ports",
  "internal/generation.ts": "ports",
  "internal/eventChecks.ts": "ports",
  "internal/recording.ts": "ports",
  "internal/order.ts": "ports",
  "internal/foldRead.ts": "ports",
  "CommandHandler.ts": "flows",
  "DecisionHandler.ts": "flows",
  "Dispatcher.ts": "flows",
  "Erasure.ts": "flows",
  "Projection.ts": "flows",
  "Reactor.ts": "flows",
  "ProcessManager.ts": "flows",
  "internal/dispatcher.ts": "flows",
  "internal/commandOutcomes.ts": "flows",
  "internal/commandRetries.ts": "flows",
  "internal/snapshotting.ts": "flows",
  "internal/processor/model.ts": "flows",
  "Processor.ts": "runtime",
  "BlueGreen.ts": "runtime",
  "internal/processor/": "runtime",
  "InMemory.ts": "adapters",
  "internal/memory/": "adapters",
  "index.ts": "adapters",
  "testing.ts": "adapters",
  "testing/": "adapters"
}

const partOfFile = (file: string): Part | undefined => {
  const name = relative(core, file)
  return partOf[name] ?? Object.entries(partOf).find(([prefix]) => prefix.endsWith("/") && name.startsWith(prefix))?.[1]
}

describe("architecture", () => {
  it("no import cycle among the packages' sources", () => {
    const files = readdirSync(packages).flatMap((name) => {
      const src = join(packages, name, "src")
      return statSync(join(packages, name)).isDirectory() && readdirSync(join(packages, name)).includes("src") ? sourcesUnder(src) : []
    })
    assert.isAbove(files.length, 50)
    assert.deepStrictEqual(cyclesIn(importsOf(files)), [])
  })

  it("in the core, every module has its part, and imports go to the same part or one below", () => {
    const files = sourcesUnder(core)
    assert.deepStrictEqual(files.filter((file) => partOfFile(file) === undefined).map((file) => relative(core, file)), [])
    const upward = [...importsOf(files)].flatMap(([file, targets]) => {
      const from = parts.indexOf(partOfFile(file)!)
      return targets
        .filter((target) => parts.indexOf(partOfFile(target)!) > from)
        .map((target) => `${relative(core, file)} (${parts[from]}) imports ${relative(core, target)} (${partOfFile(target)})`)
    })
    assert.deepStrictEqual(upward, [])
  })
})
