/**
 * The demo as a real program: a child process, real signals, real files, a real SQLite
 * store. Every wait is for something the program printed, never a blind sleep.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import type { JsonLines } from "@truce/cli"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Child, copying, demoMain, filesUnder, killAll, sha256 } from "./support/child.js"

const roots: Array<string> = []
afterEach(killAll)
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

const workspace = () => {
  const root = mkdtempSync(join(tmpdir(), "truce-demo-"))
  roots.push(root)
  const dir = join(root, "demo")
  return { dir, source: join(dir, "source"), target: join(dir, "target"), store: `${dir}.db` }
}

/** The demo on a small tree (40 files, the largest 2 MiB unless `args` says otherwise). */
const demo = (dir: string, args: ReadonlyArray<string>) =>
  new Child(demoMain, ["--dir", dir, "--files", "40", ...(args.includes("--size") ? [] : ["--size", "2MiB"]), ...args])

const outcomeOf = (child: Child): Extract<JsonLines.Line, { readonly type: "outcome" }> => {
  const lines = child.jsonLines()
  const last = lines[lines.length - 1]
  if (last === undefined || last.type !== "outcome") {
    throw new Error(`the last line is not the outcome:\n${child.stdout.slice(-2000)}`)
  }
  return last
}

const executionIdOf = (child: Child): string => {
  const first = child.jsonLines()[0]
  if (first === undefined || first.type !== "event" || first.event._tag !== "StateChanged") {
    throw new Error("no StateChanged first")
  }
  return first.event.executionId
}

const successes = (child: Child, block: string) =>
  (child.stdout.match(new RegExp(`"block":"${block}","item":"[^"]+","status":"Success"`, "g")) ?? []).length

/** Files in the target: temporary leftovers apart, each must be a complete copy of its source. */
const checkTarget = (ws: ReturnType<typeof workspace>) => {
  const files = filesUnder(ws.target)
  const temporary = files.filter((file) => file.endsWith(".truce-tmp"))
  const complete = files.filter((file) => !file.endsWith(".truce-tmp"))
  for (const file of complete) expect(sha256(join(ws.target, file)), file).toBe(sha256(join(ws.source, file)))
  return { temporary, complete }
}

