/**
 * Who may do what: every request must name an allowed `Host` (a page on another domain that
 * resolves to this address, DNS rebinding, is refused); an action must carry the console's
 * token as `Authorization: Bearer …` (a header a cross-site form cannot send) and come from the
 * console's own origin (`Origin`, `Sec-Fetch-Site`).
 */
import { createHash, timingSafeEqual } from "node:crypto"

/** Why a request is refused: its HTTP status and a message for the operator. */
export interface Refusal {
  readonly status: 401 | 403
  readonly message: string
}

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Compares in constant time, so the token cannot be guessed a character at a time. */
export const sameToken = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected))

const loopbackNames = ["localhost", "127.0.0.1", "[::1]"]
const wildcards = ["0.0.0.0", "::", "[::]", ""]
const ipLiteral = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i

/**
 * Whether a `Host` header names the server bound at `host`:`port`. On a loopback address the
 * loopback names pass; on every address (`0.0.0.0`) IP literals pass, and names only if listed
 * in `extra`, since a name is what a rebinding attack brings.
 */
export const hostCheck = (bound: { readonly host: string; readonly port: number }, extra: ReadonlyArray<string> = []) => {
  const host = bound.host.includes(":") && !bound.host.startsWith("[") ? `[${bound.host}]` : bound.host
  const names = new Set([host.toLowerCase(), ...extra.map((name) => name.toLowerCase())])
  if (loopbackNames.includes(host) || host.startsWith("127.")) for (const name of loopbackNames) names.add(name)
  const any = wildcards.includes(bound.host)
  return (header: string | undefined): boolean => {
    if (header === undefined) return false
    const match = /^(.*?)(?::(\d+))?$/.exec(header.trim().toLowerCase())
    if (match === null) return false
    const [, name = "", port] = match
    if (port !== undefined && Number(port) !== bound.port) return false
    if (port === undefined && bound.port !== 80) return false
    return names.has(name) || (any && ipLiteral.test(name))
  }
}

/** Refuses a request a page of another site sent: by `Sec-Fetch-Site`, or an `Origin` not this host's. */
export const crossSite = (headers: Readonly<Record<string, string | undefined>>): Refusal | undefined => {
  const site = headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return { status: 403, message: `Refused: a ${site} request cannot run an action (Sec-Fetch-Site)` }
  }
  const origin = headers["origin"]
  if (origin === undefined) return undefined
  let originHost: string | undefined
  try {
    originHost = origin === "null" ? undefined : new URL(origin).host
  } catch {
    originHost = undefined
  }
  if (originHost === undefined || originHost !== headers["host"]?.toLowerCase()) {
    return { status: 403, message: `Refused: an action from origin ${origin} (only this console's own page may run actions)` }
  }
  return undefined
}

/** Refuses an action without the token: 403 when the console has none (read-only), 401 when it is missing or wrong. */
export const authorize = (token: string | undefined, authorization: string | undefined): Refusal | undefined => {
  if (token === undefined) return { status: 403, message: "This console is read-only: start it with a token to run actions" }
  const given = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1]
  if (given === undefined) return { status: 401, message: "This action needs the console's token: Authorization: Bearer <token>" }
  if (!sameToken(given, token)) return { status: 401, message: "The token is not this console's" }
  return undefined
}
