import { InMemory } from "@facta/core"
import { CommandHandlerConformance, EventQueryConformance, EventStoreConformance } from "@facta/core/testing"

// Rounds of each decider race: 30 here, more with FACTA_RACE_ROUNDS (npm run test:races).
const rounds = Number(process.env["FACTA_RACE_ROUNDS"] ?? 30)

EventStoreConformance.eventStoreConformance("memory", InMemory.eventStore)
EventQueryConformance.eventQueryConformance("memory", InMemory.layer, { rounds, transactionsBlockWriters: true })
CommandHandlerConformance.commandHandlerConformance("memory", InMemory.layer)
