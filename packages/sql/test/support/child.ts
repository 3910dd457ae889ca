import { type ChildProcess, spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, "..", "..", "..", "..")
const fixtures = join(here, "..", "fixtures")

const running = new Set<ChildProcess>()
afterAll(() => {
  for (const child of running) child.kill("SIGKILL")
})

/** A child process running a fixture script, with its output read line by line. */
export interface Child {
  readonly pid: number | undefined
  /** Resolves with the first output line starting with `prefix` (rejects on exit or after `timeoutMs`). */
  readonly waitForLine: (prefix: string, timeoutMs?: number) => Promise<string>
  readonly kill: (signal: NodeJS.Signals) => void
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
}

/** Runs `test/fixtures/<script>` with `node --import tsx` (from the repository root). */
export const spawnFixture = (script: string, args: ReadonlyArray<string>): Child => {
  const child = spawn(process.execPath, ["--import", "tsx", join(fixtures, script), ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  const lines: Array<string> = []
  const listeners = new Set<() => void>()
  let pending = ""
  let errors = ""
  let exitInfo: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (chunk: string) => {
    pending += chunk
    let newline = pending.indexOf("\n")
    while (newline >= 0) {
      lines.push(pending.slice(0, newline))
      pending = pending.slice(newline + 1)
      newline = pending.indexOf("\n")
    }
    for (const listener of listeners) listener()
  })
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => {
    errors += chunk
  })
  const exited = new Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child)
      exitInfo = { code, signal }
      for (const listener of listeners) listener()
      resolve(exitInfo)
    })
  })
  const waitForLine = (prefix: string, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = lines.find((candidate) => candidate.startsWith(prefix))
        if (line !== undefined) {
          done()
          resolve(line)
        } else if (exitInfo !== undefined) {
          done()
          reject(
            new Error(`${script} exited (${exitInfo.code ?? exitInfo.signal}) before "${prefix}"; stderr:\n${errors}`)
          )
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${script}: no "${prefix}" within ${timeoutMs} ms; stderr:\n${errors}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  return {
    pid: child.pid,
    waitForLine,
    kill: (signal) => void child.kill(signal),
    exited,
    stderr: () => errors
  }
}
