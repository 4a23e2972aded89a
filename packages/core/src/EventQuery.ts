/**
 * Queries over the global log by event type and tag, as in the dynamic consistency boundary
 * specification (dcb.events): a query is a list of items; an event matches an item when its type
 * is one of the item's types (any type when it names none) and it carries every one of the
 * item's tags; it matches the query when it matches any item.
 *
 * ```ts
 * // The events that decide whether student s7 may subscribe to course c1.
 * const query = EventQuery.make(
 *   { types: ["CourseDefined", "CourseCapacityChanged", "StudentSubscribed"], tags: ["course:c1"] },
 *   { types: ["StudentSubscribed"], tags: ["student:s7"] }
 * )
 * ```
 *
 * @since 0.1.0
 */

/**
 * @category models
 * @since 0.1.0
 */
export interface QueryItem {
  /** The event types the item matches; any type when absent or empty. */
  readonly types?: ReadonlyArray<string> | undefined
  /** The tags an event must all carry; none when absent or empty. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface EventQuery {
  readonly items: ReadonlyArray<QueryItem>
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = (...items: ReadonlyArray<QueryItem>): EventQuery => ({ items })

/**
 * Every event.
 *
 * @category constructors
 * @since 0.1.0
 */
export const all: EventQuery = { items: [{}] }

const matchesItem = (item: QueryItem, type: string, tags: ReadonlyArray<string>) =>
  (item.types === undefined || item.types.length === 0 || item.types.includes(type)) &&
  (item.tags === undefined || item.tags.every((tag) => tags.includes(tag)))

/**
 * Whether an event (its type and tags) matches the query.
 *
 * @category predicates
 * @since 0.1.0
 */
export const matches = (query: EventQuery, event: { readonly type: string; readonly tags?: ReadonlyArray<string> | undefined }): boolean => {
  const tags = event.tags ?? []
  return query.items.some((item) => matchesItem(item, event.type, tags))
}

/**
 * Both queries: an event matches when it matches either.
 *
 * @category combinators
 * @since 0.1.0
 */
export const or = (self: EventQuery, that: EventQuery): EventQuery => ({ items: [...self.items, ...that.items] })

/**
 * The query as a reader would write it, for error messages:
 * `(StudentSubscribed with course:c1) or (with student:s7)`.
 *
 * @category utilities
 * @since 0.1.0
 */
export const describe = (query: EventQuery): string =>
  query.items.length === 0 ? "nothing" : query.items.map((item) => {
    const types = item.types === undefined || item.types.length === 0 ? "any type" : item.types.join(" | ")
    const tags = item.tags === undefined || item.tags.length === 0 ? "" : ` with ${item.tags.join(", ")}`
    return `(${types}${tags})`
  }).join(" or ")
