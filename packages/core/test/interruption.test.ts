import { describe, expect, it } from "@effect/vitest"
import { CmdBlock, CmdExecution, CmdExecutionMap, CmdOutcome, ExecutionStore, Interrupt } from "@truce/core"
import { Deferred, Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import { Gates, ids, range, settle, threeBlocks, waitFor } from "./helpers.js"

const withMap = <A, E>(effect: (map: CmdExecutionMap.CmdExecutionMap) => Effect.Effect<A, E, never>) =>
  Effect.flatMap(CmdExecutionMap.CmdExecutionMap, effect).pipe(Effect.provide(CmdExecutionMap.layerMemory()))

const accepted = (result: Interrupt.InterruptResult) => {
  expect(result._tag).toBe("Accepted")
}

describe("stopping point: between items (6 items, concurrency 1; items 0,1 done, item 2 in flight)", () => {
  const scenario = (strategy: Interrupt.InterruptStrategy, mode: Interrupt.InterruptMode = "graceful") =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 6, strategy }), 6)
        yield* gates.open(0, 1)
        yield* waitFor(() => gates.started.has(2), "item 2 started")
        accepted(yield* map.interrupt(id, { source: "api", mode, reason: "test", requestedBy: "tester" }))
        yield* gates.open(...range(6))
        const outcome = yield* map.await(id)
        const record = Option.getOrThrow(yield* map.get(id))
        return { outcome, record, gates }
      })
    )

  it.live("FinishCurrent: the item in flight finishes, nothing new starts", () =>
    Effect.gen(function*() {
      const { gates, outcome, record } = yield* scenario(Interrupt.FinishCurrent)
      expect(outcome._tag).toBe("BlockInterrupted")
      if (outcome._tag !== "BlockInterrupted") return
      expect(outcome.block).toBe("work")
      expect(outcome.items).toEqual({
        processed: ids(0, 1, 2),
        skipped: [],
        inFlightStopped: [],
        notStarted: ids(3, 4, 5)
      })
      expect(outcome.partial.items).toEqual({ "item-0": 0, "item-1": 10, "item-2": 20 })
      expect(outcome.partial.output).toEqual(Option.some(range(6)))
      expect(outcome.blocksProcessed).toEqual(["first"])
      expect(outcome.blocksNotProcessed).toEqual(["third"])
      expect(outcome.interrupt.source).toBe("api")
      expect(outcome.interrupt.reason).toBe("test")
      expect(outcome.interrupt.requestedBy).toBe("tester")
      expect([...gates.started].sort()).toEqual([0, 1, 2])
      expect(record.state).toBe("Interrupted")
      expect(record.interrupt?.source).toBe("api")
    }))

  it.live("PollNextN(2): two more items start after the request", () =>
    Effect.gen(function*() {
      const { gates, outcome } = yield* scenario(Interrupt.PollNextN({ n: 2 }))
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items.processed).toEqual(ids(0, 1, 2, 3, 4))
      expect(outcome.items.notStarted).toEqual(ids(5))
      expect(outcome.items.inFlightStopped).toEqual([])
      expect(gates.started.has(5)).toBe(false)
    }))

  it.live("PollNextN(0) behaves as FinishCurrent", () =>
    Effect.gen(function*() {
      const { outcome } = yield* scenario(Interrupt.PollNextN({ n: 0 }))
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items.processed).toEqual(ids(0, 1, 2))
      expect(outcome.items.notStarted).toEqual(ids(3, 4, 5))
    }))

  it.live("IgnoreInterruptions: the block runs to its end, the execution stops at the next block boundary", () =>
    Effect.gen(function*() {
      const { gates, outcome, record } = yield* scenario(Interrupt.IgnoreInterruptions)
      expect(outcome._tag).toBe("ExecutionInterrupted")
      if (outcome._tag !== "ExecutionInterrupted") return
      expect(outcome.blocksProcessed).toEqual(["first", "work"])
      expect(outcome.blocksNotProcessed).toEqual(["third"])
      expect(outcome.partial.output).toEqual(Option.some(range(6).map((i) => i * 10)))
      expect(gates.finished.size).toBe(6)
      expect(record.state).toBe("Interrupted")
    }))

  it.live("Immediate: the item in flight is stopped now, its finalizer runs", () =>
    Effect.gen(function*() {
      const { gates, outcome } = yield* scenario(Interrupt.Immediate)
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items).toEqual({
        processed: ids(0, 1),
        skipped: [],
        inFlightStopped: ids(2),
        notStarted: ids(3, 4, 5)
      })
      expect(gates.finished.has(2)).toBe(false)
      expect(gates.finalized.has(2)).toBe(true)
    }))

  it.live("a forced request under FinishCurrent stops the item in flight", () =>
    Effect.gen(function*() {
      const { outcome } = yield* scenario(Interrupt.FinishCurrent, "force")
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items.inFlightStopped).toEqual(ids(2))
      expect(outcome.interrupt.mode).toBe("force")
    }))

  it.live("a block strategy overrides the execution strategy", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const execution = threeBlocks(gates, {
          items: 4,
          strategy: Interrupt.FinishCurrent,
          blockStrategy: Interrupt.IgnoreInterruptions
        })
        const id = yield* map.start(execution, 4)
        yield* gates.open(0)
        yield* waitFor(() => gates.started.has(1), "item 1 started")
        accepted(yield* map.interrupt(id, { source: "api" }))
        yield* gates.open(...range(4))
        const outcome = yield* map.await(id)
        expect(outcome._tag).toBe("ExecutionInterrupted")
        expect(gates.finished.size).toBe(4)
      })
    ))
})

