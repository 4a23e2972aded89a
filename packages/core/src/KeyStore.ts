/**
 * The keys of personal data: one data key per data subject, which encrypts every personal field
 * of that subject (see `PersonalData`). Destroying a subject's key is what forgets them: their
 * fields stay in the log as ciphertext that nothing can read, on every replica and in every
 * backup made from then on.
 *
 * A store keeps keys through a few primitives ({@link Primitives}: load, insert, destroy), and
 * {@link make} derives the service from them. Keys are kept wrapped by a {@link KeyWrapping}:
 * {@link plainKeys} keeps them as they are (the table is then as secret as the keys), and
 * {@link masterKey} wraps each with AES-256-GCM under a master key held elsewhere. A key
 * management service (KMS) fills the same interface: `wrap` and `unwrap` call its encrypt and
 * decrypt, and the data keys never leave the process unwrapped.
 *
 * @since 0.1.0
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Clock, Context, Duration, Effect, Layer, Redacted, Schema } from "effect"

/**
 * A failure of the key store or of its wrapping; the message never holds a key.
 *
 * @category errors
 * @since 0.1.0
 */
export class KeyStoreError extends Schema.TaggedError<KeyStoreError>()("KeyStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A subject's key as a store keeps it: the wrapped key, or `null` once destroyed (the subject is
 * then known to be forgotten, rather than unknown).
 *
 * @category models
 * @since 0.1.0
 */
export type StoredKey = Uint8Array | null

/**
 * What a store implements.
 *
 * @category models
 * @since 0.1.0
 */
export interface Primitives {
  /** The stored keys of these subjects; a subject the store never saw is absent. */
  readonly load: (subjects: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, StoredKey>, KeyStoreError>
  /** Stores the key unless the subject has one (or had one); returns what is stored after it. */
  readonly insert: (subject: string, wrapped: Uint8Array) => Effect.Effect<StoredKey, KeyStoreError>
  /** Forgets the key for good (keeping that it was destroyed); true when a key was destroyed now. */
  readonly destroy: (subject: string) => Effect.Effect<boolean, KeyStoreError>
}

/**
 * How data keys are kept at rest. `wrap` and `unwrap` are given the subject, to bind a wrapped
 * key to it (as associated data, or a KMS encryption context).
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyWrapping {
  readonly wrap: (subject: string, key: Uint8Array) => Effect.Effect<Uint8Array, KeyStoreError>
  readonly unwrap: (subject: string, wrapped: Uint8Array) => Effect.Effect<Uint8Array, KeyStoreError>
}

/**
 * A subject's data key, as the codec sees it: a key, or forgotten.
 *
 * @category models
 * @since 0.1.0
 */
export type DataKey =
  | { readonly _tag: "Live"; readonly key: Redacted.Redacted<Uint8Array> }
  | { readonly _tag: "Forgotten" }

/**
 * @category services
 * @since 0.1.0
 */
export class KeyStore extends Context.Service<KeyStore, {
  /**
   * The keys of these subjects. To `encrypt`, a subject without a key gets a new one (a
   * forgotten subject stays forgotten), and a key read in the last `encryptionCache` may be
   * served from memory; to `decrypt`, keys are read from the store (a forgotten subject is
   * forgotten at once) and a subject the store never saw is absent.
   */
  readonly keys: (
    subjects: ReadonlyArray<string>,
    options: { readonly purpose: "encrypt" | "decrypt" }
  ) => Effect.Effect<ReadonlyMap<string, DataKey>, KeyStoreError>
  /** Destroys the subject's key; true when a key was destroyed now, false when there was none. */
  readonly destroy: (subject: string) => Effect.Effect<boolean, KeyStoreError>
}>()("@facta/core/KeyStore") {}

/** Data keys are AES-256 keys. */
const keyLength = 32

/**
 * Keys kept as they are: whoever reads the store reads the keys.
 *
 * @category wrapping
 * @since 0.1.0
 */
export const plainKeys: KeyWrapping = {
  wrap: (_, key) => Effect.succeed(key),
  unwrap: (subject, wrapped) =>
    wrapped.length === keyLength
      ? Effect.succeed(wrapped)
      : Effect.fail(new KeyStoreError({ message: `The key of subject ${JSON.stringify(subject)} is not a plain ${keyLength}-byte key (is it wrapped?)` }))
}

/**
 * Keys wrapped with AES-256-GCM under a 32-byte master key, bound to their subject. The master
 * key lives outside the database (an environment secret, a file); without it the stored keys
 * are useless.
 *
 * @category wrapping
 * @since 0.1.0
 */
export const masterKey = (master: Redacted.Redacted<Uint8Array>): KeyWrapping => {
  const secret = Redacted.value(master)
  const wrongLength = secret.length === keyLength
    ? undefined
    : new KeyStoreError({ message: `A master key has ${keyLength} bytes, not ${secret.length}` })
  return {
    wrap: (subject, key) =>
      wrongLength !== undefined ? Effect.fail(wrongLength) : Effect.sync(() => {
        const iv = randomBytes(12)
        const cipher = createCipheriv("aes-256-gcm", secret, iv)
        cipher.setAAD(Buffer.from(subject, "utf8"))
        return Buffer.concat([iv, cipher.update(key), cipher.final(), cipher.getAuthTag()])
      }),
    unwrap: (subject, wrapped) =>
      wrongLength !== undefined ? Effect.fail(wrongLength) : Effect.try({
        try: () => {
          const bytes = Buffer.from(wrapped)
          const decipher = createDecipheriv("aes-256-gcm", secret, bytes.subarray(0, 12))
          decipher.setAAD(Buffer.from(subject, "utf8"))
          decipher.setAuthTag(bytes.subarray(bytes.length - 16))
          return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()])
        },
        catch: (cause) => new KeyStoreError({ message: `The key of subject ${JSON.stringify(subject)} does not unwrap under this master key`, cause })
      })
  }
}

