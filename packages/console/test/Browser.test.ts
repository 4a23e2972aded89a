/**
 * The console in a real browser: headless Chromium from the machine's packages (Debian's
 * `chromium`; `FACTA_CHROMIUM` names another), driven with playwright-core. It opens a stream and
 * follows a causation link, watches a live event arrive, replays a parked event and sees the
 * projection catch up, runs a blue-green rebuild to 100 %, and checks that without the token the
 * action buttons are absent and the endpoints refuse. Every view is screenshotted under
 * `<tmpdir>/facta-console/` and checked with axe-core (no serious or critical violation).
 *
 * Last, it loads 1,000,000 events and 100 processors on a Postgres server and prints how long
 * each view takes to show its first content (reported, not asserted).
 *
 * Without Chromium the suite is skipped and says why, unless `FACTA_REQUIRE_BROWSER=1` (CI),
 * which makes a missing browser a failure.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import axe from "axe-core"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { inject } from "vitest"
import type {} from "@facta/sql/testing/globalSetup"
import { CheckpointStore, EventStore, InMemory, Projection } from "@facta/core"
import { Gate, Postgres, SqlEventStore, Tables } from "@facta/sql"
import { append, cure, poison, sicken, start } from "./fixtures.ts"

const chromiumPath = process.env["FACTA_CHROMIUM"] ?? "/usr/bin/chromium"
const available = existsSync(chromiumPath)
const required = process.env["FACTA_REQUIRE_BROWSER"] === "1"
const why = `no Chromium at ${chromiumPath} (apt-get install chromium, or set FACTA_CHROMIUM); FACTA_REQUIRE_BROWSER=1 makes this a failure`
const screenshots = join(tmpdir(), "facta-console")
const token = "browser-test-token"

if (!available && !required) console.warn(`The console's browser tests are skipped: ${why}`)

type Started = Awaited<ReturnType<typeof start>>

/** A fresh headless Chromium with a profile of its own, deleted afterwards. */
const launch = async () => {
  const profile = mkdtempSync(join(tmpdir(), "facta-console-profile-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    // axe-core is injected as a script, which the console's policy would refuse.
    bypassCSP: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** Opens a view by its hash and waits until it has shown its content; returns how long that took. */
const open = async (page: Page, url: string) => {
  const started = performance.now()
  await page.goto(url)
  await page.waitForSelector("#view[data-ready]")
  return performance.now() - started
}

/** Changes the view within the page (as a link does) and waits for it. */
const go = async (page: Page, hash: string) => {
  await page.evaluate(`delete document.getElementById("view").dataset.ready; location.hash = ${JSON.stringify(hash)}`)
  await page.waitForSelector("#view[data-ready]")
}

const shoot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })

/** axe-core on the page as it is: fails on a serious or critical violation. */
const accessible = async (page: Page, name: string) => {
  if (!(await page.evaluate(`"axe" in window`))) await page.addScriptTag({ content: axe.source })
  const violations = await page.evaluate<ReadonlyArray<{ id: string; impact: string | null; help: string; nodes: number }>>(`
    axe.run(document, { resultTypes: ["violations"] }).then((result) =>
      result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, nodes: violation.nodes.length })))`)
  const grave = violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical")
  assert.deepStrictEqual(grave, [], `${name}: ${JSON.stringify(grave)}`)
}

const suite = available ? describe : required ? describe : describe.skip

suite(available ? "the console in a browser" : `the console in a browser (no browser: ${why})`, () => {
  if (!available) {
    it("has a browser to run in", () => assert.fail(`FACTA_REQUIRE_BROWSER=1 but ${why}`))
    return
  }

  let browser: Awaited<ReturnType<typeof launch>>
  let context: BrowserContext
  let app: Started
  let page: Page

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true })
    browser = await launch()
    context = browser.context
    app = await start({ token })
    const opened = await app.run(append("account-A", [{ type: "Opened", data: { _tag: "Opened", owner: "Ada" } }]))
    await app.run(append("account-A", [
      { type: "Deposited", data: { _tag: "Deposited", amount: 70 }, metadata: { causationId: opened.events[0]!.id, correlationId: opened.events[0]!.id } }
    ]))
    await app.run(append("account-B", [{ type: "Opened", data: { _tag: "Opened", owner: "Grace" } }]))
    page = await context.newPage()
    // The token comes in the URL's fragment (never sent to the server) and is kept for the tab.
    await open(page, `${app.url}#token=${token}`)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await app?.dispose()
  })

  it("opens a stream and follows a causation link", async () => {
    assert.strictEqual(await page.locator("h1").textContent(), "Streams")
    await shoot(page, "streams")
    await accessible(page, "streams")
    await page.getByRole("link", { name: "account-A" }).click()
    await page.getByRole("heading", { name: "2. Deposited" }).waitFor()
    assert.include(await page.locator("pre[aria-label=data]").nth(1).textContent(), "\"amount\": 70")
    await shoot(page, "stream")
    await accessible(page, "stream")
    await page.locator("a", { hasText: /^[0-9a-f-]{36}$/ }).first().click()
    await page.getByRole("heading", { name: "Event Opened" }).waitFor()
    assert.include(await page.locator("main").textContent(), "In stream account-A at version 1")
    await shoot(page, "event")
    await accessible(page, "event")
  })

  it("shows a live event within a second of its append", async () => {
    await go(page, "#/tail")
    await page.locator("#tail-status", { hasText: "Connected" }).waitFor()
    const appended = performance.now()
    await app.run(append("account-live", [{ type: "Opened", data: { _tag: "Opened", owner: "Live" } }]))
    await page.locator("#tail li", { hasText: "account-live@1" }).waitFor({ timeout: 5000 })
    const seen = performance.now() - appended
    console.log(`live event on the page ${seen.toFixed(0)} ms after its append`)
    assert.isBelow(seen, 1000)
    await shoot(page, "live")
    await accessible(page, "live")
  })

  it("replays a parked event, and the projection catches up", async () => {
    sicken()
    await app.run(append("account-A", [{ type: "Deposited", data: { _tag: "Deposited", amount: poison } }]))
    await go(page, "#/processors")
    await page.locator("#parked tr[data-event]").waitFor({ timeout: 10_000 })
    assert.include(await page.locator("#parked").textContent(), `deposit of ${poison} refused`)
    await shoot(page, "processors-parked")
    await accessible(page, "processors")
    cure()
    await page.getByRole("button", { name: "Replay" }).click()
    // The running projection holds its lease: the replay waits until that instance stops.
    await page.locator(".job", { hasText: "replay of console-balances: running" }).waitFor()
    await app.stopProcessors()
    await page.locator(".job[data-state=done]", { hasText: "replay of console-balances" }).waitFor({ timeout: 10_000 })
    await app.startProcessors()
    await page.locator("#no-parked").waitFor({ timeout: 10_000 })
    await page.locator("tr[data-processor=console-balances] td.lag", { hasText: /^0$/ }).waitFor({ timeout: 10_000 })
    await page.locator("tr[data-processor=console-balances] .state-live").waitFor({ timeout: 10_000 })
    await shoot(page, "processors-caught-up")
  })

  it("runs a blue-green rebuild and shows its progress reach 100 %", async () => {
    await page.getByRole("button", { name: "Blue-green rebuild console-balances" }).click()
    const job = page.locator(".job", { hasText: "blue-green of console-balances: done" })
    await job.waitFor({ timeout: 20_000 })
    assert.strictEqual(await job.locator("progress").getAttribute("value"), "100")
    assert.strictEqual((await job.locator(".percent").textContent())?.trim(), "100 %")
    assert.include(await job.textContent(), "switched to generation 1")
    await shoot(page, "rebuilt")
  })

  it("shows the readers' gate, or that the store has none", async () => {
    await go(page, "#/gate")
    assert.include(await page.locator("main").textContent(), "no readers' gate to show")
    await shoot(page, "gate")
    await accessible(page, "gate")
  })

  it("without the token: no action buttons, and the endpoints refuse", async () => {
    const readOnly = await start({})
    const other = await context.newPage()
    try {
      for (const [url, status] of [[readOnly.url, 403], [app.url, 401]] as const) {
        // A page of the read-only console, and a page of the token's console that has no token.
        await other.evaluate(() => sessionStorage.clear()).catch(() => undefined)
        await open(other, `${url}#/processors`)
        await other.locator("tr[data-processor=console-balances]").waitFor()
        assert.strictEqual(await other.getByRole("button", { name: /Replay|Drop|Rebuild/ }).count(), 0)
        assert.strictEqual(await other.locator("#processors th", { hasText: "Actions" }).count(), 0)
        const answered = await other.evaluate(async () => {
          const response = await fetch("api/rebuild", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ processor: "console-balances" }) })
          return { status: response.status, body: await response.json() as { error: string } }
        })
        assert.strictEqual(answered.status, status)
        await shoot(other, status === 403 ? "read-only" : "locked")
        await accessible(other, "read-only")
      }
    } finally {
      await other.close()
      await readOnly.dispose()
    }
  })
})

