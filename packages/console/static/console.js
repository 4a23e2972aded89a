// The operator's console: one plain ES module, no framework and no build step. Views are chosen
// by the URL's hash (#/streams, #/stream/<id>, #/event/<id>, #/tail, #/processors, #/gate) and
// read this server's JSON endpoints (api/...). Every value from the store is set as text, never
// as HTML. The token, when the operator has one, is kept for this tab only (sessionStorage) and
// sent as `Authorization: Bearer`; a `#token=...` in the URL is taken and removed at once.

const tokenKey = "facta-console-token"
const view = document.getElementById("view")
const access = document.getElementById("access")

const given = /^#token=([^&]+)/.exec(location.hash)
if (given) {
  sessionStorage.setItem(tokenKey, decodeURIComponent(given[1]))
  history.replaceState(null, "", `${location.pathname}${location.search}#/streams`)
}

const token = () => sessionStorage.getItem(tokenKey)

/** An element with attributes (`on*` functions become listeners) and children (strings become text). */
const h = (tag, attributes = {}, ...children) => {
  const element = tag === "svg" || tag === "polyline"
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? "" : String(value))
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    element.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return element
}

class RequestFailed extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

/** GETs or POSTs one of the console's endpoints; a refusal becomes a RequestFailed with its message. */
const api = async (path, body) => {
  const headers = { accept: "application/json" }
  if (token()) headers.authorization = `Bearer ${token()}`
  if (body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(`api/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const json = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }))
  if (!response.ok) throw new RequestFailed(response.status, json.error ?? `${response.status} ${response.statusText}`)
  return json
}

const query = (values) => {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== "") params.set(name, String(value))
  const text = params.toString()
  return text === "" ? "" : `?${text}`
}

const pretty = (value) => JSON.stringify(value, null, 2)
const number = (value) => value === null || value === undefined ? "…" : Number(value).toLocaleString("en")

let info = { actions: false, authorized: false, processors: [], gate: false }
/** Stops what the current view runs (polling, the live connection) when another view opens. */
let leave = () => {}

const canAct = () => info.actions && info.authorized

const renderAccess = () => {
  access.replaceChildren()
  if (!info.actions) {
    access.append(h("span", {}, "Read-only"))
  } else if (info.authorized) {
    access.append(
      h("span", {}, "Actions enabled"),
      h("button", { type: "button", class: "secondary", onclick: () => { sessionStorage.removeItem(tokenKey); void start() } }, "Lock")
    )
  } else {
    const input = h("input", { id: "token", type: "password", autocomplete: "off", name: "token", placeholder: "Token" })
    access.append(h("form", {
      class: "inline",
      onsubmit: (event) => {
        event.preventDefault()
        sessionStorage.setItem(tokenKey, input.value)
        void start()
      }
    }, h("label", { for: "token", class: "visually-hidden" }, "Token"), input, h("button", { type: "submit" }, "Unlock actions")))
  }
}

/** Shows a view: its title, then its content, marked ready (for the browser tests' timing). */
const show = (title, ...content) => {
  document.title = `${title} · Facta console`
  view.replaceChildren(h("h1", {}, title), ...content.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false))
  view.dataset.ready = "true"
}

const failure = (error) => h("p", { class: "failure", role: "alert" }, error instanceof Error ? error.message : String(error))

const eventLink = (label, id) => id ? h("span", {}, `${label}: `, h("a", { href: `#/event/${encodeURIComponent(id)}` }, id)) : null

const eventCard = (event) =>
  h("article", { class: "event", id: `event-${event.id}`, "aria-labelledby": `title-${event.id}` },
    h("h3", { id: `title-${event.id}` }, `${event.version}. ${event.type}`),
    h("p", { class: "meta" },
      `id ${event.id} · position ${event.position} · ${event.recordedAt}`,
      event.tags.length > 0 ? ` · tags ${event.tags.join(", ")}` : ""),
    h("div", { class: "links" },
      eventLink("caused by", event.metadata.causationId),
      eventLink("correlation", event.metadata.correlationId)),
    h("h4", { class: "label" }, "Data"),
    h("pre", { "aria-label": "data" }, pretty(event.data)),
    Object.keys(event.metadata).length > 0 ? [h("h4", { class: "label" }, "Metadata"), h("pre", { "aria-label": "metadata" }, pretty(event.metadata))] : null)

// ---------------------------------------------------------------------------------------------
// streams
// ---------------------------------------------------------------------------------------------

const streamsView = async (params) => {
  const prefix = params.get("prefix") ?? ""
  const after = params.get("after") ?? undefined
  const page = await api(`streams${query({ prefix, after, limit: 50 })}`)
  const input = h("input", { id: "prefix", name: "prefix", value: prefix, type: "search" })
  show("Streams",
    h("form", {
      class: "inline",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault()
        location.hash = `#/streams${query({ prefix: input.value })}`
      }
    }, h("label", { for: "prefix" }, "Stream id starts with", input), h("button", { type: "submit" }, "Search")),
    page.streams.length === 0
      ? h("p", { class: "notice" }, prefix === "" ? "The log has no streams yet." : `No stream starts with “${prefix}”.`)
      : h("table", {},
        h("caption", { class: "visually-hidden" }, "Streams"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Stream"), h("th", { scope: "col", class: "number" }, "Events"), h("th", { scope: "col", class: "number" }, "Last position"))),
        h("tbody", {}, page.streams.map((stream) =>
          h("tr", {},
            h("td", {}, h("a", { href: `#/stream/${encodeURIComponent(stream.streamId)}` }, stream.streamId)),
            h("td", { class: "number" }, number(stream.version)),
            h("td", { class: "number" }, stream.position))))),
    page.next ? h("p", { class: "pager" }, h("a", { href: `#/streams${query({ prefix, after: page.next })}`, rel: "next" }, "More streams")) : null)
}

const streamView = async (id, params) => {
  const from = params.get("from") ?? undefined
  const page = await api(`stream${query({ id, from, limit: 20 })}`)
  const pager = () =>
    h("nav", { class: "pager", "aria-label": "Pages of the stream" },
      page.previous ? h("a", { href: `#/stream/${encodeURIComponent(id)}${query({ from: page.previous })}`, rel: "prev" }, "Earlier events") : null,
      h("span", {}, `events ${page.from}–${page.from + page.events.length - 1} of ${number(page.version)}`),
      page.next ? h("a", { href: `#/stream/${encodeURIComponent(id)}${query({ from: page.next })}`, rel: "next" }, "Later events") : null)
  show(`Stream ${id}`, pager(), h("section", { "aria-label": "Events" }, page.events.map(eventCard)), pager())
  const wanted = params.get("event")
  if (wanted) document.getElementById(`event-${wanted}`)?.scrollIntoView()
}

const eventView = async (id) => {
  const event = await api(`event${query({ id })}`)
  show(`Event ${event.type}`,
    h("p", {}, "In stream ", h("a", { href: `#/stream/${encodeURIComponent(event.streamId)}${query({ from: event.version, event: event.id })}` }, event.streamId), ` at version ${event.version}`),
    eventCard(event))
}

// ---------------------------------------------------------------------------------------------
// the live log
// ---------------------------------------------------------------------------------------------

const tailView = async (params) => {
  const filter = { types: params.get("types") ?? "", category: params.get("category") ?? "", tags: params.get("tags") ?? "" }
  const field = (name, label) => h("label", { for: `tail-${name}` }, label, h("input", { id: `tail-${name}`, name, value: filter[name] }))
  const list = h("ol", { class: "tail", id: "tail", "aria-live": "polite", "aria-label": "Events as they commit, newest first" })
  const status = h("p", { class: "meta", id: "tail-status" }, "Connecting…")
  const form = h("form", {
    class: "inline",
    onsubmit: (event) => {
      event.preventDefault()
      const data = new FormData(form)
      location.hash = `#/tail${query(Object.fromEntries(data))}`
    }
  }, field("types", "Types (comma-separated)"), field("category", "Category"), field("tags", "Tags (comma-separated)"), h("button", { type: "submit" }, "Filter"))
  show("Live", form, status, list)
  const source = new EventSource(`api/tail${query(filter)}`)
  source.addEventListener("open", () => { status.textContent = "Connected: events appear as they commit." })
  source.addEventListener("error", () => { status.textContent = "Disconnected; reconnecting…" })
  source.addEventListener("overflow", () => { status.textContent = "This page fell behind; reconnecting from the last event it showed…" })
  source.addEventListener("message", (message) => {
    const event = JSON.parse(message.data)
    list.prepend(h("li", {},
      h("code", {}, event.position), " ",
      h("a", { href: `#/stream/${encodeURIComponent(event.streamId)}${query({ from: event.version, event: event.id })}` }, `${event.streamId}@${event.version}`), " ",
      h("strong", {}, event.type), " ",
      h("code", {}, JSON.stringify(event.data))))
    while (list.childElementCount > 200) list.lastElementChild.remove()
  })
  leave = () => source.close()
}

// ---------------------------------------------------------------------------------------------
// processors
// ---------------------------------------------------------------------------------------------

/** An error's first line, and the rest (a stack) folded away. */
const errorText = (text) => {
  const [first, ...rest] = String(text).split("\n")
  const more = rest.join("\n").trim()
  return [h("span", { class: "error" }, first), more === "" ? null : h("details", {}, h("summary", {}, "details"), h("pre", {}, more))]
}

const sparkline = (history) => {
  if (history.length < 2) return h("span", { class: "meta" }, "—")
  const max = Math.max(1, ...history)
  const points = history.map((lag, index) => `${(index / (history.length - 1)) * 118 + 1},${23 - (lag / max) * 22}`).join(" ")
  return h("svg", { class: "spark", viewBox: "0 0 120 24", role: "img", "aria-label": `lag over the last ${history.length} samples, from ${history.at(0)} to ${history.at(-1)}` },
    h("polyline", { points }))
}

/** The last action's refusal, shown above the processors until the next action succeeds. */
let actionFailure = null

const act = async (button, path, body, done) => {
  button.disabled = true
  try {
    const result = await api(path, body)
    actionFailure = null
    await done(result)
  } catch (error) {
    actionFailure = error instanceof Error ? error.message : String(error)
    await done()
  } finally {
    button.disabled = false
  }
}

const jobProgress = (job) => {
  const percent = job.total === 0 ? (job.state === "done" ? 100 : 0) : Math.floor(job.done / job.total * 100)
  return h("div", { class: "job", id: `job-${job.id}`, "data-state": job.state },
    h("label", { for: `job-bar-${job.id}` }, `${job.kind} of ${job.processor}: ${job.state}`),
    h("progress", { id: `job-bar-${job.id}`, max: 100, value: percent }, `${percent} %`),
    h("span", { class: "percent" }, ` ${percent} %`),
    h("span", { class: "meta" }, ` ${number(job.done)} of ${number(job.total)} events${job.detail ? ` · ${job.detail}` : ""}`),
    job.state === "failed" ? h("span", { class: "error" }, " failed") : null)
}

const processorsView = async () => {
  let timer
  let stopped = false
  let last = ""
  const render = async () => {
    const [{ processors, others, head }, { parked }, { jobs }] = await Promise.all([api("processors"), api("parked"), api("jobs")])
    const running = jobs.some((job) => job.state === "running")
    const rows = processors.flatMap((processor) =>
      processor.segments.map((segment, index) => {
        const instances = segment.instances
        const halted = instances.find((instance) => instance.state === "halted")
        return h("tr", { "data-processor": processor.name },
          index === 0 ? h("th", { scope: "row", rowspan: processor.segments.length }, processor.name, h("div", { class: "meta" }, processor.kind)) : null,
          h("td", {}, segment.name),
          h("td", {}, instances.length === 0 ? h("span", { class: "meta" }, "none reporting") : instances.map((instance) =>
            h("div", {}, `${instance.instance}: `, h("span", { class: `state-${instance.state}` }, instance.state), h("span", { class: "meta" }, ` (${instance.secondsAgo} s ago)`)))),
          h("td", { class: "number" }, number(segment.checkpoint)),
          h("td", { class: "number lag" }, number(segment.lag)),
          h("td", {}, sparkline(segment.history)),
          h("td", {}, halted?.lastError ? errorText(halted.lastError) : instances.map((instance) => instance.lastError).filter(Boolean).join("; ")),
          index === 0 ? h("td", { rowspan: processor.segments.length, class: "number parked-count" }, String(processor.parked)) : null,
          index === 0 && canAct()
            ? h("td", { rowspan: processor.segments.length },
              h("button", {
                type: "button",
                class: "secondary",
                "data-key": `rebuild:${processor.name}`,
                disabled: processor.busy !== null,
                onclick: (event) => act(event.currentTarget, "rebuild", { processor: processor.name }, render)
              }, "Rebuild ", h("span", { class: "visually-hidden" }, processor.name)),
              " ",
              processor.blueGreen
                ? h("button", {
                  type: "button",
                  class: "secondary",
                  "data-key": `blue-green:${processor.name}`,
                  disabled: processor.busy !== null,
                  onclick: (event) => act(event.currentTarget, "rebuild", { processor: processor.name, blueGreen: true }, render)
                }, "Blue-green rebuild ", h("span", { class: "visually-hidden" }, processor.name))
                : null)
            : null)
      }))
    const content = [
      actionFailure ? h("p", { class: "failure", role: "alert" }, actionFailure) : null,
      h("p", { class: "meta" }, `The log's head: ${number(head)}. Lag is the number of events of a processor's types after its checkpoint.`),
      processors.length === 0
        ? h("p", { class: "notice" }, "This console was given no processors: run the application's own facta (Cli.main({ processors })).")
        : h("table", { id: "processors" },
          h("caption", { class: "visually-hidden" }, "Processors"),
          h("thead", {}, h("tr", {},
            ["Processor", "Segment", "Instances", "Checkpoint", "Lag", "Lag history", "Error", "Parked"].map((name) =>
              h("th", { scope: "col", class: ["Checkpoint", "Lag", "Parked"].includes(name) ? "number" : null }, name)),
            canAct() ? h("th", { scope: "col" }, "Actions") : null)),
          h("tbody", {}, rows)),
      jobs.length > 0 ? h("section", { "aria-label": "Rebuilds and replays" }, h("h2", {}, "Rebuilds and replays"), jobs.map(jobProgress)) : null,
      h("h2", {}, "Parked events"),
      parked.length === 0
        ? h("p", { class: "meta", id: "no-parked" }, "No parked events.")
        : h("table", { id: "parked" },
          h("caption", { class: "visually-hidden" }, "Parked events"),
          h("thead", {}, h("tr", {},
            ["Processor", "Event", "Error", "Parked at"].map((name) => h("th", { scope: "col" }, name)),
            canAct() ? h("th", { scope: "col" }, "Actions") : null)),
          h("tbody", {}, parked.map((entry) =>
            h("tr", { "data-event": entry.event.id },
              h("td", {}, entry.processor),
              h("td", {}, h("a", { href: `#/stream/${encodeURIComponent(entry.event.streamId)}${query({ from: entry.event.version, event: entry.event.id })}` }, `${entry.event.streamId}@${entry.event.version}`), " ", entry.event.type),
              h("td", {}, errorText(entry.error)),
              h("td", {}, entry.parkedAt),
              canAct()
                ? h("td", {},
                  h("button", {
                    type: "button",
                    "data-key": `replay:${entry.event.id}`,
                    onclick: (event) => act(event.currentTarget, "parked/replay", { processor: entry.processor, event: entry.event.id }, render)
                  }, "Replay"),
                  " ",
                  h("button", {
                    type: "button",
                    class: "danger",
                    "data-key": `drop:${entry.event.id}`,
                    onclick: (event) => {
                      if (confirm(`Drop event ${entry.event.id} of ${entry.processor} for good?`)) void act(event.currentTarget, "parked/drop", { processor: entry.processor, event: entry.event.id }, render)
                    }
                  }, "Drop"))
                : null)))),
      others.length > 0
        ? [h("h2", {}, "Other checkpoints"),
          h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "number" }, "Checkpoint"))),
            h("tbody", {}, others.map((other) => h("tr", {}, h("td", {}, other.name), h("td", { class: "number" }, number(other.checkpoint))))))]
        : null
    ]
    if (stopped) return
    // Redraw only what changed, and keep the keyboard's place: a button keeps its focus across redraws.
    const fingerprint = JSON.stringify([processors, others, head, parked, jobs, canAct(), actionFailure])
    if (fingerprint !== last) {
      last = fingerprint
      const focused = document.activeElement?.getAttribute("data-key")
      show("Processors", ...content)
      if (focused) view.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus()
    }
    clearTimeout(timer)
    timer = setTimeout(() => void render().catch((error) => view.append(failure(error))), running ? 250 : 1000)
  }
  leave = () => {
    stopped = true
    clearTimeout(timer)
  }
  await render()
}

