import { describe, expect, it } from "@effect/vitest"
import { CmdBlock, CmdExecution, CmdExecutionMap, Endpoint, ExecutionEvent, Progress } from "@truce/core"
import { Chunk, Deferred, Effect, Option, Stream, TestClock } from "effect"
import { Gates, range, settle, threeBlocks, waitFor } from "./helpers.js"

const withMap = <A, E>(
  effect: (map: CmdExecutionMap.CmdExecutionMap) => Effect.Effect<A, E, never>,
  options?: CmdExecutionMap.Options
) => Effect.flatMap(CmdExecutionMap.CmdExecutionMap, effect).pipe(Effect.provide(CmdExecutionMap.layerMemory(options)))

const counting = (n: number, steps: number) =>
  CmdExecution.make("counting").pipe(
    CmdExecution.andThen(CmdBlock.items({
      name: "count",
      items: () => range(n),
      id: (i) => `i${i}`,
      concurrency: 4,
      apply: (_i, ctx) =>
        Effect.gen(function*() {
          yield* ctx.progress.setLimit(Progress.Steps(steps))
          for (let s = 0; s < steps; s++) {
            yield* ctx.progress.inc(1)
            if (s % 5 === 0) yield* ctx.progress.message(`step ${s}`)
          }
          return steps
        })
    }))
  )

describe("events", () => {
  it.live("sequence numbers rise by one from 1; the stream starts Queued and ends with Finished", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const collected = Endpoint.collect()
        const outcome = yield* map.run(counting(5, 10), undefined, { outputs: [collected.output] })
        expect(outcome._tag).toBe("Complete")
        const seqs = collected.events.map((e) => e.seq)
        expect(seqs).toEqual(range(seqs.length).map((i) => i + 1))
        expect(collected.events[0]).toMatchObject({ _tag: "StateChanged", state: "Queued" })
        expect(collected.events[1]).toMatchObject({ _tag: "StateChanged", state: "Running" })
        const last = collected.events[collected.events.length - 1] as ExecutionEvent.ExecutionEvent
        expect(last).toMatchObject({ _tag: "Finished", state: "Succeeded", outcome: { _tag: "Complete" } })
        const progressed = collected.events.filter((e) => e._tag === "ItemProgressed")
        // 5 items × (start + limit + 10 incs + 2 messages + finish)
        expect(progressed.length).toBe(5 * 15)
        const finalOf = (item: string) =>
          progressed.filter((e) => e._tag === "ItemProgressed" && e.progress.item === item).at(-1)
        expect(finalOf("i3")).toMatchObject({
          progress: { status: "Success", units: 10, limit: { _tag: "Steps", n: 10 } }
        })
        // Every event survives a JSON round trip.
        for (const event of collected.events) {
          const json = JSON.parse(JSON.stringify(ExecutionEvent.encode(event)))
          expect(ExecutionEvent.encode(yield* ExecutionEvent.decodeUnknown(json))).toEqual(ExecutionEvent.encode(event))
        }
      })
    ))

  it.live("events(id, { after }) replays from a sequence number, also after the execution ended", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 3 }), 3)
        const live = yield* Effect.fork(Stream.runCollect(map.events(id)))
        yield* gates.open(0, 1, 2)
        yield* map.await(id)
        const all = Chunk.toReadonlyArray(
          yield* Effect.flatten(Effect.map(Effect.succeed(live), (f) => f.await))
            .pipe(Effect.flatten)
        )
        expect(all.at(-1)?._tag).toBe("Finished")
        const replay = Chunk.toReadonlyArray(yield* Stream.runCollect(map.events(id, { after: 5 })))
        expect(replay.map((e) => e.seq)).toEqual(all.slice(5).map((e) => e.seq))
        expect(Chunk.size(yield* Stream.runCollect(map.events(id, { after: all.length })))).toBe(0)
        expect((yield* Effect.flip(Stream.runCollect(map.events("nope"))))._tag).toBe("ExecutionNotFound")
      })
    ))

  it.live("after the replay window, a finished execution still yields its Finished event from the record", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        yield* gates.open(0)
        const id = yield* map.start(threeBlocks(gates, { items: 1 }), 1)
        yield* map.await(id)
        yield* Effect.sleep("30 millis")
        yield* Effect.sleep("0 millis")
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(map.events(id, { after: 0 })))
        expect(events.map((e) => e._tag)).toContain("Finished")
      }), { eventLinger: "10 millis", housekeepingInterval: "20 millis" }))
})

