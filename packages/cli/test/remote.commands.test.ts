/**
 * The real `truce` program (a child process) against a real Truce HTTP server (in this
 * process, loopback, port 0): start, status, wait, cancel, list, and the errors a person
 * meets — malformed flags, an unreachable server, a wrong API key.
 */
import { describe, expect, it } from "@effect/vitest"
import { JsonLines } from "@truce/cli"
import { Effect } from "effect"
import {
  closedPort,
  finished,
  newGate,
  openGate,
  reaches,
  recordOf,
  remoteSuite,
  startOver,
  truce,
  truceWithTsx
} from "./support/remote.js"

const server = remoteSuite()

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Every line of stderr is a `truce:` message: no stack trace, no log noise. */
const oneLine = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(lines, stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^truce: /)
  expect(stderr).not.toMatch(/\bat .*\.(ts|js):\d+/)
  return lines[0] as string
}

describe("truce start and status", () => {
  it("prints the id, records labels and the idempotency key, and status summarises the record", async () => {
    const args = [
      "start",
      "echo",
      "--input",
      "{\"message\":\"hello\"}",
      "--label",
      "team=ops",
      "--label",
      "ticket=OPS-1=a",
      "--idempotency-key",
      "key-1"
    ]
    // The bin as the documentation runs it: node --import tsx packages/cli/src/bin.ts.
    const started = await truceWithTsx(server, args).exited
    expect(started.code, started.stderr).toBe(0)
    const id = started.stdout.trim()
    expect(id).toMatch(uuid)
    expect(started.stderr).toBe("")
    const record = await finished(server, id)
    expect(record).toMatchObject({
      command: "echo",
      state: "Succeeded",
      owner: "tester",
      labels: { team: "ops", ticket: "OPS-1=a" },
      idempotencyKey: "tester:key-1"
    })

    // The same key and request: the same execution; the same key with another request: a conflict.
    const again = await truce(server, args).exited
    expect(again.stdout.trim(), again.stderr).toBe(id)
    const otherInput = args.map((arg) => (arg === "{\"message\":\"hello\"}" ? "{\"message\":\"bye\"}" : arg))
    const conflict = await truce(server, otherInput).exited
    expect(conflict.code).toBe(1)
    expect(oneLine(conflict.stderr)).toBe(
      "truce: the idempotency key \"key-1\" was used before with a different request"
    )

    const status = await truce(server, ["status", id]).exited
    expect(status.code, status.stderr).toBe(0)
    const text = status.stdout
    expect(text).toContain(`execution ${id}`)
    expect(text).toContain("  command   echo")
    expect(text).toContain("  state     Succeeded")
    expect(text).toContain("  owner     tester")
    expect(text).toMatch(/ {2}created {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+\.\ds ago\)/)
    expect(text).toMatch(/ {2}finished {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(ran \d+\.\ds\)/)
    expect(text).toContain("  progress  1/1 blocks")
    expect(text).toContain("  labels    team=ops, ticket=OPS-1=a")
    // The outcome's summary, as after a local run.
    expect(text).toMatch(/✓ echo complete in \d+\.\ds\n {2}blocks: done: say\n {2}exit code 0\n$/)
    expect(text).not.toContain("\u001b")

    const json = await truce(server, ["--output", "json", "status", id]).exited
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ id, command: "echo", state: "Succeeded", owner: "tester" })
  })

  it("refuses malformed input before sending anything, and explains what the server refused", async () => {
    const before = (await Effect.runPromise(server.map.list({ limit: 1000 }))).records.length

    const badJson = await truce(server, ["start", "echo", "--input", "{bad"]).exited
    expect(badJson.code).toBe(2)
    expect(oneLine(badJson.stderr)).toMatch(/^truce: --input is not valid JSON: /)

    const both = await truce(server, ["start", "echo", "--input", "{}", "--input-file", "x.json", "--watch"]).exited
    expect(both.code).toBe(2)

    const unknown = await truce(server, ["start", "nothing-like-it"]).exited
    expect(unknown.code).toBe(1)
    expect(oneLine(unknown.stderr)).toBe(
      `truce: no command "nothing-like-it" on ${server.url}; commands you may start: gated, steps, echo, broken, pinned`
    )

    const invalid = await truce(server, ["start", "echo", "--input", "{\"message\":3}"]).exited
    expect(invalid.code).toBe(2)
    expect(oneLine(invalid.stderr)).toMatch(/^truce: the server rejected the request: .*message.*Expected string/)

    const after = (await Effect.runPromise(server.map.list({ limit: 1000 }))).records.length
    expect(after).toBe(before)
    expect(both.stderr).toContain("--input or with --input-file, not both")
  })
})

