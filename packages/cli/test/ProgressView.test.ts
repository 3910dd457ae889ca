import { describe, expect, it } from "@effect/vitest"
import { Format, ProgressView } from "@truce/cli"
import { Progress } from "@truce/core"
import { EventFactory, ids } from "./support/events.js"

const plain = Format.style(false)
const MiB = 1024 * 1024

const render = (
  view: ProgressView.ProgressView,
  options: Partial<ProgressView.RenderOptions> & { readonly now: number }
) => view.render({ width: 100, height: 30, style: plain, unicode: true, hint: "ctrl-c", ...options })

/** A view of a 500-item block: 480 done, 3 failed, 8 in flight, the rest pending. */
const bigBlock = () => {
  const events = new EventFactory()
  const view = ProgressView.make({ command: "sync", blocks: ["discover", "hash", "copy"] })
  const items = ids(500)
  view.apply([
    events.state("Running", 0),
    events.blockStarted("discover", 0, ["discover"], 0),
    events.item("discover", "discover", "Running", 0),
    events.item("discover", "discover", "Success", 10),
    events.blockFinished("discover", 0, "Complete", 10),
    events.blockStarted("hash", 1, items, 10)
  ])
  items.forEach((id, i) => {
    if (i < 491) view.apply([events.item("hash", id, "Running", 100 + i)])
    if (i < 480) view.apply([events.item("hash", id, "Success", 110 + i, { startedAt: 100 + i })])
    else if (i < 483) {
      view.apply([events.item("hash", id, "Fail", 110 + i, { startedAt: 100 + i, error: `disk error on ${id}` })])
    } else if (i < 491) {
      view.apply([events.item("hash", id, "Running", 600, {
        startedAt: 100 + i,
        limit: Progress.Bytes(16 * MiB),
        units: 8 * MiB,
        etaMs: 5000
      })])
    }
  })
  return { view, events, items }
}

