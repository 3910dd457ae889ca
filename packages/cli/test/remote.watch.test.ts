/**
 * `truce watch` (a child process) on an execution of a real Truce HTTP server (in this
 * process): progress from the server's event stream in plain lines and JSON lines, the
 * outcome at the end, and Ctrl-C (real SIGINTs) interrupting the execution on the server —
 * graceful, then forced, then exit — or only detaching.
 */
import { describe, expect, it } from "@effect/vitest"
import type { JsonLines } from "@truce/cli"
import { finished, newGate, openGate, reaches, recordOf, remoteSuite, startOver, truce } from "./support/remote.js"

const server = remoteSuite()

describe("truce watch", () => {
  it("plain: progress lines from the event stream, then the outcome", async () => {
    const { id } = await startOver(server, "steps", { items: 3, steps: 3, stepMs: 20 })
    const done = await truce(server, ["watch", id]).exited
    expect(done.code, done.stderr).toBe(0)
    const lines = done.stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(new RegExp(`^\\[ +0\\.\\ds\\] steps: running \\(id ${id}\\)$`))
    expect(lines[1]).toMatch(/\] work: started \(3 items\)$/)
    for (const item of ["item-0", "item-1", "item-2"]) {
      expect(lines.some((line) => line.endsWith(`] work: started ${item}`))).toBe(true)
      expect(lines.some((line) => new RegExp(`\\] work: done ${item} \\(3/3 steps in \\d+ms\\)$`).test(line))).toBe(
        true
      )
    }
    expect(lines).toContainEqual(expect.stringMatching(/\] work: complete \(3\/3 items: 3 done, \d+ms\)$/))
    expect(lines).toContainEqual(expect.stringMatching(/\] finished: complete$/))
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(/^✓ steps complete in \d+\.\ds$/),
      "  blocks: done: work",
      "  exit code 0"
    ])
    expect(done.stdout).not.toContain("\u001b")
  })

  it("json: one event per line in sequence, the outcome last", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "steps", { items: 2, steps: 2, stepMs: 10, gate })
    const child = truce(server, ["watch", id, "--output", "json"])
    await child.waitFor("the first events", (c) => c.stdout.includes("\"_tag\":\"BlockStarted\""))
    openGate(gate)
    const done = await child.exited
    expect(done.code, done.stderr).toBe(0)
    const lines: Array<JsonLines.Line> = child.jsonLines()
    const events = lines.flatMap((line) => (line.type === "event" ? [line.event] : []))
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1))
    expect(events.filter((event) => event._tag === "ItemProgressed").length).toBeGreaterThanOrEqual(6)
    expect(events.at(-1)?._tag).toBe("Finished")
    const last = lines.at(-1)
    expect(last).toMatchObject({ type: "outcome", executionId: id, state: "Succeeded", exitCode: 0 })
    expect(lines.filter((line) => line.type === "outcome")).toHaveLength(1)
    expect(done.stderr).toBe("")
  })

  it("start --watch: starts, then watches to the end", async () => {
    const done = await truce(server, [
      "start",
      "steps",
      "--input",
      "{\"items\":1,\"steps\":2,\"stepMs\":5}",
      "--watch"
    ]).exited
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toMatch(/^started steps: ([0-9a-f-]{36})\n\[ +0\.\ds\] steps: running \(id \1\)\n/)
    expect(done.stdout).toMatch(/✓ steps complete in \d+\.\ds\n {2}blocks: done: work\n {2}exit code 0\n$/)
  })

  it("Ctrl-C asks the server for a graceful interrupt (source http) and shows the outcome: exit 130", async () => {
    const { id } = await startOver(server, "steps", { items: 6, steps: 500, stepMs: 20 })
    const child = truce(server, ["watch", id])
    await child.waitFor("items running", (c) => c.stdout.includes("work: started item-1"))
    child.signal("SIGINT")
    const done = await child.exited
    expect(done.code, done.stderr).toBe(130)
    expect(done.stdout).toMatch(
      /\] interrupting \(cancelled over HTTP\): finishing 2 items in flight — press Ctrl-C to force\n/
    )
    expect(done.stdout).toMatch(/⊘ steps interrupted after \d+\.\ds by an HTTP request from \S+ \(http, graceful\)/)
    expect(done.stdout).toContain("work: 0 processed · 2 stopped in flight · 4 not started")
    expect(done.stdout).toContain("exit code 130")
    const record = await recordOf(server, id)
    expect(record.state).toBe("Interrupted")
    expect(record.interrupts).toMatchObject([
      { source: "http", mode: "graceful", reason: "Ctrl-C in truce watch", requestedBy: "tester" }
    ])
  })

  it("a second Ctrl-C forces: items in flight are stopped; exit 130", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "steps", { items: 3, steps: 1, stepMs: 1, gate })
    const child = truce(server, ["watch", id])
    await child.waitFor("items running", (c) => c.stdout.includes("work: started item-1"))
    child.signal("SIGINT")
    await child.waitFor("the graceful notice", (c) => c.stdout.includes("interrupting (cancelled over HTTP)"))
    child.signal("SIGINT")
    const done = await child.exited
    expect(done.code, done.stderr).toBe(130)
    expect(done.stdout).toMatch(/\] forcing \(cancelled over HTTP\): stopping 2 items in flight now/)
    expect(done.stdout).toMatch(/⊘ steps interrupted after \d+\.\ds by an HTTP request from \S+ \(http, force\)/)
    expect(done.stdout).toContain("work: 0 processed · 2 stopped in flight · 1 not started")
    const record = await recordOf(server, id)
    expect(record.interrupts).toMatchObject([
      { source: "http", mode: "graceful", reason: "Ctrl-C in truce watch" },
      { source: "http", mode: "force", reason: "Ctrl-C in truce watch" }
    ])
    openGate(gate)
  })

  it("a third Ctrl-C exits at once, leaving the execution as it is on the server", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "steps", { items: 2, steps: 1, stepMs: 1, gate, stubborn: true })
    const child = truce(server, ["watch", id])
    await child.waitFor("items running", (c) => c.stdout.includes("work: started item-1"))
    child.signal("SIGINT")
    await child.waitFor("the graceful notice", (c) => c.stdout.includes("interrupting (cancelled over HTTP)"))
    child.signal("SIGINT")
    await child.waitFor("the forced notice", (c) => c.stdout.includes("forcing (cancelled over HTTP)"))
    child.signal("SIGINT")
    const done = await child.exited
    expect(done.code).toBe(130)
    expect(done.stdout).toContain(`exiting now (third Ctrl-C): ${id} is left as it is on the server`)
    expect(done.stdout).not.toContain("exit code 130")
    // The items hold out (uninterruptible) until the gate opens: still stopping.
    expect((await recordOf(server, id)).state).toBe("Interrupting")
    openGate(gate)
    expect((await finished(server, id)).state).toBe("Interrupted")
  })

  it("--detach-on-interrupt: Ctrl-C only stops watching; the execution goes on", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "gated", { gate })
    const child = truce(server, ["watch", "--detach-on-interrupt", id])
    await child.waitFor("the execution running", (c) => c.stdout.includes("gated: running"))
    child.signal("SIGINT")
    const done = await child.exited
    expect(done.code).toBe(130)
    expect(done.stdout.trimEnd().split("\n").at(-1)).toBe(
      `stopped watching: ${id} goes on on the server (truce watch ${id} to watch it again)`
    )
    const record = await recordOf(server, id)
    expect(record.state).toBe("Running")
    expect(record.interrupts).toEqual([])
    openGate(gate)
    expect((await finished(server, id)).state).toBe("Succeeded")
  })

  it("SIGTERM only stops watching (exit 143); the execution goes on", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "gated", { gate })
    const child = truce(server, ["watch", id])
    await child.waitFor("the execution running", (c) => c.stdout.includes("gated: running"))
    child.signal("SIGTERM")
    const done = await child.exited
    expect(done.code).toBe(143)
    expect(done.stdout).toContain(`stopped watching: ${id} goes on on the server`)
    const record = await recordOf(server, id)
    expect(record.state).toBe("Running")
    expect(record.interrupts).toEqual([])
    openGate(gate)
  })

  it("an execution that refuses interrupts: Ctrl-C says so, the next one stops watching", async () => {
    const gate = newGate()
    const { id } = await startOver(server, "pinned", { gate })
    await reaches(server, id, "Running")
    const child = truce(server, ["watch", id])
    await child.waitFor("the execution running", (c) => c.stdout.includes("pinned: running"))
    child.signal("SIGINT")
    await child.waitFor("the refusal", (c) => c.stdout.includes("cannot be interrupted"))
    expect(child.stdout).toContain(
      `${id} cannot be interrupted (not cancellable) — press Ctrl-C again to stop watching; it goes on`
    )
    child.signal("SIGINT")
    const done = await child.exited
    expect(done.code).toBe(130)
    expect(done.stdout).toContain(`stopped watching: ${id} goes on on the server`)
    expect((await recordOf(server, id)).state).toBe("Running")
    openGate(gate)
  })

  it("an unknown id: one line, exit 1", async () => {
    const done = await truce(server, ["watch", "no-such-execution"]).exited
    expect(done.code).toBe(1)
    expect(done.stderr).toBe(
      `truce: no execution no-such-execution on ${server.url} (or none these credentials may read)\n`
    )
  })
})