describe("truce wait", () => {
  it("exit code 0 when complete (JSON: the outcome line)", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "gated", { gate })
    const child = truce(server, ["wait", id, "--output", "json"])
    await reaches(server, id, "Running")
    openGate(gate)
    const done = await child.exited
    expect(done.code, done.stderr).toBe(0)
    const lines = child.jsonLines()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ type: "outcome", executionId: id, state: "Succeeded", exitCode: 0 })
    const decoded = await Effect.runPromise(JsonLines.decodeLine(done.stdout.trim()))
    expect(decoded.type).toBe("outcome")
  })

  it("exit code 1 when any failed, with every outcome printed", async () => {
    const ok = await startOver(server, "echo", { message: "fine" })
    const bad = await startOver(server, "broken", { reason: "disk on fire" })
    const done = await truce(server, ["wait", ok.id, bad.id]).exited
    expect(done.code, done.stderr).toBe(1)
    expect(done.stdout).toContain(`execution ${ok.id}\n✓ echo complete`)
    expect(done.stdout).toContain(`execution ${bad.id}\n✗ broken failed`)
    expect(done.stdout).toContain("✗ explode: disk on fire")
  })

  it("exit code 130 when interrupted", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "gated", { gate })
    await reaches(server, id, "Running")
    const child = truce(server, ["wait", id])
    await fetch(`${server.url}/executions/${id}/interrupt`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k-tester" },
      body: JSON.stringify({ mode: "force", reason: "tests stop it" })
    })
    const done = await child.exited
    expect(done.code, done.stderr).toBe(130)
    expect(done.stdout).toMatch(/⊘ gated interrupted after \d+\.\ds by an HTTP request from \S+ \(http, force\)/)
    openGate(gate)
  })

  it("exit code 124 when the timeout comes first; the execution goes on", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "gated", { gate })
    const done = await truce(server, ["wait", id, "--timeout", "300ms"]).exited
    expect(done.code).toBe(124)
    expect(oneLine(done.stderr)).toMatch(
      new RegExp(`^truce: ${id} is still (Queued|Running) after waiting \\d+\\.\\ds$`)
    )
    expect((await recordOf(server, id)).state).toBe("Running")
    openGate(gate)

    const badTimeout = await truce(server, ["wait", id, "--timeout", "soon"]).exited
    expect(badTimeout.code).toBe(2)
    expect(oneLine(badTimeout.stderr)).toContain("\"soon\" is not a duration")
  })

  it("start --wait: waits for the outcome", async () => {
    const done = await truce(server, [
      "start",
      "broken",
      "--input",
      "{\"reason\":\"nope\"}",
      "--wait",
      "--label",
      "a=b"
    ])
      .exited
    expect(done.code, done.stderr).toBe(1)
    expect(done.stdout).toMatch(/^started broken: [0-9a-f-]{36}\nexecution [0-9a-f-]{36}\n✗ broken failed/)
  })
})

describe("truce cancel", () => {
  it("accepted (graceful, then forced), 409 not cancellable, 410 nothing to interrupt, 404 unknown", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "steps", { items: 2, steps: 1, stepMs: 1, gate })
    await reaches(server, id, "Running")

    const graceful = await truce(server, ["cancel", id, "--reason", "wrong database"]).exited
    expect(graceful.code, graceful.stderr).toBe(0)
    expect(graceful.stdout.trim()).toBe(
      `interrupt accepted: ${id} (graceful: items in flight finish, nothing new starts); now Interrupting`
    )
    const forced = await truce(server, ["cancel", id, "--force", "--output", "json"]).exited
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({ id, status: "accepted", escalated: true })
    const record = await finished(server, id)
    expect(record.state).toBe("Interrupted")
    expect(record.interrupts).toMatchObject([
      { source: "http", mode: "graceful", reason: "wrong database", requestedBy: "tester" },
      { source: "http", mode: "force", reason: "truce cancel", requestedBy: "tester" }
    ])

    const again = await truce(server, ["cancel", id]).exited
    expect(again.code).toBe(0)
    expect(again.stdout.trim()).toBe(`nothing to interrupt: ${id} has already finished (Interrupted)`)

    const pinnedGate = newGate()
    const pinned = await startOver(server, "pinned", { gate: pinnedGate })
    const refused = await truce(server, ["cancel", pinned.id]).exited
    expect(refused.code).toBe(1)
    expect(oneLine(refused.stderr)).toBe(
      `truce: cannot interrupt ${pinned.id}: execution ${pinned.id} is not cancellable`
    )
    openGate(pinnedGate)

    const unknown = await truce(server, ["cancel", "no-such-execution"]).exited
    expect(unknown.code).toBe(1)
    expect(oneLine(unknown.stderr)).toBe(
      `truce: no execution no-such-execution on ${server.url} (or none these credentials may read)`
    )
    openGate(gate)
  })
})

