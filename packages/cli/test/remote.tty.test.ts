/**
 * What a person sees: `truce watch` under a real pseudo-terminal (tmux) draws live bars
 * from the server's event stream, and Ctrl-C typed as a key interrupts the execution on
 * the server and ends with its summary.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { repoRoot } from "./support/child.js"
import type { TestServer } from "./support/remote.js"
import { apiKey, recordOf, startOver, startServer, truceBin } from "./support/remote.js"
import { shellQuote, Tmux } from "./support/tmux.js"

let server: TestServer
const sessions: Array<Tmux> = []

beforeAll(async () => {
  server = await startServer()
})
afterEach(() => {
  for (const session of sessions.splice(0)) session.kill()
})
afterAll(async () => {
  await server.close()
})

const has = (pattern: RegExp) => (screen: Array<string>) => screen.some((line) => pattern.test(line))
const count = (screen: Array<string>, pattern: RegExp) => screen.filter((line) => pattern.test(line)).length

describe("truce watch on a real terminal", () => {
  it("draws live bars from the server's events; Ctrl-C interrupts on the server and the summary follows", async () => {
    const { id } = await startOver(server, "steps", { items: 5, steps: 400, stepMs: 25 })
    const tmux = new Tmux()
    sessions.push(tmux)
    const command = [
      "env",
      "-u",
      "NO_COLOR",
      "-u",
      "FORCE_COLOR",
      `TRUCE_SERVER=${server.url}`,
      `TRUCE_API_KEY=${apiKey}`,
      process.execPath,
      "--import",
      "tsx",
      truceBin,
      "watch",
      id
    ].map(shellQuote).join(" ")
    tmux.start(command, { cwd: repoRoot, width: 120, height: 30 })

    const during = await tmux.waitFor(
      "bars for the items in flight",
      (screen) => has(/^\s+▸ work\s/)(screen) && count(screen, /^\s{4}▸ item-\d\s+█*[▏▎▍▌▋▊▉]?░+\s+\d+%/) === 2
    )
    expect(count(during, /steps {2}running {2}\d/)).toBe(1)
    expect(has(/^\s+▸ work\s.*\d\/5 items/)(during)).toBe(true)

    tmux.keys("C-c")
    await tmux.waitFor("the interrupt notice", has(/interrupting \(cancelled over HTTP\): finishing 2 items in flight/))
    const after = await tmux.waitFor("the end", has(/^EXIT=130$/))
    const text = after.join("\n")
    expect(text).not.toContain("^C")
    expect(text).toMatch(/⊘ steps interrupted after \d+\.\ds by an HTTP request from \S+ \(http, graceful\)/)
    expect(text).toContain("work: 0 processed · 2 stopped in flight · 3 not started")
    expect(text).toContain("exit code 130")
    // One region: its final frame once, above the summary.
    expect(count(tmux.history(), /steps {2}(running|interrupting|interrupted) {2}\d/)).toBe(1)
    expect(after.findIndex((line) => line.includes("exit code 130"))).toBeGreaterThan(
      after.findIndex((line) => /steps {2}interrupted {2}\d/.test(line))
    )
    const record = await recordOf(server, id)
    expect(record.interrupt).toMatchObject({ source: "http", mode: "graceful", reason: "Ctrl-C in truce watch" })
  })
})
