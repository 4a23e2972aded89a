/**
 * The page: plain HTML, one ES module and one style sheet from the package's `static` folder,
 * read once, served as they are (no build step: what ships is what runs).
 */
import { readFileSync } from "node:fs"

const folder = new URL("../../static/", import.meta.url)

export interface Asset {
  readonly body: string
  readonly contentType: string
}

const types: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml"
}

export const files = ["index.html", "console.js", "console.css", "icon.svg"] as const

export const load = (): ReadonlyMap<string, Asset> =>
  new Map(files.map((name) => [name, {
    body: readFileSync(new URL(name, folder), "utf8"),
    contentType: types[name.slice(name.lastIndexOf(".") + 1)]!
  }]))

/** The page may load only its own files and talk only to its own server. */
export const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-cache"
}