describe("stopping point: before a block", () => {
  const gatedFirst = (gates: Gates, strategy: Interrupt.InterruptStrategy) =>
    CmdExecution.make<number>("gated-first", { strategy }).pipe(
      CmdExecution.andThen(CmdBlock.step({
        name: "first",
        run: (n: number, ctx) => Effect.as(gates.apply(100, ctx), range(n))
      })),
      CmdExecution.andThen(CmdBlock.items({
        name: "work",
        items: (list: ReadonlyArray<number>) => list,
        id: (i) => `item-${i}`,
        apply: gates.apply
      })),
      CmdExecution.andThen(CmdBlock.step({ name: "third", run: () => Effect.void }))
    )

  const scenario = (strategy: Interrupt.InterruptStrategy) =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(gatedFirst(gates, strategy), 3)
        yield* waitFor(() => gates.started.has(100), "first started")
        accepted(yield* map.interrupt(id, { source: "api" }))
        yield* gates.open(100, ...range(3))
        return { outcome: yield* map.await(id), gates }
      })
    )

  for (
    const strategy of [Interrupt.FinishCurrent, Interrupt.IgnoreInterruptions] as const
  ) {
    it.live(`${strategy._tag}: the step in flight finishes, the execution stops before the next block`, () =>
      Effect.gen(function*() {
        const { gates, outcome } = yield* scenario(strategy)
        if (outcome._tag !== "ExecutionInterrupted") return expect.fail(outcome._tag)
        expect(outcome.blocksProcessed).toEqual(["first"])
        expect(outcome.blocksNotProcessed).toEqual(["work", "third"])
        expect(outcome.partial.output).toEqual(Option.some([0, 1, 2]))
        expect(gates.started.size).toBe(1)
      }))
  }

  it.live("Immediate: the step in flight is stopped", () =>
    Effect.gen(function*() {
      const { outcome } = yield* scenario(Interrupt.Immediate)
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.block).toBe("first")
      expect(outcome.items.inFlightStopped).toEqual(["first"])
      expect(outcome.blocksNotProcessed).toEqual(["work", "third"])
    }))

  it.live("PollNextN(1): the block boundary counts as one poll, the next item start stops", () =>
    Effect.gen(function*() {
      const { gates, outcome } = yield* scenario(Interrupt.PollNextN({ n: 1 }))
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.block).toBe("work")
      expect(outcome.blocksProcessed).toEqual(["first"])
      expect(outcome.items.notStarted).toEqual(ids(0, 1, 2))
      expect(gates.started.size).toBe(1)
    }))

  it.live("PollNextN(3): the boundary and two item starts, then stop", () =>
    Effect.gen(function*() {
      const { outcome } = yield* scenario(Interrupt.PollNextN({ n: 3 }))
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items.processed).toEqual(ids(0, 1))
      expect(outcome.items.notStarted).toEqual(ids(2))
    }))
})

