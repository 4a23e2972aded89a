/** A position in the log as the wire carries it, shared by the modules that answer or take one. */
import { Schema, SchemaTransformation } from "effect"

/** A decimal string, such as `"42"`, decoded to a `bigint`. */
export const Position = Schema.String.check(
  Schema.isPattern(/^(0|[1-9][0-9]{0,39})$/, { expected: "a position in the log: a decimal integer, such as \"42\"" })
).pipe(Schema.decodeTo(
  Schema.BigInt,
  SchemaTransformation.transform({ decode: (position: string) => BigInt(position), encode: (position: bigint) => position.toString() })
))
