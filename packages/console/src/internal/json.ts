/** Values as the console's JSON carries them: positions as decimal strings, times ISO 8601. */
import { DateTime, Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import type { RecordedEvent } from "@facta/core"

export const eventJson = (event: RecordedEvent.RecordedEvent) => ({
  id: event.id,
  streamId: event.streamId,
  version: event.version,
  position: event.position.toString(),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  recordedAt: DateTime.formatIso(event.recordedAt),
  tags: event.tags ?? []
})

const noStore = { "cache-control": "no-store" }

/** A JSON response; bigints become decimal strings. */
export const json = (body: unknown, status = 200): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.succeed(HttpServerResponse.text(JSON.stringify(body, (_, value) => typeof value === "bigint" ? value.toString() : value), {
    status,
    contentType: "application/json",
    headers: noStore
  }))

/** A refusal or a failure: `{ "error": message }` with its status. */
export const error = (status: number, message: string) => json({ error: message }, status)
