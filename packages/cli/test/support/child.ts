/**
 * Runs a program as a child process (`node --import tsx …`) and lets a test wait for what
 * it prints, send it signals, and collect how it ended.
 */
import { JsonLines } from "@truce/cli"
import { Schema } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = join(here, "..", "..", "..", "..")
export const demoMain = join(repoRoot, "examples", "sync", "main.ts")
export const fixtureMain = join(here, "..", "fixtures", "program.ts")

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const decodeLine = Schema.decodeUnknownSync(Schema.parseJson(JsonLines.Line))

const running = new Set<Child>()

/** Kills every child still running (for `afterEach`: a failed test must not leave one behind). */
export const killAll = () => {
  for (const child of running) child.process.kill("SIGKILL")
  running.clear()
}

export class Child {
  readonly process: ChildProcess
  stdout = ""
  stderr = ""
  private readonly waiters = new Set<() => void>()
  readonly exited: Promise<Finished>

  constructor(
    script: string,
    args: ReadonlyArray<string>,
    env: Record<string, string> = {},
    options: { readonly tsx?: boolean } = {}
  ) {
    const node = options.tsx === false ? [script, ...args] : ["--import", "tsx", script, ...args]
    this.process = spawn(process.execPath, node, {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    this.process.stdout!.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString()
      this.wake()
    })
    this.process.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString()
      this.wake()
    })
    running.add(this)
    this.exited = new Promise((resolve) => {
      this.process.on("close", (code, signal) => {
        running.delete(this)
        this.wake()
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })
      })
    })
  }

  private wake() {
    for (const waiter of this.waiters) waiter()
  }

  /** Resolves once `check` is true of the output so far; rejects on exit or after `timeoutMs`. */
  waitFor(what: string, check: (child: Child) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false
      const finish = (error?: Error) => {
        if (done) return
        done = true
        this.waiters.delete(probe)
        clearTimeout(timer)
        if (error === undefined) resolve()
        else reject(error)
      }
      const probe = () => {
        if (check(this)) finish()
        else if (this.process.exitCode !== null || this.process.signalCode !== null) {
          finish(
            new Error(`exited before ${what}\n--- stdout\n${this.stdout.slice(-3000)}\n--- stderr\n${this.stderr}`)
          )
        }
      }
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `timed out waiting for ${what}\n--- stdout\n${this.stdout.slice(-3000)}\n--- stderr\n${this.stderr}`
            )
          ),
        timeoutMs
      )
      this.waiters.add(probe)
      probe()
    })
  }

  /** The stdout lines decoded as JSON lines (JSON mode); throws on any line that is not one. */
  jsonLines(): Array<JsonLines.Line> {
    return this.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => decodeLine(line))
  }

  signal(signal: NodeJS.Signals) {
    this.process.kill(signal)
  }
}

/** True once a JSON line shows the copy block moving bytes. */
export const copying = (child: Child): boolean =>
  /"block":"copy","item":"[^"]+","status":"Running","limit":\{"_tag":"Bytes","n":\d+\},"units":[1-9]/.test(child.stdout)

export const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex")

/** Every file under `root`, relative, sorted. */
export const filesUnder = (root: string): Array<string> => {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)))
      .sort()
  } catch {
    return []
  }
}
