/**
 * What erasure by crypto-shredding gives on every store: personal fields stored encrypted with
 * their subject's key, several subjects in one event, `Erasure.forget` recording its intent
 * before it destroys the key, a forgotten subject's fields read as placeholders (never a decode
 * error) while the others still read, pending erasures completed after a crash, snapshots
 * dropped, and a projection that drops the subject's documents when it sees `$SubjectForgotten`.
 * A Vitest suite that takes the stores' Layer (with a `KeyStore`). Tests use fresh ids, so they
 * can share one database with other tests.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, type Layer, Option, Redacted, Schema, Stream } from "effect"
import * as Aggregate from "../Aggregate.ts"
import * as CheckpointStore from "../CheckpointStore.ts"
import * as CommandHandler from "../CommandHandler.ts"
import * as Decision from "../Decision.ts"
import * as DecisionHandler from "../DecisionHandler.ts"
import * as Documents from "../Documents.ts"
import * as Erasure from "../Erasure.ts"
import * as EventQuery from "../EventQuery.ts"
import { EventStore } from "../EventStore.ts"
import { type DataKey, KeyStore } from "../KeyStore.ts"
import type { Lease } from "../Lease.ts"
import * as PersonalData from "../PersonalData.ts"
import * as Processor from "../Processor.ts"
import * as Projection from "../Projection.ts"
import type { ProjectionStore } from "../ProjectionStore.ts"
import * as RecordedEvent from "../RecordedEvent.ts"
import { SnapshotStore } from "../SnapshotStore.ts"
import type { Transactor } from "../Transactor.ts"

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`

/** The placeholder a forgotten name reads as. */
export const forgottenName = "(forgotten)"

/**
 * A transfer between two people: each name belongs to its own subject.
 *
 * @since 0.1.0
 */
export class Transferred extends Schema.TaggedClass<Transferred>()("Transferred", {
  payerId: Schema.String,
  payeeId: Schema.String,
  payerName: PersonalData.field(Schema.String, { subject: "payerId", placeholder: forgottenName }),
  payeeName: PersonalData.field(Schema.String, { subject: "payeeId", placeholder: forgottenName }),
  amount: Schema.Number
}) {}

class Transfer extends Schema.TaggedClass<Transfer>()("Transfer", {
  payerId: Schema.String,
  payeeId: Schema.String,
  payerName: Schema.String,
  payeeName: Schema.String,
  amount: Schema.Number
}) {}

/** The event a transfer records. */
const transferred = (command: Transfer) =>
  new Transferred({
    payerId: command.payerId,
    payeeId: command.payeeId,
    payerName: Redacted.make(command.payerName),
    payeeName: Redacted.make(command.payeeName),
    amount: command.amount
  })

/** A ledger whose state keeps the names it saw (so its snapshots hold personal data). */
const ledger = Aggregate.make({
  name: "Ledger",
  command: Transfer,
  event: Transferred,
  state: Schema.Struct({ names: Schema.Array(Schema.String), total: Schema.Number }),
  initialState: { names: [], total: 0 },
  decide: (command: Transfer) => Effect.succeed([transferred(command)]),
  evolve: (state, event) => ({
    names: [...state.names, Redacted.value(event.payerName), Redacted.value(event.payeeName)],
    total: state.total + event.amount
  })
})

const transfers = RecordedEvent.codec(Transferred)

/**
 * A projection that keeps each person's name by subject, and drops it when the subject is
 * forgotten: what every read model holding personal data does.
 *
 * @since 0.1.0
 */
export const peopleProjection = (name: string) => {
  const people = Documents.make(name, Schema.Struct({ name: Schema.String }))
  const projection = Projection.make({
    name,
    event: Schema.Union([Transferred, PersonalData.SubjectForgotten]),
    documents: [people],
    handlers: {
      Transferred: ({ data }) =>
        Effect.andThen(
          people.upsert(data.payerId, { name: Redacted.value(data.payerName) }),
          people.upsert(data.payeeId, { name: Redacted.value(data.payeeName) })
        ),
      $SubjectForgotten: ({ data }) => people.delete(data.subject)
    }
  })
  return { people, projection }
}

