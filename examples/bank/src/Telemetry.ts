/**
 * Sends the bank's traces, metrics and logs to an OpenTelemetry collector, through Effect's own
 * OTLP exporter (`effect/observability`): Facta's spans (`CommandHandler.execute`,
 * `EventStore.append`, `Processor.batch`, ...) and metrics (`facta_commands_total`, ...) need
 * nothing more than this layer.
 *
 * `npm start` uses it when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (e.g. `http://localhost:4318`).
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp, OtlpSerialization } from "effect/observability"

/**
 * Exports to the OTLP/HTTP endpoint at `baseUrl` (`/v1/traces`, `/v1/metrics` and `/v1/logs` are
 * appended); pending data is flushed when the layer is released.
 *
 * @since 0.1.0
 */
export const layer = (baseUrl: string, options?: { readonly exportInterval?: `${number} millis` | undefined }) =>
  Otlp.layer({
    baseUrl,
    resource: { serviceName: "facta-bank", serviceVersion: "0.1.0" },
    ...(options?.exportInterval === undefined ? {} : {
      tracerExportInterval: options.exportInterval,
      metricsExportInterval: options.exportInterval,
      loggerExportInterval: options.exportInterval
    })
  }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )

/**
 * The exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and nothing otherwise.
 *
 * @since 0.1.0
 */
export const fromEnvironment = () => {
  const endpoint = process.env["OTEL_EXPORTER_OTLP_ENDPOINT"]
  return endpoint === undefined || endpoint === "" ? Layer.empty : layer(endpoint)
}
