import { InMemory } from "@facta/core"
import { StreamLifecycleConformance } from "@facta/core/testing"

StreamLifecycleConformance.streamLifecycleConformance("memory", InMemory.layer)
