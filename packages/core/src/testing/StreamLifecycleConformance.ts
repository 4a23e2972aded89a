/**
 * The behaviour every {@link StreamLifecycle} implementation must show with its stores, as a
 * Vitest suite that takes a Layer of every store and the lifecycle: archive, delete, truncation,
 * retention, appends racing an archive or a delete, and processors meeting the markers. Tests use
 * fresh categories and types, so they can share one database.
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { Layer } from "effect"
import { closing } from "./lifecycle/closing.ts"
import type { Services } from "./lifecycle/fixtures.ts"
import { processors } from "./lifecycle/processors.ts"
import { races } from "./lifecycle/races.ts"
import { truncation } from "./lifecycle/truncation.ts"

export type { Services }

/**
 * Registers the lifecycle suite for the stores `storeLayer` provides; `rounds` of each race
 * (default 20).
 *
 * @category testing
 * @since 0.1.0
 */
export const streamLifecycleConformance = <E>(
  name: string,
  storeLayer: Layer.Layer<Services, E>,
  options?: {
    readonly rounds?: number | undefined
    /**
     * The store is one session (embedded PGlite): a delete cannot run while a processor's batch
     * holds it open, so that test is reported as skipped.
     */
    readonly singleSession?: boolean | undefined
  }
): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`StreamLifecycle conformance: ${name}`, (it) => {
    closing(it)
    truncation(it)
    races(it, options?.rounds ?? 20)
    processors(it, options?.singleSession === true ? it.effect.skip : it.effect)
  })
