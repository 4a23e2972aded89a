import { Redacted } from "effect"
import { inject } from "vitest"
import { CheckpointStoreConformance, EventQueryConformance, EventStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance } from "@facta/core/testing"
import { Postgres } from "@facta/sql"

const stores = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "conformance" })

EventStoreConformance.eventStoreConformance("Postgres server", stores)
EventQueryConformance.eventQueryConformance("Postgres server", stores)
ProjectionStoreConformance.projectionStoreConformance("Postgres server", stores)
CheckpointStoreConformance.checkpointStoreConformance("Postgres server", stores)
SnapshotStoreConformance.snapshotStoreConformance("Postgres server", stores)
