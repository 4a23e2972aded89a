import { EventStore, InMemory } from "@facta/core"
import { EventQueryConformance, EventStoreConformance } from "@facta/core/testing"

EventStoreConformance.eventStoreConformance("memory", EventStore.layerMemory)
EventQueryConformance.eventQueryConformance("memory", InMemory.layer)
