/**
 * Per-command concurrency limits (further starts wait `Queued`), timeouts (the default of
 * 8 hours, per command, disabled with "none"; time spent queued does not count unless the
 * command says so) and the retention of finished records (24 hours by default).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  Access,
  CmdExecution,
  CmdExecutionMap,
  ExecutionRecord,
  ExecutionStore,
  Interrupt,
  Progress
} from "@truce/core"
import { Effect, Layer, Option } from "effect"
import { TruceHttp } from "../src/index.js"
import { echo, gatedAs, newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, eventually, finished, keys, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer({
    commands: [
      TruceHttp.command(gatedAs("single"), { concurrency: 1 }),
      TruceHttp.command(gatedAs("timed"), { concurrency: 1, timeout: "1 second" }),
      TruceHttp.command(gatedAs("timedQueue"), { concurrency: 1, timeout: "1 second", timeoutIncludesQueue: true }),
      TruceHttp.command(gatedAs("forever"), { timeout: "none" }),
      TruceHttp.command(gatedAs("defaulted")),
      TruceHttp.command(echo)
    ]
  }, { timeoutGrace: "50 millis" })
})

afterAll(async () => {
  await server.close()
})

const state = async (id: string) =>
  ((await (await as(keys.alice)(`${server.url}/executions/${id}`)).json()) as { state: string }).state

const millis = (value: unknown) => Date.parse(String(value))

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
    expect(millis(record.startedAt)).toBeGreaterThanOrEqual(
      millis((await finished(server, keys.alice, a.id)).finishedAt)
    )
  })

  it("times out counting from the start of the run, not the time queued (unless the command says so)", async () => {
    // For each command: `a` holds the only slot until its 1 s timeout; `b` waits behind it, never let through.
    const run = async (command: string) => {
      const a = await start(server, keys.alice, command, { gate: newGate() })
      const b = await start(server, keys.alice, command, { gate: newGate() })
      expect(b.state).toBe("Queued")
      return { a: await finished(server, keys.alice, a.id), b: await finished(server, keys.alice, b.id) }
    }
    const [runTime, withQueue] = await Promise.all([run("timed"), run("timedQueue")])
    for (const { a, b } of [runTime, withQueue]) {
      expect(a.state).toBe("TimedOut")
      expect(a.interrupt).toMatchObject({ source: "timeout" })
      expect(b.state).toBe("TimedOut")
      expect(b.interrupt).toMatchObject({ source: "timeout" })
    }
    // Queue time not counted: b started once a had finished, then still got its full second of running.
    expect(millis(runTime.b.startedAt)).toBeGreaterThanOrEqual(millis(runTime.a.finishedAt) - 5)
    expect(millis(runTime.b.finishedAt) - millis(runTime.b.startedAt)).toBeGreaterThanOrEqual(990)
    // Counted: b's second was used up in the queue, so it timed out as soon as (or before) it ran.
    const ran = withQueue.b.startedAt === undefined ? 0 : millis(withQueue.b.finishedAt) - millis(withQueue.b.startedAt)
    expect(ran).toBeLessThan(990)
  })

  it("applies the default timeout of 8 hours, and none when disabled", async () => {
    const gate = newGate()
    const defaulted = await start(server, keys.alice, "defaulted", { gate })
    expect(defaulted.timeoutMs).toBe(8 * 3600 * 1000)
    const forever = await start(server, keys.alice, "forever", { gate })
    expect(forever.timeoutMs).toBeUndefined()
    openGate(gate)
  })

  it("enforces the server's defaultTimeout on commands that set none", async () => {
    const short = await startServer({
      commands: [TruceHttp.command(gatedAs("defaulted"))],
      defaultTimeout: "300 millis"
    }, { timeoutGrace: "50 millis" })
    try {
      const gate = newGate()
      const started = await start(short, keys.alice, "defaulted", { gate })
      expect(started.timeoutMs).toBe(300)
      const record = await finished(short, keys.alice, started.id)
      expect(record.state).toBe("TimedOut")
      expect(record.interrupt).toMatchObject({ source: "timeout" })
      openGate(gate)
    } finally {
      await short.close()
    }
  })
})

describe("retention", () => {
  it("keeps finished records 24 hours by default", async () => {
    const started = await start(server, keys.alice, "echo", { message: "kept" })
    expect(started.expiresAt).toBeUndefined()
    const record = await finished(server, keys.alice, started.id)
    expect(millis(record.expiresAt) - millis(record.finishedAt)).toBe(24 * 3600 * 1000)
  })

  it("purges finished records once their retention ends: they answer 404 and leave the lists", async () => {
    const brief = await startServer({ commands: [TruceHttp.command(echo)] }, {
      retention: "200 millis",
      housekeepingInterval: "50 millis"
    })
    try {
      const started = await start(brief, keys.alice, "echo", { message: "brief" })
      const record = await finished(brief, keys.alice, started.id)
      expect(millis(record.expiresAt) - millis(record.finishedAt)).toBe(200)
      await eventually(async () => {
        const response = await as(keys.alice)(`${brief.url}/executions/${started.id}`)
        return response.status === 404 ? true : undefined
      }, "the record to be purged")
      const listed = await (await as(keys.alice)(`${brief.url}/executions?id=${started.id}`)).json() as {
        records: ReadonlyArray<unknown>
      }
      expect(listed.records).toEqual([])
    } finally {
      await brief.close()
    }
  })
})

describe("limits after a restart", () => {
  // Two executions left Running by a process that died; the map resumes both on start.
  const resumeAfterCrash = (
    commands: (execution: CmdExecution.AnyNoContext) => ReadonlyArray<CmdExecution.AnyNoContext>
  ) =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.makeMemory
      const execution = CmdExecution.withOptions(gatedAs("nightly"), { resumable: true })
      const gate = newGate()
      const now = new Date()
      const lost = (): ExecutionRecord.ExecutionRecord => ({
        id: ExecutionRecord.makeId(),
        command: "nightly",
        state: "Running",
        createdAt: now,
        updatedAt: now,
        startedAt: now,
        permissions: Access.ownerOnly,
        input: { gate },
        blocks: ["wait"],
        progress: Progress.emptySummary(1, now.getTime()),
        interrupts: [],
        strategy: Interrupt.FinishCurrent,
        cancellable: true,
        labels: {},
        resumable: true,
        runner: "999:gone"
      })
      const crashed = [lost(), lost()]
      for (const record of crashed) yield* store.insert(record)
      const layer = CmdExecutionMap.layer({ commands: commands(execution) }).pipe(
        Layer.provide(Layer.succeed(ExecutionStore.ExecutionStore, store))
      )
      return yield* Effect.gen(function*() {
        const map = yield* CmdExecutionMap.CmdExecutionMap
        const resumed = (yield* map.list({
          where: { resumedFrom: { op: "in", value: crashed.map((record) => record.id) } }
        })).records
        expect(resumed.length).toBe(2)
        const statesNow = Effect.forEach(resumed, (record) =>
          Effect.map(map.get(record.id), (found) => Option.getOrThrow(found).state))
        // Poll until the picture settles: both Running, or one Running for 20 more polls (the
        // other then waits its turn; the gate stays closed, so the first cannot finish meanwhile).
        let states = yield* statesNow
        let pollsWithOne = 0
        for (let polls = 0; polls < 500; polls++) {
          const running = states.filter((state) =>
            state === "Running"
          ).length
          if (running === 2 || (running === 1 && ++pollsWithOne > 20)) break
          yield* Effect.sleep("10 millis")
          states = yield* statesNow
        }
        openGate(gate)
        for (const record of resumed) yield* map.await(record.id)
        return [...states].sort()
      }).pipe(Effect.provide(layer))
    })

  it.live("executions resumed by the map keep the route's concurrency (TruceHttp.executions)", () =>
    Effect.gen(function*() {
      const route = (execution: CmdExecution.AnyNoContext) => TruceHttp.command(execution, { concurrency: 1 })
      // The routes' executions as the map's commands: one runs, the other waits its turn.
      expect(yield* resumeAfterCrash((execution) => TruceHttp.executions([route(execution)])))
        .toEqual(["Queued", "Running"])
      // The bare execution (the limit lives on the route only): both run at once.
      expect(yield* resumeAfterCrash((execution) => [execution])).toEqual(["Running", "Running"])
    }))
})
