/**
 * The behaviour of the processor runtime on a set of stores: exactly-once projections under
 * interruption, poison events, reactors' causation and emit guard, one instance at a time, and
 * rebuilds. Run against every store implementation. Tests use fresh event types and processor
 * names, so they can share one database.
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { Layer } from "effect"
import { catchUp } from "./processor/catchUp.ts"
import { failures } from "./processor/failures.ts"
import type { Services } from "./processor/fixtures.ts"
import { instances } from "./processor/instances.ts"
import { reactors } from "./processor/reactors.ts"
import { rebuilds } from "./processor/rebuilds.ts"
import { onTestClock } from "./processor/testClock.ts"
import { transactions } from "./processor/transactions.ts"

export type { Services }

/**
 * Registers the processor suite for the stores `storeLayer` provides.
 *
 * @category testing
 * @since 0.1.0
 */
export const processorConformance = <E>(
  name: string,
  storeLayer: Layer.Layer<Services, E>,
  options?: {
    /**
     * The store is one session (embedded PGlite): a transaction excludes every other statement,
     * so the test that moves a checkpoint during another instance's batch cannot run; it is
     * reported as skipped.
     */
    readonly singleSession?: boolean
  }
): void => {
  onTestClock(name, storeLayer, options)
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`Processor conformance: ${name}`, (it) => {
    const concurrentTest = options?.singleSession === true ? it.effect.skip : it.effect
    transactions(it)
    catchUp(it, concurrentTest)
    failures(it)
    reactors(it)
    instances(it)
    rebuilds(it, concurrentTest)
  })
}
