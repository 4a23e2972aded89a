import { Redacted } from "effect"
import { inject } from "vitest"
import { HostileInputConformance } from "@facta/core/testing"
import { Embedded, Postgres } from "@facta/sql"

HostileInputConformance.hostileInputConformance("embedded PGlite", Embedded.layer())
HostileInputConformance.hostileInputConformance("Postgres server", Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "hostile" }))
