import { describe, expect, it } from "@effect/vitest"
import { JsonLines } from "@truce/cli"
import { CmdExecution, CmdExecutionMap, ExecutionStore } from "@truce/core"
import { Effect, Either, Layer, Logger, LogLevel } from "effect"
import { batch, untilRunning, waiting } from "./support/executions.js"

const sink = () => {
  const chunks: Array<string> = []
  return {
    stream: { write: (chunk: string) => chunks.push(chunk) },
    lines: () => chunks.join("").split("\n").filter((line) => line !== "")
  }
}

describe("JsonLines", () => {
  it.live("writes one parseable line per event and the outcome last", () =>
    Effect.gen(function*() {
      const out = sink()
      const json = JsonLines.make({ stream: out.stream })
      yield* CmdExecution.run(batch(["item-2"]), 4, { outputs: [json.output], outcomeOutputs: [json.outcome] })
      const lines = out.lines()
      const decoded = yield* Effect.forEach(lines, JsonLines.decodeLine)
      const events = decoded.filter((line) => line.type === "event")
      expect(events.length).toBe(lines.length - 1)
      expect(events[0]!.event._tag).toBe("StateChanged")
      const seqs = events.map((line) => line.event.seq)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(events[events.length - 1]!.event._tag).toBe("Finished")
      const last = decoded[decoded.length - 1]!
      expect(last.type).toBe("outcome")
      if (last.type !== "outcome") return
      expect(last.exitCode).toBe(1)
      expect(last.state).toBe("Failed")
      expect(last.outcome._tag).toBe("ItemErrors")
      expect(last.summary.errors).toEqual([
        { block: "work", item: "item-2", message: "no space left writing item-2", tag: "DiskFull" }
      ])
      expect(last.record.id).toBe(last.executionId)
      expect(last.record.state).toBe("Failed")
      // Plain JSON too: every line is an object with a "type".
      for (const line of lines) expect(["event", "outcome"]).toContain(JSON.parse(line).type)
    }).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.None))))

  it.live("carries the interrupt in the outcome line", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const out = sink()
      const json = JsonLines.make({ stream: out.stream })
      const id = yield* map.start(waiting(), 6, { outputs: [json.output], outcomeOutputs: [json.outcome] })
      yield* untilRunning(id, 2)
      yield* map.interrupt(id, { source: "sigint" })
      yield* map.await(id)
      const lines = yield* Effect.forEach(out.lines(), JsonLines.decodeLine)
      const requested = lines.find((line) => line.type === "event" && line.event._tag === "InterruptRequested")
      expect(requested?.type === "event" && requested.event._tag === "InterruptRequested" && requested.event.inFlight)
        .toBe(2)
      const last = lines[lines.length - 1]!
      expect(last.type === "outcome" && last.summary).toMatchObject({
        exitCode: 130,
        interrupt: { source: "sigint", mode: "graceful" },
        items: { inFlightStopped: ["item-0", "item-1"] }
      })
    }).pipe(Effect.provide(CmdExecutionMap.layerMemory())))

  it.live("writes every event once even when the store is slow to record the outcome", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const out = sink()
      const json = JsonLines.make({ stream: out.stream })
      const id = yield* map.start(batch(), 3, { outputs: [json.output], outcomeOutputs: [json.outcome] })
      yield* map.await(id)
      const seqs = out.lines().flatMap((line) => {
        const parsed = JSON.parse(line)
        return parsed.type === "event" ? [parsed.event.seq as number] : []
      })
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    }).pipe(
      Effect.provide(
        CmdExecutionMap.layer().pipe(
          // Writing the outcome takes a while, as a durable store's commit does.
          Layer.provide(Layer.effect(
            ExecutionStore.ExecutionStore,
            Effect.map(ExecutionStore.makeMemory, (store): ExecutionStore.ExecutionStore => ({
              ...store,
              update: (id, patch, meta) =>
                patch.outcome === undefined
                  ? store.update(id, patch, meta)
                  : Effect.zipRight(Effect.sleep("200 millis"), store.update(id, patch, meta))
            }))
          )),
          Layer.orDie
        )
      ),
      Effect.provide(Logger.minimumLogLevel(LogLevel.None))
    ))

  it.effect("rejects lines that are not JSON lines of this schema", () =>
    Effect.gen(function*() {
      for (
        const text of ["", "not json", "{}", "[1,2]", "{\"type\":\"event\"}", "{\"type\":\"log\",\"message\":\"x\"}"]
      ) {
        const result = yield* Effect.either(JsonLines.decodeLine(text))
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(result.left._tag).toBe("ParseError")
      }
    }))
})
