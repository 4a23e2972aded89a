import { InMemory } from "@facta/core"
import { CheckpointStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance } from "@facta/core/testing"

ProjectionStoreConformance.projectionStoreConformance("memory", InMemory.projectionStore)
CheckpointStoreConformance.checkpointStoreConformance("memory", InMemory.checkpointStore)
SnapshotStoreConformance.snapshotStoreConformance("memory", InMemory.snapshotStore)
