import { describe, expect, it } from "@effect/vitest"
import { Signals } from "@truce/cli"
import { CmdBlock, CmdExecution, CmdExecutionMap, type ExecutionEvent } from "@truce/core"
import { Chunk, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { EventEmitter } from "node:events"
import { untilRunning } from "./support/executions.js"

const emitter = () => {
  const events = new EventEmitter()
  return {
    events,
    emit: (signal: Signals.Signal) => events.emit(signal, signal),
    listeners: () => events.listenerCount("SIGINT") + events.listenerCount("SIGTERM")
  }
}

describe("Signals", () => {
  it("maps the first signal to a graceful request and the second to a forced one", () => {
    expect(Signals.requestFor("SIGINT", 1, "ana")).toEqual({
      source: "sigint",
      mode: "graceful",
      reason: "Ctrl-C (SIGINT)",
      requestedBy: "ana"
    })
    expect(Signals.requestFor("SIGINT", 2)).toEqual({
      source: "sigint",
      mode: "force",
      reason: "second Ctrl-C (SIGINT)"
    })
    expect(Signals.requestFor("SIGTERM", 1)).toMatchObject({ source: "shutdown", mode: "graceful" })
    expect(Signals.requestFor("SIGTERM", 2)).toMatchObject({ source: "shutdown", mode: "force" })
    expect(Signals.requestFor("SIGINT", 3)).toBeUndefined()
  })

  it.scoped("yields requests from signals and calls onExitNow on the third", () =>
    Effect.gen(function*() {
      const source = emitter()
      const exits: Array<string> = []
      const counts: Array<number> = []
      const endpoint = yield* Signals.make({
        emitter: source.events,
        requestedBy: "ana",
        onExitNow: (signal) => exits.push(signal),
        onSignal: (_, count) => counts.push(count)
      })
      const taken = yield* Effect.fork(Stream.runCollect(Stream.take(endpoint.requests, 2)))
      source.emit("SIGTERM")
      source.emit("SIGINT")
      source.emit("SIGINT")
      const requests = Chunk.toReadonlyArray(yield* Fiber.join(taken))
      expect(requests).toEqual([
        { source: "shutdown", mode: "graceful", reason: "SIGTERM received", requestedBy: "ana" },
        { source: "sigint", mode: "force", reason: "second Ctrl-C (SIGINT)", requestedBy: "ana" }
      ])
      expect(exits).toEqual(["SIGINT"])
      expect(counts).toEqual([1, 2, 3])
    }))

  it.effect("removes its listeners when the scope closes", () =>
    Effect.gen(function*() {
      const source = emitter()
      const scope = yield* Scope.make()
      yield* Signals.make({ emitter: source.events }).pipe(Scope.extend(scope))
      expect(source.listeners()).toBe(2)
      yield* Scope.close(scope, Exit.void)
      expect(source.listeners()).toBe(0)
    }))

  it.live("interrupts an execution: gracefully first, then by force", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const source = emitter()
      const endpoint = yield* Signals.make({ emitter: source.events, requestedBy: "ana" })
      // Items that never check for interrupts: only a forced stop ends them.
      const stubborn = CmdExecution.make<void>("stubborn").pipe(
        CmdExecution.andThen(CmdBlock.items({
          name: "work",
          items: () => ["a", "b", "c"],
          id: (id) => id,
          concurrency: 2,
          apply: () => Effect.never
        }))
      )
      const id = yield* map.start(stubborn, undefined, { inputs: [endpoint] })
      yield* untilRunning(id, 2)
      source.emit("SIGINT")
      const requested = (event: ExecutionEvent.ExecutionEvent) => event._tag === "InterruptRequested"
      yield* map.events(id).pipe(Stream.filter(requested), Stream.take(1), Stream.runDrain)
      expect(map.isLive(id)).toBe(true)
      expect((yield* map.get(id)).pipe((record) => record._tag === "Some" && record.value.state)).toBe("Interrupting")
      source.emit("SIGINT")
      const outcome = yield* map.await(id)
      const record = yield* map.awaitRecord(id)
      expect(outcome._tag).toBe("BlockInterrupted")
      expect(outcome._tag === "BlockInterrupted" && outcome.items).toEqual({
        processed: [],
        skipped: [],
        inFlightStopped: ["a", "b"],
        notStarted: ["c"]
      })
      expect(record.interrupts.map((request) => [request.source, request.mode])).toEqual([
        ["sigint", "graceful"],
        ["sigint", "force"]
      ])
      expect(record.interrupt).toMatchObject({ source: "sigint", mode: "force", requestedBy: "ana" })
    }).pipe(Effect.scoped, Effect.provide(CmdExecutionMap.layerMemory())))
})
