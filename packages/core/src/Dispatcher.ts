/**
 * The front door of an application: a typed registry of named commands and named queries, each
 * with an input Schema. Callers (an HTTP route, a CLI, a test, a process manager) hand it a name
 * and unknown input; it validates the input, routes a command to its aggregate's stream, and
 * answers with a typed result or a typed error: a {@link ValidationError} naming the failing field
 * paths, an {@link UnknownCommand} or {@link UnknownQuery}, or whatever the domain refuses.
 *
 * ```ts
 * const bank = yield* Dispatcher.make({
 *   commands: {
 *     deposit: Dispatcher.command({
 *       input: Schema.Struct({ accountNumber: Schema.String, amount: Schema.Int }),
 *       handler: CommandHandler.make(BankAccount),
 *       route: ({ accountNumber, amount }) => ({ streamId: `account-${accountNumber}`, command: new Deposit({ amount }) })
 *     })
 *   },
 *   queries: {
 *     account: Dispatcher.query({
 *       input: Schema.Struct({ accountNumber: Schema.String }),
 *       run: ({ accountNumber }) => accounts.get(accountNumber)
 *     })
 *   }
 * })
 *
 * const { state, version } = yield* bank.dispatch("deposit", { accountNumber: "1", amount: 100 })
 * const account = yield* bank.query("account", { accountNumber: "1" })
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Effect, FiberSet, Schema, type Scope } from "effect"
import type { CommandHandler, CommandResult, HandleError, HandleOptions } from "./CommandHandler.ts"
import type { EventStore } from "./EventStore.ts"
import type { Tagged } from "./RecordedEvent.ts"
import { decoder, type ValidationError } from "./ValidationError.ts"

// -------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------

/**
 * No command of that name is registered; nothing was run.
 *
 * The name is in `command`, not `name`: an error's `name` is what its stack trace and `String(error)`
 * print first.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownCommand extends Schema.TaggedError<UnknownCommand>()("UnknownCommand", {
  command: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Unknown command "${this.command}"; ${describeKnown("command", this.known)}`
  }
}

/**
 * No query of that name is registered; nothing was run.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownQuery extends Schema.TaggedError<UnknownQuery>()("UnknownQuery", {
  query: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Unknown query "${this.query}"; ${describeKnown("query", this.known)}`
  }
}

const describeKnown = (kind: "command" | "query", known: ReadonlyArray<string>) =>
  known.length === 0
    ? `no ${kind === "command" ? "commands" : "queries"} are registered`
    : `known ${kind === "command" ? "commands" : "queries"}: ${known.join(", ")}`

// -------------------------------------------------------------------------------------
// definitions
// -------------------------------------------------------------------------------------

/**
 * Where a command goes: the stream of the aggregate instance and the aggregate's command.
 *
 * @category models
 * @since 0.1.0
 */
export interface Route<Command> {
  readonly streamId: string
  readonly command: Command
}

/**
 * A command whose input was validated and routed, ready to run on its stream.
 *
 * @category models
 * @since 0.1.0
 */
export interface PreparedCommand<out Event, out State, out E, out R> {
  readonly streamId: string
  readonly run: (options?: HandleOptions) => Effect.Effect<CommandResult<Event, State>, E, R>
}

/**
 * A registered command, made by {@link command}.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandDefinition<out Input, out Event, out State, out E, out R> {
  /** The Schema unknown input is validated with (useful to describe the command to tools). */
  readonly input: Schema.Codec<Input, unknown>
  /** Validates unknown input, naming `subject` in a {@link ValidationError}, and routes it. */
  readonly prepare: (input: unknown, subject: string) => Effect.Effect<PreparedCommand<Event, State, E, R>, ValidationError>
}

/**
 * A registered query, made by {@link query}.
 *
 * @category models
 * @since 0.1.0
 */
export interface QueryDefinition<out Input, out A, out E, out R> {
  /** The Schema unknown input is validated with. */
  readonly input: Schema.Codec<Input, unknown>
  /** Validates unknown input, naming `subject` in a {@link ValidationError}, and runs the query. */
  readonly handle: (input: unknown, subject: string) => Effect.Effect<A, ValidationError | E, R>
}

/**
 * Any command definition; the constraint of a registry.
 *
 * @category models
 * @since 0.1.0
 */
export type AnyCommand = CommandDefinition<unknown, unknown, unknown, unknown, unknown>

/**
 * Any query definition; the constraint of a registry.
 *
 * @category models
 * @since 0.1.0
 */
export type AnyQuery = QueryDefinition<unknown, unknown, unknown, unknown>

