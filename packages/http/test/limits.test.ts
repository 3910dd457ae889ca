/**
 * Per-command concurrency limits (further starts wait `Queued`), timeouts (the default of
 * 8 hours, per command, disabled with "none"; time spent queued does not count).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { TruceHttp } from "../src/index.js"
import { gatedAs, newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, eventually, finished, keys, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer({
    commands: [
      TruceHttp.command(gatedAs("single"), { concurrency: 1 }),
      TruceHttp.command(gatedAs("timed"), { concurrency: 1, timeout: "1 second" }),
      TruceHttp.command(gatedAs("forever"), { timeout: "none" }),
      TruceHttp.command(gatedAs("defaulted"))
    ]
  }, { timeoutGrace: "50 millis" })
})

afterAll(async () => {
  await server.close()
})

const state = async (id: string) =>
  ((await (await as(keys.alice)(`${server.url}/executions/${id}`)).json()) as { state: string }).state

describe("limits", () => {
  it("queues starts beyond a command's concurrency limit", async () => {
    const first = newGate()
    const second = newGate()
    const a = await start(server, keys.alice, "single", { gate: first })
    await eventually(async () => (await state(a.id)) === "Running" ? true : undefined, "the first to run")
    const b = await start(server, keys.alice, "single", { gate: second })
    expect(b.state).toBe("Queued")
    expect(await state(b.id)).toBe("Queued")
    openGate(second)
    openGate(first)
    expect((await finished(server, keys.alice, a.id)).state).toBe("Succeeded")
    const record = await finished(server, keys.alice, b.id)
    expect(record.state).toBe("Succeeded")
    // b ran only after a had finished
    expect(Date.parse(String(record.startedAt))).toBeGreaterThanOrEqual(
      Date.parse(String((await finished(server, keys.alice, a.id)).finishedAt))
    )
  })

  it("times out per command, counting from the start of the run, not the time queued", async () => {
    const held = newGate()
    const ready = newGate()
    openGate(ready)
    const a = await start(server, keys.alice, "timed", { gate: held })
    const b = await start(server, keys.alice, "timed", { gate: ready })
    const timedOut = await finished(server, keys.alice, a.id)
    expect(timedOut.state).toBe("TimedOut")
    expect(timedOut.interrupt).toMatchObject({ source: "timeout" })
    // b waited about as long as the timeout in the queue, then ran: its own timer started then.
    expect((await finished(server, keys.alice, b.id)).state).toBe("Succeeded")
    openGate(held)
  })

  it("applies the default timeout of 8 hours, and none when disabled", async () => {
    const gate = newGate()
    const defaulted = await start(server, keys.alice, "defaulted", { gate })
    expect(defaulted.timeoutMs).toBe(8 * 3600 * 1000)
    const forever = await start(server, keys.alice, "forever", { gate })
    expect(forever.timeoutMs).toBeUndefined()
    openGate(gate)
  })
})