describe("outputs", () => {
  it.live("several outputs at once each receive every event", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const a = Endpoint.collect()
        const b = Endpoint.collect()
        yield* map.run(counting(3, 4), undefined, { outputs: [a.output, b.output] })
        expect(a.events.length).toBeGreaterThan(10)
        expect(b.events.map((e) => e.seq)).toEqual(a.events.map((e) => e.seq))
      })
    ))

  it.live("a slow output never blocks the execution; it gets a snapshot with the coalesced count, and the final state", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const received: Array<ExecutionEvent.ExecutionEvent> = []
        const firstBatch = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const slow = Endpoint.progressOutput("slow", (events) =>
          Effect.gen(function*() {
            received.push(...events)
            yield* Deferred.succeed(firstBatch, undefined)
            yield* Deferred.await(release)
          }))
        const id = yield* map.start(counting(20, 50), undefined, { outputs: [slow] })
        yield* Deferred.await(firstBatch)
        // The execution finishes while the output is stuck on its first batch.
        yield* waitFor(() => Option.getOrThrow(Effect.runSync(map.get(id))).state === "Succeeded", "finished")
        const record = Option.getOrThrow(yield* map.get(id))
        expect(record.state).toBe("Succeeded")
        expect(record.progress.seq).toBeGreaterThan(64)
        yield* Deferred.succeed(release, undefined)
        yield* map.await(id)
        const snapshot = received.find((e) => e._tag === "Snapshot")
        if (snapshot?._tag !== "Snapshot") return expect.fail("no snapshot")
        expect(snapshot.coalesced).toBeGreaterThan(0)
        expect(snapshot.items.length).toBe(20)
        expect(snapshot.items.every((item) => item.status === "Success" && item.units === 50)).toBe(true)
        expect(received.at(-1)?._tag).toBe("Finished")
        // Nothing is silently lost: every event up to the snapshot was delivered or counted.
        const before = received.filter((e) => e.seq < snapshot.seq && e._tag !== "Snapshot")
        const lastBefore = before.at(-1)?.seq ?? 0
        expect(lastBefore + snapshot.coalesced).toBe(snapshot.seq)
      }), { eventBufferSize: 64 }))

  it.live("input endpoints deliver interrupt requests; outcome outputs present the outcome and record", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const trigger = yield* Deferred.make<void>()
        const presented: Array<string> = []
        const signals = Endpoint.inputEndpoint(
          "signals",
          Stream.fromEffect(Deferred.await(trigger)).pipe(Stream.as({ source: "sigint" as const, reason: "Ctrl-C" }))
        )
        const id = yield* map.start(threeBlocks(gates, { items: 3 }), 3, {
          inputs: [signals],
          outcomeOutputs: [
            Endpoint.outcomeOutput("summary", (outcome, record) =>
              Effect.sync(() =>
                presented.push(`${outcome._tag}:${record.state}:${record.interrupt?.reason}`)
              ))
          ]
        })
        yield* waitFor(() => gates.started.has(0), "running")
        yield* Deferred.succeed(trigger, undefined)
        yield* waitFor(() => Option.getOrThrow(Effect.runSync(map.get(id))).state === "Interrupting", "interrupting")
        yield* gates.open(0)
        yield* map.await(id)
        expect(presented).toEqual(["BlockInterrupted:Interrupted:Ctrl-C"])
      })
    ))
})

