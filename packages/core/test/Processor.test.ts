import { InMemory } from "@facta/core"
import { ProcessorConformance, UpcastingConformance } from "@facta/core/testing"

ProcessorConformance.processorConformance("memory", InMemory.layer)
UpcastingConformance.upcastingConformance("memory", InMemory.layer)
