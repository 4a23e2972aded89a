import { CheckpointStoreConformance, CommandHandlerConformance, ErasureConformance, EventQueryConformance, EventStoreConformance, ProjectionStoreConformance, SnapshotStoreConformance, StreamLifecycleConformance } from "@facta/core/testing"
import { Embedded } from "@facta/sql"

// Rounds of each decider race: 30 here, more with FACTA_RACE_ROUNDS (npm run test:races).
const rounds = Number(process.env["FACTA_RACE_ROUNDS"] ?? 30)

const stores = Embedded.layer()

EventStoreConformance.eventStoreConformance("embedded PGlite", stores)
CommandHandlerConformance.commandHandlerConformance("embedded PGlite", stores)
EventQueryConformance.eventQueryConformance("embedded PGlite", stores, { singleSession: true, rounds })
ProjectionStoreConformance.projectionStoreConformance("embedded PGlite", stores)
CheckpointStoreConformance.checkpointStoreConformance("embedded PGlite", stores)
SnapshotStoreConformance.snapshotStoreConformance("embedded PGlite", stores)
StreamLifecycleConformance.streamLifecycleConformance("embedded PGlite", stores, { rounds, singleSession: true })
ErasureConformance.erasureConformance("embedded PGlite", stores)
