/**
 * The metrics Facta records, as Effect `Metric`s: export them with any Effect metrics exporter
 * (for instance the OTLP exporter of `effect/observability`).
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Commands by `aggregate` and `outcome`: `handled`, `rejected` (a domain error), `conflicted`
 * (version conflicts outlasted the retries), `invalid` (input failed validation) or `failed`.
 *
 * @since 0.1.0
 */
export const commands = Metric.counter("facta_commands_total", {
  description: "Commands handled, by aggregate and outcome",
  incremental: true
})

/**
 * @since 0.1.0
 */
export const eventsAppended = Metric.counter("facta_events_appended_total", {
  description: "Events appended to the event store",
  incremental: true
})

/**
 * @since 0.1.0
 */
export const appendDuration = Metric.timer("facta_append_duration", {
  description: "Time an append takes, including its round trip to the store"
})

/**
 * The last position each `processor` committed (the low 64 bits: the sequence part on SQL stores).
 *
 * @since 0.1.0
 */
export const processorPosition = Metric.gauge("facta_processor_position", {
  description: "Checkpoint position of each processor"
})

/**
 * Events of a `processor`'s types after its checkpoint, as last measured.
 *
 * @since 0.1.0
 */
export const processorLag = Metric.gauge("facta_processor_lag", {
  description: "Events a processor has still to handle"
})

/**
 * Events handled by each `processor`.
 *
 * @since 0.1.0
 */
export const processorEvents = Metric.counter("facta_processor_events_total", {
  description: "Events handled by each processor",
  incremental: true
})

/**
 * 1 while a `processor` (a segment, of a split one) is halted in this process, 0 once it is
 * rebuilt: alert on it, since a halted processor handles nothing more.
 *
 * @since 0.1.0
 */
export const processorHalted = Metric.gauge("facta_processor_halted", {
  description: "1 while a processor is halted"
})