/**
 * The stores the suite needs.
 *
 * @since 0.1.0
 */
export type Services = EventStore | KeyStore | SnapshotStore | ProjectionStore | CheckpointStore.CheckpointStore | Transactor | Lease

/**
 * Registers the conformance suite for the stores that `storeLayer` provides.
 *
 * @since 0.1.0
 */
export const erasureConformance = <E>(name: string, storeLayer: Layer.Layer<Services, E>): void =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`Erasure conformance: ${name}`, (it) => {
    const transfer = (payerId: string, payeeId: string, payerName: string, payeeName: string) =>
      new Transferred({ payerId, payeeId, payerName: Redacted.make(payerName), payeeName: Redacted.make(payeeName), amount: 5 })

    it.effect("stores personal fields encrypted, and reads them back as Redacted values", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [payer, payee, streamId] = [unique("payer"), unique("payee"), unique("ledger")]
        const secret = unique("Ada Lovelace")
        const unsaved = yield* transfers.encode(transfer(payer, payee, secret, "Grace Hopper"))
        const { events: [stored] } = yield* store.append(streamId, [unsaved])
        const raw = JSON.stringify(stored!.data)
        assert.notInclude(raw, secret)
        assert.notInclude(raw, "Grace Hopper")
        assert.include(raw, payer, "the subject's id stays in clear")
        const [read] = yield* store.readStreamPage(streamId, { from: 1 })
        const decoded = yield* transfers.decode(read!)
        assert.strictEqual(Redacted.value(decoded.data.payerName), secret)
        assert.strictEqual(Redacted.value(decoded.data.payeeName), "Grace Hopper")
        assert.notInclude(String(decoded.data.payerName), secret)
        assert.notInclude(JSON.stringify(decoded.data), secret)
      }))

    it.effect("forgetting one subject of an event leaves the other's field readable, and never fails a read", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [payer, payee, streamId] = [unique("payer"), unique("payee"), unique("ledger")]
        yield* store.append(streamId, [
          yield* transfers.encode(transfer(payer, payee, "Ada", "Grace")),
          yield* transfers.encode(transfer(payee, payer, "Grace", "Ada"))
        ])
        const forgotten = yield* Erasure.forget(payer)
        assert.deepStrictEqual(forgotten, { subject: payer, recorded: true, keyDestroyed: true })
        const read = yield* transfers.decodeMany(yield* store.readStreamPage(streamId, { from: 1 }))
        assert.deepStrictEqual(read.map((event) => [Redacted.value(event.data.payerName), Redacted.value(event.data.payeeName)]), [
          [forgottenName, "Grace"],
          ["Grace", forgottenName]
        ])
        const one = yield* transfers.decode((yield* store.readStreamPage(streamId, { from: 1 }))[0]!)
        assert.strictEqual(Redacted.value(one.data.payerName), forgottenName)
      }))

    it.effect("records the intent as an event before the key goes; forgetting again records nothing more", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const subject = unique("subject")
        yield* transfers.encode(transfer(subject, unique("other"), "Ada", "Grace"))
        yield* Erasure.forget(subject)
        const intent = yield* store.readStreamPage(PersonalData.forgottenStream(subject), { from: 1 })
        assert.deepStrictEqual(intent.map((event) => [event.type, event.data]), [["$SubjectForgotten", { subject }]])
        assert.deepStrictEqual(yield* Erasure.forget(subject), { subject, recorded: false, keyDestroyed: false })
        assert.strictEqual((yield* store.readStreamPage(PersonalData.forgottenStream(subject), { from: 1 })).length, 1)
      }))

    it.effect("refuses to store new personal data of a forgotten subject", () =>
      Effect.gen(function*() {
        const subject = unique("subject")
        yield* Erasure.forget(subject)
        const exit = yield* Effect.exit(transfers.encode(transfer(subject, unique("other"), "Ada again", "Grace")))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
        assert.instanceOf(error, RecordedEvent.EventEncodeError)
        assert.include(error!.message, "forgotten")
        assert.notInclude(error!.message, "Ada again")
      }))

    it.effect("completes an erasure whose intent is on record but whose key survived (a crash between the two)", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const [subject, streamId] = [unique("subject"), unique("ledger")]
        yield* store.append(streamId, [yield* transfers.encode(transfer(subject, unique("other"), "Ada", "Grace"))])
        // The intent alone, as `forget` leaves it when the process dies right after it.
        yield* store.append(PersonalData.forgottenStream(subject), [{ type: "$SubjectForgotten", data: { subject } }])
        const before = yield* transfers.decodeMany(yield* store.readStreamPage(streamId, { from: 1 }))
        assert.strictEqual(Redacted.value(before[0]!.data.payerName), "Ada", "readable until the erasure completes")
        const completed = yield* Erasure.completePending
        assert.include(completed, subject)
        assert.notInclude(yield* Erasure.completePending, subject, "done once")
        const after = yield* transfers.decodeMany(yield* store.readStreamPage(streamId, { from: 1 }))
        assert.strictEqual(Redacted.value(after[0]!.data.payerName), forgottenName)
        assert.strictEqual(Redacted.value(after[0]!.data.payeeName), "Grace")
      }))

    it.effect("a command handler folds a forgotten subject's events with placeholders, and the snapshots named are dropped", () =>
      Effect.gen(function*() {
        const handler = CommandHandler.make(ledger, { snapshot: { every: 1, schemaVersion: 1 } })
        const [payer, payee, streamId] = [unique("payer"), unique("payee"), unique("ledger")]
        yield* handler.handle(streamId, { _tag: "Transfer", payerId: payer, payeeId: payee, payerName: "Ada", payeeName: "Grace", amount: 5 })
        const snapshots = yield* SnapshotStore
        // The snapshot is saved in the background after the command.
        yield* Effect.repeat(snapshots.load(streamId), { until: Option.isSome, times: 100 })
        assert.deepStrictEqual(Option.map(yield* snapshots.load(streamId), (snapshot) => snapshot.state), Option.some({ names: ["Ada", "Grace"], total: 5 }))
        yield* Erasure.forget(payer, { snapshots: [streamId] })
        assert.isTrue(Option.isNone(yield* snapshots.load(streamId)))
        assert.deepStrictEqual((yield* handler.load(streamId)).state, { names: [forgottenName, "Grace"], total: 5 })
      }))

    it.effect("a decision reads personal events by their tags, and folds a forgotten subject's fields as placeholders", () =>
      Effect.gen(function*() {
        const [payer, payee, streamId] = [unique("payer"), unique("payee"), unique("ledger")]
        const names = Decision.make({
          name: "names",
          command: Transfer,
          event: Transferred,
          state: (command: Transfer) => ({
            seen: Decision.projection({
              query: EventQuery.make({ types: ["Transferred"], tags: [`payer:${command.payerId}`] }),
              initial: [] as ReadonlyArray<string>,
              evolve: (seen: ReadonlyArray<string>, event: Transferred) => [...seen, Redacted.value(event.payerName)]
            })
          }),
          decide: (command: Transfer) => Effect.succeed([transferred(command)]),
          tags: (event: Transferred) => [`payer:${event.payerId}`],
          streamId: () => streamId
        })
        const handler = DecisionHandler.make(names)
        const command = { _tag: "Transfer", payerId: payer, payeeId: payee, payerName: "Ada", payeeName: "Grace", amount: 1 }
        yield* handler.handle(command)
        assert.deepStrictEqual((yield* handler.handle(command)).state.seen, ["Ada"])
        yield* Erasure.forget(payer)
        const after = yield* Effect.exit(handler.handle(command))
        assert.isTrue(Exit.isFailure(after), "no personal data of a forgotten subject is stored again")
        const read = yield* EventStore.use((store) => store.readStreamPage(streamId, { from: 1 }))
        const decoded = yield* names.events.decodeMany(read)
        assert.deepStrictEqual(decoded.map((event) => Redacted.value(event.data.payerName)), [forgottenName, forgottenName])
      }))

    it.effect("a projection that handles $SubjectForgotten drops the subject's documents; the others stay", () =>
      Effect.scoped(Effect.gen(function*() {
        const store = yield* EventStore
        const { people, projection } = peopleProjection(unique("people"))
        const [payer, payee] = [unique("payer"), unique("payee")]
        yield* store.append(unique("ledger"), [yield* transfers.encode(transfer(payer, payee, "Ada", "Grace"))])
        const running = yield* Processor.start(projection)
        yield* running.whenCaughtUp
        assert.deepStrictEqual(yield* people.get(payer), Option.some({ name: "Ada" }))
        yield* Erasure.forget(payer)
        yield* running.whenCaughtUp
        assert.isTrue(Option.isNone(yield* people.get(payer)))
        assert.deepStrictEqual(yield* people.get(payee), Option.some({ name: "Grace" }))
        // A rebuild reads the forgotten subject's events as placeholders: it neither fails nor brings the name back.
        yield* running.rebuild
        yield* running.whenCaughtUp
        assert.isTrue(Option.isNone(yield* people.get(payer)))
        assert.deepStrictEqual(yield* people.get(payee), Option.some({ name: "Grace" }))
      })))

    it.effect("keys are per subject: a subject's key is the same on every read, and destroying it leaves the others", () =>
      Effect.gen(function*() {
        const keys = yield* KeyStore
        const [a, b] = [unique("a"), unique("b")]
        const first = yield* keys.keys([a, b], { purpose: "encrypt" })
        const again = yield* keys.keys([a, b, unique("unknown")], { purpose: "decrypt" })
        assert.strictEqual(again.size, 2)
        const live = (key: DataKey | undefined) => key?._tag === "Live" ? Buffer.from(Redacted.value(key.key)).toString("hex") : key?._tag
        assert.strictEqual(live(again.get(a)), live(first.get(a)))
        assert.notStrictEqual(live(first.get(a)), live(first.get(b)))
        assert.isTrue(yield* keys.destroy(a))
        assert.isFalse(yield* keys.destroy(a))
        const after = yield* keys.keys([a, b], { purpose: "encrypt" })
        assert.strictEqual(after.get(a)?._tag, "Forgotten")
        assert.strictEqual(live(after.get(b)), live(first.get(b)))
      }))

    it.effect("subjects of any characters keep their own keys, read together", () =>
      Effect.gen(function*() {
        const keys = yield* KeyStore
        const tag = unique("")
        const subjects = ['quote " and backslash \\', "comma, {brace}", "", " spaced ", "NULL", "ünï ✓ 😀", "a'b"].map((subject) => `${subject}${tag}`)
        const first = yield* keys.keys(subjects, { purpose: "encrypt" })
        const again = yield* keys.keys(subjects, { purpose: "decrypt" })
        const hex = (key: DataKey | undefined) => key?._tag === "Live" ? Buffer.from(Redacted.value(key.key)).toString("hex") : String(key?._tag)
        assert.deepStrictEqual(subjects.map((subject) => hex(again.get(subject))), subjects.map((subject) => hex(first.get(subject))))
        assert.strictEqual(new Set(subjects.map((subject) => hex(again.get(subject)))).size, subjects.length)
      }))

    it.effect("the intents are found by type in the log, as processors see them", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        const subject = unique("subject")
        yield* Erasure.forget(subject)
        const found = yield* store.readQuery({ items: [{ types: ["$SubjectForgotten"] }] }).pipe(
          Stream.filter((event) => (event.data as { readonly subject?: unknown }).subject === subject),
          Stream.runCollect
        )
        assert.strictEqual(found.length, 1)
      }))
  })
