import { CheckpointStoreConformance, EventQueryConformance, EventStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance } from "@facta/core/testing"
import { Embedded } from "@facta/sql"

const stores = Embedded.layer()

EventStoreConformance.eventStoreConformance("embedded PGlite", stores)
EventQueryConformance.eventQueryConformance("embedded PGlite", stores, { singleSession: true })
ProjectionStoreConformance.projectionStoreConformance("embedded PGlite", stores)
CheckpointStoreConformance.checkpointStoreConformance("embedded PGlite", stores)
SnapshotStoreConformance.snapshotStoreConformance("embedded PGlite", stores)
