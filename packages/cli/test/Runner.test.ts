import { describe, expect, it } from "@effect/vitest"
import { Cli, JsonLines, Runner } from "@truce/cli"
import { CmdExecutionMap } from "@truce/core"
import { Cause, Effect, Exit, Fiber, FiberId, Layer, Logger, LogLevel, Option } from "effect"
import { PassThrough } from "node:stream"
import { batch, untilRunning, waiting } from "./support/executions.js"

const textSink = () => {
  const chunks: Array<string> = []
  return { write: (chunk: string) => chunks.push(chunk), isTTY: false, text: () => chunks.join("") }
}

const streamSink = () => {
  const stream = new PassThrough()
  const chunks: Array<string> = []
  stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
  return { stream, text: () => chunks.join("") }
}

/** A memory map, with item logs silenced (the JSON test keeps them: it checks where they go). */
const quiet = Layer.merge(CmdExecutionMap.layerMemory(), Logger.minimumLogLevel(LogLevel.Warning))

describe("Runner", () => {
  it.live("runs an execution with plain lines and a summary when stdout is not a terminal", () =>
    Effect.gen(function*() {
      const stdout = textSink()
      const result = yield* Runner.run(batch(), 3, { stdout, signals: false, env: {} })
      expect(result.exitCode).toBe(0)
      expect(result.outcome._tag).toBe("Complete")
      expect(result.record.state).toBe("Succeeded")
      expect(Option.isNone(result.resumed)).toBe(true)
      const text = stdout.text()
      expect(text).not.toContain("\u001b")
      expect(text).toMatch(/work: done item-0/)
      expect(text).toMatch(/✓ batch complete in/)
      expect(text.trimEnd().endsWith("exit code 0")).toBe(true)
    }).pipe(Effect.provide(quiet)))

  it.live("writes only JSON lines to stdout in JSON mode, and logs to stderr", () =>
    Effect.gen(function*() {
      const stdout = textSink()
      const stderr = streamSink()
      const result = yield* Runner.run(batch(["item-1"]), 3, {
        output: "json",
        stdout,
        stderr: stderr.stream,
        signals: false
      })
      expect(result.exitCode).toBe(1)
      const lines = stdout.text().split("\n").filter((line) => line !== "")
      const decoded = yield* Effect.forEach(lines, JsonLines.decodeLine)
      expect(decoded[decoded.length - 1]!.type).toBe("outcome")
      expect(stdout.text()).not.toContain("working on")
      expect(stderr.text()).toContain("working on item-1")
    }).pipe(Effect.provide(CmdExecutionMap.layerMemory())))

  it.live("resumes the latest interrupted run of the same command and input", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const applied = { count: 0 }
      const execution = waiting(applied)
      // First run: two items start, then an interrupt stops them; the rest never start.
      const first = yield* map.start(execution, 5)
      yield* untilRunning(first, 2)
      yield* map.interrupt(first, { source: "sigint" })
      yield* map.await(first)
      expect(applied.count).toBe(2)
      // A run with another input is not a candidate.
      expect(Option.isNone(yield* Runner.findResumable(execution, 6))).toBe(true)
      const found = yield* Runner.findResumable(execution, 5)
      expect(Option.map(found, (record) => record.id)).toEqual(Option.some(first))

      const stdout = textSink()
      const fiber = yield* Effect.fork(Runner.run(execution, 5, { stdout, signals: false, resume: "auto", env: {} }))
      // The resumed run waits for interrupts too: let its items start, then stop it.
      const second = yield* Effect.gen(function*() {
        while (true) {
          const page = yield* map.list({ where: { resumedFrom: { op: "eq", value: first } } })
          if (page.records[0] !== undefined) return page.records[0].id
          yield* Effect.sleep("5 millis")
        }
      })
      yield* untilRunning(second, 2)
      yield* map.interrupt(second, { source: "api" })
      const result = yield* Fiber.join(fiber)
      expect(result.id).toBe(second)
      expect(result.resumed).toEqual(Option.some({ from: first, itemsDone: 1 }))
      expect(result.record.resumedFrom).toBe(first)
      expect(stdout.text()).toContain(`resuming ${first}: 1 item already done`)
      // The plan step was done before: it was skipped, not run again.
      expect(stdout.text()).toContain("plan: skipped 1 item done in an earlier run")
      expect(result.exitCode).toBe(130)
    }).pipe(Effect.provide(CmdExecutionMap.layerMemory())))

  it.live("starts afresh when the latest run with that input succeeded", () =>
    Effect.gen(function*() {
      const execution = batch()
      const first = yield* Runner.run(execution, 2, { stdout: textSink(), signals: false })
      const second = yield* Runner.run(execution, 2, { stdout: textSink(), signals: false, resume: "auto" })
      expect(first.exitCode).toBe(0)
      expect(Option.isNone(second.resumed)).toBe(true)
      expect(second.id).not.toBe(first.id)
    }).pipe(Effect.provide(quiet)))

  it.live("refuses to resume an unknown id or another command's execution", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(
        Runner.run(batch(), 1, { stdout: textSink(), signals: false, resume: "no-such-id" })
      )
      expect(unknown._tag).toBe("ExecutionNotFound")
      const other = yield* Runner.run(batch(["item-0"]), 1, { stdout: textSink(), signals: false })
      const refused = yield* Effect.flip(
        Runner.run(waiting(), 1, { stdout: textSink(), signals: false, resume: other.id })
      )
      expect(refused._tag).toBe("NotResumable")
      expect(refused.message).toContain("it ran batch, not waiting")
    }).pipe(Effect.provide(quiet)))

  it("turns how a program ended into an exit code", () => {
    expect(Runner.exitCodeOf(Exit.succeed(undefined))).toBe(0)
    expect(Runner.exitCodeOf(Exit.succeed(3))).toBe(3)
    expect(Runner.exitCodeOf(Exit.fail(new Runner.CliExit({ code: 130 })))).toBe(130)
    expect(Runner.exitCodeOf(Exit.fail(Cli.ValidationError.missingValue(Cli.HelpDoc.p("--files"))))).toBe(2)
    expect(Runner.exitCodeOf(Exit.failCause(Cause.interrupt(FiberId.none)))).toBe(130)
    expect(Runner.exitCodeOf(Exit.fail(new Error("boom")))).toBe(1)
    expect(Runner.exitCodeOf(Exit.die("defect"))).toBe(1)
  })

  it.effect("exitWith passes 0 and fails with CliExit otherwise", () =>
    Effect.gen(function*() {
      yield* Runner.exitWith({ exitCode: 0 })
      const error = yield* Effect.flip(Runner.exitWith({ exitCode: 130 }))
      expect(error).toEqual(new Runner.CliExit({ code: 130 }))
    }))
})
