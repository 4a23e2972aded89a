import { assert, describe, it, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Cause, Context, Deferred, Effect, Fiber, Layer, Option, Redacted, Ref, Schedule, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"
import { Aggregate, CommandHandler, Documents, EventStore, Lease, Processor, Projection, Reactor, Transactor } from "@facta/core"
import { Migrations, Postgres, Tables } from "@facta/sql"

const url = inject("databaseUrl")
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`
const event = (type: string, n: number) => ({ type, data: { n } })
const sequenceOf = (position: bigint) => position & ((1n << 64n) - 1n)

const collect = (type: string, after = EventStore.start) =>
  EventStore.EventStore.use((store) => Stream.runCollect(store.readAll({ after, types: [type] })))

/** A database of its own, for tests that kill every connection to it. */
const withDatabase = <A, E, R>(name: string, f: (url: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`
    yield* sql`CREATE DATABASE ${sql(name)}`
    const target = new URL(url)
    target.pathname = `/${name}`
    return yield* f(target.toString())
  })

layer(Postgres.layer({ url: Redacted.make(url), schema: "server" }), { excludeTestServices: true, timeout: "60 seconds" })(
  "Postgres server store",
  (it) => {
    it.effect("a reader does not pass an open transaction's events until it commits", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const type = unique("Interleaved")
        const appended = yield* Deferred.make<void>()
        const commit = yield* Deferred.make<void>()
        const earlier = yield* sql.withTransaction(Effect.gen(function*() {
          yield* store.append(unique("earlier"), [event(type, 1)])
          yield* Deferred.succeed(appended, undefined)
          yield* Deferred.await(commit)
        })).pipe(Effect.forkChild)
        yield* Deferred.await(appended)
        // The later writer takes a larger sequence number and commits first.
        const later = yield* store.append(unique("later"), [event(type, 2)])
        assert.strictEqual((yield* EventStore.EventStore.use((s) => Stream.runCollect(s.readStream(later.streamId)))).length, 1)
        assert.deepStrictEqual(yield* collect(type), [])
        yield* Deferred.succeed(commit, undefined)
        yield* Fiber.join(earlier)
        const seen = yield* collect(type)
        assert.deepStrictEqual(seen.map((e) => e.data), [{ n: 1 }, { n: 2 }])
        assert.isTrue(sequenceOf(seen[0]!.position) < sequenceOf(seen[1]!.position))
      }))

    it.effect("a reader passes a rolled-back transaction once it is gone", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const type = unique("RolledBack")
        const appended = yield* Deferred.make<void>()
        const abort = yield* Deferred.make<void>()
        const doomed = yield* sql.withTransaction(Effect.gen(function*() {
          yield* store.append(unique("doomed"), [event(type, 1)])
          yield* Deferred.succeed(appended, undefined)
          yield* Deferred.await(abort)
          return yield* Effect.fail("abort" as const)
        })).pipe(Effect.forkChild)
        yield* Deferred.await(appended)
        yield* store.append(unique("survivor"), [event(type, 2)])
        assert.deepStrictEqual(yield* collect(type), [])
        yield* Deferred.succeed(abort, undefined)
        assert.strictEqual(yield* Effect.flip(Fiber.join(doomed)), "abort")
        assert.deepStrictEqual((yield* collect(type)).map((e) => e.data), [{ n: 2 }])
      }))

    it.effect("whenCaughtUp waits for an event committed behind another open transaction that appended", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const type = unique("Behind")
        const counts = Documents.make(unique("behind"), Schema.Struct({ handled: Schema.Int }))
        const projection = Projection.make({
          name: counts.name,
          event: Schema.TaggedStruct(type, {}),
          handlers: {
            [type]: () =>
              Effect.flatMap(counts.get("all"), (current) =>
                counts.upsert("all", { handled: Option.getOrElse(current, () => ({ handled: 0 })).handled + 1 }))
          }
        })
        const handle = yield* Processor.start(projection)
        yield* handle.whenCaughtUp
        const opened = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const blocker = yield* sql.withTransaction(Effect.gen(function*() {
          yield* EventStore.EventStore.use((store) => store.append(unique("blocker"), [event(unique("Other"), 0)]))
          yield* Deferred.succeed(opened, undefined)
          yield* Deferred.await(release)
        })).pipe(Effect.forkChild)
        yield* Deferred.await(opened)
        yield* EventStore.EventStore.use((store) => store.append(unique("behind"), [event(type, 1)]))
        const waiting = yield* handle.whenCaughtUp.pipe(Effect.forkChild)
        yield* Effect.sleep("300 millis")
        assert.isUndefined(waiting.pollUnsafe())
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(blocker)
        yield* Fiber.join(waiting).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(yield* counts.get("all"), Option.some({ handled: 1 }))
      }).pipe(Effect.scoped))

    it.effect("8 concurrent writers and a tailing subscriber: every committed event seen once, in one order", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const type = unique("Tailed")
        const writers = 8
        const perWriter = 40
        const tail = yield* store.subscribe({ types: [type], batchSize: 7 }).pipe(
          Stream.take(writers * perWriter),
          Stream.runCollect,
          Effect.forkChild
        )
        const committed = yield* Effect.forEach(
          Array.from({ length: writers }, (_, w) => w),
          (w) =>
            Effect.forEach(
              Array.from({ length: perWriter }, (_, i) => i),
              (i) => Effect.map(store.append(`tailed-${type}-${w}`, [event(type, w * 1000 + i)]), (r) => r.events[0]!.id)
            ),
          { concurrency: "unbounded" }
        )
        const seen = yield* Fiber.join(tail).pipe(Effect.timeout("30 seconds"))
        assert.deepStrictEqual(seen.map((e) => e.id).sort(), committed.flat().sort())
        for (let i = 1; i < seen.length; i++) assert.isTrue(seen[i]!.position > seen[i - 1]!.position)
        // A reader coming later sees the same order.
        assert.deepStrictEqual((yield* collect(type)).map((e) => e.id), seen.map((e) => e.id))
        // Each writer's stream stays in version order within the log.
        for (let w = 0; w < writers; w++) {
          const versions = seen.filter((e) => e.streamId === `tailed-${type}-${w}`).map((e) => e.version)
          assert.deepStrictEqual(versions, Array.from({ length: perWriter }, (_, i) => i + 1))
        }
      }))

    it.effect("a stored event its Schema cannot decode fails with the stream, version and type", () =>
      Effect.gen(function*() {
        class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int }) {}
        class Deposit extends Schema.TaggedClass<Deposit>()("Deposit", { amount: Schema.Int }) {}
        const Ledger = Aggregate.make({
          name: "Ledger",
          command: Deposit,
          event: Deposited,
          initialState: 0,
          decide: (command) => Effect.succeed([new Deposited({ amount: command.amount })]),
          evolve: (total, event) => total + event.amount
        })
        const ledger = CommandHandler.make(Ledger)
        const streamId = unique(`ledger "quoted"`)
        yield* ledger.handle(streamId, { _tag: "Deposit", amount: 5 })
        const store = yield* EventStore.EventStore
        yield* store.append(streamId, [{ type: "Deposited", data: { amount: "lots" } }])
        const error = yield* Effect.flip(ledger.load(streamId))
        assert.strictEqual(error._tag, "EventDecodeError")
        if (error._tag !== "EventDecodeError") return
        assert.strictEqual(error.streamId, streamId)
        assert.strictEqual(error.version, 2)
        assert.strictEqual(error.type, "Deposited")
        assert.include(error.message, "amount")
      }))

    it.effect("migrations are idempotent and prefixes keep applications apart", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* Migrations.run({ schema: "server" }), [])
        const appA = Postgres.stores({ schema: "server", tablePrefix: "app_a_" })
        const appB = Postgres.stores({ schema: "server", tablePrefix: "app_b_" })
        const type = unique("Shared")
        yield* EventStore.EventStore.use((store) => store.append("shared-stream", [event(type, 1)])).pipe(Effect.provide(appA))
        const inB = yield* collect(type).pipe(Effect.provide(appB))
        const inA = yield* collect(type).pipe(Effect.provide(appA))
        assert.strictEqual(inA.length, 1)
        assert.strictEqual(inB.length, 0)
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ readonly table_name: string }>`SELECT table_name FROM information_schema.tables
          WHERE table_schema = 'server' AND table_name LIKE 'app\\_a\\_%' ORDER BY table_name`
        assert.deepStrictEqual(tables.map((row) => row.table_name), [
          "app_a_checkpoints",
          "app_a_condition_heads",
          "app_a_events",
          "app_a_events_archive",
          "app_a_functions",
          "app_a_keys",
          "app_a_leases",
          "app_a_migrations",
          "app_a_parked",
          "app_a_parked_audit",
          "app_a_processor_status",
          "app_a_projections",
          "app_a_read_models",
          "app_a_snapshots"
        ])
      }))

    it.effect("refuses a schema or prefix that is not a plain identifier", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Migrations.run({ schema: `x"; DROP TABLE y; --` }))
        assert.instanceOf(error, Tables.InvalidTableOptions)
        assert.include(error.message, "schema")
      }))

    it.effect("keeps positions exact past 2^53", () =>
      withDatabase("facta_big_positions", (bigUrl) =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          yield* sql`ALTER TABLE facta_events ALTER COLUMN position RESTART WITH 9007199254740993`
          const store = yield* EventStore.EventStore
          const written = yield* store.append("big", [event("Big", 1), event("Big", 2), event("Big", 3)])
          assert.deepStrictEqual(written.events.map((e) => sequenceOf(e.position)), [9007199254740993n, 9007199254740994n, 9007199254740995n])
          const after = yield* Stream.runCollect(store.readAll({ after: written.events[0]!.position }))
          assert.deepStrictEqual(after.map((e) => e.data), [{ n: 2 }, { n: 3 }])
          assert.deepStrictEqual(after.map((e) => e.position), written.events.slice(1).map((e) => e.position))
        }).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(bigUrl) })))
      ))

    it.effect("when the lease holder's connections are all killed, the instances between them handle every event once", () =>
      withDatabase("facta_lease", (leaseUrl) =>
        Effect.gen(function*() {
          const admin = yield* SqlClient.SqlClient
          const instance = (applicationName: string) =>
            Layer.build(Postgres.layer({ url: Redacted.make(leaseUrl), applicationName, retryInterval: "100 millis", leaseDuration: "1 second" }))
          const [first, second] = [yield* instance("lease-holder"), yield* instance("lease-standby")]
          const type = unique("Leased")
          const counts = Documents.make("leased", Schema.Struct({ handled: Schema.Int }))
          const projection = Projection.make({
            name: "leased",
            event: Schema.TaggedStruct(type, {}),
            handlers: {
              [type]: () =>
                Effect.flatMap(counts.get("all"), (current) =>
                  counts.upsert("all", { handled: Option.getOrElse(current, () => ({ handled: 0 })).handled + 1 }))
            }
          })
          const appendOne = EventStore.EventStore.use((store) => store.append(unique("leased"), [event(type, 1)]))
          const holder = yield* Processor.start(projection).pipe(Effect.provide(first))
          yield* appendOne.pipe(Effect.provide(first))
          yield* holder.whenCaughtUp.pipe(Effect.provide(first))
          const standby = yield* Processor.start(projection).pipe(Effect.provide(second))
          assert.strictEqual((yield* standby.status).state, "waiting for lease")
          // A lease is a row, not a session: the holder reconnects and renews it, or lets it lapse
          // and the standby takes it; either way one of them goes on.
          yield* admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lease-holder'`
          yield* appendOne.pipe(Effect.provide(second))
          yield* appendOne.pipe(Effect.provide(second))
          const [held, waited] = [yield* holder.status, yield* standby.status]
          const running = waited.state === "waiting for lease" ? holder : standby
          yield* running.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
          assert.isTrue([held.state, waited.state].includes("waiting for lease"))
          assert.deepStrictEqual(yield* counts.get("all").pipe(Effect.provide(second)), Option.some({ handled: 3 }))
        }).pipe(Effect.scoped)
      ))

    it.effect("an append in a transaction older than the stream's last event is refused, so the log keeps each stream in order", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const transactor = yield* Transactor.Transactor
        const [stream, other, type] = [unique("ordered"), unique("ordered-other"), unique("Ordered")]
        const wrote = yield* Deferred.make<void>()
        const proceed = yield* Deferred.make<void>()
        // The transaction writes first, so it has its id; then another append to the stream commits.
        const late = (n: number, wait: boolean) =>
          transactor.withTransaction(Effect.gen(function*() {
            yield* store.append(other, [event(type, 0)])
            if (wait) {
              yield* Deferred.succeed(wrote, undefined)
              yield* Deferred.await(proceed)
            }
            return yield* store.append(stream, [event(type, n)])
          }))
        const older = yield* late(2, true).pipe(Effect.flip, Effect.forkChild)
        yield* Deferred.await(wrote)
        yield* store.append(stream, [event(type, 1)])
        yield* Deferred.succeed(proceed, undefined)
        const refused = yield* Fiber.join(older)
        assert.strictEqual(refused._tag, "RetryTransaction")
        assert.include(refused.message, "run the transaction again")
        // Run again, the transaction is newer than the stream's events.
        yield* late(2, false)
        const log = (yield* collect(type)).filter((e) => e.streamId === stream)
        assert.deepStrictEqual(log.map((e) => [e.version, e.data]), [[1, { n: 1 }], [2, { n: 2 }]])
      }))

    it.effect("a reactor whose append comes too late for its batch (its handler wrote SQL first) runs the batch again, without an error or a halt", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const [requested, noted, type] = [unique("Requested"), unique("Noted"), unique("Counted")]
        const Requested = Schema.TaggedStruct(requested, {})
        const Noted = Schema.TaggedStruct(noted, {})
        const [stream, audit] = [unique("counted"), unique("audit")]
        const wrote = yield* Deferred.make<void>()
        const proceed = yield* Deferred.make<void>()
        let attempts = 0
        const errors: Array<unknown> = []
        const reactor = Reactor.make({
          name: unique("late-reactor"),
          event: Requested,
          emits: [Noted],
          handlers: {
            [requested]: (_: unknown, context: Reactor.Context<typeof Noted.Type>) =>
              Effect.gen(function*() {
                // A write of the handler's own gives the batch's transaction an id (an emit alone
                // would not: the batch holds its appends until it commits)...
                const sql = yield* SqlClient.SqlClient
                yield* sql`SELECT pg_current_xact_id()::text`
                yield* context.emit(audit, [{ _tag: noted } as typeof Noted.Type])
                if (attempts++ === 0) {
                  yield* Deferred.succeed(wrote, undefined)
                  yield* Deferred.await(proceed)
                }
                // ...older than the append to the stream committed meanwhile.
                yield* context.emit(stream, [{ _tag: noted } as typeof Noted.Type])
              })
          } as Reactor.Handlers<typeof Requested.Type, typeof Noted.Type>
        })
        yield* store.append(unique("request"), [{ type: requested, data: {} }])
        const handle = yield* Processor.start(reactor, { onError: (failure) => Effect.sync(() => errors.push(failure.cause)) })
        yield* Deferred.await(wrote)
        yield* store.append(stream, [event(type, 1)])
        yield* Deferred.succeed(proceed, undefined)
        yield* handle.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(attempts, 2)
        assert.deepStrictEqual(errors, [])
        assert.notStrictEqual((yield* handle.status).state, "halted")
        const log = yield* EventStore.EventStore.use((s) => Stream.runCollect(s.readAll()))
        assert.deepStrictEqual(log.filter((e) => e.streamId === stream).map((e) => [e.version, e.type]), [[1, type], [2, noted]])
      }).pipe(Effect.scoped))

    it.effect("a reactor that emits, then makes a slow outside call, does not hold the readers' gate: its batch takes a transaction id only to commit", () =>
      Effect.gen(function*() {
        const store = yield* EventStore.EventStore
        const [requested, noted] = [unique("Requested"), unique("Noted")]
        const Requested = Schema.TaggedStruct(requested, {})
        const Noted = Schema.TaggedStruct(noted, {})
        const calling = yield* Deferred.make<void>()
        const proceed = yield* Deferred.make<void>()
        const mails = unique("mails")
        const reactor = Reactor.make({
          name: unique("slow-mailer"),
          event: Requested,
          emits: [Noted],
          handlers: {
            [requested]: (_: unknown, context: Reactor.Context<typeof Noted.Type>) =>
              Effect.gen(function*() {
                yield* context.emit(mails, [{ _tag: noted } as typeof Noted.Type])
                // The outside call.
                yield* Deferred.succeed(calling, undefined)
                yield* Deferred.await(proceed)
              })
          } as Reactor.Handlers<typeof Requested.Type, typeof Noted.Type>
        })
        yield* store.append(unique("request"), [{ type: requested, data: {} }])
        const handle = yield* Processor.start(reactor)
        yield* Deferred.await(calling)
        // Mid-call, an event appended now becomes readable: had the batch taken a transaction id,
        // readers would wait for it for as long as the call lasts. (Polled: other tests' short
        // transactions on this server hold the gate for a moment too.)
        const other = yield* store.append(unique("other"), [event(unique("Other"), 1)])
        const readable = store.readPage({ after: other.events[0]!.position - 1n, types: [other.events[0]!.type] }).pipe(
          Effect.flatMap((page) => page.events.length === 1 ? Effect.void : Effect.fail("not yet" as const)),
          Effect.retry({ schedule: Schedule.spaced("20 millis") }),
          Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("readers were held back while the reactor's handler ran")) })
        )
        yield* readable
        assert.strictEqual((yield* Stream.runCollect(store.readStream(mails))).length, 0, "the emit is held until the batch commits")
        yield* Deferred.succeed(proceed, undefined)
        yield* handle.whenCaughtUp
        const written = yield* Stream.runCollect(store.readStream(mails))
        assert.strictEqual(written.length, 1)
        assert.isAbove(Number(written[0]!.position), Number(other.events[0]!.position))
      }).pipe(Effect.scoped))

    it.effect("a lease interrupted at any point while it is being taken leaves no lock behind", () =>
      Effect.gen(function*() {
        const lease = yield* Lease.Lease
        const name = unique("interrupted-lease")
        for (let i = 0; i < 150; i++) {
          const taking = yield* Effect.scoped(Effect.andThen(lease.acquire(name), Effect.never)).pipe(Effect.forkChild)
          // From before the connection is reserved to after the lock is taken.
          for (let turn = 0; turn < i % 30; turn++) yield* Effect.yieldNow
          yield* Fiber.interrupt(taking)
        }
        // A lock left behind would make this wait forever (the next try is a second away, and fails again).
        yield* Effect.scoped(lease.acquire(name)).pipe(Effect.timeout("900 millis"))
      }))

    it.effect("a slow reactor's batch commits after maxBatchDuration, so it holds other readers back only that long", () =>
      Effect.gen(function*() {
        const [requested, noted, seen] = [unique("Requested"), unique("Noted"), unique("Seen")]
        const Requested = Schema.TaggedStruct(requested, {})
        const Noted = Schema.TaggedStruct(noted, {})
        let reactorDone = false
        let seenWhileReactorRan: boolean | undefined
        const reactor = Reactor.make({
          name: unique("slow-reactor"),
          event: Requested,
          emits: [Noted],
          handlers: {
            [requested]: (_: unknown, context: Reactor.Context<typeof Noted.Type>) =>
              // The append gives the batch's transaction an id, which holds the readers' gate;
              // then an outside call of 60 ms.
              Effect.andThen(context.emit(unique("noted"), [{ _tag: noted } as typeof Noted.Type]), Effect.sleep("60 millis"))
          } as Reactor.Handlers<typeof Requested.Type, typeof Noted.Type>
        })
        const projection = Projection.make({
          name: unique("seen"),
          event: Schema.TaggedStruct(seen, {}),
          handlers: { [seen]: () => Effect.sync(() => void (seenWhileReactorRan ??= !reactorDone)) }
        })
        const store = yield* EventStore.EventStore
        yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => store.append(unique(`request-${i}`), [{ type: requested, data: {} }]), { discard: true })
        // 30 events of 60 ms: one batch of 1.8 s without the bound.
        const slow = yield* Processor.start(reactor, { maxBatchDuration: "200 millis" })
        const fast = yield* Processor.start(projection)
        yield* Effect.sleep("300 millis")
        yield* store.append(unique("seen"), [{ type: seen, data: {} }])
        yield* slow.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
        reactorDone = true
        yield* fast.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(seenWhileReactorRan, true)
      }).pipe(Effect.scoped))

    it.effect("more processors than the pool has connections all run: a lease holds no connection", () =>
      Effect.gen(function*() {
        const type = unique("Pooled")
        const counts = Documents.make(unique("pooled"), Schema.Struct({ handled: Schema.Int }))
        const projections = Array.from({ length: 12 }, (_, n) =>
          Projection.make({
            name: unique(`pooled-${n}`),
            event: Schema.TaggedStruct(type, {}),
            handlers: {
              [type]: () =>
                Effect.flatMap(counts.get(String(n)), (current) =>
                  counts.upsert(String(n), { handled: Option.getOrElse(current, () => ({ handled: 0 })).handled + 1 }))
            }
          }))
        const running = yield* Processor.startAll(projections)
        yield* EventStore.EventStore.use((store) => store.append(unique("pooled"), [event(type, 1), event(type, 2)]))
        yield* running.whenCaughtUp.pipe(Effect.timeout("20 seconds"))
        for (let n = 0; n < projections.length; n++) {
          assert.deepStrictEqual(yield* counts.get(String(n)), Option.some({ handled: 2 }))
        }
      }).pipe(Effect.scoped, Effect.provide(Postgres.layer({ url: Redacted.make(url), schema: "pooled", maxConnections: 4 }))))

    it.effect("a store in another process is woken by NOTIFY, not polling: after a single append, a burst, and a transaction", () =>
      Effect.gen(function*() {
        const type = unique("Announced")
        const store = yield* EventStore.EventStore
        const transactor = yield* Transactor.Transactor
        // The other process polls once an hour: only a notification can wake it in time.
        const peer = yield* Layer.build(Postgres.layer({ url: Redacted.make(url), schema: "server", pollInterval: "1 hour", maxConnections: 2 }))
        const seen = yield* Ref.make(0)
        yield* Context.get(peer, EventStore.EventStore).subscribe({ types: [type] }).pipe(
          Stream.runForEach(() => Ref.update(seen, (n) => n + 1)),
          Effect.forkScoped
        )
        const seenAll = (count: number) =>
          Ref.get(seen).pipe(
            Effect.flatMap((n) => n >= count ? Effect.void : Effect.fail("not yet" as const)),
            Effect.retry(Schedule.spaced("10 millis")),
            Effect.timeout("5 seconds")
          )
        yield* Effect.sleep("200 millis")
        yield* store.append(unique("announced"), [event(type, 1)])
        yield* seenAll(1)
        yield* Effect.sleep("50 millis")
        for (let n = 2; n <= 40; n++) yield* store.append(unique("announced"), [event(type, n)])
        yield* seenAll(40)
        yield* Effect.sleep("50 millis")
        yield* transactor.withTransaction(store.append(unique("announced"), [event(type, 41)]))
        yield* seenAll(41)
        assert.strictEqual(yield* Ref.get(seen), 41)
      }).pipe(Effect.scoped))

    it.effect("a subscriber resumes after its connections are killed, losing and repeating nothing", () =>
      withDatabase("facta_dropped", (droppedUrl) =>
        Effect.gen(function*() {
          const admin = yield* SqlClient.SqlClient
          const killConnections = admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'facta_dropped'`
          const inner = Effect.gen(function*() {
            const store = yield* EventStore.EventStore
            const type = unique("Resumed")
            const appendRetrying = (n: number) =>
              store.append(unique("resumed"), [event(type, n)]).pipe(Effect.retry({ times: 20 }))
            const subscriber = yield* store.subscribe({ types: [type] }).pipe(Stream.take(20), Stream.runCollect, Effect.forkChild)
            for (let n = 1; n <= 10; n++) yield* appendRetrying(n)
            yield* killConnections
            for (let n = 11; n <= 20; n++) yield* appendRetrying(n)
            const seen = yield* Fiber.join(subscriber).pipe(Effect.timeout("30 seconds"))
            assert.deepStrictEqual(seen.map((e) => e.data), Array.from({ length: 20 }, (_, i) => ({ n: i + 1 })))
          })
          yield* inner.pipe(Effect.provide(Postgres.layer({ url: Redacted.make(droppedUrl), pollInterval: "200 millis" })))
        })
      ))
  }
)

describe("Postgres.layer", () => {
  it.effect("never puts the connection URL's password in an error", () =>
    Effect.gen(function*() {
      const secret = "s3cret-password-value"
      const broken = Postgres.layer({ url: Redacted.make(`postgres://postgres:${secret}@127.0.0.1:1/nowhere`) })
      const exit = yield* Effect.exit(Layer.build(broken).pipe(Effect.scoped))
      assert.isTrue(exit._tag === "Failure")
      if (exit._tag === "Failure") assert.notInclude(Cause.pretty(exit.cause), secret)
    }))

  it.effect("the layer's PgClient is exposed for read models of one's own", () =>
    Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      const rows = yield* pg`SELECT 1 AS one`
      assert.deepStrictEqual(rows, [{ one: 1 }])
    }).pipe(Effect.provide(Postgres.layer({ url: Redacted.make(url), schema: "server" }))))
})
