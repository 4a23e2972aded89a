/**
 * The error for input that does not match its Schema: it names what was being validated and,
 * for each problem, the path of the failing field and what was wrong with it.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { formatIssue } from "./internal/issue.ts"

/**
 * @category models
 * @since 0.1.0
 */
export class FieldIssue extends Schema.Class<FieldIssue>("@facta/core/FieldIssue")({
  path: Schema.Array(Schema.Union([Schema.String, Schema.Number])),
  message: Schema.String
}) {}

/**
 * @category errors
 * @since 0.1.0
 */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  /** What was validated, e.g. `command of BankAccount`. */
  subject: Schema.String,
  issues: Schema.Array(FieldIssue)
}) {
  override get message() {
    const issues = this.issues.map(({ message, path }) => path.length === 0 ? message : `${path.join(".")}: ${message}`)
    return `Invalid ${this.subject}: ${issues.join("; ")}`
  }
}

/**
 * A decoder of unknown input that fails with a {@link ValidationError} naming `subject`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decoder = <A, I>(schema: Schema.Codec<A, I>, subject: string) => {
  const decode = Schema.decodeUnknownEffect(schema, { errors: "all" })
  return (input: unknown): Effect.Effect<A, ValidationError> =>
    Effect.mapError(decode(input), (error) =>
      new ValidationError({
        subject,
        issues: formatIssue(error.issue).map(({ message, path }) =>
          new FieldIssue({ message, path: path.map((key) => typeof key === "symbol" ? String(key) : key) })
        )
      }))
}
