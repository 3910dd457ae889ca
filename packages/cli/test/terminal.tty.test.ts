/**
 * What a person sees: the demo and the fixture program under a real pseudo-terminal
 * (tmux), with Ctrl-C typed as keys.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { demoMain, fixtureMain, repoRoot } from "./support/child.js"

import { shellQuote, Tmux } from "./support/tmux.js"

const roots: Array<string> = []
const sessions: Array<Tmux> = []
afterEach(() => {
  for (const session of sessions.splice(0)) session.kill()
})
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

const run = (
  script: string,
  args: ReadonlyArray<string>,
  size?: { readonly width: number; readonly height: number }
) => {
  const tmux = new Tmux()
  sessions.push(tmux)
  const command = ["env", "-u", "NO_COLOR", "-u", "FORCE_COLOR", process.execPath, "--import", "tsx", script, ...args]
    .map(shellQuote)
    .join(" ")
  tmux.start(command, { cwd: repoRoot, ...size })
  return tmux
}

const has = (pattern: RegExp) => (screen: Array<string>) => screen.some((line) => pattern.test(line))
const count = (screen: Array<string>, pattern: RegExp) => screen.filter((line) => pattern.test(line)).length

describe("on a real terminal", () => {
  it("shows live bars grouped by block, then Ctrl-C stops cleanly with a notice and a summary", async () => {
    const root = mkdtempSync(join(tmpdir(), "truce-tty-"))
    roots.push(root)
    const tmux = run(demoMain, [
      "--dir",
      join(root, "demo"),
      "--files",
      "40",
      "--size",
      "8MiB",
      "--chunk-size",
      "4MiB",
      "--slow"
    ])
    const during = await tmux.waitFor(
      "the copy block with a bar",
      (screen) => has(/^\s+▸ copy\s/)(screen) && has(/█.*\d+%\s+\d+(\.\d)? (B|KiB|MiB)\/\d+(\.\d)? (KiB|MiB)/)(screen)
    )
    // One region: the header once, finished blocks as one line each, the running block with
    // its items, blocks to come.
    expect(count(during, /sync-demo {2}running {2}\d/)).toBe(1)
    expect(during.findIndex((line) => /^\s+✓ discover/.test(line))).toBeGreaterThan(0)
    expect(has(/^\s+✓ hash\s+40\/40 items/)(during)).toBe(true)
    expect(has(/^\s+○ verify\s+not started/)(during)).toBe(true)
    const copyHeader = during.findIndex((line) => /^\s+▸ copy\s/.test(line))
    expect(during[copyHeader]).toMatch(/\d+\/40 items/)
    expect(during.slice(copyHeader + 1).some((line) => /^\s{4}▸ \S+.*\d+%/.test(line))).toBe(true)

    tmux.keys("C-c")
    const interrupting = await tmux.waitFor("the interrupt notice", has(/interrupting: finishing \d+ items? in flight/))
    expect(has(/interrupting: finishing \d+ items? in flight — press Ctrl-C again to force/)(interrupting)).toBe(true)
    const after = await tmux.waitFor("the end", has(/^EXIT=130$/))
    const text = after.join("\n")
    expect(text).not.toContain("^C")
    // The header of the final frame (two spaces between fields) once; the summary line once.
    expect(count(after, /sync-demo {2}interrupted {2}\d/)).toBe(1)
    expect(count(after, /sync-demo interrupted after/)).toBe(1)
    expect(text).toMatch(/interrupting: finishing \d+ items? in flight/)
    expect(text).toMatch(/⊘ sync-demo interrupted after \d+\.\ds by Ctrl-C \(sigint, graceful\)/)
    expect(text).toContain("blocks: done: discover, hash · interrupted: copy · not started: verify")
    expect(text).toMatch(/copy: \d+ processed · \d+ stopped in flight · \d+ not started/)
    expect(text).toContain("exit code 130")
    // The summary comes after the region, which is not repeated anywhere.
    expect(after.findIndex((line) => line.includes("exit code 130"))).toBeGreaterThan(
      after.findIndex((line) => /interrupting: finishing/.test(line))
    )
    expect(count(tmux.history(), /sync-demo {2}(running|interrupting|interrupted) {2}\d/)).toBe(1)
  })

  it("spins for work of unknown size, keeps log lines above the region, and forces on a second Ctrl-C", async () => {
    const tmux = run(fixtureMain, [
      "--items",
      "6",
      "--steps",
      "400",
      "--step-ms",
      "50",
      "--unknown",
      "--log",
      "--no-checkpoints"
    ])
    const spinning = await tmux.waitFor(
      "spinners and log lines",
      (screen) => has(/^\s{4}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] item-00\d/)(screen) && has(/log line from item-000 step 5\b/)(screen)
    )
    expect(count(spinning, /fixture\s+running/)).toBe(1)
    // Log lines arrive whole, above the region.
    const header = spinning.findIndex((line) => /fixture\s+running/.test(line))
    const logs = spinning.map((line, index) => [line, index] as const).filter(([line]) =>
      line.includes("log line from")
    )
    expect(logs.length).toBeGreaterThan(0)
    for (const [line, index] of logs) {
      expect(index).toBeLessThan(header)
      expect(line).toMatch(/INFO \(#\d+\): log line from item-00\d step \d+$/)
    }
    expect(spinning.some((line) => /%/.test(line) && line.startsWith("    "))).toBe(false)

    tmux.keys("C-c")
    await tmux.waitFor(
      "the graceful notice",
      has(/interrupting: finishing 4 items in flight — press Ctrl-C again to force/)
    )
    tmux.keys("C-c")
    const after = await tmux.waitFor("the end", has(/^EXIT=130$/))
    const text = after.join("\n")
    expect(text).not.toContain("^C")
    expect(text).toMatch(/forcing: stopping 4 items in flight now/)
    expect(text).toMatch(/⊘ fixture interrupted after \d+\.\ds by Ctrl-C \(sigint, force\)/)
    expect(text).toContain("work: 0 processed · 4 stopped in flight · 2 not started")
  })

  it("turns off the echo of ^C while running and restores the terminal after", async () => {
    const tmux = run(join(repoRoot, "packages", "cli", "test", "fixtures", "echo.ts"), [])
    const screen = await tmux.waitFor("the report", has(/^EXIT=0$/))
    expect(screen.filter((line) => line.includes("echoctl"))).toEqual([
      "before: echoctl on",
      "inside: echoctl off",
      "after: echoctl on"
    ])
  })

  it("redraws to fit when the terminal is resized", async () => {
    const tmux = run(fixtureMain, ["--items", "6", "--steps", "400", "--step-ms", "50"], { width: 120, height: 30 })
    await tmux.waitFor("bars", has(/^\s{4}▸ item-000\s+█*░+\s+\d+%/))
    tmux.resize(60, 30)
    const narrow = await tmux.waitFor("a narrower frame", (screen) => {
      const items = screen.filter((line) => /^\s{4}▸ item-00\d/.test(line))
      return items.length === 4 && items.every((line) => line.length <= 59)
    })
    expect(count(narrow, /fixture\s+running/)).toBe(1)
    expect(count(narrow, /^\s+▸ work\s/)).toBe(1)
    tmux.keys("C-c")
    await tmux.waitFor("the end", has(/^EXIT=130$/))
  })
})
