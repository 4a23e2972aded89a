import { InMemory } from "@facta/core"
import { ErasureConformance } from "@facta/core/testing"

ErasureConformance.erasureConformance("memory", InMemory.layer)
