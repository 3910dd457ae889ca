/**
 * The example automation server, run as a real program: start, watch, query and cancel
 * over HTTP as its README shows, then Ctrl-C (SIGINT) with an event stream attached —
 * the process exits cleanly and promptly.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const key = { "x-api-key": "ops-alice-key" }

const launch = async (): Promise<
  { readonly child: ChildProcess; readonly url: string; readonly output: () => string }
> => {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "examples", "http-server", "main.ts")], {
    cwd: root,
    env: { ...process.env, PORT: "0", TRUCE_STEP_MS: "100" },
    stdio: ["ignore", "pipe", "pipe"]
  })
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
    const { child, output, url } = await launch()
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal }))
    )
    try {
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
      const reader = events.body?.getReader()
      if (reader === undefined) throw new Error("no body")
      const decoder = new TextDecoder()
      let text = ""
      while (!text.includes("event: ItemProgressed")) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += decoder.decode(chunk.value, { stream: true })
      }
      expect(text).toContain("event: ItemProgressed")

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
})
