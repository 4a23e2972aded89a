/** Plain-text tables for the terminal: columns as wide as their widest cell, two spaces apart. */

export interface Table {
  readonly headers: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  /** A line under the table (more pages, what the rows mean). */
  readonly footer?: string | undefined
}

/** Cells are cut to this many characters, so one row is one line. */
const widest = 60

const cut = (cell: string) => {
  const line = cell.replace(/\s+/g, " ")
  return line.length > widest ? `${line.slice(0, widest - 1)}…` : line
}

export const format = ({ footer, headers, rows }: Table): string => {
  const cells = [headers.map((header) => header.toUpperCase()), ...rows.map((row) => row.map(cut))]
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)))
  const lines = cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd())
  if (rows.length === 0) lines.push("(none)")
  if (footer !== undefined) lines.push("", footer)
  return lines.join("\n")
}