/**
 * Registers a command: validate unknown input with `input`, turn it into a stream id and an
 * aggregate command with `route` (pure), and run it with `handler.execute`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const command = <Input, Command, Event extends Tagged, State, DomainError, E = never, R = never>(definition: {
  readonly input: Schema.Codec<Input, unknown>
  readonly handler: CommandHandler<Command, Event, State, DomainError, E, R>
  readonly route: (input: Input) => Route<NoInfer<Command>>
}): CommandDefinition<Input, Event, State, DomainError | HandleError | E, EventStore | R> => ({
  input: definition.input,
  prepare: (input, subject) =>
    Effect.map(decoder(definition.input, subject)(input), (decoded) => {
      const { command, streamId } = definition.route(decoded)
      return { streamId, run: (options) => definition.handler.execute(streamId, command, options) }
    })
})

/**
 * Registers a query: validate unknown input with `input`, then `run` it (typically reading a
 * `Documents.make(...)` collection).
 *
 * @category constructors
 * @since 0.1.0
 */
export const query = <Input, A, E = never, R = never>(definition: {
  readonly input: Schema.Codec<Input, unknown>
  readonly run: (input: Input) => Effect.Effect<A, E, R>
}): QueryDefinition<Input, A, E, R> => ({
  input: definition.input,
  handle: (input, subject) => Effect.flatMap(decoder(definition.input, subject)(input), definition.run)
})

// -------------------------------------------------------------------------------------
// type helpers
// -------------------------------------------------------------------------------------

/**
 * What dispatching a command returns: its `CommandResult` (stream id, new events, state, version).
 *
 * @category utility types
 * @since 0.1.0
 */
export type CommandSuccess<D> = D extends CommandDefinition<unknown, infer Event, infer State, unknown, unknown>
  ? CommandResult<Event, State>
  : never

/**
 * @category utility types
 * @since 0.1.0
 */
export type CommandError<D> = D extends CommandDefinition<unknown, unknown, unknown, infer E, unknown> ? E : never

/**
 * @category utility types
 * @since 0.1.0
 */
export type CommandServices<D> = D extends CommandDefinition<unknown, unknown, unknown, unknown, infer R> ? R : never

/**
 * @category utility types
 * @since 0.1.0
 */
export type QuerySuccess<D> = D extends QueryDefinition<unknown, infer A, unknown, unknown> ? A : never

/**
 * @category utility types
 * @since 0.1.0
 */
export type QueryError<D> = D extends QueryDefinition<unknown, unknown, infer E, unknown> ? E : never

/**
 * @category utility types
 * @since 0.1.0
 */
export type QueryServices<D> = D extends QueryDefinition<unknown, unknown, unknown, infer R> ? R : never

// -------------------------------------------------------------------------------------
// the dispatcher
// -------------------------------------------------------------------------------------

/**
 * A dispatcher over a registry of commands and queries.
 *
 * Each method has two signatures: with a registered name known to TypeScript, the result, error
 * and services are those of that entry; with any other `string` (say, from a URL), they are the
 * union over the registry, plus {@link UnknownCommand} or {@link UnknownQuery}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Dispatcher<
  Commands extends Readonly<Record<string, AnyCommand>>,
  Queries extends Readonly<Record<string, AnyQuery>>
> {
  /**
   * Validates the input, routes it and handles the command, returning its `CommandResult`:
   * `{ streamId, events, state, version }`, with the state after the command. Invalid input and
   * refused commands store nothing.
   *
   * `options` are the command handler's, for this call: `metadata`, a `commandId`, and the
   * `expectedVersion` of the routed stream that the caller saw (an HTTP `If-Match`), which
   * refuses the command with `WrongExpectedVersion` if the stream is at another version.
   */
  readonly dispatch: {
    <Name extends keyof Commands & string>(
      name: Name,
      input: unknown,
      options?: HandleOptions
    ): Effect.Effect<
      CommandSuccess<Commands[Name]>,
      ValidationError | CommandError<Commands[Name]>,
      CommandServices<Commands[Name]>
    >
    (name: string, input: unknown, options?: HandleOptions): Effect.Effect<
      CommandSuccess<Commands[keyof Commands]>,
      UnknownCommand | ValidationError | CommandError<Commands[keyof Commands]>,
      CommandServices<Commands[keyof Commands]>
    >
  }
  /**
   * Validates and routes the input at once (so invalid input fails here), then handles the
   * command in the background and returns its stream id without waiting.
   *
   * The background command runs in the dispatcher's scope, with the services of the caller. It is
   * interrupted when that scope closes. Its failure cannot reach the caller, so it is logged
   * with `Effect.logError` (with the `Cause`, annotated with `command` and `streamId`); an
   * interruption is logged as a warning. Provide the services (the `EventStore`, ...) around the
   * dispatcher's whole use, not around one call: the command outlives the call.
   */
  readonly dispatchAsync: {
    <Name extends keyof Commands & string>(
      name: Name,
      input: unknown,
      options?: HandleOptions
    ): Effect.Effect<string, ValidationError, CommandServices<Commands[Name]>>
    (name: string, input: unknown, options?: HandleOptions): Effect.Effect<
      string,
      UnknownCommand | ValidationError,
      CommandServices<Commands[keyof Commands]>
    >
  }
  /** Validates the input and runs the query. */
  readonly query: {
    <Name extends keyof Queries & string>(
      name: Name,
      input: unknown
    ): Effect.Effect<QuerySuccess<Queries[Name]>, ValidationError | QueryError<Queries[Name]>, QueryServices<Queries[Name]>>
    (name: string, input: unknown): Effect.Effect<
      QuerySuccess<Queries[keyof Queries]>,
      UnknownQuery | ValidationError | QueryError<Queries[keyof Queries]>,
      QueryServices<Queries[keyof Queries]>
    >
  }
  /** Waits until no background command (from {@link Dispatcher.dispatchAsync}) is running. */
  readonly whenIdle: Effect.Effect<void>
}