describe("stopping point: inside an item (cooperative checks)", () => {
  const cooperative = (strategy: Interrupt.InterruptStrategy, seen: { interrupted: Array<boolean> }) => {
    const first = Deferred.unsafeMake<void>(undefined as never)
    const rest = Deferred.unsafeMake<void>(undefined as never)
    const started = Deferred.unsafeMake<void>(undefined as never)
    const execution = CmdExecution.make("cooperative", { strategy }).pipe(
      CmdExecution.andThen(CmdBlock.items({
        name: "loop",
        items: () => ["a"],
        id: (x) => x,
        apply: (_item, ctx) =>
          Effect.gen(function*() {
            yield* Deferred.succeed(started, undefined)
            yield* Deferred.await(first)
            seen.interrupted.push(yield* ctx.interrupted)
            yield* ctx.checkpoint
            yield* Deferred.await(rest)
            return "done"
          })
      }))
    )
    return { execution, first, rest, started }
  }

  for (const strategy of [Interrupt.FinishCurrent, Interrupt.PollNextN({ n: 5 })]) {
    it.live(`${strategy._tag}: the item stops at its checkpoint and is listed as stopped in flight`, () =>
      withMap((map) =>
        Effect.gen(function*() {
          const seen = { interrupted: [] as Array<boolean> }
          const { execution, first, started } = cooperative(strategy, seen)
          const id = yield* map.start(execution, undefined)
          yield* Deferred.await(started)
          accepted(yield* map.interrupt(id, { source: "api" }))
          yield* Deferred.succeed(first, undefined)
          const outcome = yield* map.await(id)
          if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
          expect(outcome.items.inFlightStopped).toEqual(["a"])
          expect(seen.interrupted).toEqual([true])
        })
      ))
  }

  it.live("IgnoreInterruptions: checks report no interrupt; the item completes", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const seen = { interrupted: [] as Array<boolean> }
        const { execution, first, rest, started } = cooperative(Interrupt.IgnoreInterruptions, seen)
        const id = yield* map.start(execution, undefined)
        yield* Deferred.await(started)
        accepted(yield* map.interrupt(id, { source: "api" }))
        yield* Deferred.succeed(first, undefined)
        yield* Deferred.succeed(rest, undefined)
        const outcome = yield* map.await(id)
        // The last block completed: nothing was left to stop.
        expect(outcome._tag).toBe("Complete")
        expect(seen.interrupted).toEqual([false])
      })
    ))

  it.live("whenInterrupted completes with the request; the AbortSignal aborts on a forced stop", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const observed: { request?: Interrupt.InterruptRequest; aborted?: boolean; reason?: unknown } = {}
        const started = yield* Deferred.make<void>()
        const execution = CmdExecution.make("signals").pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "wait",
            run: (_: void, ctx) =>
              Effect.gen(function*() {
                const signal = ctx.signal
                signal.addEventListener("abort", () => {
                  observed.aborted = true
                  observed.reason = signal.reason
                })
                yield* Deferred.succeed(started, undefined)
                observed.request = yield* ctx.whenInterrupted
                // Pretend to be slow non-Effect code that only stops when aborted.
                yield* Effect.never
              })
          }))
        )
        const id = yield* map.start(execution, undefined)
        yield* Deferred.await(started)
        accepted(yield* map.interrupt(id, { source: "http", reason: "first" }))
        yield* waitFor(() => observed.request !== undefined, "whenInterrupted")
        expect(observed.request?.reason).toBe("first")
        expect(observed.aborted).toBeUndefined()
        const second = yield* map.interrupt(id, { source: "http", reason: "second" })
        expect(second._tag === "Accepted" && second.escalated).toBe(true)
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.inFlightStopped).toEqual(["wait"])
        expect(observed.aborted).toBe(true)
        expect((observed.reason as Interrupt.InterruptRequest).mode).toBe("force")
      })
    ))
})

