import { Redacted } from "effect"
import { inject } from "vitest"
import { CheckpointStoreConformance, CommandHandlerConformance, ErasureConformance, EventQueryConformance, EventStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance, StreamLifecycleConformance } from "@facta/core/testing"
import { Postgres } from "@facta/sql"

// Rounds of each decider race: 30 here, more with FACTA_RACE_ROUNDS (npm run test:races).
const rounds = Number(process.env["FACTA_RACE_ROUNDS"] ?? 30)

const stores = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "conformance" })

EventStoreConformance.eventStoreConformance("Postgres server", stores)
CommandHandlerConformance.commandHandlerConformance("Postgres server", stores)
EventQueryConformance.eventQueryConformance("Postgres server", stores, { rounds })
ProjectionStoreConformance.projectionStoreConformance("Postgres server", stores)
CheckpointStoreConformance.checkpointStoreConformance("Postgres server", stores)
SnapshotStoreConformance.snapshotStoreConformance("Postgres server", stores)
StreamLifecycleConformance.streamLifecycleConformance("Postgres server", stores, { rounds })
ErasureConformance.erasureConformance("Postgres server", stores)

// Single appends by the SQL function PGlite uses, on a server: the same answers as the statement.
const byFunction = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "conformance_by_function", appendByFunction: true })
EventStoreConformance.eventStoreConformance("Postgres server, single appends by function", byFunction)
StreamLifecycleConformance.streamLifecycleConformance("Postgres server, single appends by function", byFunction, { rounds })
