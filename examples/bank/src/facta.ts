/**
 * The bank's own `facta`: the operator's command line with the bank's processors, so
 * `facta processors` counts each one's lag by the events it handles.
 *
 * ```sh
 * npm run facta -- --data-dir ./bank-data processors
 * DATABASE_URL=postgres://... npm run facta -- streams --prefix account-
 * ```
 *
 * @since 0.1.0
 */
import { Cli } from "@facta/cli"
import { processors } from "./Bank.ts"

Cli.main({ processors })
