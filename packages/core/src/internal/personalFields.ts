/**
 * The personal fields of an event Schema, and their encryption in the stored JSON: the codec
 * encrypts each after the Schema has encoded the event, and decrypts each before the Schema
 * decodes it. A field is stored as an envelope that no JSON a Schema encodes looks like.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto"
import { Effect, Redacted, SchemaAST } from "effect"
import { type DataKey, KeyStore, type KeyStoreError } from "../KeyStore.ts"
import { type Annotation, annotationKey } from "../PersonalData.ts"

/** A personal field of one event type. */
export interface PersonalField {
  readonly field: string
  readonly subject: string
  readonly placeholder: unknown
}

/** The personal fields by event type (the Schema's `_tag`s). */
export type Plan = ReadonlyMap<string, ReadonlyArray<PersonalField>>

/** Why a personal field could not be stored or read; names fields and subjects, never values. */
export class PersonalFieldError {
  readonly _tag = "PersonalFieldError"
  readonly detail: string
  /** The event it is about: its type when writing; its stream and version too when reading. */
  readonly event: { readonly type: string; readonly streamId?: string; readonly version?: number }
  constructor(detail: string, event: { readonly type: string; readonly streamId?: string; readonly version?: number }) {
    this.detail = detail
    this.event = event
  }
}

const isAnnotation = (value: unknown): value is Annotation =>
  typeof value === "object" && value !== null && typeof (value as Annotation).subject === "string" && "placeholder" in value

/** The personal fields of a Schema's tagged structs and classes; undefined when it has none. */
export const planOf = (ast: SchemaAST.AST): Plan | undefined => {
  const plan = new Map<string, Array<PersonalField>>()
  const visit = (node: SchemaAST.AST): void => {
    if (SchemaAST.isUnion(node)) return node.types.forEach(visit)
    if (SchemaAST.isDeclaration(node)) return node.typeParameters.forEach(visit)
    if (!SchemaAST.isObjects(node)) return
    const tag = node.propertySignatures.find((property) => property.name === "_tag")?.type
    if (tag === undefined || !SchemaAST.isLiteral(tag)) return
    const fields = node.propertySignatures.flatMap((property): Array<PersonalField> => {
      const annotation = SchemaAST.resolve(property.type)?.[annotationKey]
      return isAnnotation(annotation) && typeof property.name === "string"
        ? [{ field: property.name, subject: annotation.subject, placeholder: annotation.placeholder }]
        : []
    })
    if (fields.length > 0) plan.set(String(tag.literal), fields)
  }
  visit(ast)
  return plan.size === 0 ? undefined : plan
}

/** A personal field as stored. */
interface Envelope {
  readonly $facta: "personal"
  readonly subject: string
  readonly iv: string
  /** The ciphertext of the value's JSON, then the 16-byte tag; base64. */
  readonly data: string
}

const isEnvelope = (value: unknown): value is Envelope =>
  typeof value === "object" && value !== null && (value as Envelope).$facta === "personal" &&
  typeof (value as Envelope).subject === "string" && typeof (value as Envelope).iv === "string" &&
  typeof (value as Envelope).data === "string"

/** Binds a ciphertext to its subject and field: moved elsewhere, it does not decrypt. */
const associatedData = (subject: string, field: string) => Buffer.from(`${subject}\u0000${field}`, "utf8")

/** A key as OpenSSL holds it, made once per key read rather than once per field: half the cost of a field. */
const secretKeys = new WeakMap<Uint8Array, KeyObject>()
const secretKeyOf = (key: Uint8Array): KeyObject => {
  let secret = secretKeys.get(key)
  if (secret === undefined) secretKeys.set(key, secret = createSecretKey(key))
  return secret
}

/** Random IVs drawn from the CSPRNG a thousand at a time (one call per IV costs more than the cipher). */
let ivs = randomBytes(0)
let nextIv = 0
const freshIv = () => {
  if (nextIv + 12 > ivs.length) {
    ivs = randomBytes(12 * 1024)
    nextIv = 0
  }
  const iv = ivs.subarray(nextIv, nextIv + 12)
  nextIv += 12
  return iv
}

const seal = (key: Uint8Array, subject: string, field: string, value: unknown): Envelope => {
  const iv = freshIv()
  const cipher = createCipheriv("aes-256-gcm", secretKeyOf(key), iv)
  cipher.setAAD(associatedData(subject, field))
  const sealed = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final(), cipher.getAuthTag()])
  return { $facta: "personal", subject, iv: iv.toString("base64"), data: sealed.toString("base64") }
}

/** The value's JSON, or undefined when the ciphertext does not authenticate. */
const open = (key: Uint8Array, field: string, envelope: Envelope): unknown => {
  try {
    const sealed = Buffer.from(envelope.data, "base64")
    const decipher = createDecipheriv("aes-256-gcm", secretKeyOf(key), Buffer.from(envelope.iv, "base64"))
    decipher.setAAD(associatedData(envelope.subject, field))
    decipher.setAuthTag(sealed.subarray(sealed.length - 16))
    return JSON.parse(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString("utf8"))
  } catch {
    return undefined
  }
}