describe("stopping point: while queued", () => {
  it.live("an execution interrupted while queued never runs", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const other = new Gates()
        const limited = threeBlocks(gates, { items: 1, name: "limited" }).pipe(
          CmdExecution.withOptions({ concurrency: 1 })
        )
        const first = yield* map.start(limited, 1)
        yield* waitFor(() => gates.started.has(0), "first running")
        const second = yield* map.start(threeBlocks(other, { items: 1, name: "limited" }), 1)
        expect(Option.getOrThrow(yield* map.get(second)).state).toBe("Queued")
        accepted(yield* map.interrupt(second, { source: "api", reason: "not needed" }))
        const outcome = yield* map.await(second)
        if (outcome._tag !== "ExecutionInterrupted") return expect.fail(outcome._tag)
        expect(outcome.blocksProcessed).toEqual([])
        expect(outcome.blocksNotProcessed).toEqual(["first", "work", "third"])
        expect(other.started.size).toBe(0)
        yield* gates.open(0)
        expect((yield* map.await(first))._tag).toBe("Complete")
        const transitions = yield* map.transitions(second)
        expect(transitions.map((t) => t.to)).toEqual(["Queued", "Interrupted"])
      })
    ))
})

describe("escalation", () => {
  it.live("a second request turns a graceful stop into an immediate one", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 4, concurrency: 2 }), 4)
        yield* waitFor(() => gates.started.has(0) && gates.started.has(1), "two in flight")
        const first = yield* map.interrupt(id, { source: "sigint" })
        expect(first._tag === "Accepted" && !first.escalated).toBe(true)
        expect(Option.getOrThrow(yield* map.get(id)).state).toBe("Interrupting")
        const second = yield* map.interrupt(id, { source: "sigint" })
        expect(second._tag === "Accepted" && second.escalated).toBe(true)
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.inFlightStopped).toEqual(ids(0, 1))
        expect(outcome.items.notStarted).toEqual(ids(2, 3))
        expect(outcome.interrupt.mode).toBe("force")
        expect(outcome.interrupt.source).toBe("sigint")
        const record = Option.getOrThrow(yield* map.get(id))
        expect(record.interrupts.map((i) => i.mode)).toEqual(["graceful", "graceful"])
        expect(gates.finalized).toEqual(new Set([0, 1]))
      })
    ))

  it.effect("the grace period turns a graceful stop into an immediate one", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const execution = threeBlocks(gates, { items: 3 }).pipe(
          CmdExecution.withOptions({ graceTimeout: "5 seconds" })
        )
        const id = yield* map.start(execution, 3)
        yield* settle(() => gates.started.has(0), "item 0 started")
        accepted(yield* map.interrupt(id, { source: "api" }))
        yield* TestClock.adjust("4 seconds")
        expect(map.isLive(id)).toBe(true)
        yield* TestClock.adjust("1 second")
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.inFlightStopped).toEqual(ids(0))
        expect(outcome.interrupt.mode).toBe("force")
        expect(outcome.interrupt.reason).toContain("grace period")
        const record = Option.getOrThrow(yield* map.get(id))
        expect(record.interrupts.length).toBe(2)
      })
    ))

  it.live("an uninterruptible region in an item completes before a forced stop takes effect", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const log: Array<string> = []
        const execution = CmdExecution.make("critical").pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "commit",
            run: () =>
              Effect.uninterruptible(Effect.gen(function*() {
                yield* Deferred.succeed(started, undefined)
                yield* Deferred.await(release)
                log.push("committed")
              })).pipe(
                Effect.zipRight(Effect.sync(() => log.push("after"))),
                Effect.ensuring(Effect.sync(() => log.push("finalizer")))
              )
          }))
        )
        const id = yield* map.start(execution, undefined)
        yield* Deferred.await(started)
        accepted(yield* map.interrupt(id, { source: "api", mode: "force" }))
        yield* Effect.sleep("20 millis")
        expect(map.isLive(id)).toBe(true)
        yield* Deferred.succeed(release, undefined)
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.inFlightStopped).toEqual(["commit"])
        expect(log).toEqual(["committed", "finalizer"])
      })
    ))
})

