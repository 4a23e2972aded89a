/**
 * Tags, reads by `EventQuery` and conditional appends (`appendIf`), as every store must
 * give them: exact under concurrency (of N deciders racing for the last place, exactly one wins),
 * free of conflicts between appends on disjoint tags, and aware of an older transaction that
 * commits after the read. Tests use fresh tags and types, so they can share one database.
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { Layer } from "effect"
import type { EventStore } from "../EventStore.ts"
import type { Transactor } from "../Transactor.ts"
import { conditions } from "./eventQuery/conditions.ts"
import { olderTransactions } from "./eventQuery/olderTransactions.ts"
import { races } from "./eventQuery/races.ts"
import { reads } from "./eventQuery/reads.ts"

export { raceForLastPlace } from "./eventQuery/fixtures.ts"

/**
 * Registers the suite for the stores `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const eventQueryConformance = <E>(
  name: string,
  storeLayer: Layer.Layer<EventStore | Transactor, E>,
  options?: {
    /** Concurrent deciders per round, and rounds of each. Default: 8, 16 and 64 deciders, 30 rounds. */
    readonly rounds?: number | undefined
    /**
     * One database session for everything (PGlite): a transaction holds it until it ends, so no
     * read can run while an older transaction is open, and that test is reported as skipped.
     */
    readonly singleSession?: boolean | undefined
    /**
     * Other writers wait while a transaction is open (the in-memory store): the tests of an older
     * transaction appending after a newer decision committed cannot arrange that order, and are
     * reported as skipped. Such a store has no log order for them to break.
     */
    readonly transactionsBlockWriters?: boolean | undefined
  }
): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "300 seconds" })(`EventQuery conformance: ${name}`, (it) => {
    const concurrentTest = options?.singleSession === true ? it.effect.skip : it.effect
    const rounds = options?.rounds ?? 30
    const interleavedTest = options?.transactionsBlockWriters === true ? it.effect.skip : concurrentTest
    // A round of 64 deciders on one session (PGlite) takes a few tenths of a second.
    const raceTimeout = Math.max(60_000, rounds * 1_000)

    reads(it)
    conditions(it)
    races(it, rounds, raceTimeout)
    olderTransactions(concurrentTest, interleavedTest)
  })