/**
 * The service over a store's primitives: new keys are random, wrapped before they are stored
 * and unwrapped as they are read.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (primitives: Primitives, wrapping: KeyWrapping = plainKeys, options?: MakeOptions): KeyStore["Service"] => {
  const cacheFor = Duration.toMillis(Duration.fromInputUnsafe(options?.encryptionCache ?? "1 minute"))
  // Keys to encrypt with, by subject, until when. A key destroyed by another process may still
  // encrypt here until then: what it encrypts reads as forgotten, like the rest.
  const cache = new Map<string, { readonly key: DataKey; readonly until: number }>()
  const remember = (subject: string, key: DataKey, now: number) => {
    if (cacheFor <= 0) return
    cache.delete(subject)
    cache.set(subject, { key, until: now + cacheFor })
    if (cache.size > cacheLimit) cache.delete(cache.keys().next().value!)
  }
  const unwrapped = (subject: string, stored: StoredKey): Effect.Effect<DataKey, KeyStoreError> =>
    stored === null
      ? Effect.succeed({ _tag: "Forgotten" })
      : Effect.map(wrapping.unwrap(subject, stored), (key): DataKey => ({ _tag: "Live", key: Redacted.make(key) }))
  return KeyStore.of({
    keys: Effect.fnUntraced(function*(subjects, { purpose }) {
      const keys = new Map<string, DataKey>()
      const now = yield* Clock.currentTimeMillis
      let wanted = [...new Set(subjects)]
      if (purpose === "encrypt") {
        wanted = wanted.filter((subject) => {
          const cached = cache.get(subject)
          if (cached === undefined || cached.until < now) return true
          keys.set(subject, cached.key)
          return false
        })
      }
      const stored = wanted.length === 0 ? new Map<string, StoredKey>() : yield* primitives.load(wanted)
      for (const subject of wanted) {
        let found = stored.get(subject)
        if (found === undefined) {
          if (purpose === "decrypt") continue
          found = yield* primitives.insert(subject, yield* wrapping.wrap(subject, randomBytes(keyLength)))
        }
        const key = yield* unwrapped(subject, found)
        keys.set(subject, key)
        if (purpose === "encrypt") remember(subject, key, now)
      }
      return keys
    }),
    destroy: (subject) => Effect.andThen(Effect.sync(() => cache.delete(subject)), primitives.destroy(subject))
  })
}

/** At most this many keys are kept in memory to encrypt with. */
const cacheLimit = 10_000

/**
 * @category models
 * @since 0.1.0
 */
export interface MakeOptions {
  /**
   * How long a key read to encrypt with is kept in memory, so that a command does not read it
   * again (default 1 minute; 0 reads it every time). A subject forgotten by another process may
   * have fields encrypted with it until then; they read as forgotten. Keys to decrypt with are
   * always read from the store.
   */
  readonly encryptionCache?: Duration.Input | undefined
}

/**
 * Keys in memory: for tests and single-process tools (nothing survives the process).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory = (wrapping?: KeyWrapping, options?: MakeOptions): KeyStore["Service"] => {
  const stored = new Map<string, StoredKey>()
  return make({
    load: (subjects) =>
      Effect.sync(() => new Map(subjects.flatMap((subject) => stored.has(subject) ? [[subject, stored.get(subject)!] as const] : []))),
    insert: (subject, wrapped) =>
      Effect.sync(() => {
        if (!stored.has(subject)) stored.set(subject, wrapped)
        return stored.get(subject)!
      }),
    destroy: (subject) =>
      Effect.sync(() => {
        const had = stored.get(subject) !== null && stored.has(subject)
        stored.set(subject, null)
        return had
      })
  }, wrapping, options)
}

/**
 * Keys in memory.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<KeyStore> = Layer.sync(KeyStore, () => makeMemory())
