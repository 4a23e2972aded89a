import { CheckpointStore, ProjectionStore, SnapshotStore } from "@facta/core"
import { CheckpointStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance } from "@facta/core/testing"

ProjectionStoreConformance.projectionStoreConformance("memory", ProjectionStore.layerMemory)
CheckpointStoreConformance.checkpointStoreConformance("memory", CheckpointStore.layerMemory)
SnapshotStoreConformance.snapshotStoreConformance("memory", SnapshotStore.layerMemory)
