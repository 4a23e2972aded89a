/**
 * Which `Host` headers the console answers, which requests count as another site's, and what an
 * action's token must be: the rules on their own, edge cases included.
 */
import { assert, describe, it } from "@effect/vitest"
import { authorize, crossSite, hostCheck } from "../src/internal/guard.ts"

describe("hostCheck", () => {
  it("on a loopback address: the loopback names with the bound port, nothing else", () => {
    const allowed = hostCheck({ host: "127.0.0.1", port: 7700 })
    for (const host of ["127.0.0.1:7700", "localhost:7700", "LOCALHOST:7700", "[::1]:7700"]) assert.isTrue(allowed(host), host)
    for (const host of [undefined, "", "127.0.0.1", "127.0.0.1:7701", "evil.example:7700", "localhost.evil.example:7700", "10.0.0.5:7700"]) {
      assert.isFalse(allowed(host), String(host))
    }
  })

  it("on every address: IP literals with the port, and only the names it is given", () => {
    const allowed = hostCheck({ host: "0.0.0.0", port: 7700 }, ["ops.example.com"])
    for (const host of ["10.0.0.5:7700", "[fe80::1]:7700", "ops.example.com:7700"]) assert.isTrue(allowed(host), host)
    for (const host of ["rebound.example:7700", "10.0.0.5:80"]) assert.isFalse(allowed(host), host)
  })

  it("on port 80, a host without a port", () => {
    const allowed = hostCheck({ host: "::1", port: 80 })
    assert.isTrue(allowed("[::1]"))
    assert.isTrue(allowed("localhost:80"))
    assert.isFalse(allowed("example.com"))
  })
})

describe("crossSite", () => {
  it("lets the console's own page and non-browser clients through", () => {
    assert.isUndefined(crossSite({ host: "127.0.0.1:7700", origin: "http://127.0.0.1:7700", "sec-fetch-site": "same-origin" }))
    assert.isUndefined(crossSite({ host: "127.0.0.1:7700" }))
  })

  it("refuses another origin, an opaque one, and a cross-site or same-site fetch", () => {
    assert.strictEqual(crossSite({ host: "127.0.0.1:7700", origin: "http://localhost:7700" })?.status, 403)
    assert.strictEqual(crossSite({ host: "127.0.0.1:7700", origin: "null" })?.status, 403)
    assert.strictEqual(crossSite({ host: "127.0.0.1:7700", origin: "not a url" })?.status, 403)
    assert.strictEqual(crossSite({ host: "127.0.0.1:7700", "sec-fetch-site": "cross-site" })?.status, 403)
    assert.strictEqual(crossSite({ host: "127.0.0.1:7700", "sec-fetch-site": "same-site" })?.status, 403)
  })
})

describe("authorize", () => {
  it("403 without a token, 401 without or with a wrong bearer, through with the right one", () => {
    assert.strictEqual(authorize(undefined, "Bearer anything")?.status, 403)
    assert.strictEqual(authorize("t0ken", undefined)?.status, 401)
    assert.strictEqual(authorize("t0ken", "Basic dDBrZW4=")?.status, 401)
    assert.strictEqual(authorize("t0ken", "Bearer t0ke")?.status, 401)
    assert.strictEqual(authorize("t0ken", "Bearer t0ken!")?.status, 401)
    assert.isUndefined(authorize("t0ken", "Bearer t0ken"))
    assert.isUndefined(authorize("t0ken", "bearer t0ken"))
  })
})
