/**
 * Text tables with aligned columns, for printing events and read models to a terminal. Only the
 * walk-through (`main.ts`) uses it; it knows nothing of the bank.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export interface Column {
  readonly header: string
  /** Numbers read best aligned to the right. Default "left". */
  readonly align?: "left" | "right" | undefined
}

/**
 * Renders a header line and one line per row, each column as wide as its widest cell, every line
 * starting with `indent`.
 *
 * @since 0.1.0
 */
export const render = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  indent = "  "
): string => {
  const widths = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    indent + columns.map((column, index) => {
      const cell = cells[index] ?? ""
      return column.align === "right" ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!)
    }).join("  ").trimEnd()
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join("\n")
}
