/**
 * A fold's read of a stream: the events' version, type and data, without their envelopes, where
 * the store can read less for it (`EventStore.Primitives`' `readStreamData`). The store that
 * `EventStore.make` builds carries that read under {@link key}, beside its `readStreamPage`; it
 * is used only while the service's `readStreamPage` is still that one, so a decorator that
 * replaces `readStreamPage` (holding a processor's appends, counting reads, a test's fault) is
 * followed, and its reads are the fold's.
 */

export const key: unique symbol = Symbol.for("@facta/core/EventStore/foldRead")

/** The fold's read, and the `readStreamPage` it stands beside. */
export interface FoldRead<Read> {
  readonly readStreamPage: unknown
  readonly readStreamData: Read
}

/** The store's fold read, while it stands beside the store's `readStreamPage`; undefined otherwise. */
export const readOf = <Read>(store: { readonly readStreamPage: unknown }): Read | undefined => {
  const own = (store as { readonly [key]?: FoldRead<Read> | undefined })[key]
  return own !== undefined && own.readStreamPage === store.readStreamPage ? own.readStreamData : undefined
}
