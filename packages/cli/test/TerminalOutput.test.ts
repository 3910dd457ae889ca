import { describe, expect, it } from "@effect/vitest"
import { Format, TerminalOutput } from "@truce/cli"
import { Progress } from "@truce/core"
import { Effect } from "effect"
import { EventFactory, ids } from "./support/events.js"
import { Screen } from "./support/screen.js"

const MiB = 1024 * 1024

const setup = (
  options: { readonly columns?: number; readonly rows?: number; readonly env?: Record<string, string> } = {}
) => {
  const screen = new Screen(options.columns ?? 100, options.rows ?? 30)
  let now = 1_000
  const terminal = TerminalOutput.make({
    stream: screen,
    command: "sync",
    blocks: ["hash", "copy"],
    batchInterval: 0,
    fps: 1, // the test draws by hand; the timer stays out of the way
    captureOutput: false,
    hint: "ctrl-c",
    env: options.env ?? {},
    now: () => now
  })
  const events = new EventFactory()
  const write = (...batch: ReadonlyArray<ReturnType<EventFactory["state"]>>) =>
    Effect.runSync(terminal.output.write(batch))
  return {
    screen,
    terminal,
    events,
    write,
    advance: (ms: number) => {
      now += ms
    },
    at: () => now
  }
}

const headerCount = (screen: Screen) =>
  screen.lines().filter((line) => /sync\s+(running|interrupting|complete|interrupted)/.test(line)).length

