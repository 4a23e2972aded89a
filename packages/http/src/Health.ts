/**
 * Liveness and readiness over HTTP, for a load balancer or an orchestrator. `GET /health/live`
 * answers 200 while the process serves. `GET /health/ready` answers 200 with each processor's
 * status, and 503 ({@link Problems.NotReady}, with its reasons) while a processor is halted or the
 * event store cannot be reached: a halted processor no longer updates its read models, so the
 * instance should not take traffic that reads them.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { type HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { EventStore, LiveClock, Processor } from "@facta/core"
import type { MiddlewareOf } from "./CommandApi.ts"
import * as Problems from "./Problems.ts"

/**
 * The answer of `/health/live`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Live = Schema.Struct({ status: Schema.Literal("live") })

/**
 * A processor's status as `/health/ready` shows it; the position is a decimal string (a `bigint`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const ProcessorStatus = Schema.Struct({ name: Schema.String, state: Schema.String, position: Schema.String })

/**
 * The answer of `/health/ready` when the service is ready.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Ready = Schema.Struct({ status: Schema.Literal("ready"), processors: Schema.Array(ProcessorStatus) })

/**
 * The health endpoints, as a group to add to the application's `HttpApi`.
 *
 * @category groups
 * @since 0.1.0
 */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("live", "/health/live", { success: Live }),
  HttpApiEndpoint.get("ready", "/health/ready", { success: Ready, error: Problems.NotReady })
) {}

/**
 * Why the service is not ready: each halted processor, and an event store that fails or does not
 * answer within `timeout`.
 */
const notReadyReasons = (store: EventStore.EventStore["Service"], processors: Option.Option<Processor.Running>, timeout: Duration.Input) =>
  Effect.gen(function*() {
    const reasons: Array<string> = []
    const reached = yield* store.head().pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(`did not answer within ${Duration.format(Duration.fromInputUnsafe(timeout))}`)
      }),
      // The timeout waits on the live clock, whatever clock the application runs on.
      LiveClock.provide,
      Effect.result
    )
    if (reached._tag === "Failure") {
      const failure = reached.failure
      reasons.push(`event store unreachable: ${typeof failure === "string" ? failure : failure.message}`)
    }
    const health = Option.isSome(processors) ? yield* processors.value.health : { healthy: true, processors: [], halted: [] }
    for (const halt of health.halted) reasons.push(halt.message)
    return { reasons, processors: health.processors }
  })

/**
 * Serves {@link HealthGroup} in `api`, which must contain it. It reads the `EventStore` and, when
 * the application runs processors with `Processor.layer`, the `Processors` service.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <ApiId extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<ApiId, Groups> & ("health" extends HttpApiGroup.Identifier<Groups> ? unknown : "add Health.HealthGroup to the API"),
  options?: {
    /** How long the event store may take to answer before the service is not ready. Default 2 seconds. */
    readonly timeout?: Duration.Input | undefined
  }
): Layer.Layer<HttpApiGroup.Service<ApiId, "health">, never, EventStore.EventStore | MiddlewareOf<Groups, "health">> =>
  HttpApiBuilder.group(api as unknown as HttpApi.HttpApi<ApiId, typeof HealthGroup>, "health", (handlers) =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      const processors = yield* Effect.serviceOption(Processor.Processors)
      const timeout = options?.timeout ?? "2 seconds"
      return handlers
        .handle("live", () => Effect.succeed({ status: "live" as const }))
        .handle("ready", () =>
          Effect.flatMap(notReadyReasons(store, processors, timeout), ({ processors, reasons }) =>
            reasons.length > 0
              ? Effect.fail(new Problems.NotReady({ detail: reasons.join("; "), reasons }))
              : Effect.succeed({
                status: "ready" as const,
                processors: processors.map(({ name, position, state }) => ({ name, state, position: position.toString() }))
              })))
    }))