class Deposited extends Schema.TaggedClass<Deposited>()("Deposited", { amount: Schema.Int }) {}

suite(available ? "the console over a large log" : `the console over a large log (no browser: ${why})`, () => {
  if (!available) {
    it("has a browser to run in", () => assert.fail(`FACTA_REQUIRE_BROWSER=1 but ${why}`))
    return
  }
  const schema = "console_load"
  const events = 1_000_000
  const perStream = 1000
  const processors = Array.from({ length: 100 }, (_, index) =>
    Projection.make({ name: `load-${String(index).padStart(3, "0")}`, event: Deposited, handlers: { Deposited: () => Effect.void } }))

  it("stays responsive with 1,000,000 events and 100 processors (each view's time to first content, printed)", async () => {
    const stores = Postgres.layer({ url: Redacted.make(inject("databaseUrl")), schema })
    const app = await start({
      stores: stores as never,
      processors,
      run: false,
      sampleEvery: "2 seconds",
      gate: Gate.holders({ schema }) as never,
      findEvent: ((id: string) => SqlEventStore.readEvent(id, { schema })) as never
    })
    const browser = await launch()
    try {
      const someId = await app.run(Effect.gen(function*() {
        const sql = (yield* SqlClient.SqlClient as unknown as Effect.Effect<SqlClient.SqlClient>)
        const tables = yield* Tables.make({ schema })
        yield* sql.unsafe(`TRUNCATE ${tables.events}, ${tables.checkpoints}`)
        // One statement, on the server: 1,000 streams of 1,000 events each.
        yield* sql.unsafe(`INSERT INTO ${tables.events} (stream_id, version, event_id, type, data, metadata)
          SELECT 'load-' || lpad((i / ${perStream})::text, 4, '0'), (i % ${perStream}) + 1, gen_random_uuid(), 'Deposited',
            jsonb_build_object('_tag', 'Deposited', 'amount', i), '{}'::jsonb
          FROM generate_series(0, ${events - 1}) AS i`)
        yield* sql.unsafe(`ANALYZE ${tables.events}`)
        const store = yield* EventStore.EventStore
        const head = yield* store.head()
        const checkpoints = yield* CheckpointStore.CheckpointStore
        // Every processor caught up but one in ten, which is a stream's worth behind.
        const behind = (yield* store.readStreamPage("load-0999", { from: 1, batchSize: 1 }))[0]!.position - 1n
        for (const [index, processor] of processors.entries()) {
          yield* checkpoints.replace(processor.name, { position: index % 10 === 0 ? behind : head, generation: 0 })
        }
        return (yield* store.readStreamPage("load-0500", { from: 500, batchSize: 1 }))[0]!.id
      }) as Effect.Effect<string, unknown, InMemory.Services>)
      const page = await browser.context.newPage()
      const views: ReadonlyArray<[string, string, () => Promise<void>]> = [
        ["streams (prefix load-)", "#/streams?prefix=load-", async () => assert.strictEqual(await page.locator("tbody tr").count(), 50)],
        ["a stream, page at 500", "#/stream/load-0500?from=500", async () => assert.strictEqual(await page.locator("article.event").count(), 20)],
        ["an event by id", `#/event/${someId}`, async () => assert.include(await page.locator("main").textContent(), "load-0500")],
        ["processors (100)", "#/processors", async () => assert.strictEqual(await page.locator("#processors tbody tr").count(), 100)],
        ["live", "#/tail", async () => assert.strictEqual(await page.locator("h1").textContent(), "Live")],
        ["readers' gate", "#/gate", async () => assert.strictEqual(await page.locator("h1").textContent(), "Readers' gate")]
      ]
      const timings: Array<string> = []
      for (const [name, hash, check] of views) {
        const ms = await open(page, `${app.url}${hash}`)
        await check()
        await shoot(page, `large-${hash.slice(2).split(/[/?]/)[0]}`)
        timings.push(`  ${name.padEnd(24)} ${ms.toFixed(0).padStart(6)} ms`)
      }
      console.log(`The console over ${events.toLocaleString("en")} events and ${processors.length} processors, time to first content:\n${timings.join("\n")}`)
      await accessible(page, "large processors")
    } finally {
      await browser.close()
      // The million events are not left in the suite's database.
      await app.run(Effect.gen(function*() {
        const sql = (yield* SqlClient.SqlClient as unknown as Effect.Effect<SqlClient.SqlClient>)
        const tables = yield* Tables.make({ schema })
        yield* sql.unsafe(`TRUNCATE ${tables.events}, ${tables.checkpoints}`)
      }) as Effect.Effect<void, unknown, InMemory.Services>).catch(() => undefined)
      await app.dispose()
    }
  }, 600_000)
})