// ---------------------------------------------------------------------------------------------
// the readers' gate
// ---------------------------------------------------------------------------------------------

const gateView = async () => {
  const { available, holders } = await api("gate")
  show("Readers' gate",
    h("p", { class: "meta" }, "Readers of the log read below the oldest transaction still appending: it holds the gate, and processors wait until it ends."),
    !available
      ? h("p", { class: "notice" }, "This store has no readers' gate to show (the console was not given Gate.holders).")
      : holders.length === 0
      ? h("p", { class: "notice", id: "gate-free" }, "No transaction holds the readers' gate.")
      : h("table", { id: "gate" },
        h("caption", { class: "visually-hidden" }, "Transactions holding the gate, oldest first"),
        h("thead", {}, h("tr", {}, ["Backend", "Transaction", "Held for", "State", "Application", "Query"].map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, holders.map((holder) =>
          h("tr", {},
            h("td", {}, String(holder.pid)), h("td", {}, holder.transaction), h("td", {}, `${holder.ageSeconds.toFixed(1)} s`),
            h("td", {}, holder.state ?? ""), h("td", {}, holder.application ?? ""), h("td", {}, h("code", {}, holder.query ?? "")))))))
}

// ---------------------------------------------------------------------------------------------
// routing
// ---------------------------------------------------------------------------------------------

const route = async () => {
  leave()
  leave = () => {}
  delete view.dataset.ready
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?")
  const params = new URLSearchParams(search)
  const [, name = "streams", ...rest] = path.split("/")
  const argument = decodeURIComponent(rest.join("/"))
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page")
    else link.removeAttribute("aria-current")
  }
  try {
    if (name === "stream") await streamView(argument, params)
    else if (name === "event") await eventView(argument)
    else if (name === "tail") await tailView(params)
    else if (name === "processors") await processorsView()
    else if (name === "gate") await gateView()
    else await streamsView(params)
  } catch (error) {
    show("Not shown", failure(error))
  }
}

const start = async () => {
  try {
    info = await api("info")
  } catch (error) {
    info = { actions: false, authorized: false, processors: [], gate: false }
  }
  renderAccess()
  await route()
}

addEventListener("hashchange", () => void route())
void start()
