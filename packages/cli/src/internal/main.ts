/**
 * Runs a `facta` program as a process: a failure the command line has not shown yet is printed as
 * one line on stderr, and any failure sets exit code 1.
 */
import { Cause, Effect, Exit } from "effect"
import { CliError } from "effect/cli"

const firstLine = (message: string) => message.trim().split("\n")[0]

export const exitWith = (program: Effect.Effect<void, unknown>): void => {
  void Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) return
    const error = Cause.squash(exit.cause)
    // --help is a success; a parse error shows the help, then what was wrong.
    if (CliError.isCliError(error) && error._tag === "ShowHelp") {
      if (error.errors.length === 0) return
      for (const parseError of error.errors) console.error(`facta: ${firstLine(parseError.message)}`)
      process.exitCode = 2
      return
    }
    const message = typeof error === "object" && error !== null
      ? CliError.getUserMessage(error) ?? (error instanceof Error ? error.message : String(error))
      : String(error)
    console.error(`facta: ${firstLine(message)}`)
    process.exitCode = CliError.isCliError(error) ? 2 : 1
  })
}