/** Encrypts the personal fields of encoded events (their JSON, without `_tag`), with one look-up of their subjects' keys. */
export const encrypt = <E extends { readonly type: string; readonly data: unknown }>(
  plan: Plan,
  events: ReadonlyArray<E>
): Effect.Effect<ReadonlyArray<E>, PersonalFieldError | KeyStoreError, KeyStore> => {
  const subjects = new Set<string>()
  for (const event of events) {
    const data = event.data as Record<string, unknown>
    for (const { field, subject } of plan.get(event.type) ?? []) {
      if (data[field] === undefined) continue
      if (typeof data[subject] !== "string") {
        return Effect.fail(new PersonalFieldError(`the subject of personal field "${field}" is field "${subject}", which is not a string`, { type: event.type }))
      }
      subjects.add(data[subject])
    }
  }
  if (subjects.size === 0) return Effect.succeed(events)
  return Effect.flatMap(Effect.service(KeyStore), (keys) =>
    Effect.flatMap(keys.keys([...subjects], { purpose: "encrypt" }), (found) => {
      const sealed: Array<E> = []
      for (const event of events) {
        const fields = plan.get(event.type)
        if (fields === undefined) {
          sealed.push(event)
          continue
        }
        const data: Record<string, unknown> = { ...event.data as Record<string, unknown> }
        for (const { field, subject } of fields) {
          if (data[field] === undefined) continue
          const id = data[subject] as string
          const key = found.get(id)
          if (key === undefined || key._tag === "Forgotten") {
            return Effect.fail(new PersonalFieldError(`subject ${JSON.stringify(id)} of personal field "${field}" is forgotten: no personal data of theirs is stored again`, { type: event.type }))
          }
          data[field] = seal(Redacted.value(key.key), id, field, data[field])
        }
        sealed.push({ ...event, data })
      }
      return Effect.succeed(sealed)
    }))
}

/** The names of the personal fields of every type: only a value under one of them is an envelope. */
const namesOf = (plan: Plan): ReadonlySet<string> => new Set([...plan.values()].flatMap((fields) => fields.map(({ field }) => field)))

/** The envelopes of a stored event, by field. */
const envelopesIn = (names: ReadonlySet<string>, data: unknown): Array<readonly [string, Envelope]> => {
  if (typeof data !== "object" || data === null) return []
  const found: Array<readonly [string, Envelope]> = []
  for (const name of names) {
    const value = (data as Record<string, unknown>)[name]
    if (isEnvelope(value)) found.push([name, value])
  }
  return found
}

/** The placeholder of a field of this type (or of a field of that name in any type: a renamed type keeps its fields). */
const placeholderOf = (plan: Plan, type: string, field: string): unknown => {
  const own = plan.get(type)?.find((candidate) => candidate.field === field)
  if (own !== undefined) return own.placeholder
  for (const fields of plan.values()) {
    const named = fields.find((candidate) => candidate.field === field)
    if (named !== undefined) return named.placeholder
  }
  return null
}

/**
 * Decrypts the personal fields of stored events, with one look-up of their subjects' keys: a
 * forgotten subject's field becomes its placeholder. Events without envelopes are returned as
 * they are. `lenient` leaves a field it cannot decrypt as it is (for the event's own decoding
 * to fail on, with the event named) rather than failing all the events.
 */
export const decrypt = <E extends { readonly type: string; readonly data: unknown; readonly streamId: string; readonly version: number }>(
  plan: Plan,
  events: ReadonlyArray<E>,
  options?: { readonly lenient: boolean }
): Effect.Effect<ReadonlyArray<E>, PersonalFieldError | KeyStoreError, KeyStore> => {
  const lenient = options?.lenient === true
  const names = namesOf(plan)
  const sealed = events.map((event) => envelopesIn(names, event.data))
  const subjects = new Set(sealed.flatMap((envelopes) => envelopes.map(([, envelope]) => envelope.subject)))
  if (subjects.size === 0) return Effect.succeed(events)
  return Effect.flatMap(Effect.service(KeyStore), (keys) =>
    Effect.flatMap(keys.keys([...subjects], { purpose: "decrypt" }), (found) => {
      const opened: Array<E> = []
      for (const [index, event] of events.entries()) {
        const envelopes = sealed[index]!
        if (envelopes.length === 0) {
          opened.push(event)
          continue
        }
        const plain: Record<string, unknown> = { ...event.data as Record<string, unknown> }
        for (const [field, envelope] of envelopes) {
          const key: DataKey | undefined = found.get(envelope.subject)
          if (key === undefined) {
            if (lenient) continue
            return Effect.fail(new PersonalFieldError(`no key is known for subject ${JSON.stringify(envelope.subject)} of personal field "${field}" (is this the KeyStore the event was stored with?)`, event))
          }
          if (key._tag === "Forgotten") {
            plain[field] = placeholderOf(plan, event.type, field)
            continue
          }
          const json = open(Redacted.value(key.key), field, envelope)
          if (json === undefined) {
            if (lenient) continue
            return Effect.fail(new PersonalFieldError(`personal field "${field}" of subject ${JSON.stringify(envelope.subject)} does not decrypt with the subject's key`, event))
          }
          plain[field] = json
        }
        opened.push({ ...event, data: plain })
      }
      return Effect.succeed(opened)
    }))
}
