/**
 * Schema issues as the lines every Facta error shows (`path: message`).
 */
import { SchemaIssue } from "effect"

/**
 * Formats a Schema issue as `path: message` lines, the form every Facta error uses.
 */
export const formatIssue = (issue: SchemaIssue.Issue): ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }> =>
  standardFormatter(issue).issues.map((entry) => ({
    path: (entry.path ?? []).map((key) => typeof key === "object" ? key.key : key),
    message: entry.message
  }))

/**
 * Renders issues as one line: `amount: Expected a value greater than 0; owner: Expected string`.
 */
export const describeIssue = (issue: SchemaIssue.Issue): string =>
  formatIssue(issue).map(({ message, path }) => path.length === 0 ? message : `${path.map(String).join(".")}: ${message}`).join("; ")

const standardFormatter = SchemaIssue.makeFormatterStandardSchemaV1()