describe("the sync demo as a process", () => {
  it("stops cleanly on one Ctrl-C, then a second run resumes and skips what was done", async () => {
    const ws = workspace()
    const first = demo(ws.dir, ["--output", "json", "--slow"])
    await first.waitFor(
      "two copies done and one in progress",
      (child) => successes(child, "copy") >= 2 && copying(child)
    )
    first.signal("SIGINT")
    const end = await first.exited
    expect(end.code).toBe(130)
    expect(first.stderr).toMatch(/interrupting: finishing \d+ items? in flight — press Ctrl-C again to force/)
    const firstId = executionIdOf(first)
    const { summary } = outcomeOf(first)
    expect(summary).toMatchObject({
      outcome: "BlockInterrupted",
      state: "Interrupted",
      exitCode: 130,
      interrupt: { source: "sigint", mode: "graceful" },
      blocks: { done: ["discover", "hash"], interrupted: ["copy"], failed: [], notStarted: ["verify"] },
      block: "copy"
    })
    const items = summary.items!
    expect(items.processed.length).toBeGreaterThanOrEqual(2)
    expect(items.processed.length + items.inFlightStopped.length + items.notStarted.length).toBe(40)
    // What was processed is there and complete; what was stopped in flight is not there at all.
    const { complete, temporary } = checkTarget(ws)
    expect(temporary).toEqual([])
    expect(complete.sort()).toEqual([...items.processed].sort())
    for (const file of items.inFlightStopped) expect(existsSync(join(ws.target, file))).toBe(false)

    const second = demo(ws.dir, ["--output", "json"])
    const resumed = await second.exited
    expect(resumed.code).toBe(0)
    expect(second.stderr).toMatch(new RegExp(`resuming ${firstId}: \\d+ items already done`))
    const last = outcomeOf(second)
    expect(last.exitCode).toBe(0)
    expect(last.summary).toMatchObject({ outcome: "Complete", resumedFrom: firstId })
    expect(last.record.resumedFrom).toBe(firstId)
    // Every line of the second run parsed as a JSON line (outcomeOf decoded them all).
    const skipped = second.jsonLines().flatMap((line) =>
      line.type === "event" && line.event._tag === "ItemProgressed" && line.event.progress.status === "Skipped"
        ? [`${line.event.progress.block}/${line.event.progress.item}`]
        : []
    )
    expect(skipped.filter((id) => id.startsWith("hash/"))).toHaveLength(40)
    expect(skipped.filter((id) => id.startsWith("copy/")).sort()).toEqual(
      items.processed.map((id) => `copy/${id}`).sort()
    )
    const after = checkTarget(ws)
    expect(after.temporary).toEqual([])
    expect(after.complete).toEqual(filesUnder(ws.source))
  })

  it("forces the stop on a second Ctrl-C and still leaves no partial file", async () => {
    const ws = workspace()
    // Large chunks at 1 MiB/s: a graceful stop would wait seconds for the chunk in flight.
    const child = demo(ws.dir, ["--output", "json", "--slow", "--size", "8MiB", "--chunk-size", "4MiB"])
    await child.waitFor("a copy in progress", copying)
    child.signal("SIGINT")
    await child.waitFor("the graceful notice", (c) => c.stderr.includes("press Ctrl-C again to force"))
    child.signal("SIGINT")
    const end = await child.exited
    expect(end.code).toBe(130)
    expect(child.stderr).toMatch(/forcing: stopping \d+ items? in flight now — press Ctrl-C again to exit at once/)
    const { summary, record } = outcomeOf(child)
    expect(summary.interrupt).toMatchObject({ source: "sigint", mode: "force" })
    expect(record.interrupts.map((request) => request.mode)).toEqual(["graceful", "force"])
    expect(summary.items!.inFlightStopped.length).toBeGreaterThan(0)
    // The stopped copies' temporary files were removed by their finalizers; every file under
    // its real name is complete (a copy forced to stop while committing may have made it).
    expect(checkTarget(ws).temporary).toEqual([])
  })

  it("treats SIGTERM as a graceful shutdown, in plain output", async () => {
    const ws = workspace()
    const child = demo(ws.dir, ["--output", "plain", "--slow"])
    await child.waitFor("copies running", (c) => /copy: done /.test(c.stdout))
    child.signal("SIGTERM")
    const end = await child.exited
    expect(end.code).toBe(130)
    expect(child.stdout).not.toContain("\u001b")
    expect(child.stdout).toMatch(/interrupting \(SIGTERM\): finishing \d+ items? in flight — press Ctrl-C to force/)
    expect(child.stdout).toMatch(/⊘ sync-demo interrupted after \d+\.\ds by SIGTERM \(shutdown, graceful\)/)
    expect(child.stdout).toContain("blocks: done: discover, hash · interrupted: copy · not started: verify")
    expect(child.stdout).toMatch(/copy: \d+ processed · \d+ stopped in flight · \d+ not started/)
    expect(child.stdout).toContain("exit code 130")
    expect(child.stdout).toContain("run the same command again to resume")
    expect(checkTarget(ws).temporary).toEqual([])
  })

  it("recovers after being killed: sweeps temporary files and resumes", async () => {
    const ws = workspace()
    const first = demo(ws.dir, ["--output", "json", "--slow", "--size", "8MiB", "--chunk-size", "1MiB"])
    await first.waitFor("a copy in progress", copying)
    const firstId = executionIdOf(first)
    first.signal("SIGKILL")
    const killed = await first.exited
    expect(killed.signal).toBe("SIGKILL")
    // Killed mid-copy: a temporary file may be left, but never a partial file under a real name.
    const left = checkTarget(ws)
    expect(left.complete.every((file) => !file.includes(".truce-tmp"))).toBe(true)

    const second = demo(ws.dir, ["--output", "json", "--size", "8MiB"])
    expect((await second.exited).code).toBe(0)
    expect(second.stderr).toContain(`resuming ${firstId}`)
    expect(outcomeOf(second).record.resumedFrom).toBe(firstId)
    const after = checkTarget(ws)
    expect(after.temporary).toEqual([])
    expect(after.complete).toEqual(filesUnder(ws.source))
  })

  it("rejects malformed flags with a clear message and exit code 2", async () => {
    const ws = workspace()
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["--files", "abc"], /not a integer/],
      [["--files", "0"], /--files: expected 1 to 20000, got 0/],
      [["--output", "xml"], /human, plain, json/],
      [["--size", "12XB"], /--size \/ --chunk-size: expected a size .* got "12XB"/],
      [["--frobnicate"], /unknown argument: '--frobnicate'/]
    ]
    await Promise.all(cases.map(async ([args, message]) => {
      const child = new Child(demoMain, ["--dir", ws.dir, ...args])
      const end = await child.exited
      expect(end.code, args.join(" ")).toBe(2)
      expect(end.stderr).toMatch(message)
      expect(end.stderr).toContain("sync-demo: invalid command line; see sync-demo --help")
    }))
    // Nothing was generated or run.
    expect(existsSync(ws.dir)).toBe(false)
  })
})
