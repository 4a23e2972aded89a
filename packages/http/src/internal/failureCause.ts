/** The Facta error an HTTP failure was made of, kept so that another error format can tell it as that error. */

/** `failure` with `cause` set to the error it was made of; not part of its encoded body. */
export const withCause = <E extends object>(failure: E, cause: unknown): E =>
  Object.defineProperty(failure, "cause", { value: cause, enumerable: false, configurable: true, writable: true })

/** The `cause` {@link withCause} set, if any. */
export const causeOf = (failure: unknown): unknown =>
  typeof failure === "object" && failure !== null && "cause" in failure ? (failure as { readonly cause: unknown }).cause : undefined