describe("interruption from outside the execution's fiber", () => {
  it.live("closing the map's scope interrupts with source shutdown; the outcome is recorded", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.makeMemory
      const gates = new Gates()
      const scope = yield* Scope.make()
      const map = yield* CmdExecutionMap.make().pipe(
        Effect.provideService(ExecutionStore.ExecutionStore, store),
        Scope.extend(scope)
      )
      const presented: Array<string> = []
      const id = yield* map.start(threeBlocks(gates, { items: 5, concurrency: 2 }), 5, {
        outcomeOutputs: [{ name: "test", present: (outcome) => Effect.sync(() => presented.push(outcome._tag)) }]
      })
      yield* gates.open(0)
      yield* waitFor(() => gates.started.has(1) && gates.started.has(2), "items 1 and 2 in flight")
      yield* Scope.close(scope, Exit.void)
      const record = Option.getOrThrow(yield* store.get(id))
      expect(record.state).toBe("Interrupted")
      expect(record.interrupt?.source).toBe("shutdown")
      expect(record.interrupt?.mode).toBe("force")
      const outcome = CmdOutcome.decodeUnknown(record.outcome as CmdOutcome.Encoded)
      if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
      expect(outcome.items).toEqual({
        processed: ids(0),
        skipped: [],
        inFlightStopped: ids(1, 2),
        notStarted: ids(3, 4)
      })
      expect(gates.finalized).toEqual(new Set([0, 1, 2]))
      expect(presented).toEqual(["BlockInterrupted"])
      const states = yield* store.itemStates(id)
      expect(states.filter((s) => s.block === "work").map((s) => [s.item, s.status]).sort()).toEqual([
        ["item-0", "Success"],
        ["item-1", "Interrupted"],
        ["item-2", "Interrupted"]
      ])
    }))

  it.live("interrupting the fiber of CmdExecution.run still runs finalizers and presents the outcome", () =>
    Effect.gen(function*() {
      const gates = new Gates()
      const presented: Array<CmdOutcome.CmdOutcome<unknown, unknown>> = []
      const fiber = yield* CmdExecution.run(threeBlocks(gates, { items: 3 }), 3, {
        outcomeOutputs: [{ name: "test", present: (outcome) => Effect.sync(() => presented.push(outcome)) }]
      }).pipe(Effect.fork)
      yield* waitFor(() => gates.started.has(0), "item 0 in flight")
      yield* Fiber.interrupt(fiber)
      expect(gates.finalized.has(0)).toBe(true)
      expect(presented.length).toBe(1)
      const outcome = presented[0] as CmdOutcome.CmdOutcome<unknown, unknown>
      expect(CmdOutcome.isInterrupted(outcome)).toBe(true)
      expect(Option.getOrThrow(CmdOutcome.interruptOf(outcome)).source).toBe("shutdown")
    }))
})

describe("interrupts are per execution, never sticky", () => {
  it.live("interrupting one execution leaves others, and later runs, alone", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const a = new Gates()
        const b = new Gates()
        const execA = threeBlocks(a, { items: 2, name: "same" })
        const execB = threeBlocks(b, { items: 2, name: "same" })
        const idA = yield* map.start(execA, 2)
        const idB = yield* map.start(execB, 2)
        yield* waitFor(() => a.started.has(0) && b.started.has(0), "both running")
        accepted(yield* map.interrupt(idA, { source: "api" }))
        yield* a.open(0, 1)
        yield* b.open(0, 1)
        expect((yield* map.await(idA))._tag).toBe("BlockInterrupted")
        expect((yield* map.await(idB))._tag).toBe("Complete")
        const c = new Gates()
        yield* c.open(0, 1)
        const again = yield* map.run(threeBlocks(c, { items: 2, name: "same" }), 2)
        expect(again._tag).toBe("Complete")
      })
    ))
})
