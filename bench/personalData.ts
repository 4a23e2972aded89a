/**
 * Figure 15: events with personal fields (`PersonalData.field`, stored encrypted with their
 * subjects' keys) against the same events without.
 *
 * Both sides go through Facta: `RecordedEvent.codec(schema).encodeMany` then
 * `EventStore.append`, and `readStreamPage` then `decodeMany`. The events carry two subjects
 * each (a payer and a payee, from a pool of 100 whose keys exist before timing) and two names;
 * the baseline's Schema has the same fields, plain. So the ratio is the cost of the encryption:
 * the key look-up (one per call), AES-256-GCM per field, and the larger stored JSON.
 *
 * 15a: one event per call, each to a new stream (a command's append). 15b: batches of 100 to
 * one stream. 15c: reading a 5,000-event stream in pages of 500, decoded.
 *
 * 15d and 15e do 15b's and 15c's work against a baseline that encrypts by hand: the plain Schema
 * whose two names hold what the application sealed itself with `node:crypto` (AES-256-GCM, a
 * random IV, the subject and field as associated data, keys already in memory), opened by hand
 * after decoding and wrapped in `Redacted`. That is the cipher's own cost, so their ratio is what
 * Facta adds to it: the plan of each event's fields, the key look-up, the envelope.
 */
import { Effect, Redacted, Schema } from "effect"
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto"
import { EventStore, KeyStore, PersonalData, RecordedEvent } from "@facta/core"
import { cpuPerOp, durationOf, eventsPerSecond, type Figure, forCount, forDuration, higherIsBetter, interleave, type Interleaved, medianRate, type Plan, rate } from "./measure.ts"
import type { Services } from "./targets.ts"

class Transferred extends Schema.TaggedClass<Transferred>()("Transferred", {
  payerId: Schema.String,
  payeeId: Schema.String,
  payerName: PersonalData.field(Schema.String, { subject: "payerId", placeholder: "" }),
  payeeName: PersonalData.field(Schema.String, { subject: "payeeId", placeholder: "" }),
  amount: Schema.Number
}) {}

class PlainTransferred extends Schema.TaggedClass<PlainTransferred>()("Transferred", {
  payerId: Schema.String,
  payeeId: Schema.String,
  payerName: Schema.String,
  payeeName: Schema.String,
  amount: Schema.Number
}) {}

const personal = RecordedEvent.codec(Transferred)
const plain = RecordedEvent.codec(PlainTransferred)

const subjects = 100
const batchSize = 100
const readStreamLength = 5_000
const pageSize = 500

const subjectOf = (index: number) => `bench-subject-${index % subjects}`
const nameOf = (index: number) => `Person number ${index % subjects}`

const personalEvent = (index: number) =>
  new Transferred({
    payerId: subjectOf(index),
    payeeId: subjectOf(index + 1),
    payerName: Redacted.make(nameOf(index)),
    payeeName: Redacted.make(nameOf(index + 1)),
    amount: index
  })
const plainEvent = (index: number) =>
  new PlainTransferred({ payerId: subjectOf(index), payeeId: subjectOf(index + 1), payerName: nameOf(index), payeeName: nameOf(index + 1), amount: index })

type Run = <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>

// -- Sealing by hand (15d, 15e) -----------------------------------------------------------------

/** The subjects' keys, as an application that encrypts by hand would hold them. */
type HandKeys = ReadonlyMap<string, KeyObject>

const handKeys = Effect.gen(function*() {
  const store = yield* KeyStore.KeyStore
  const ids = Array.from({ length: subjects }, (_, index) => subjectOf(index))
  const found = yield* store.keys(ids, { purpose: "encrypt" })
  return new Map(ids.map((id) => {
    const key = found.get(id)
    if (key?._tag !== "Live") throw new Error(`no key for ${id}`)
    return [id, createSecretKey(Redacted.value(key.key))] as const
  }))
})

/** The value's JSON, sealed: the IV, then the ciphertext and its tag, base64. */
const sealByHand = (keys: HandKeys, subject: string, field: string, value: unknown): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", keys.get(subject)!, iv)
  cipher.setAAD(Buffer.from(`${subject}\u0000${field}`, "utf8"))
  return Buffer.concat([iv, cipher.update(JSON.stringify(value), "utf8"), cipher.final(), cipher.getAuthTag()]).toString("base64")
}

const openByHand = (keys: HandKeys, subject: string, field: string, sealed: string): unknown => {
  const bytes = Buffer.from(sealed, "base64")
  const decipher = createDecipheriv("aes-256-gcm", keys.get(subject)!, bytes.subarray(0, 12))
  decipher.setAAD(Buffer.from(`${subject}\u0000${field}`, "utf8"))
  decipher.setAuthTag(bytes.subarray(bytes.length - 16))
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString("utf8"))
}

const handSealedEvent = (keys: HandKeys, index: number) => {
  const [payerId, payeeId] = [subjectOf(index), subjectOf(index + 1)]
  return new PlainTransferred({
    payerId,
    payeeId,
    payerName: sealByHand(keys, payerId, "payerName", nameOf(index)),
    payeeName: sealByHand(keys, payeeId, "payeeName", nameOf(index + 1)),
    amount: index
  })
}

/** A decoded hand-sealed event, opened: what `PersonalData` decodes to. */
const openedByHand = (keys: HandKeys, event: PlainTransferred) => ({
  ...event,
  payerName: Redacted.make(openByHand(keys, event.payerId, "payerName", event.payerName)),
  payeeName: Redacted.make(openByHand(keys, event.payeeId, "payeeName", event.payeeName))
})

