import { EventStore } from "@facta/core"
import { EventStoreConformance } from "@facta/core/testing"

EventStoreConformance.eventStoreConformance("memory", EventStore.layerMemory)
