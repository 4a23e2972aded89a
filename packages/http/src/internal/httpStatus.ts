/** The status an error Schema is answered with, shared by the modules that declare or translate errors. */
import { type Schema, SchemaAST } from "effect"

const resolveStatus = SchemaAST.resolveAt<number>("httpApiStatus")

/** The `httpApiStatus` a Schema (or its property key, as `HttpApiSchema.status` may put it) is annotated with. */
export const statusOf = (schema: Schema.Top): number | undefined =>
  resolveStatus(schema.ast) ?? schema.ast.context?.annotations?.httpApiStatus as number | undefined
