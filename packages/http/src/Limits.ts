/**
 * Limits on what one request may cost the server, as an `effect/http-api` middleware: add
 * {@link Limits} to the API (or a group) and provide {@link layer}.
 *
 * | Limit          | Default    | What a request over it answers                                          |
 * | -------------- | ---------- | ----------------------------------------------------------------------- |
 * | `maxBodyBytes` | 1 MiB      | 413 problem (`Problems.PayloadTooLarge`); the body is not read further  |
 * | `timeout`      | 30 seconds | 503 problem (`Problems.TimedOut`); the endpoint's work is interrupted   |
 *
 * A body is refused before it is read when its `Content-Length` says it is too large, and
 * otherwise as soon as the bytes read pass the limit. The timeout covers decoding the request and
 * running the handler, up to the response's first byte; a streaming response (Server-Sent Events)
 * streams on after it. It is a 503, not a 504 (no upstream server timed out) nor a 408 (the client
 * was not slow): the server could not answer in time, and asking again later may succeed. The
 * 503 is sent once the interrupted work has stopped (a step that cannot be interrupted, such as a
 * commit under way, ends first). A command interrupted by it was written or not, never half: send
 * it with an `Idempotency-Key`, and sending it again with the same key answers what it did.
 *
 * @since 0.1.0
 */
import { ByteSize, Duration, Effect, Layer, Predicate } from "effect"
import { HttpIncomingMessage, HttpServerRequest } from "effect/http"
import { HttpApiMiddleware } from "effect/http-api"
import { LiveClock } from "@facta/core"
import { PayloadTooLarge, TimedOut } from "./Problems.ts"

/**
 * The middleware: its failures are declared, so the OpenAPI document and a generated client know
 * the 413 and the 503.
 *
 * @category middleware
 * @since 0.1.0
 */
export class Limits extends HttpApiMiddleware.Service<Limits>()("@facta/http/Limits", {
  error: [PayloadTooLarge, TimedOut]
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The largest request body read, in bytes. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** How long a request may take to answer. Default 30 seconds. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The largest request body read by default: 1 MiB.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultMaxBodyBytes = 1024 * 1024

/** The body outgrew `MaxBodySize` while it was read: a defect of the endpoint's own decoding. */
const isBodyTooLarge = (defect: unknown): boolean =>
  Predicate.isTagged(defect, "HttpServerError") &&
  Predicate.hasProperty(defect, "reason") &&
  Predicate.isTagged(defect.reason, "RequestParseError") &&
  Predicate.hasProperty(defect.reason, "reason") &&
  defect.reason.reason === "BodyTooLarge"

/**
 * Provides {@link Limits}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Limits> => {
  const maxBodyBytes = options?.maxBodyBytes ?? defaultMaxBodyBytes
  const timeout = Duration.fromInputUnsafe(options?.timeout ?? "30 seconds")
  const tooLarge = () => new PayloadTooLarge({ limit: maxBodyBytes, detail: `The request body is larger than ${maxBodyBytes} bytes` })
  // The timer runs on the live clock, whatever clock the application runs on.
  const timedOut = LiveClock.provide(Effect.sleep(timeout)).pipe(
    Effect.andThen(Effect.fail(new TimedOut({ timeout: Duration.format(timeout), detail: `The service did not answer within ${Duration.format(timeout)}` })))
  )
  return Layer.succeed(Limits, (httpEffect) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = Number(request.headers["content-length"])
      if (length > maxBodyBytes) return yield* tooLarge()
      return yield* Effect.raceFirst(
        httpEffect.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBodyBytes)),
          Effect.catchDefect((defect) => isBodyTooLarge(defect) ? Effect.fail(tooLarge()) : Effect.die(defect))
        ),
        timedOut
      )
    }))
}
