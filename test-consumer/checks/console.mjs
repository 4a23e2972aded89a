// Runs the installed `facta console` on an embedded data directory, as a newcomer would, and
// fetches its page, its script and an endpoint: the package's static files must have been packed.
// Usage: node console.mjs <facta bin> <data dir>; exits 0 when all three answer.
import { spawn } from "node:child_process"

const [bin, dataDir] = process.argv.slice(2)
const child = spawn(bin, ["--data-dir", dataDir, "console", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] })
let output = ""
const fail = (message) => {
  console.error(`${message}\n${output}`)
  child.kill("SIGKILL")
  process.exit(1)
}
const timer = setTimeout(() => fail("facta console printed no URL within 30 s"), 30_000)
child.stderr.on("data", (chunk) => (output += chunk))
child.stdout.on("data", async (chunk) => {
  output += chunk
  const url = /The console is at (http:\/\/\S+)/.exec(output)?.[1]
  if (url === undefined) return
  clearTimeout(timer)
  child.stdout.removeAllListeners("data")
  try {
    const checks = [["", "<html"], ["console.js", "#/streams"], ["api/info", "{"]]
    for (const [path, expected] of checks) {
      const response = await fetch(new URL(path, url))
      const body = await response.text()
      if (response.status !== 200 || !body.includes(expected)) fail(`GET ${path || "/"}: ${response.status}, expected a body with ${expected}: ${body.slice(0, 200)}`)
    }
    console.log(`the console answered at ${url}`)
    child.kill("SIGTERM")
    process.exit(0)
  } catch (error) {
    fail(`fetching the console failed: ${error}`)
  }
})
child.on("exit", (code) => fail(`facta console exited (${code}) before answering`))
