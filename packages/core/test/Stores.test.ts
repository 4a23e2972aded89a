import { CheckpointStore, ProjectionStore } from "@facta/core"
import { CheckpointStoreConformance, ProjectionStoreConformance } from "@facta/core/testing"

ProjectionStoreConformance.projectionStoreConformance("memory", ProjectionStore.layerMemory)
CheckpointStoreConformance.checkpointStoreConformance("memory", CheckpointStore.layerMemory)