describe("TerminalOutput", () => {
  it("draws a bounded region and redraws it in place", () => {
    const { screen, terminal, events, write, advance, at } = setup()
    const items = ids(40)
    write(events.state("Running", at()), events.blockStarted("hash", 0, items, at()))
    for (let round = 0; round < 20; round++) {
      advance(100)
      const batch = items.slice(0, 6).map((id, i) =>
        events.item("hash", id, "Running", at(), {
          limit: Progress.Bytes(8 * MiB),
          units: (round + i) * 256 * 1024,
          startedAt: 1000
        })
      )
      write(...batch)
      terminal.redraw()
    }
    // However many frames were drawn, the screen holds one region: one header, one line per item.
    expect(terminal.stats().frames).toBeGreaterThan(5)
    expect(headerCount(screen)).toBe(1)
    expect(screen.scrollback).toEqual([])
    const text = screen.text()
    expect(screen.lines().filter((line) => line.includes("file-000.bin"))).toHaveLength(1)
    expect(text).toMatch(/hash\s+\S+\s+0\/40 items\s+6 in flight\s+34 pending/)
    expect(text).toContain("MiB/8.0 MiB")
    expect(text).toMatch(/copy\s+not started/)
    expect(screen.cursorVisible).toBe(false)
  })

  it("applies events without drawing more than the frame rate allows, whatever the event rate", () => {
    const { advance, terminal, events, write, at } = setup()
    const items = ids(500)
    write(events.state("Running", at()), events.blockStarted("hash", 0, items, at()))
    const framesBefore = terminal.stats().frames
    for (let i = 0; i < 10_000; i++) {
      write(events.item("hash", items[i % 500]!, "Running", at(), { limit: Progress.Steps(100), units: i % 100 }))
    }
    expect(terminal.stats().frames).toBe(framesBefore)
    expect(terminal.view.block("hash")!.counts.running).toBe(500)
    // Once a frame is due (1 fps here), the next batch draws one.
    advance(1000)
    write(events.item("hash", items[0]!, "Running", at(), { limit: Progress.Steps(100), units: 99 }))
    expect(terminal.stats().frames).toBe(framesBefore + 1)
    advance(1000)
    terminal.redraw()
    expect(terminal.stats().frames).toBe(framesBefore + 2)
    // Nothing changed: no new frame.
    terminal.redraw()
    expect(terminal.stats().frames).toBe(framesBefore + 2)
  })

  it("never grows taller than the terminal", () => {
    const { screen, terminal, events, write, at } = setup({ rows: 12 })
    const items = ids(300)
    write(events.state("Running", at()), events.blockStarted("hash", 0, items, at()))
    write(...items.map((id) => events.item("hash", id, "Running", at(), { limit: Progress.Steps(10), units: 3 })))
    terminal.redraw()
    expect(screen.scrollback).toEqual([])
    expect(screen.lines().length).toBeLessThanOrEqual(11)
    expect(screen.text()).toMatch(/… \d+ more in flight/)
  })

  it("prints log lines above the region without garbling it", () => {
    const { screen, terminal, events, write, at } = setup()
    write(events.state("Running", at()), events.blockStarted("hash", 0, ids(3), at()))
    write(events.item("hash", "file-000.bin", "Running", at(), { limit: Progress.Steps(10), units: 5 }))
    terminal.redraw()
    terminal.log("resuming 1234: 3 items already done")
    terminal.log("second line\nthird line")
    const lines = screen.lines()
    expect(lines.slice(0, 3)).toEqual(["resuming 1234: 3 items already done", "second line", "third line"])
    expect(headerCount(screen)).toBe(1)
    expect(lines[3]).toMatch(/sync\s+running/)
    expect(lines.filter((line) => line.includes("file-000.bin"))).toHaveLength(1)
  })

  it("adapts to a resize", () => {
    const { screen, terminal, events, write, at } = setup({ columns: 120 })
    write(events.state("Running", at()), events.blockStarted("hash", 0, ids(4), at()))
    write(events.item("hash", "file-000.bin", "Running", at(), {
      limit: Progress.Bytes(16 * MiB),
      units: 4 * MiB,
      message: "copying a rather long file name to a place far away"
    }))
    terminal.redraw()
    expect(screen.lines().some((line) => line.length > 60)).toBe(true)
    screen.resize(50, 30)
    for (const line of screen.lines()) expect(Format.width(line)).toBeLessThanOrEqual(49)
    expect(headerCount(screen)).toBe(1)
    expect(screen.text()).toContain("file-000.bin")
  })

  it("respects NO_COLOR and colours otherwise", () => {
    // eslint-disable-next-line no-control-regex -- control characters are what this matches
    const sgr = /\u001b\[[0-9;]*m/
    const noColor = setup({ env: { NO_COLOR: "1" } })
    noColor.write(
      noColor.events.state("Running", noColor.at()),
      noColor.events.blockStarted("hash", 0, ids(2), noColor.at())
    )
    noColor.terminal.redraw()
    expect(noColor.screen.chunks.join("")).not.toMatch(sgr)
    expect(noColor.screen.text()).toContain("hash")
    const colour = setup({ env: {} })
    colour.write(
      colour.events.state("Running", colour.at()),
      colour.events.blockStarted("hash", 0, ids(2), colour.at())
    )
    colour.terminal.redraw()
    expect(colour.screen.chunks.join("")).toMatch(sgr)
  })

  it("draws the interrupt notice at once and the final frame on Finished, then restores the cursor", () => {
    const { screen, terminal, events, write, at, advance } = setup()
    write(events.state("Running", at()), events.blockStarted("hash", 0, ids(5), at()))
    write(...ids(4).map((id) => events.item("hash", id, "Running", at())))
    const frames = terminal.stats().frames
    advance(50)
    write(events.interrupt(at(), 4))
    // Urgent: drawn without waiting for the timer.
    expect(terminal.stats().frames).toBe(frames + 1)
    expect(screen.text()).toContain("interrupting: finishing 4 items in flight — press Ctrl-C again to force")
    advance(50)
    write(
      ...ids(4).map((id) => events.item("hash", id, "Interrupted", at())),
      events.blockFinished("hash", 0, "Interrupted", at()),
      events.state("Interrupted", at()),
      events.finished("Interrupted", at())
    )
    expect(screen.cursorVisible).toBe(true)
    const lines = screen.lines()
    expect(lines[0]).toMatch(/sync\s+interrupted/)
    expect(lines.join("\n")).toContain("interrupting: finishing 4 items in flight")
    expect(lines.join("\n")).not.toContain("press Ctrl-C")
    expect(lines.some((line) => line.includes("file-000.bin"))).toBe(false)
    // Closed: further writes and redraws do nothing.
    const written = screen.chunks.length
    write(events.state("Running", at()))
    terminal.redraw()
    terminal.close()
    expect(screen.chunks.length).toBe(written)
  })

  it("aborts with a note below the region", () => {
    const { screen, terminal, events, write, at } = setup()
    write(events.state("Running", at()), events.blockStarted("hash", 0, ids(2), at()))
    terminal.redraw()
    terminal.abort("exiting now (third Ctrl-C)")
    const lines = screen.lines()
    expect(lines[lines.length - 1]).toBe("exiting now (third Ctrl-C)")
    expect(headerCount(screen)).toBe(1)
    expect(screen.cursorVisible).toBe(true)
  })
})
