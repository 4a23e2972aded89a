import { CheckpointStoreConformance, EventStoreConformance, ProjectionStoreConformance } from "@facta/core/testing"
import { Embedded } from "@facta/sql"

const stores = Embedded.layer()

EventStoreConformance.eventStoreConformance("embedded PGlite", stores)
ProjectionStoreConformance.projectionStoreConformance("embedded PGlite", stores)
CheckpointStoreConformance.checkpointStoreConformance("embedded PGlite", stores)
