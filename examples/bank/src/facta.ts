/**
 * The bank's own `facta`: the operator's command line with the bank's processors, so
 * `facta processors` counts each one's lag by the events it handles, and `facta console` shows
 * them in a browser. Without `--url`, `DATABASE_URL` or `--data-dir` it opens the embedded
 * database `npm start` leaves in `examples/bank/.data`.
 *
 * ```sh
 * npm start && npm run facta -- console
 * npm run facta -- --data-dir ./bank-data processors
 * DATABASE_URL=postgres://... npm run facta -- streams --prefix account-
 * ```
 *
 * @since 0.1.0
 */
import { Cli } from "@facta/cli"
import { join } from "node:path"
import { processors } from "./Bank.ts"

const named = (flag: string) => process.argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))
if (!named("--url") && !named("--data-dir") && (process.env["DATABASE_URL"] ?? "") === "") {
  process.argv.splice(2, 0, "--data-dir", join(import.meta.dirname, "..", ".data"))
}

Cli.main({ processors })