describe("truce list", () => {
  it("filters by command, state and --where, follows the cursor with --all, and reports a bad query", async () => {
    const batch = `b${Date.now()}`
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) {
      ids.push((await startOver(server, "echo", { message: `m${i}` }, { labels: { batch } })).id)
    }
    const failed = (await startOver(server, "broken", { reason: "x" }, { labels: { batch } })).id
    for (const id of [...ids, failed]) await finished(server, id)

    const table = await truce(server, [
      "list",
      "--command",
      "echo",
      "--state",
      "Succeeded",
      "--where",
      `labels.batch = ${batch}`
    ]).exited
    expect(table.code, table.stderr).toBe(0)
    const rows = table.stdout.trimEnd().split("\n")
    expect(rows[0]).toMatch(/^ID +COMMAND +STATE +OWNER +CREATED +PROGRESS$/)
    expect(rows.slice(1).map((row) => row.slice(0, 36)).sort()).toEqual([...ids].sort())
    for (const row of rows.slice(1)) {
      expect(row).toMatch(/^[0-9a-f-]{36} +echo +Succeeded +tester +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +1\/1 blocks/)
    }

    const paged = await truce(server, ["list", "--where", `labels.batch eq ${batch}`, "--limit", "2"]).exited
    expect(paged.stdout.trimEnd().split("\n")).toHaveLength(3)
    expect(paged.stderr.trim()).toBe("there are more: --all lists every page")

    const all = await truce(server, [
      "list",
      "--where",
      `labels.batch eq ${batch}`,
      "--limit",
      "2",
      "--all",
      "--output",
      "json"
    ]).exited
    expect(all.code, all.stderr).toBe(0)
    const records = all.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { id: string; state: string })
    expect(records.map((record) => record.id).sort()).toEqual([...ids, failed].sort())

    const badOperator = await truce(server, ["list", "--where", "state zz Running"]).exited
    expect(badOperator.code).toBe(2)
    expect(oneLine(badOperator.stderr)).toMatch(/^truce: the server rejected the query: unknown operator "zz"/)

    const badField = await truce(server, ["list", "--where", "colour eq red"]).exited
    expect(badField.code).toBe(2)
    expect(oneLine(badField.stderr)).toMatch(/^truce: the server rejected the query: unknown field "colour"/)
  })
})

describe("errors", () => {
  it("an unreachable server, a wrong API key, a URL that is not one: one line, an exit code", async () => {
    const port = await closedPort()
    const unreachable = await truce({ url: `http://127.0.0.1:${port}` }, ["status", "x"]).exited
    expect(unreachable.code).toBe(69)
    expect(oneLine(unreachable.stderr)).toBe(
      `truce: cannot reach the Truce server at http://127.0.0.1:${port}: connection refused (ECONNREFUSED)`
    )

    const wrongKey = await truce(server, ["list", "--api-key", "k-wrong"]).exited
    expect(wrongKey.code).toBe(77)
    expect(oneLine(wrongKey.stderr)).toBe(
      `truce: the server at ${server.url} refused the credentials: the X-API-Key header does not name a known key ` +
        "(set --api-key or TRUCE_API_KEY, or --token or TRUCE_TOKEN)"
    )
    expect(wrongKey.stdout).toBe("")

    const notUrl = await truce(server, ["--server", "localhost:8080", "list"]).exited
    expect(notUrl.code).toBe(2)
    expect(oneLine(notUrl.stderr)).toBe("truce: --server \"localhost:8080\" is not an http:// or https:// URL")
  })
})