const lookup = <D>(registry: Readonly<Record<string, D>>, name: string): D | undefined =>
  // `hasOwn`, so that "toString" and friends are unknown names rather than prototype members.
  Object.hasOwn(registry, name) ? registry[name] : undefined

/**
 * Builds a dispatcher. The Scope owns the fibers of background commands
 * ({@link Dispatcher.dispatchAsync}); closing it interrupts those still running.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  Commands extends Readonly<Record<string, AnyCommand>> = {},
  Queries extends Readonly<Record<string, AnyQuery>> = {}
>(registry: {
  readonly commands?: Commands | undefined
  readonly queries?: Queries | undefined
}): Effect.Effect<Dispatcher<Commands, Queries>, never, Scope.Scope> =>
  Effect.map(FiberSet.make(), (background) => {
    const commands: Readonly<Record<string, AnyCommand>> = registry.commands ?? {}
    const queries: Readonly<Record<string, AnyQuery>> = registry.queries ?? {}

    const prepare = (
      name: string,
      input: unknown
    ): Effect.Effect<PreparedCommand<unknown, unknown, unknown, unknown>, UnknownCommand | ValidationError> => {
      const definition = lookup(commands, name)
      return definition === undefined
        ? Effect.fail(new UnknownCommand({ command: name, known: Object.keys(commands) }))
        : definition.prepare(input, `input of command "${name}"`)
    }

    const dispatch = (name: string, input: unknown, options?: HandleOptions) =>
      prepare(name, input).pipe(
        Effect.flatMap((prepared) => prepared.run(options)),
        Effect.withSpan("Dispatcher.dispatch", { attributes: { command: name } })
      )

    const dispatchAsync = (name: string, input: unknown, options?: HandleOptions) =>
      Effect.flatMap(prepare(name, input), (prepared) =>
        prepared.run(options).pipe(
          // Nobody awaits this fiber: its failure is logged here or it would be lost.
          Effect.catchCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logError("Background command failed", cause)),
          Effect.onInterrupt(() => Effect.logWarning("Background command interrupted")),
          Effect.annotateLogs({ command: name, streamId: prepared.streamId }),
          Effect.withSpan("Dispatcher.dispatchAsync", { attributes: { command: name, streamId: prepared.streamId } }),
          // Not started on the caller's fiber: the caller gets the stream id before any work is done.
          FiberSet.run(background, { startImmediately: false }),
          Effect.as(prepared.streamId)
        ))

    const runQuery = (name: string, input: unknown): Effect.Effect<unknown, unknown, unknown> => {
      const definition = lookup(queries, name)
      const handled = definition === undefined
        ? Effect.fail(new UnknownQuery({ query: name, known: Object.keys(queries) }))
        : definition.handle(input, `input of query "${name}"`)
      return Effect.withSpan(handled, "Dispatcher.query", { attributes: { query: name } })
    }

    return {
      // The implementations are typed over the erased registry; the interface's overloads
      // restore each entry's types, which `command` and `query` inferred.
      dispatch: dispatch as Dispatcher<Commands, Queries>["dispatch"],
      dispatchAsync: dispatchAsync as Dispatcher<Commands, Queries>["dispatchAsync"],
      query: runQuery as Dispatcher<Commands, Queries>["query"],
      whenIdle: FiberSet.awaitEmpty(background)
    }
  })
