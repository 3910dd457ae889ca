import { describe, expect, it } from "@effect/vitest"
import { Format, OutcomeSummary } from "@truce/cli"
import { CmdExecutionMap } from "@truce/core"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { batch, boundary, failing, untilRunning, waiting } from "./support/executions.js"

const finish = (id: string) =>
  Effect.gen(function*() {
    const map = yield* CmdExecutionMap.CmdExecutionMap
    const outcome = yield* map.await(id)
    const record = yield* map.awaitRecord(id)
    return { outcome, record, summary: OutcomeSummary.summarize(outcome, record) }
  })

const quiet = Layer.merge(CmdExecutionMap.layerMemory(), Logger.minimumLogLevel(LogLevel.Warning))

describe("OutcomeSummary", () => {
  it.live("summarises a complete run", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const { summary } = yield* finish(yield* map.start(batch(), 3))
      expect(summary).toMatchObject({
        command: "batch",
        state: "Succeeded",
        outcome: "Complete",
        exitCode: 0,
        blocks: { done: ["plan", "work", "report"], interrupted: [], failed: [], notStarted: [] },
        errors: []
      })
      const text = OutcomeSummary.lines(summary).join("\n")
      expect(text).toMatch(/^✓ batch complete in \d+\.\ds/)
      expect(text).toContain("blocks: done: plan, work, report")
      expect(text).toContain("exit code 0")
    }).pipe(Effect.provide(quiet)))

  it.live("lists item errors with their messages", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const { summary } = yield* finish(yield* map.start(batch(["item-1", "item-3"]), 5))
      expect(summary.exitCode).toBe(1)
      expect(summary.outcome).toBe("ItemErrors")
      expect(summary.blocks).toEqual({ done: ["plan"], interrupted: [], failed: ["work"], notStarted: ["report"] })
      expect(summary.errors).toEqual([
        { block: "work", item: "item-1", message: "no space left writing item-1", tag: "DiskFull" },
        { block: "work", item: "item-3", message: "no space left writing item-3", tag: "DiskFull" }
      ])
      expect(summary.items?.processed).toHaveLength(5)
      const text = OutcomeSummary.lines(summary).join("\n")
      expect(text).toContain("✗ batch failed")
      expect(text).toContain("errors (2):")
      expect(text).toContain("✗ item-1: no space left writing item-1")
      expect(text).toContain("exit code 1")
    }).pipe(Effect.provide(quiet)))

  it.live("lists what was processed, stopped in flight and not started when interrupted inside a block", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const id = yield* map.start(waiting(), 30)
      yield* untilRunning(id, 2)
      yield* map.interrupt(id, { source: "sigint", reason: "Ctrl-C (SIGINT)" })
      const { summary } = yield* finish(id)
      expect(summary).toMatchObject({
        state: "Interrupted",
        outcome: "BlockInterrupted",
        exitCode: 130,
        interrupt: { source: "sigint", mode: "graceful", reason: "Ctrl-C (SIGINT)" },
        blocks: { done: ["plan"], interrupted: ["work"], failed: [], notStarted: [] },
        block: "work"
      })
      expect(summary.items?.inFlightStopped).toEqual(["item-0", "item-1"])
      expect(summary.items?.notStarted).toHaveLength(28)
      const lines = OutcomeSummary.lines(summary, { width: 80, maxIds: 5 })
      const text = lines.join("\n")
      expect(text).toMatch(/^⊘ waiting interrupted after \d+\.\ds by Ctrl-C \(sigint, graceful\)/)
      expect(text).toContain("blocks: done: plan · interrupted: work")
      expect(text).toContain("work: 0 processed · 2 stopped in flight · 28 not started")
      expect(text).toContain("stopped in flight: item-0, item-1")
      expect(text).toContain("not started: item-2, item-3, item-4, item-5, item-6 … and 23 more")
      expect(text).toContain("exit code 130")
      for (const line of lines) expect(Format.width(line)).toBeLessThanOrEqual(79)
    }).pipe(Effect.provide(quiet)))

  it.live("reports a stop at a block boundary and a failed block", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const stopped = yield* map.start(boundary, undefined)
      yield* untilRunning(stopped, 1)
      yield* map.interrupt(stopped, { source: "shutdown", reason: "SIGTERM received" })
      const interrupted = yield* finish(stopped)
      expect(interrupted.summary).toMatchObject({
        outcome: "ExecutionInterrupted",
        exitCode: 130,
        blocks: { done: ["first"], notStarted: ["second"] },
        interrupt: { source: "shutdown" }
      })
      expect(OutcomeSummary.lines(interrupted.summary)[0]).toMatch(/by SIGTERM \(shutdown, graceful\)$/)

      const failed = yield* finish(yield* map.start(failing, undefined))
      expect(failed.summary).toMatchObject({
        outcome: "BlockFailed",
        exitCode: 1,
        blocks: { done: [], failed: ["connect"], notStarted: [] },
        errors: [{ block: "connect", message: "the database is read-only", tag: "DiskFull" }]
      })
      expect(OutcomeSummary.lines(failed.summary).join("\n")).toContain("✗ connect: the database is read-only")
    }).pipe(Effect.provide(quiet)))

  it("maps outcomes to exit codes", () => {
    expect(OutcomeSummary.exitCode({ _tag: "Complete", value: 1, blocksProcessed: [], blocksNotProcessed: [] })).toBe(0)
    expect(OutcomeSummary.ExitCodes).toEqual({ complete: 0, failed: 1, interrupted: 130 })
  })
})
