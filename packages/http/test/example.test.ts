/**
 * The example automation server, run as a real program: start, watch, query and cancel
 * over HTTP as its README shows, then Ctrl-C (SIGINT) with an event stream attached —
 * the process exits cleanly and promptly. Its records are kept in a SQLite file (in a temp
 * dir): killed and started again, the server still has them.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const key = { "x-api-key": "ops-alice-key" }

const dir = mkdtempSync(join(tmpdir(), "truce-example-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const children = new Set<ChildProcess>()
afterEach(() => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
})

/** Reads an event stream until its text contains `marker` (or it ends); returns the text. */
const readEventsUntil = async (events: Response, marker: string): Promise<string> => {
  const reader = events.body?.getReader()
  if (reader === undefined) throw new Error("no body")
  const decoder = new TextDecoder()
  let text = ""
  while (!text.includes(marker)) {
    const chunk = await reader.read()
    if (chunk.done) break
    text += decoder.decode(chunk.value, { stream: true })
  }
  reader.releaseLock()
  return text
}

const launch = async (env: { readonly TRUCE_STORE: string; readonly TRUCE_STEP_MS?: string }): Promise<
  { readonly child: ChildProcess; readonly url: string; readonly output: () => string }
> => {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "examples", "http-server", "main.ts")], {
    cwd: root,
    env: { ...process.env, PORT: "0", TRUCE_STEP_MS: "100", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  child.on("exit", () => children.delete(child))
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start:\n${output}`)), 30_000)
    const check = () => {
      const match = /Listening on http:\/\/[^:]+:(\d+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on("data", check)
    child.on("exit", () => reject(new Error(`the example exited:\n${output}`)))
  })
  return { child, url: `http://127.0.0.1:${port}`, output: () => output }
}

describe("examples/http-server", () => {
  it("starts, watches, queries and cancels; exits cleanly on SIGINT with a watcher attached", async () => {
    const { child, output, url } = await launch({ TRUCE_STORE: join(dir, "watch", "records.db") })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal }))
    )
    try {
      expect(output()).toContain(`Execution records: SQLite file ${join(dir, "watch", "records.db")}`)
      const started = await fetch(`${url}/commands/backup-database/executions`, {
        method: "POST",
        headers: { ...key, "content-type": "application/json" },
        body: JSON.stringify({ input: { database: "orders" } })
      })
      expect(started.status).toBe(202)
      const { id } = await started.json() as { id: string }

      // bob (group dev) may not see backups
      expect((await fetch(`${url}/executions/${id}`, { headers: { "x-api-key": "dev-bob-key" } })).status).toBe(404)

      const events = await fetch(`${url}/executions/${id}/events`, { headers: key })
      expect(await readEventsUntil(events, "event: ItemProgressed")).toContain("event: ItemProgressed")
      const reader = events.body?.getReader()
      if (reader === undefined) throw new Error("no body")

      const query = await fetch(`${url}/executions/query`, {
        method: "POST",
        headers: { ...key, "content-type": "application/json" },
        body: JSON.stringify({ where: { command: { op: "eq", value: "backup-database" } } })
      })
      expect(((await query.json()) as { records: Array<{ id: string }> }).records.map((record) => record.id))
        .toContain(id)

      const deploy = await fetch(`${url}/commands/deploy-service/executions`, {
        method: "POST",
        headers: { ...key, "content-type": "application/json" },
        body: JSON.stringify({ input: { service: "checkout", version: "1.4.2", instances: 20 } })
      })
      const deployId = ((await deploy.json()) as { id: string }).id
      const cancel = await fetch(`${url}/executions/${deployId}?reason=rollback`, { method: "DELETE", headers: key })
      expect(cancel.status).toBe(202)
      const cancelled = await fetch(`${url}/executions/${deployId}?wait=30s`, { headers: key })
      expect(((await cancelled.json()) as { state: string }).state).toBe("Interrupted")

      // Ctrl-C while the event stream of the (still running) backup is open.
      child.kill("SIGINT")
      const { code } = await exited
      expect(code).toBe(0)
      let ended = false
      while (!ended) ended = (await reader.read().catch(() => ({ done: true }))).done
      expect(ended).toBe(true)
    } catch (error) {
      throw new Error(`${String(error)}\n--- example output ---\n${output()}`)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }, 60_000)

  it("keeps its records in the SQLite file: killed mid-flight and started again, they are all there", async () => {
    const store = join(dir, "kill", "records.db")
    // Steps of a second: the executions surely still run when the server is killed.
    const first = await launch({ TRUCE_STORE: store, TRUCE_STEP_MS: "1000" })
    let second: Awaited<ReturnType<typeof launch>> | undefined
    try {
      const start = async (command: string, input: unknown) => {
        const response = await fetch(`${first.url}/commands/${command}/executions`, {
          method: "POST",
          headers: { ...key, "content-type": "application/json" },
          body: JSON.stringify({ input })
        })
        expect(response.status).toBe(202)
        return ((await response.json()) as { id: string }).id
      }
      const backup = await start("backup-database", { database: "orders" })
      const deploy = await start("deploy-service", { service: "checkout", version: "1.4.2", instances: 20 })
      for (const id of [backup, deploy]) {
        // Running: its event stream has the first block's start.
        const events = await fetch(`${first.url}/executions/${id}/events`, { headers: key })
        expect(await readEventsUntil(events, "event: BlockStarted")).toContain("event: BlockStarted")
        await events.body?.cancel()
      }
      first.child.kill("SIGKILL")
      await new Promise((resolve) => first.child.once("exit", resolve))

      second = await launch({ TRUCE_STORE: store, TRUCE_STEP_MS: "1000" })
      expect(second.output()).toMatch(/recovered 2 executions .* resumed 1\)/)
      const get = (id: string, apiKey = key) =>
        fetch(`${second?.url}/executions/${id}`, { headers: apiKey }).then(async (response) => ({
          status: response.status,
          body: (await response.json()) as Record<string, unknown>
        }))
      for (const id of [backup, deploy]) {
        const { body, status } = await get(id)
        expect(status).toBe(200)
        expect(body.state).toBe("Interrupted")
        expect((body.interrupt as { source: string }).source).toBe("process-lost")
      }
      // Permissions survive too: bob (group dev) still may not see the backup.
      expect((await get(backup, { "x-api-key": "dev-bob-key" })).status).toBe(404)
      // The backup is resumable: a new execution resumes it.
      const resumed = await fetch(`${second.url}/executions?resumedFrom=${backup}`, { headers: key })
      const records = ((await resumed.json()) as { records: Array<{ command: string; state: string }> }).records
      expect(records.map((record) => record.command)).toEqual(["backup-database"])
      expect(["Queued", "Running"]).toContain(records[0]?.state)

      second.child.kill("SIGINT")
      const code = await new Promise((resolve) => second?.child.once("exit", resolve))
      expect(code).toBe(0)
    } catch (error) {
      throw new Error(`${String(error)}\n--- first run ---\n${first.output()}\n--- second run ---\n${second?.output()}`)
    }
  }, 60_000)

  it("TRUCE_STORE=memory keeps the records in memory", async () => {
    const { child, output } = await launch({ TRUCE_STORE: "memory" })
    expect(output()).toContain("Execution records: in memory")
    child.kill("SIGINT")
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(0)
  }, 60_000)
})
