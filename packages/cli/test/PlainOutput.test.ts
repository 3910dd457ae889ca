import { describe, expect, it } from "@effect/vitest"
import { PlainOutput } from "@truce/cli"
import { Progress } from "@truce/core"
import { Effect } from "effect"
import { EventFactory } from "./support/events.js"

const collect = (options: PlainOutput.Options = {}) => {
  const chunks: Array<string> = []
  const plain = PlainOutput.make({
    stream: { write: (chunk) => chunks.push(chunk) },
    batchInterval: 0,
    env: {},
    ...options
  })
  return {
    plain,
    lines: () => chunks.join("").split("\n").filter((line) => line.length > 0),
    write: (...events: Parameters<typeof plain.output.write>[0]) => Effect.runSync(plain.output.write(events))
  }
}

describe("PlainOutput", () => {
  it("prints one line per meaningful change, not one per progress tick", () => {
    const events = new EventFactory()
    const { lines, write } = collect({ hint: "ctrl-c" })
    write(events.state("Queued", 0), events.state("Running", 0), events.blockStarted("copy", 0, ["a.bin", "b.bin"], 0))
    write(events.item("copy", "a.bin", "Running", 10, { limit: Progress.Bytes(4096), units: 0 }))
    // 200 ticks over 2 seconds.
    for (let i = 1; i <= 200; i++) {
      write(
        events.item("copy", "a.bin", "Running", 10 + i * 10, {
          startedAt: 10,
          limit: Progress.Bytes(4096),
          units: i * 20
        })
      )
    }
    write(events.item("copy", "a.bin", "Success", 2100, { startedAt: 10, limit: Progress.Bytes(4096), units: 4096 }))
    write(events.item("copy", "b.bin", "Running", 2100))
    write(events.interrupt(2200, 1))
    write(events.item("copy", "b.bin", "Interrupted", 2300, { startedAt: 2100 }))
    write(events.blockFinished("copy", 0, "Interrupted", 2300), events.finished("Interrupted", 2300))
    const out = lines()
    expect(out.join("\n")).not.toContain("\u001b")
    expect(out).toEqual([
      expect.stringMatching(/^\[\s+0\.0s\] sync: running \(id .+\)$/),
      "[   0.0s] copy: started (2 items)",
      "[   0.0s] copy: started a.bin",
      // Items running for more than a second get a line as they pass 25 %, 50 % and 75 %.
      "[   1.0s] copy: a.bin 48% (2.0 KiB/4.0 KiB)",
      "[   1.0s] copy: a.bin 50% (2.0 KiB/4.0 KiB)",
      "[   1.5s] copy: a.bin 75% (3.0 KiB/4.0 KiB)",
      "[   2.1s] copy: done a.bin (4.0 KiB in 2.0s)",
      "[   2.1s] copy: started b.bin",
      "[   2.2s] interrupting: finishing 1 item in flight — press Ctrl-C again to force",
      "[   2.3s] copy: stopped b.bin (interrupted in flight)",
      "[   2.3s] copy: interrupted (2/2 items: 1 done, 1 stopped, 2.3s)",
      "[   2.3s] finished: interrupted"
    ])
  })

  it("reports failures with their message and sums up items done in an earlier run", () => {
    const events = new EventFactory()
    const { lines, write } = collect({ items: "finish" })
    write(events.state("Running", 0), events.blockStarted("hash", 0, ["a", "b", "c", "d"], 0))
    write(events.item("hash", "a", "Skipped", 0), events.item("hash", "b", "Skipped", 0))
    write(
      events.item("hash", "c", "Running", 5),
      events.item("hash", "c", "Fail", 8, { error: "EACCES: permission denied" })
    )
    write(events.item("hash", "d", "Running", 9), events.item("hash", "d", "Success", 12, { startedAt: 9 }))
    write(events.blockFinished("hash", 0, "Failed", 12))
    expect(lines().slice(1)).toEqual([
      "[   0.0s] hash: started (4 items)",
      "[   0.0s] hash: skipped 2 items done in an earlier run",
      "[   0.0s] hash: failed c: EACCES: permission denied",
      "[   0.0s] hash: done d (3ms)",
      "[   0.0s] hash: failed (4/4 items: 1 done, 2 done before, 1 failed, 12ms)"
    ])
  })

  it("keeps step blocks to their block lines", () => {
    const events = new EventFactory()
    const { lines, write } = collect()
    write(events.state("Running", 0), events.blockStarted("plan", 0, ["plan"], 0))
    write(events.item("plan", "plan", "Running", 0), events.item("plan", "plan", "Success", 40, { startedAt: 0 }))
    write(events.blockFinished("plan", 0, "Complete", 40))
    expect(lines().slice(1)).toEqual([
      "[   0.0s] plan: started (1 item)",
      "[   0.0s] plan: complete (1/1 items: 1 done, 40ms)"
    ])
  })

  it("writes only interrupt notices in notices mode", () => {
    const events = new EventFactory()
    const { lines, write } = collect({ noticesOnly: true, hint: "ctrl-c" })
    write(events.state("Running", 0), events.blockStarted("copy", 0, ["a"], 0), events.item("copy", "a", "Running", 1))
    write(events.interrupt(5, 1, { source: "shutdown" }), events.interrupt(6, 1, { mode: "force", escalated: true }))
    expect(lines()).toEqual([
      "interrupting (shutdown): finishing 1 item in flight — press Ctrl-C to force",
      "forcing: stopping 1 item in flight now — press Ctrl-C again to exit at once"
    ])
  })

  it("colours only when FORCE_COLOR asks", () => {
    const events = new EventFactory()
    const forced = collect({ env: { FORCE_COLOR: "1" } })
    forced.write(events.state("Running", 0), events.blockStarted("copy", 0, ["a"], 0))
    expect(forced.lines().join("\n")).toContain("\u001b[")
  })
})
