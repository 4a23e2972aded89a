/**
 * A command's outcome, as the command counter of `Metrics` tags it: handled, rejected by the
 * domain, conflicted, invalid, or failed.
 */
import { Metric, Predicate } from "effect"
import * as Metrics from "../Metrics.ts"

/** The command's tag, for spans. */
export const commandType = (command: unknown) =>
  typeof command === "object" && command !== null && "_tag" in command ? String(command._tag) : "unknown"

export const outcomes = ["handled", "rejected", "conflicted", "invalid", "failed"] as const
export type Outcome = typeof outcomes[number]

/** The aggregate's command counter, tagged once per outcome rather than per command. */
export const commandCounter = (aggregate: string) => {
  const counters = Object.fromEntries(
    outcomes.map((outcome) => [outcome, Metric.withAttributes(Metrics.commands, { aggregate, outcome })])
  ) as Record<Outcome, Metric.Metric<number, unknown>>
  return (outcome: Outcome) => Metric.update(counters[outcome], 1)
}

/** What an error makes of the command; once its events were appended, any error is a failure. */
export const outcomeOf = (error: unknown, appended: boolean): Outcome => {
  if (appended) return "failed"
  if (Predicate.isTagged(error, "WrongExpectedVersion")) return "conflicted"
  if (["EventStoreError", "RetryTransaction", "EventDecodeError", "EventEncodeError", "InvalidInput", "ForeignEvent", "StreamArchived", "StreamDeleted"].some((tag) => Predicate.isTagged(error, tag))) return "failed"
  return "rejected"
}
