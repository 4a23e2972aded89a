/**
 * Personal data in events, and how it is forgotten (crypto-shredding). A field made with
 * {@link field} belongs to a data subject, named by another field of the same event (several
 * subjects per event are fine: a transfer's payer and payee). The event codec stores such a field
 * encrypted with its subject's key (AES-256-GCM, see `KeyStore`); forgetting the subject destroys
 * the key (`Erasure.forget`), and from then on the field decodes to the placeholder it declares.
 *
 * ```ts
 * const Transferred = Schema.TaggedStruct("Transferred", {
 *   payerId: Schema.String,
 *   payeeId: Schema.String,
 *   payerName: PersonalData.field(Schema.String, { subject: "payerId", placeholder: "(forgotten)" }),
 *   payeeName: PersonalData.field(Schema.String, { subject: "payeeId", placeholder: "(forgotten)" }),
 *   amount: Schema.Number
 * })
 * ```
 *
 * A personal field decodes to a `Redacted` value, so logs, spans and error messages show
 * `<redacted>`, never the value. Its Schema needs the `KeyStore` service to encode and decode,
 * so whatever stores or reads such events (a `CommandHandler`, a projection) needs a `KeyStore`
 * in its context: the types say so, and without one nothing is stored in plaintext.
 *
 * @since 0.1.0
 */
import { Redacted, Schema, SchemaGetter } from "effect"
import type { KeyStore } from "./KeyStore.ts"

/**
 * The annotation a personal field carries.
 *
 * @category annotations
 * @since 0.1.0
 */
export const annotationKey = "@facta/core/PersonalData"

/**
 * What the annotation says: the field of the event naming the subject, and the placeholder's
 * stored form (JSON), which a forgotten field decodes from.
 *
 * @category models
 * @since 0.1.0
 */
export interface Annotation {
  readonly subject: string
  readonly placeholder: unknown
}

/**
 * A personal field: a `Redacted` value (made from a plain one), whose encoding and decoding
 * need the `KeyStore`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Field<A, I> extends Schema.decodeTo<Schema.declare<Redacted.Redacted<A>>, Schema.Codec<A, I>, KeyStore, KeyStore> {}

/** A `Redacted` value, made from the plain one the field's Schema decodes. */
const redacted = <A>() =>
  Schema.declare((input): input is Redacted.Redacted<A> => Redacted.isRedacted(input), { expected: "Redacted" })

/**
 * Marks a field as personal data of the subject whose id is in the event's field `subject` (a
 * string field). A forgotten field decodes to `placeholder`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const field = <A, I>(
  value: Schema.Codec<A, I>,
  options: { readonly subject: string; readonly placeholder: A }
): Field<A, I> => {
  const annotation: Annotation = {
    subject: options.subject,
    placeholder: Schema.encodeSync(Schema.toCodecJson(value))(options.placeholder)
  }
  // The KeyStore is the codec's: it encrypts the field's JSON after the Schema has encoded it,
  // and decrypts it before the Schema decodes it. The Schema's services say that it is needed.
  // Lighter than `Schema.RedactedFromValue`, whose Type side checks the value again on each decode.
  const field = value.pipe(Schema.decodeTo(redacted<A>(), {
    decode: SchemaGetter.transform((plain: A) => Redacted.make(plain)),
    encode: SchemaGetter.transform((hidden: Redacted.Redacted<A>) => Redacted.value(hidden))
  }))
  return field.annotate({ [annotationKey]: annotation }) as unknown as Field<A, I>
}

/**
 * The event that records that a subject is forgotten, appended before the key is destroyed.
 * Processors that keep a subject's personal data (a projection's documents) handle it by
 * dropping that data: add it to their event Schema.
 *
 * @category models
 * @since 0.1.0
 */
export const SubjectForgotten = Schema.TaggedStruct("$SubjectForgotten", {
  subject: Schema.String
})

/**
 * @category models
 * @since 0.1.0
 */
export type SubjectForgotten = typeof SubjectForgotten.Type

/**
 * The stream a subject's {@link SubjectForgotten} is appended to.
 *
 * @category constructors
 * @since 0.1.0
 */
export const forgottenStream = (subject: string): string => `$forgotten-${subject}`

