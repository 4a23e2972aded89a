/**
 * The behaviour every {@link EventStore} implementation must show, as a Vitest suite that takes
 * the store's Layer. Tests use fresh stream ids and event types, so they can share one database
 * with other tests.
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import type { Layer } from "effect"
import type { EventStore } from "../EventStore.ts"
import { appends } from "./eventStore/appends.ts"
import { commands } from "./eventStore/commands.ts"
import { concurrency } from "./eventStore/concurrency.ts"
import { reads } from "./eventStore/reads.ts"
import { subscriptions } from "./eventStore/subscriptions.ts"

/**
 * Registers the conformance suite for the store that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const eventStoreConformance = <E>(name: string, storeLayer: Layer.Layer<EventStore, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`EventStore conformance: ${name}`, (it) => {
    appends(it)
    reads(it)
    commands(it)
    concurrency(it)
    subscriptions(it)
  })
