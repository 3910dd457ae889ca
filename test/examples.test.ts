import { execFile } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const run = (file: string) =>
  promisify(execFile)(process.execPath, ["--import", "tsx", join(root, file)], { cwd: root, timeout: 60_000 })

describe("examples run as programs", () => {
  it("examples/embed: starts three executions, interrupts one by id, awaits all", async () => {
    const { stdout } = await run("examples/embed/main.ts")
    expect(stdout).toMatch(/interrupt cache: Accepted/)
    expect(stdout).toMatch(/^web\s+complete: 6 hosts configured$/m)
    expect(stdout).toMatch(/^db\s+failed in configure: db-7 → ProvisionFailed \(host: "db-7", reason: "disk full"\)$/m)
    expect(stdout).toMatch(
      /^cache\s+interrupted in configure \(api: cache fleet postponed\): \d+ done, \d+ stopped in flight, \d+ not started$/m
    )
    expect(stdout).toMatch(/cache record: state=Interrupted, interrupt by ops/)
  })

  it("examples/readme: the README's example prints that the deploy stopped cleanly", async () => {
    const { stdout } = await run("examples/readme/main.ts")
    expect(stdout.trim().split("\n").at(-1)).toBe("true")
  })
})
