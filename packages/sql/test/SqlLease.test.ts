/**
 * Expiring, epoch-fenced leases on a server: a lapsed lease is taken with a higher epoch, the old
 * holder's fence and renewal fail, a takeover waits for a transaction that passed the fence, and
 * stopping hands the lease over at once. A holder whose process dies or freezes is tested with real
 * processes in `chaos/test/Chaos.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Lease, Transactor } from "@facta/core"
import { Postgres, SqlLease } from "@facta/sql"
import { Deferred, Effect, Exit, Fiber, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

const stores = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema: "leases" })
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** A second lease service on the same tables, as another process would have. */
const leaseWith = (options: SqlLease.Options) => SqlLease.make({ schema: "leases", ...options })

/** Takes `name` in a scope of its own, closed by the returned effect. */
const holdIn = Effect.fnUntraced(function*(lease: Lease.Lease["Service"], name: string) {
  const scope = yield* Scope.make()
  const held = yield* Scope.provide(lease.acquire(name), scope)
  return { held, release: Scope.close(scope, Exit.void) }
})

const lapse = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE leases.facta_leases SET expires_at = '-infinity' WHERE name = ${name}`)

describe("SqlLease on a server", () => {
  it.live("a lapsed lease is taken with a higher epoch; the old holder's fence refuses, and its renewal says it lost the lease", () =>
    Effect.gen(function*() {
      const name = unique("lapsed")
      const first = yield* leaseWith({ leaseDuration: "3 seconds", renewInterval: "200 millis", retryInterval: "50 millis" })
      const second = yield* leaseWith({ retryInterval: "50 millis" })
      const transactor = yield* Transactor.Transactor
      const old = yield* holdIn(first, name)
      yield* transactor.withTransaction(old.held.fence)
      yield* lapse(name)
      const next = yield* holdIn(second, name)
      assert.isAbove(next.held.epoch, old.held.epoch)
      const refused = yield* transactor.withTransaction(old.held.fence).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "LeaseLost")
      assert.include(refused.message, `epoch ${old.held.epoch} is no longer current`)
      // The next renewal finds the epoch moved on.
      const lost = yield* old.held.lost.pipe(Effect.flip, Effect.timeout("2 seconds"))
      assert.include(lost.message, "another owner took it")
      yield* transactor.withTransaction(next.held.fence)
      yield* Effect.all([old.release, next.release])
    }).pipe(Effect.provide(stores)))

  it.live("a takeover waits for a transaction that passed the fence, which commits first", () =>
    Effect.gen(function*() {
      const name = unique("fenced")
      // Never renewed: the lease lapses after 500 ms while the transaction is still open.
      const holder = yield* leaseWith({ leaseDuration: "500 millis", renewInterval: "1 hour" })
      const taker = yield* leaseWith({ retryInterval: "50 millis" })
      const transactor = yield* Transactor.Transactor
      const sql = yield* SqlClient.SqlClient
      const { held, release } = yield* holdIn(holder, name)
      const fenced = yield* Deferred.make<void>()
      const order: Array<string> = []
      const transaction = yield* transactor.withTransaction(Effect.gen(function*() {
        yield* held.fence
        yield* Deferred.succeed(fenced, undefined)
        // Past the lease's expiry, still holding the fence.
        yield* Effect.sleep("1500 millis")
        yield* sql`SELECT 1`
      })).pipe(Effect.andThen(Effect.sync(() => order.push("committed"))), Effect.forkChild)
      yield* Deferred.await(fenced)
      const takeover = yield* holdIn(taker, name).pipe(Effect.tap(() => Effect.sync(() => order.push("taken"))), Effect.forkChild)
      yield* Fiber.join(transaction)
      const next = yield* Fiber.join(takeover)
      assert.deepStrictEqual(order, ["committed", "taken"])
      assert.strictEqual(next.held.epoch, held.epoch + 1)
      // The holder could not renew in time: it knows, and starts nothing more.
      assert.strictEqual((yield* Effect.flip(held.check))._tag, "LeaseLost")
      yield* Effect.all([release, next.release])
    }).pipe(Effect.provide(stores)))

  it.live("stopping hands the lease over at once, without waiting for it to lapse", () =>
    Effect.gen(function*() {
      const name = unique("handover")
      const lease = yield* leaseWith({ leaseDuration: "1 minute", retryInterval: "50 millis" })
      const first = yield* holdIn(lease, name)
      const waiting = yield* holdIn(lease, name).pipe(Effect.forkChild)
      yield* Effect.sleep("200 millis")
      assert.isUndefined(waiting.pollUnsafe())
      yield* first.release
      const second = yield* Fiber.join(waiting).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(second.held.epoch, first.held.epoch + 1)
      yield* second.release
    }).pipe(Effect.provide(stores)))
})

describe("bounded transactions on a server", () => {
  it.live("a transaction left idle past idleInTransactionTimeout is ended by Postgres, and fails", () =>
    Effect.gen(function*() {
      const transactor = yield* Transactor.Transactor
      const sql = yield* SqlClient.SqlClient
      const setting = sql<{ readonly timeout: string }>`SELECT current_setting('idle_in_transaction_session_timeout') AS timeout`
      const inside = yield* transactor.withTransaction(setting)
      // Local to read-side transactions: the pool's connections stay as they were.
      const outside = yield* setting
      assert.deepStrictEqual([inside[0]!.timeout, outside[0]!.timeout], ["500ms", "0"])
      const failed = yield* transactor.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT pg_current_xact_id()::text`
        yield* Effect.sleep("1500 millis")
        yield* sql`SELECT 1`
      })).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "TransactionError")
      assert.include(failed.message, "idle-in-transaction timeout")
    }).pipe(Effect.provide(Postgres.layer({
      url: Redacted.make(inject("databaseUrl")),
      schema: "leases",
      idleInTransactionTimeout: "500 millis"
    }))))

  it.live("a statement running past statementTimeout is cancelled", () =>
    Effect.gen(function*() {
      const transactor = yield* Transactor.Transactor
      const sql = yield* SqlClient.SqlClient
      const failed = yield* transactor.withTransaction(sql`SELECT pg_sleep(2)`).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "TransactionError")
      assert.include(failed.message, "statement timeout", failed.message)
    }).pipe(Effect.provide(Postgres.layer({
      url: Redacted.make(inject("databaseUrl")),
      schema: "leases",
      statementTimeout: "300 millis"
    }))))
})
