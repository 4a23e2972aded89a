import { InMemory } from "@facta/core"
import { ProcessorConformance } from "@facta/core/testing"

ProcessorConformance.processorConformance("memory", InMemory.layer)