describe("ProgressView", () => {
  it("keeps counts per block as events arrive", () => {
    const { view } = bigBlock()
    const hash = view.block("hash")!
    expect(hash.total).toBe(500)
    expect(hash.counts).toMatchObject({ succeeded: 480, failed: 3, running: 8, pending: 9 })
    expect(hash.active.size).toBe(8)
    expect(hash.failures.map((item) => item.item)).toEqual(ids(500).slice(480, 483))
    expect(view.inFlight).toBe(8)
    expect(view.block("discover")!.status).toBe("Complete")
    expect(view.block("copy")!.status).toBe("NotStarted")
  })

  it("folds finished items into a count line and shows running items and failures", () => {
    const { view } = bigBlock()
    const lines = render(view, { now: 700, height: 30 })
    const text = lines.join("\n")
    expect(lines.length).toBeLessThanOrEqual(30)
    expect(text).toContain("hash")
    expect(text).toContain("483/500 items")
    expect(text).toContain("8 in flight")
    expect(text).toContain("9 pending")
    expect(text).toMatch(/483 finished\s+✓480\s+✗3/)
    // Failures are listed with their error; finished items are not listed one by one.
    expect(text).toContain("disk error on file-482.bin")
    expect(text).not.toContain("file-100.bin")
    // Every running item has its line with a bar, percent and humanised bytes.
    for (const id of ids(500).slice(483, 491)) expect(text).toContain(id)
    expect(text).toContain("50%")
    expect(text).toContain("8.0 MiB/16 MiB")
    expect(text).toContain("█")
    // ETA counts down from the estimate made at the last update (5 s at 600).
    expect(text).toContain("ETA 5s")
    expect(render(view, { now: 1700 }).join("\n")).toContain("ETA 4s")
    // Blocks not started yet are listed under the running one.
    expect(lines.findIndex((line) => line.includes("copy"))).toBeGreaterThan(
      lines.findIndex((line) => line.includes("hash"))
    )
    expect(text).toMatch(/copy\s+not started/)
  })

  it("never draws more lines than it is given", () => {
    const { view, events } = bigBlock()
    view.apply([events.interrupt(700, 8), events.interrupt(800, 8, { mode: "force", escalated: true })])
    for (let height = 1; height <= 40; height++) {
      const lines = render(view, { now: 900, height })
      expect(lines.length).toBeLessThanOrEqual(height)
      expect(lines.length).toBeGreaterThanOrEqual(1)
    }
    // With little room, running items collapse into a "more in flight" line.
    const text = render(view, { now: 900, height: 10 }).join("\n")
    expect(text).toMatch(/… \d+ more in flight/)
  })

  it("fits every line in the width, with and without colour", () => {
    const { view, events } = bigBlock()
    view.apply([
      events.item("hash", "file-483.bin", "Running", 650, {
        startedAt: 100,
        limit: Progress.Bytes(16 * MiB),
        units: 9 * MiB,
        message: "a very long message that would not fit on a narrow terminal at all, not even close"
      }),
      events.interrupt(700, 8)
    ])
    for (const width of [20, 30, 40, 60, 80, 100, 120, 200]) {
      for (const style of [plain, Format.style(true)]) {
        for (const line of view.render({ width, height: 30, style, unicode: true, now: 900, hint: "ctrl-c" })) {
          expect(Format.width(Format.stripAnsi(line))).toBeLessThanOrEqual(width - 1)
        }
      }
    }
    // Narrow terminals drop details before the id; wide ones show everything.
    const narrow = view.render({ width: 40, height: 30, style: plain, unicode: true, now: 900 }).join("\n")
    expect(narrow).toContain("file-483.bin")
    const wide = view.render({ width: 200, height: 30, style: plain, unicode: true, now: 900 }).join("\n")
    expect(wide).toContain("a very long message")
  })

  it("writes no escape codes without colour, and colours with it", () => {
    const { view } = bigBlock()
    const noColor = render(view, { now: 700 }).join("\n")
    expect(noColor).not.toContain("\u001b")
    const colour = view.render({ width: 100, height: 30, style: Format.style(true), unicode: true, now: 700 }).join(
      "\n"
    )
    expect(colour).toContain("\u001b[")
  })

  it("shows a spinner for work of unknown size and a bar for steps", () => {
    const events = new EventFactory()
    const view = ProgressView.make()
    view.apply([
      events.state("Running", 0),
      events.blockStarted("scan", 0, ["a", "b"], 0),
      events.item("scan", "a", "Running", 0, { limit: Progress.Unknown, units: 3, message: "found 3" }),
      events.item("scan", "b", "Running", 0, { limit: Progress.Steps(4), units: 1 })
    ])
    const lines = render(view, { now: 250 })
    const a = lines.find((line) => line.includes(" a "))!
    const b = lines.find((line) => line.includes(" b "))!
    expect(Format.spinnerFrames.some((frame) => a.trimStart().startsWith(frame))).toBe(true)
    expect(a).not.toContain("%")
    expect(a).toContain("found 3")
    expect(b).toContain(" 25%")
    expect(b).toContain("1/4")
    // The spinner moves with time.
    const later = render(view, { now: 350 }).find((line) => line.includes(" a "))!
    expect(later).not.toBe(a)
    // ASCII when Unicode is off.
    const ascii = view.render({ width: 100, height: 30, style: plain, unicode: false, now: 250 }).join("\n")
    expect(ascii).not.toMatch(/[█░⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏▸✓]/)
  })

  it("says how an interrupt is going, with the Ctrl-C hint only while running", () => {
    const { view, events } = bigBlock()
    view.apply([events.interrupt(700, 8)])
    let text = render(view, { now: 710 }).join("\n")
    expect(text).toContain("interrupting: finishing 8 items in flight — press Ctrl-C again to force")
    view.apply([events.interrupt(800, 5, { mode: "force", escalated: true })])
    text = render(view, { now: 810 }).join("\n")
    expect(text).toContain("interrupting: finishing 8 items in flight")
    expect(text).not.toContain("press Ctrl-C again to force")
    expect(text).toContain("forcing: stopping 5 items in flight now — press Ctrl-C again to exit at once")
    view.apply([events.blockFinished("hash", 1, "Interrupted", 900), events.finished("Interrupted", 900)])
    text = render(view, { now: 1000 }).join("\n")
    expect(text).toContain("interrupting: finishing 8 items in flight")
    expect(text).not.toContain("press Ctrl-C")
    expect(text).toMatch(/hash\s+interrupted/)
  })

  it("names other interrupt sources", () => {
    const events = new EventFactory()
    const view = ProgressView.make()
    view.apply([events.state("Running", 0), events.interrupt(10, 2, { source: "shutdown" })])
    expect(render(view, { now: 20 }).join("\n")).toContain(
      "interrupting (shutdown): finishing 2 items in flight — press Ctrl-C to force"
    )
  })

  it("draws a finished execution compactly, one line per block", () => {
    const { view, events } = bigBlock()
    view.apply([
      events.blockFinished("hash", 1, "Failed", 900),
      events.finished("Failed", 900)
    ])
    const lines = render(view, { now: 1000 })
    expect(lines[0]).toMatch(/sync\s+failed/)
    expect(lines.some((line) => /✗ hash\s+failed\s+483\/500 items/.test(line))).toBe(true)
    // A step block does not repeat its single item.
    expect(lines.find((line) => line.includes("discover"))).not.toContain("1/1")
    expect(lines.join("\n")).not.toContain("file-490.bin")
    expect(lines.length).toBe(4)
  })

  it("collapses many blocks into summary lines", () => {
    const events = new EventFactory()
    const names = Array.from({ length: 30 }, (_, i) => `step-${i}`)
    const view = ProgressView.make({ blocks: names })
    view.apply([events.state("Running", 0)])
    for (let i = 0; i < 20; i++) {
      view.apply([
        events.blockStarted(names[i]!, i, [names[i]!], i),
        events.item(names[i]!, names[i]!, "Success", i),
        events.blockFinished(names[i]!, i, "Complete", i)
      ])
    }
    view.apply([events.blockStarted("step-20", 20, ids(3), 20), events.item("step-20", "file-000.bin", "Running", 20)])
    const lines = render(view, { now: 30, height: 8 })
    expect(lines.length).toBeLessThanOrEqual(8)
    const text = lines.join("\n")
    expect(text).toContain("20 blocks done")
    expect(text).toContain("step-20")
    expect(text).toContain("file-000.bin")
    expect(text).toMatch(/not started: step-21, step-22/)
  })

  it("rebuilds the current block from a snapshot after falling behind", () => {
    const events = new EventFactory()
    const view = ProgressView.make()
    view.apply([events.state("Running", 0), events.blockStarted("copy", 0, ["a", "b", "c"], 0)])
    view.apply([{
      _tag: "Snapshot",
      seq: 5000,
      at: 100,
      coalesced: 4990,
      executionId: events.id,
      command: "sync",
      state: "Running",
      blocks: ["copy", "verify"],
      summary: {
        seq: 5000,
        updatedAt: 100,
        block: "copy",
        blockIndex: 0,
        blocksTotal: 2,
        blocksDone: 0,
        items: { total: 3, pending: 1, running: 1, stalled: 0, succeeded: 1, failed: 0, interrupted: 0, skipped: 0 }
      },
      items: [
        {
          block: "copy",
          item: "a",
          status: "Success",
          limit: Progress.Steps(1),
          units: 1,
          updatedAt: 50,
          startedAt: 0
        },
        {
          block: "copy",
          item: "b",
          status: "Running",
          limit: Progress.Steps(4),
          units: 2,
          updatedAt: 90,
          startedAt: 0
        },
        { block: "copy", item: "c", status: "Pending", limit: Progress.Unknown, units: 0, updatedAt: 0 }
      ]
    }])
    const copy = view.block("copy")!
    expect(copy.counts).toMatchObject({ succeeded: 1, running: 1, pending: 1 })
    expect(copy.total).toBe(3)
    expect(view.block("verify")!.status).toBe("NotStarted")
    expect(view.coalesced).toBe(4990)
    expect(render(view, { now: 120 }).join("\n")).toContain("4990 updates coalesced")
  })
})
