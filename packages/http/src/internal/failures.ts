/** How a write endpoint declares and answers the failures of a handler, shared by the modules that run one. */
import { Effect, Predicate, Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import type { ClosedStreams, EventStore } from "@facta/core"
import { badRequest, Conflict } from "../Problems.ts"
import { statusOf } from "./httpStatus.ts"

/** A domain error Schema with its own status, or 422. */
export const withDefaultStatus = <S extends Schema.Top>(schema: S): S =>
  statusOf(schema) === undefined
    ? schema.pipe(HttpApiSchema.status(422)) as S
    : schema

/**
 * A failure of a handler as the endpoint answers it: refused input a 400 problem, a conflict
 * that outlasted the retries, a broken append condition or a closed stream a 409, a declared domain error itself;
 * anything else is a defect.
 */
export const answerFailure = (error: unknown, declared: ReadonlyArray<Schema.Top>) => {
  if (Predicate.isTagged(error, "ValidationError") || Predicate.isTagged(error, "InvalidInput")) {
    return Effect.fail(badRequest(error as Parameters<typeof badRequest>[0]))
  }
  if (Predicate.isTagged(error, "WrongExpectedVersion")) {
    const conflict = error as EventStore.WrongExpectedVersion
    return Effect.fail(new Conflict({ streamId: conflict.streamId, detail: `${conflict.message}; try again` }))
  }
  if (Predicate.isTagged(error, "AppendConditionFailed")) {
    const failed = error as EventStore.AppendConditionFailed
    return Effect.fail(new Conflict({ streamId: failed.streamId, detail: `${failed.message}; try again` }))
  }
  // A closed stream takes no more events: trying again cannot help.
  if (Predicate.isTagged(error, "StreamArchived") || Predicate.isTagged(error, "StreamDeleted")) {
    const closed = error as ClosedStreams.StreamClosed
    return Effect.fail(new Conflict({ streamId: closed.streamId, detail: closed.message }))
  }
  return declared.some((schema) => Schema.is(schema)(error)) ? Effect.fail(error) : Effect.die(error)
}
