import { InMemory } from "@facta/core"
import { HostileInputConformance } from "@facta/core/testing"

HostileInputConformance.hostileInputConformance("memory", InMemory.layer)
