/**
 * The CPU time of a Postgres server the bench started itself, read from Linux's `/proc`: the
 * postmaster (its pid is the first line of `<data directory>/postmaster.pid`) and every process
 * whose parent it is (backends, WAL writer, checkpointer, ...).
 *
 * A backend that exits during a round takes its time out of the children's sum, but the
 * postmaster reaps it, and the kernel adds a reaped child's time to its parent's `cutime` and
 * `cstime`: so the postmaster counts with those too, and the sum only grows.
 *
 * Anything unreadable (no `/proc`, another OS, a server that is gone) gives `undefined`, which the
 * report prints as "—": a missing CPU figure must never fail the bench.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

/** Reads the server's CPU time so far, in µs; `undefined` when it cannot. */
export type ServerCpu = () => number | undefined

/** Clock ticks per second of `/proc/<pid>/stat`'s times (100 nearly everywhere). */
const ticksPerSecond = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim())
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
})()

interface Stat {
  readonly ppid: number
  /** utime + stime, in ticks. */
  readonly own: number
  /** cutime + cstime: the reaped children's, in ticks. */
  readonly children: number
}

/** `/proc/<pid>/stat`; its second field (the command, in parentheses) may hold spaces. */
const statOf = (pid: string): Stat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // Fields after the command, from field 3 (state) on: ppid is 4, utime 14, stime 15, cutime 16, cstime 17.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  const [ppid, utime, stime, cutime, cstime] = [fields[1], fields[11], fields[12], fields[13], fields[14]].map(Number)
  if (![ppid, utime, stime, cutime, cstime].every((n) => Number.isFinite(n))) return undefined
  return { ppid: ppid!, own: utime! + stime!, children: cutime! + cstime! }
}

/** The CPU time of the postmaster `pid` and its children, in µs. */
const cpuOfTree = (pid: number): number | undefined => {
  const root = statOf(String(pid))
  if (root === undefined) return undefined
  let ticks = root.own + root.children
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    const stat = statOf(entry)
    if (stat?.ppid === pid) ticks += stat.own
  }
  return (ticks * 1_000_000) / ticksPerSecond
}

/**
 * The CPU reader of the server whose data directory is `dataDirectory`, or `undefined` when its
 * postmaster cannot be found or read.
 */
export const ofDataDirectory = (dataDirectory: string): ServerCpu | undefined => {
  try {
    const pid = Number(readFileSync(join(dataDirectory, "postmaster.pid"), "utf8").split("\n")[0])
    if (!Number.isInteger(pid) || pid <= 0 || cpuOfTree(pid) === undefined) return undefined
    return () => {
      try {
        return cpuOfTree(pid)
      } catch {
        return undefined
      }
    }
  } catch {
    return undefined
  }
}
