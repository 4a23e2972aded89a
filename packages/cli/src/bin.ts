#!/usr/bin/env node
/**
 * The `facta` bin. Applications with processors ship a bin of their own that calls
 * `Cli.main({ processors })`.
 *
 * @since 0.1.0
 */
import { Cli } from "./index.ts"

Cli.main()
