/**
 * The whole service as one layer: the HTTP API on a Node server, and the processors that
 * follow the event log (the projection that keeps the lists and the reactor that notifies
 * stakeholders), all in one process.
 *
 * It leaves the stores and the `Notifier` to the caller. `main.ts` provides embedded or server
 * Postgres and the logging notifier; the tests provide the in-memory stores and a notifier that
 * records. The same store layer must reach both halves, so it is provided to this layer as a
 * whole, never inside `HttpRouter.serve` (layers built inside `serve` are private to the server).
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { type Duration, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { type EventStore, Processor, type ProjectionStore } from "@facta/core"
import { createServer } from "node:http"
import * as Api from "./Api.ts"
import * as Notifications from "./Notifications.ts"
import * as Projections from "./Projections.ts"

/**
 * Everything that follows the log. (The annotation names the services they need together;
 * `Processor.layer` infers them from the first processor only.) `Processors.whenCaughtUp` waits until all of them have
 * handled every event appended before the call: after it, the lists show every earlier write.
 *
 * @since 0.1.0
 */
export const processors: ReadonlyArray<
  Processor.Processor<unknown, ProjectionStore.ProjectionStore | EventStore.EventStore | Notifications.Notifier>
> = [Projections.TodoLists, Notifications.StakeholderNotifier]

/**
 * @since 0.1.0
 */
export interface Options {
  /** The port to listen on; `0` picks a free one (read it from `HttpServer.address`). */
  readonly port: number
  /** The interface to listen on. Default: every interface. */
  readonly host?: string | undefined
  /** Logs every request. Default true. */
  readonly logRequests?: boolean | undefined
  /** The largest request body accepted; larger ones get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** How long a request may take; a slower one gets 503. Default 30 seconds. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Serves the API and runs the processors for as long as the layer lives. It provides the
 * `HttpServer` (with its address) and the running `Processors`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  Layer.mergeAll(
    HttpRouter.serve(Api.routesWith({ maxBodyBytes: options.maxBodyBytes, timeout: options.timeout }), { disableLogger: options.logRequests === false }).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host }))
    ),
    Processor.layer(processors)
  )
