/**
 * Rows of the events table as events: a page's conversion gives each row the position and
 * envelope the single-row conversion gives it.
 */
import { assert, describe, it } from "@effect/vitest"
import { type EventRow, toPosition, toRecorded, toRecordedRows } from "../src/internal/eventRows.ts"

const row = (transaction: string, position: bigint, tags: ReadonlyArray<string> | null): EventRow => ({
  position,
  transaction,
  stream_id: "s",
  version: position,
  event_id: crypto.randomUUID(),
  type: "Deposited",
  data: { amount: 1 },
  metadata: position === 2n ? null : { correlationId: "c" },
  recorded_at: "2026-01-01T00:00:00.000Z",
  tags
})

describe("eventRows", () => {
  it("a page of rows from several transactions, in and out of order, converts as each row alone", () => {
    const rows = [row("10", 1n, null), row("10", 2n, []), row("11", 3n, ["a:1"]), row("10", 4n, null), row("12", 5n, ["b:2", "c:3"])]
    const page = toRecordedRows(rows)
    assert.deepStrictEqual(page, rows.map(toRecorded))
    assert.deepStrictEqual(page.map((event) => event.position), rows.map((r) => toPosition(r.transaction, r.position)))
    assert.deepStrictEqual(page.map((event) => "tags" in event), [false, false, true, false, true])
    assert.deepStrictEqual(page[1]!.metadata, {})
    assert.deepStrictEqual(toRecordedRows([]), [])
  })
})