describe("progress", () => {
  it.effect("stall detection marks silent running items Stalled, and Running again when they report", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const collected = Endpoint.collect()
        const tick = yield* Deferred.make<void>()
        const done = yield* Deferred.make<void>()
        const execution = CmdExecution.make("stall").pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "slow",
            run: (_: void, ctx) =>
              Effect.gen(function*() {
                yield* Deferred.await(tick)
                yield* ctx.progress.inc(1)
                yield* Deferred.await(done)
              })
          }))
        )
        const id = yield* map.start(execution, undefined, { outputs: [collected.output] })
        const statuses = () => collected.events.flatMap((e) => e._tag === "ItemProgressed" ? [e.progress.status] : [])
        yield* settle(() => statuses().includes("Running"), "running")
        yield* TestClock.adjust("9 seconds")
        expect(statuses()).not.toContain("Stalled")
        yield* TestClock.adjust("2 seconds")
        yield* settle(() => statuses().includes("Stalled"), "stalled")
        expect(Option.getOrThrow(yield* map.get(id)).progress.items.stalled).toBe(1)
        yield* Deferred.succeed(tick, undefined)
        yield* settle(() => statuses().at(-1) === "Running", "running again")
        yield* Deferred.succeed(done, undefined)
        yield* map.await(id)
        expect(statuses().at(-1)).toBe("Success")
      }), { stallAfter: "10 seconds", progressInterval: "1 second" }))

  it.effect("ETA comes from the measured rate", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const collected = Endpoint.collect()
        const step = yield* Deferred.make<void>()
        const execution = CmdExecution.make("eta").pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "copy",
            run: (_: void, ctx) =>
              Effect.gen(function*() {
                yield* ctx.progress.setLimit(Progress.Bytes(1000))
                yield* Effect.sleep("2 seconds")
                yield* ctx.progress.inc(250)
                yield* Deferred.await(step)
              })
          }))
        )
        const id = yield* map.start(execution, undefined, { outputs: [collected.output] })
        yield* TestClock.adjust("2 seconds")
        const withEta = () =>
          collected.events.flatMap((e) => e._tag === "ItemProgressed" && e.progress.units === 250 ? [e.progress] : [])
        yield* settle(() => withEta().length > 0, "progress with eta")
        expect(withEta()[0]?.etaMs).toBe(6000)
        expect(Progress.fraction(Progress.Bytes(1000), 250)).toBe(0.25)
        yield* Deferred.succeed(step, undefined)
        yield* map.await(id)
      }), { stallAfter: "1 hour" }))

  it("estimateRemaining and fraction handle edge cases", () => {
    expect(Progress.estimateRemaining(Progress.Unknown, 5, 0, 100)).toBeUndefined()
    expect(Progress.estimateRemaining(Progress.Steps(10), 0, 0, 100)).toBeUndefined()
    expect(Progress.estimateRemaining(Progress.Steps(10), 5, undefined, 100)).toBeUndefined()
    expect(Progress.estimateRemaining(Progress.Steps(10), 10, 0, 100)).toBe(0)
    expect(Progress.estimateRemaining(Progress.Steps(10), 12, 0, 100)).toBe(0)
    expect(Progress.fraction(Progress.Steps(0), 0)).toBe(1)
    expect(Progress.fraction(Progress.Unknown, 3)).toBeUndefined()
    expect(Progress.fraction(Progress.Steps(4), 9)).toBe(1)
    expect(Progress.isComplete("Skipped")).toBe(true)
    expect(Progress.isComplete("Stalled")).toBe(false)
  })

  it.live("progress after an item completed is ignored; non-finite numbers are ignored", () =>
    withMap((map) =>
      Effect.gen(function*() {
        let late: Progress.ProgressHandle | undefined
        const collected = Endpoint.collect()
        const execution = CmdExecution.make("late").pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "quick",
            run: (_: void, ctx) =>
              Effect.sync(() => {
                late = ctx.progress
                ctx.progress.unsafeUpdate({ inc: Number.NaN, units: Number.POSITIVE_INFINITY })
              })
          }))
        )
        yield* map.run(execution, undefined, { outputs: [collected.output] })
        const count = collected.events.length
        late?.unsafeUpdate({ inc: 5 })
        expect(collected.events.length).toBe(count)
        const units = collected.events.flatMap((e) => e._tag === "ItemProgressed" ? [e.progress.units] : [])
        expect(units.every((u) => u === 0)).toBe(true)
      })
    ))
})
