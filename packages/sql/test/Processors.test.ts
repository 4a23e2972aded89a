import { Redacted } from "effect"
import { inject } from "vitest"
import { ProcessorConformance, UpcastingConformance } from "@facta/core/testing"
import { Embedded, Postgres } from "@facta/sql"

ProcessorConformance.processorConformance("embedded PGlite", Embedded.layer(), { singleSession: true })
ProcessorConformance.processorConformance(
  "Postgres server",
  Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "processors", retryInterval: "100 millis" })
)
UpcastingConformance.upcastingConformance("embedded PGlite", Embedded.layer())
UpcastingConformance.upcastingConformance(
  "Postgres server",
  Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "upcasting" })
)
