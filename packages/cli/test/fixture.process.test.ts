/**
 * The small fixture program as a real process: the third Ctrl-C, slow clean-up under a
 * forced stop, and failures.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Child, fixtureMain, killAll } from "./support/child.js"

const roots: Array<string> = []
afterEach(killAll)
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

const scratch = () => {
  const root = mkdtempSync(join(tmpdir(), "truce-fixture-"))
  roots.push(root)
  return root
}

/** Six items that ignore graceful stops (no checkpoints), run long, and clean up in `finalizerMs`. */
const stubborn = (dir: string, finalizerMs: number) =>
  new Child(fixtureMain, [
    ...["--output", "plain", "--items", "6", "--steps", "1000", "--no-checkpoints"],
    ...["--finalizer-ms", String(finalizerMs), "--dir", dir]
  ])

describe("the fixture program as a process", () => {
  it("exits at once on the third Ctrl-C, with a one-line note", async () => {
    const dir = scratch()
    // Clean-up takes 20 s when forced: the third Ctrl-C does not wait for it.
    const child = stubborn(dir, 20_000)
    await child.waitFor("items running", (c) => c.stdout.includes("work: started item-001"))
    child.signal("SIGINT")
    await child.waitFor("the graceful notice", (c) => c.stdout.includes("press Ctrl-C again to force"))
    child.signal("SIGINT")
    await child.waitFor("the forced notice", (c) => c.stdout.includes("press Ctrl-C again to exit at once"))
    child.signal("SIGINT")
    const end = await child.exited
    expect(end.code).toBe(130)
    const lines = end.stdout.trimEnd().split("\n")
    expect(lines[lines.length - 1]).toBe(
      "exiting now (third Ctrl-C): items in flight were cut off and are not recorded as done"
    )
    expect(end.stdout).toContain("interrupting: finishing 4 items in flight — press Ctrl-C again to force")
    expect(end.stdout).toContain("forcing: stopping 4 items in flight now — press Ctrl-C again to exit at once")
    // No summary: the program did not wait for the clean-up.
    expect(end.stdout).not.toContain("exit code")
    expect(readdirSync(dir).filter((file) => file.endsWith(".part"))).toHaveLength(4)
  })

  it("waits for clean-up under a forced stop, then reports it", async () => {
    const dir = scratch()
    const child = stubborn(dir, 300)
    await child.waitFor("items running", (c) => c.stdout.includes("work: started item-003"))
    child.signal("SIGINT")
    await child.waitFor("the graceful notice", (c) => c.stdout.includes("press Ctrl-C again to force"))
    child.signal("SIGINT")
    const end = await child.exited
    expect(end.code).toBe(130)
    expect(end.stdout).toMatch(/⊘ fixture interrupted after \d+\.\ds by Ctrl-C \(sigint, force\)/)
    expect(end.stdout).toContain("work: 0 processed · 4 stopped in flight · 2 not started")
    expect(end.stdout).toContain("stopped in flight: item-000, item-001, item-002, item-003")
    expect(end.stdout).toContain("not started: item-004, item-005")
    expect(end.stdout).toContain("exit code 130")
    // The finalizers ran to the end before the program exited.
    expect(readdirSync(dir).filter((file) => file.endsWith(".part"))).toEqual([])
  })

  it("exits with 1 and lists every item error when items fail", async () => {
    const dir = scratch()
    const child = new Child(fixtureMain, [
      "--output",
      "plain",
      "--items",
      "5",
      "--steps",
      "2",
      "--step-ms",
      "5",
      "--fail",
      "item-001,item-003",
      "--dir",
      dir
    ])
    const end = await child.exited
    expect(end.code).toBe(1)
    expect(end.stdout).toContain("work: failed item-001: simulated failure of item-001")
    expect(end.stdout).toContain("✗ fixture failed")
    expect(end.stdout).toContain("blocks: done: prepare · failed: work")
    expect(end.stdout).toContain("work: 5 processed · 0 stopped in flight · 0 not started")
    expect(end.stdout).toContain("errors (2):")
    expect(end.stdout).toContain("✗ item-001: simulated failure of item-001")
    expect(end.stdout).toContain("✗ item-003: simulated failure of item-003")
    expect(end.stdout).toContain("exit code 1")
    expect(existsSync(join(dir, "item-000.done"))).toBe(true)
    expect(existsSync(join(dir, "item-001.done"))).toBe(false)
  })

  it("exits with 0 when everything completes", async () => {
    const child = new Child(fixtureMain, ["--output", "json", "--items", "3", "--steps", "2", "--step-ms", "1"])
    const end = await child.exited
    expect(end.code).toBe(0)
    const lines = child.jsonLines()
    const last = lines[lines.length - 1]!
    expect(last.type === "outcome" && last.exitCode).toBe(0)
    expect(end.stderr).toBe("")
  })
})