/** Encodes and appends `count` events per call; one new stream per call when `streamId` is undefined. */
const appends = (codec: "personal" | "plain" | HandKeys, prefix: string, count: number, durationMs: number, streamId?: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return yield* forDuration(durationMs, 1, (i) => {
      const indexes = Array.from({ length: count }, (_, k) => i * count + k)
      const stream = streamId ?? `${prefix}-${i}`
      return codec === "personal"
        ? Effect.flatMap(personal.encodeMany(indexes.map(personalEvent)), (events) => store.append(stream, events))
        : codec === "plain"
        ? Effect.flatMap(plain.encodeMany(indexes.map(plainEvent)), (events) => store.append(stream, events))
        : Effect.flatMap(plain.encodeMany(indexes.map((index) => handSealedEvent(codec, index))), (events) => store.append(stream, events))
    })
  })

/** Reads the whole stream in pages, decoding each page. */
const reads = (codec: "personal" | "plain" | HandKeys, streamId: string, loads: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    return yield* forCount(loads, 1, () =>
      Effect.gen(function*() {
        let decoded = 0
        for (let from = 1; from <= readStreamLength; from += pageSize) {
          const page = yield* store.readStreamPage(streamId, { from, batchSize: pageSize })
          if (codec === "personal") decoded += (yield* personal.decodeMany(page)).length
          else if (codec === "plain") decoded += (yield* plain.decodeMany(page)).length
          else decoded += (yield* plain.decodeMany(page)).map((event) => openedByHand(codec, event.data)).length
        }
        if (decoded !== readStreamLength) return yield* Effect.die(new Error(`read ${decoded} events of ${streamId}, not ${readStreamLength}`))
      }))
  })

const seed = (codec: "personal" | "plain" | HandKeys, streamId: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    for (let from = 0; from < readStreamLength; from += pageSize) {
      const indexes = Array.from({ length: pageSize }, (_, k) => from + k)
      const events = codec === "personal"
        ? yield* personal.encodeMany(indexes.map(personalEvent))
        : yield* plain.encodeMany(indexes.map((index) => codec === "plain" ? plainEvent(index) : handSealedEvent(codec, index)))
      yield* store.append(streamId, events, { expectedVersion: from })
    }
  })

export const figures = async (run: Run, store: Figure["store"], plan: Plan): Promise<Array<Figure>> => {
  const id = crypto.randomUUID().slice(0, 8)
  // The subjects' keys exist before timing (a subject's first event creates its key once).
  await run(Effect.asVoid(personal.encodeMany(Array.from({ length: subjects }, (_, index) => personalEvent(index)))))

  const singles = await interleave(
    plan.rounds,
    (round) => run(appends("personal", `p15a-${id}-${round}`, 1, durationOf(plan, round))),
    (round) => run(appends("plain", `b15a-${id}-${round}`, 1, durationOf(plan, round)))
  )
  const batches = await interleave(
    plan.rounds,
    (round) => run(appends("personal", "", batchSize, durationOf(plan, round), `p15b-${id}-${round}`)),
    (round) => run(appends("plain", "", batchSize, durationOf(plan, round), `b15b-${id}-${round}`))
  )
  const [personalStream, plainStream] = [`p15c-${id}`, `b15c-${id}`]
  await run(seed("personal", personalStream))
  await run(seed("plain", plainStream))
  const loads = await interleave(
    plan.rounds,
    () => run(reads("personal", personalStream, plan.loadsPerRound)),
    () => run(reads("plain", plainStream, plan.loadsPerRound))
  )
  const keys = await run(handKeys)
  const handBatches = await interleave(
    plan.rounds,
    (round) => run(appends("personal", "", batchSize, durationOf(plan, round), `p15d-${id}-${round}`)),
    (round) => run(appends(keys, "", batchSize, durationOf(plan, round), `h15d-${id}-${round}`))
  )
  const handStream = `h15e-${id}`
  await run(seed(keys, handStream))
  const handLoads = await interleave(
    plan.rounds,
    () => run(reads("personal", personalStream, plan.loadsPerRound)),
    () => run(reads(keys, handStream, plan.loadsPerRound))
  )
  const perBatch = (result: Interleaved, perOp: number) =>
    higherIsBetter({
      id: "15b",
      title: "Personal fields: encode and append batches of 100 to one stream, encrypted vs plain",
      store,
      target: 0.8,
      metric: "throughput",
      unit: "events/s",
      facta: medianRate(result.facta, perOp),
      baseline: medianRate(result.baseline, perOp),
      samples: { facta: result.facta.map((r) => rate(r) * perOp), baseline: result.baseline.map((r) => rate(r) * perOp) },
      cpu: cpuPerOp(result, perOp)
    })
  return [
    eventsPerSecond({ id: "15a", title: "Personal fields: encode and append 1 event/call, encrypted vs plain", store, target: 0.8 }, singles),
    perBatch(batches, batchSize),
    { ...perBatch(loads, readStreamLength), id: "15c", title: "Personal fields: read and decode a 5,000-event stream by pages of 500, encrypted vs plain" },
    { ...perBatch(handBatches, batchSize), id: "15d", title: "Personal fields: encode and append batches of 100, encrypted vs sealed by hand with node:crypto" },
    { ...perBatch(handLoads, readStreamLength), id: "15e", title: "Personal fields: read and decode 5,000 events, encrypted vs opened by hand with node:crypto" }
  ]
}
