import { describe, expect, it } from "@effect/vitest"
import {
  Access,
  CmdBlock,
  CmdExecution,
  CmdExecutionMap,
  CmdOutcome,
  ExecutionRecord,
  ExecutionStore,
  Interrupt,
  Progress
} from "@truce/core"
import { Data, Deferred, Effect, Fiber, Layer, Option, Schema, Supervisor, TestClock } from "effect"
import { Gates, ids, range, settle, threeBlocks, waitFor } from "./helpers.js"

const withMap = <A, E>(
  effect: (map: CmdExecutionMap.CmdExecutionMap) => Effect.Effect<A, E, never>,
  options?: CmdExecutionMap.Options
) => Effect.flatMap(CmdExecutionMap.CmdExecutionMap, effect).pipe(Effect.provide(CmdExecutionMap.layerMemory(options)))

class UploadFailed extends Data.TaggedError("UploadFailed")<{ readonly file: string }> {}

describe("outcomes", () => {
  it.live("item errors are collected by id; other items keep running; the partial outcome is kept", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const ran: Array<number> = []
        const execution = CmdExecution.make<number>("upload").pipe(
          CmdExecution.andThen(CmdBlock.step({ name: "list", run: (n: number) => Effect.succeed(range(n)) })),
          CmdExecution.andThen(CmdBlock.items({
            name: "upload",
            items: (files: ReadonlyArray<number>) => files,
            id: (i) => `file-${i}`,
            concurrency: 3,
            apply: (i) =>
              Effect.sync(() => ran.push(i)).pipe(
                Effect.zipRight(i % 3 === 1 ? Effect.fail(new UploadFailed({ file: `file-${i}` })) : Effect.succeed(i))
              )
          })),
          CmdExecution.andThen(CmdBlock.step({ name: "report", run: () => Effect.succeed("never") }))
        )
        const outcome = yield* map.run(execution, 7)
        if (outcome._tag !== "ItemErrors") return expect.fail(outcome._tag)
        expect(Object.keys(outcome.errors).sort()).toEqual(["file-1", "file-4"])
        expect(outcome.errors["file-4"]).toEqual(new UploadFailed({ file: "file-4" }))
        expect(outcome.items.processed.length).toBe(7)
        expect(outcome.partial.items).toEqual({ "file-0": 0, "file-2": 2, "file-3": 3, "file-5": 5, "file-6": 6 })
        expect(outcome.blocksProcessed).toEqual(["list"])
        expect(outcome.blocksNotProcessed).toEqual(["report"])
        expect(ran.sort()).toEqual(range(7))
      })
    ))

  it.live("onItemError: stop starts no more items after a failure; dependents of a failed item never start", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const stopOnError = CmdExecution.make("stop-on-error").pipe(
          CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: () => range(5),
            id: (i) => `i${i}`,
            concurrency: 1,
            onItemError: "stop",
            apply: (i) =>
              Effect.sync(() => ran.push(`i${i}`)).pipe(Effect.zipRight(i === 1 ? Effect.fail("boom") : Effect.void))
          }))
        )
        const outcome = yield* map.run(stopOnError, undefined)
        if (outcome._tag !== "ItemErrors") return expect.fail(outcome._tag)
        expect(outcome.items.processed).toEqual(["i0", "i1"])
        expect(outcome.items.notStarted).toEqual(["i2", "i3", "i4"])
        expect(ran).toEqual(["i0", "i1"])

        const graph = CmdExecution.make("graph").pipe(
          CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: () => ["db", "app", "web", "cache"],
            id: (name) => name,
            dependsOn: (name) => name === "app" ? ["db"] : name === "web" ? ["app"] : [],
            apply: (name) => name === "db" ? Effect.fail(`${name} failed`) : Effect.succeed(name)
          }))
        )
        const graphOutcome = yield* map.run(graph, undefined)
        if (graphOutcome._tag !== "ItemErrors") return expect.fail(graphOutcome._tag)
        expect(graphOutcome.errors).toEqual({ db: "db failed" })
        expect(graphOutcome.items.processed.slice().sort()).toEqual(["cache", "db"])
        expect(graphOutcome.items.notStarted).toEqual(["app", "web"])
      })
    ))

  it.live("a block-level failure keeps the partial outcome", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const execution = CmdExecution.make<number>("plan-fails").pipe(
          CmdExecution.andThen(CmdBlock.step({ name: "discover", run: (n: number) => Effect.succeed(range(n)) })),
          CmdExecution.andThen(CmdBlock.items({
            name: "apply",
            items: (list: ReadonlyArray<number>) => list.length > 2 ? Effect.fail("too many targets" as const) : list,
            id: String,
            apply: Effect.succeed
          })),
          CmdExecution.andThen(CmdBlock.step({ name: "notify", run: () => Effect.void }))
        )
        const outcome = yield* map.run(execution, 3)
        if (outcome._tag !== "BlockFailed") return expect.fail(outcome._tag)
        expect(outcome.block).toBe("apply")
        expect(outcome.error).toBe("too many targets")
        expect(outcome.partial.output).toEqual(Option.some([0, 1, 2]))
        expect(outcome.blocksProcessed).toEqual(["discover"])
        expect(outcome.blocksNotProcessed).toEqual(["notify"])
        const failingStep = CmdExecution.make("step-fails").pipe(
          CmdExecution.andThen(CmdBlock.step({ name: "only", run: () => Effect.fail(new UploadFailed({ file: "x" })) }))
        )
        const stepOutcome = yield* map.run(failingStep, undefined)
        expect(stepOutcome._tag).toBe("BlockFailed")
        const record = Option.getOrThrow(yield* map.get(Option.getOrThrow(yield* lastId(map, "step-fails"))))
        expect(record.state).toBe("Failed")
        expect(record.error).toMatchObject({ _tag: "UploadFailed", file: "x" })
      })
    ))

  it.live("defects become CmdDefect values: item defects in ItemErrors, step defects in BlockFailed", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const execution = CmdExecution.make("defects").pipe(
          CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: () => ["ok", "bug"],
            id: (x) => x,
            apply: (x) => x === "bug" ? Effect.die(new Error("null pointer")) : Effect.succeed(x)
          }))
        )
        const outcome = yield* map.run(execution, undefined)
        if (outcome._tag !== "ItemErrors") return expect.fail(outcome._tag)
        const defect = outcome.errors["bug"]
        expect(defect).toBeInstanceOf(CmdOutcome.CmdDefect)
        expect((defect as CmdOutcome.CmdDefect).message).toBe("null pointer")
        const crash = CmdExecution.make("crash").pipe(
          CmdExecution.andThen(CmdBlock.step({ name: "only", run: () => Effect.sync(() => JSON.parse("{")) }))
        )
        const crashed = yield* map.run(crash, undefined)
        if (crashed._tag !== "BlockFailed") return expect.fail(crashed._tag)
        expect(crashed.error).toBeInstanceOf(CmdOutcome.CmdDefect)
      })
    ))

  it.live("dependency order: an item starts only after its dependencies; reverse order for clean-up", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const order: Array<string> = []
        const services = ["db", "cache", "api", "web"]
        const dependsOn = (name: string) => name === "api" ? ["db", "cache"] : name === "web" ? ["api"] : []
        const block = (name: string, reverse: boolean) =>
          CmdBlock.items({
            name,
            items: () => services,
            id: (s) => s,
            dependsOn,
            order: reverse ? "reverse" : "forward",
            concurrency: 4,
            apply: (s) => Effect.sleep("2 millis").pipe(Effect.zipRight(Effect.sync(() => order.push(`${name}:${s}`))))
          })
        const execution = CmdExecution.make("deps").pipe(
          CmdExecution.andThen(block("up", false)),
          CmdExecution.andThen(block("down", true))
        )
        expect((yield* map.run(execution, undefined))._tag).toBe("Complete")
        const up = order.filter((o) => o.startsWith("up:")).map((o) => o.slice(3))
        const down = order.filter((o) => o.startsWith("down:")).map((o) => o.slice(5))
        expect(up.indexOf("api")).toBeGreaterThan(Math.max(up.indexOf("db"), up.indexOf("cache")))
        expect(up.indexOf("web")).toBeGreaterThan(up.indexOf("api"))
        expect(down.indexOf("web")).toBeLessThan(down.indexOf("api"))
        expect(down.indexOf("api")).toBeLessThan(Math.min(down.indexOf("db"), down.indexOf("cache")))
      })
    ))

  it.live("an invalid item graph (cycle, unknown dependency, duplicate id) is a BlockFailed defect", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const graph = (name: string, items: ReadonlyArray<string>, deps: Record<string, ReadonlyArray<string>>) =>
          CmdExecution.make(name).pipe(CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: () => items,
            id: (x) => x,
            dependsOn: (x) => deps[x] ?? [],
            apply: Effect.succeed
          })))
        const messageOf = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>) =>
          outcome._tag === "BlockFailed" ? (outcome.error as CmdOutcome.CmdDefect).message : outcome._tag
        expect(messageOf(yield* map.run(graph("cycle", ["a", "b", "c"], { a: ["c"], b: ["a"], c: ["b"] }), undefined)))
          .toContain("dependency cycle")
        expect(messageOf(yield* map.run(graph("unknown", ["a"], { a: ["zz"] }), undefined))).toContain("unknown item")
        expect(messageOf(yield* map.run(graph("dupes", ["a", "a"], {}), undefined))).toContain("duplicate item id")
      })
    ))

  it.live("concurrent items: the outcome lists are exact under a forced stop", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 8, concurrency: 3 }), 8)
        yield* gates.open(0, 1)
        yield* waitFor(() => [2, 3, 4].every((i) => gates.started.has(i)), "2, 3, 4 in flight")
        yield* map.interrupt(id, { source: "api", mode: "force" })
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.processed.slice().sort()).toEqual(ids(0, 1))
        expect(outcome.items.inFlightStopped.slice().sort()).toEqual(ids(2, 3, 4))
        expect(outcome.items.notStarted).toEqual(ids(5, 6, 7))
      })
    ))
})

describe("resume", () => {
  it.live("resume re-runs an interrupted execution, skipping items and steps already done", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        let firstRuns = 0
        const execution = CmdExecution.make("resumable", { input: Schema.Number }).pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "first",
            run: (n: number) => Effect.sync(() => (firstRuns++, range(n)))
          })),
          CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: (list: ReadonlyArray<number>) => list,
            id: (i) => `item-${i}`,
            concurrency: 1,
            apply: gates.apply
          })),
          CmdExecution.andThen(CmdBlock.step({
            name: "third",
            run: (values: ReadonlyArray<number>) => Effect.succeed(values.reduce((a, b) => a + b, 0))
          }))
        )
        const id = yield* map.start(execution, 6, { owner: "alice", labels: { env: "test" } })
        yield* gates.open(0, 1)
        yield* waitFor(() => gates.started.has(2), "item 2 running")
        yield* map.interrupt(id, { source: "sigint" })
        yield* gates.open(2)
        expect((yield* map.await(id))._tag).toBe("BlockInterrupted")
        gates.applyCalls.length = 0
        yield* gates.open(...range(6))
        const resumed = yield* map.resume(id)
        expect(resumed).not.toBe(id)
        const outcome = yield* map.await(resumed)
        expect(outcome).toEqual(CmdOutcome.complete(150, ["first", "work", "third"]))
        expect(gates.applyCalls.sort()).toEqual([3, 4, 5])
        expect(firstRuns).toBe(1)
        const record = Option.getOrThrow(yield* map.get(resumed))
        expect(record.resumedFrom).toBe(id)
        expect(record.owner).toBe("alice")
        expect(record.labels).toEqual({ env: "test" })
        const states = yield* map.itemStates(resumed)
        const statusOf = (item: string) => states.find((s) => s.item === item)?.status
        expect(statusOf("first")).toBe("Skipped")
        expect(ids(0, 1, 2).map(statusOf)).toEqual(["Skipped", "Skipped", "Skipped"])
        expect(ids(3, 4, 5).map(statusOf)).toEqual(["Success", "Success", "Success"])
        expect((yield* map.await(id))._tag).toBe("BlockInterrupted")
      })
    ))

  it.live("resume refuses what it cannot resume, with typed errors", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        yield* gates.open(0)
        const done = yield* map.start(threeBlocks(gates, { items: 1 }), 1)
        yield* map.await(done)
        expect((yield* Effect.flip(map.resume(done)))._tag).toBe("NotResumable")
        expect((yield* Effect.flip(map.resume("no-such-id")))._tag).toBe("ExecutionNotFound")
        const running = new Gates()
        const live = yield* map.start(threeBlocks(running, { items: 1, name: "other" }), 1)
        const error = yield* Effect.flip(map.resume(live))
        expect(error._tag).toBe("NotResumable")
        yield* running.open(0)
        const redacted = new Gates()
        const secret = CmdExecution.make("secret", { input: Schema.Number }).pipe(
          CmdExecution.andThen(CmdBlock.items({
            name: "work",
            items: (n: number) => range(n),
            id: (i) => `item-${i}`,
            concurrency: 1,
            apply: redacted.apply
          }))
        )
        const hidden = yield* map.start(secret, 2, { redactInput: true, strategy: Interrupt.Immediate })
        yield* waitFor(() => redacted.started.has(0), "running")
        yield* map.interrupt(hidden, { source: "api" })
        yield* map.await(hidden)
        const hiddenRecord = Option.getOrThrow(yield* map.get(hidden))
        expect(hiddenRecord.input).toBeUndefined()
        expect(hiddenRecord.inputRedacted).toBe(true)
        // In this process the input is still known: resume works and keeps the input redacted.
        yield* redacted.open(0, 1)
        const again = yield* map.resume(hidden)
        expect((yield* map.await(again))._tag).toBe("Complete")
        expect(Option.getOrThrow(yield* map.get(again)).inputRedacted).toBe(true)
        // A fresh map over the same store (another process) cannot know it: a typed refusal.
        const other = yield* Effect.scoped(
          Effect.gen(function*() {
            const fresh = yield* CmdExecutionMap.make({ commands: [secret] }).pipe(
              Effect.provideService(ExecutionStore.ExecutionStore, map.store)
            )
            return yield* Effect.flip(fresh.resume(hidden))
          })
        )
        expect(other._tag).toBe("NotResumable")
        expect(other.message).toContain("redacted")
      })
    ))
})

describe("timeouts and queues", () => {
  it.effect("a timeout interrupts with source timeout; the record ends TimedOut", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 3 }), 3, { timeout: "10 seconds" })
        yield* settle(() => gates.started.has(0), "item 0 running")
        yield* TestClock.adjust("9 seconds")
        expect(Option.getOrThrow(yield* map.get(id)).state).toBe("Running")
        yield* TestClock.adjust("1 second")
        yield* settle(() => Option.getOrThrow(Effect.runSync(map.get(id))).state === "Interrupting", "interrupting")
        // FinishCurrent: the item in flight may finish; it does not, so the timeout's grace (5 s) forces it.
        yield* TestClock.adjust("5 seconds")
        const record = yield* map.awaitRecord(id)
        expect(record.state).toBe("TimedOut")
        expect(record.interrupt?.source).toBe("timeout")
        const outcome = yield* map.await(id)
        if (outcome._tag !== "BlockInterrupted") return expect.fail(outcome._tag)
        expect(outcome.items.inFlightStopped).toEqual(ids(0))
      }), { timeoutGrace: "5 seconds" }))

  it.effect("queue time does not count towards the timeout unless configured", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const blocker = new Gates()
        const queued = new Gates()
        const counted = new Gates()
        const limited = (gates: Gates) => threeBlocks(gates, { items: 1, name: "exclusive" })
        const first = yield* map.start(limited(blocker), 1)
        yield* settle(() => blocker.started.has(0), "blocker running")
        const patient = yield* map.start(limited(queued), 1, { timeout: "10 seconds" })
        const strict = yield* map.start(limited(counted), 1, { timeout: "10 seconds", timeoutIncludesQueue: true })
        yield* TestClock.adjust("20 seconds")
        expect(Option.getOrThrow(yield* map.get(patient)).state).toBe("Queued")
        const strictRecord = yield* map.awaitRecord(strict)
        expect(strictRecord.state).toBe("TimedOut")
        expect(counted.started.size).toBe(0)
        yield* blocker.open(0)
        expect((yield* map.await(first))._tag).toBe("Complete")
        yield* settle(() => queued.started.has(0), "patient running")
        yield* queued.open(0)
        expect((yield* map.awaitRecord(patient)).state).toBe("Succeeded")
      }), { commandConcurrency: { exclusive: 1 } }))

  it.live("per-command concurrency: excess starts are Queued and run in FIFO order", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const order: Array<number> = []
        const gate = yield* Deferred.make<void>()
        const execution = CmdExecution.make<number>("limited", { concurrency: 2 }).pipe(
          CmdExecution.andThen(CmdBlock.step({
            name: "run",
            run: (n: number) => Effect.sync(() => order.push(n)).pipe(Effect.zipRight(Deferred.await(gate)))
          }))
        )
        const started = yield* Effect.forEach(range(5), (n) => map.start(execution, n))
        yield* waitFor(() => order.length === 2, "two running")
        const states = yield* Effect.forEach(started, (id) =>
          map.get(id).pipe(Effect.map((r) => Option.getOrThrow(r).state)))
        expect(states).toEqual(["Running", "Running", "Queued", "Queued", "Queued"])
        yield* Deferred.succeed(gate, undefined)
        yield* map.awaitAll(started)
        expect(order).toEqual([0, 1, 2, 3, 4])
      })
    ))
})

describe("the map API", () => {
  it.live("interrupt answers UnknownId, AlreadyFinished and NotCancellable", () =>
    withMap((map) =>
      Effect.gen(function*() {
        expect((yield* map.interrupt("nope", { source: "api" }))._tag).toBe("UnknownId")
        expect((yield* map.interrupt(ExecutionRecord.makeId(), { source: "api" }))._tag).toBe("UnknownId")
        const gates = new Gates()
        yield* gates.open(0)
        const done = yield* map.start(threeBlocks(gates, { items: 1 }), 1)
        yield* map.await(done)
        const finished = yield* map.interrupt(done, { source: "http" })
        expect(finished).toEqual(Interrupt.InterruptResult.AlreadyFinished({ state: "Succeeded" }))
        const pinned = new Gates()
        const id = yield* map.start(threeBlocks(pinned, { items: 1, name: "pinned" }), 1, { cancellable: false })
        yield* waitFor(() => pinned.started.has(0), "running")
        expect((yield* map.interrupt(id, { source: "http" }))._tag).toBe("NotCancellable")
        expect((yield* map.interrupt(id, { source: "sigint", mode: "force" }))._tag).toBe("NotCancellable")
        // Shutdown still applies to a non-cancellable execution.
        expect((yield* map.interrupt(id, { source: "shutdown", mode: "force" }))._tag).toBe("Accepted")
        expect((yield* map.awaitRecord(id)).state).toBe("Interrupted")
        expect(Option.getOrThrow(yield* map.get(id)).cancellable).toBe(false)
      })
    ))

  it.live("await with a bound fails with AwaitTimeout (never a silent partial result); awaitAll waits concurrently", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 1 }), 1)
        const error = yield* Effect.flip(map.await(id, { timeout: "20 millis" }))
        expect(error._tag).toBe("AwaitTimeout")
        if (error._tag === "AwaitTimeout") {
          expect(error.state).toBe("Running")
          expect(error.message).toContain("still Running")
        }
        expect((yield* Effect.flip(map.await("missing")))._tag).toBe("ExecutionNotFound")
        const more = yield* Effect.forEach(range(3), () => map.start(threeBlocks(gates, { items: 1 }), 1))
        const all = yield* Effect.fork(map.awaitAll([id, ...more]))
        yield* gates.open(0)
        const outcomes = yield* Fiber.join(all)
        expect(outcomes.map((o) => o._tag)).toEqual(["Complete", "Complete", "Complete", "Complete"])
        // Awaiting a finished execution answers from the record.
        expect((yield* map.await(id))._tag).toBe("Complete")
      })
    ))

  it.live("get and list show live progress; list validates its query", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 4, concurrency: 2 }), 4, {
          owner: "alice",
          labels: { env: "prod" }
        })
        yield* gates.open(0)
        yield* waitFor(() => gates.finished.has(0) && gates.started.has(2), "progressing")
        const record = Option.getOrThrow(yield* map.get(id))
        expect(record.progress.block).toBe("work")
        expect(record.progress.items).toMatchObject({ total: 4, succeeded: 1, running: 2, pending: 1 })
        const page = yield* map.list({ where: { "labels.env": { op: "eq", value: "prod" } } })
        expect(page.records.map((r) => r.id)).toEqual([id])
        const invalid = yield* Effect.flip(map.list({ where: { nope: { op: "eq", value: 1 } } }))
        expect(invalid._tag).toBe("InvalidQuery")
        const badOp = yield* Effect.flip(map.list({ where: { state: { op: "regex", value: "x" } } }))
        expect(badOp.message).toContain("unknown operator")
        yield* gates.open(...range(4))
        yield* map.await(id)
      })
    ))

  it.live("an idempotency key returns the same execution for the same request, and conflicts otherwise", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const execution = threeBlocks(gates, { items: 1 })
        const a = yield* map.start(execution, 1, { idempotencyKey: "k1" })
        const b = yield* map.start(execution, 1, { idempotencyKey: "k1" })
        expect(b).toBe(a)
        const conflict = yield* Effect.flip(map.start(execution, 2, { idempotencyKey: "k1" }))
        expect(conflict._tag).toBe("IdempotencyConflict")
        const c = yield* map.start(execution, 2, { idempotencyKey: "k2" })
        expect(c).not.toBe(a)
        yield* gates.open(0, 1)
        yield* map.awaitAll([a, c])
      })
    ))

  it.live("transitions log who did what; the record keeps every interrupt", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        const id = yield* map.start(threeBlocks(gates, { items: 2 }), 2, {
          owner: "alice",
          permissions: Access.permissions({ read: { groups: ["ops"] } })
        })
        yield* waitFor(() => gates.started.has(0), "running")
        yield* map.interrupt(id, { source: "http", requestedBy: "bob", reason: "wrong version" })
        yield* gates.open(0, 1)
        const record = yield* map.awaitRecord(id)
        expect(record.permissions.read.groups).toEqual(["ops"])
        const log = yield* map.transitions(id)
        expect(log.map((t) => t.to)).toEqual(["Queued", "Running", "Interrupting", "Interrupted"])
        const interrupting = log[2] as ExecutionRecord.Transition
        expect(interrupting.actor).toBe("bob")
        expect(interrupting.reason).toContain("http")
        expect(log[3]?.reason).toContain("wrong version")
      })
    ))
})

describe("retention, recovery and scale", () => {
  it.effect("the housekeeper purges finished records after the retention period", () =>
    withMap((map) =>
      Effect.gen(function*() {
        const gates = new Gates()
        yield* gates.open(0)
        const id = yield* map.start(threeBlocks(gates, { items: 1 }), 1)
        yield* map.await(id)
        const record = Option.getOrThrow(yield* map.get(id))
        expect(record.expiresAt?.getTime()).toBe((record.finishedAt as Date).getTime() + 60 * 60 * 1000)
        yield* TestClock.adjust("59 minutes")
        expect(Option.isSome(yield* map.get(id))).toBe(true)
        yield* TestClock.adjust("2 minutes")
        yield* settle(() => Option.isNone(Effect.runSync(map.store.get(id as ExecutionRecord.ExecutionId))), "purged")
        expect(Option.isNone(yield* map.get(id))).toBe(true)
      }), {
      retention: "1 hour",
      housekeepingInterval: "1 minute",
      eventLinger: "1 second",
      progressInterval: "10 minutes"
    }))

  it.live("on start, executions left unfinished by a lost process are marked process-lost or resumed", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.makeMemory
      let applied = 0
      const resumable = CmdExecution.make("nightly", { input: Schema.Number, resumable: true }).pipe(
        CmdExecution.andThen(CmdBlock.items({
          name: "work",
          items: (n: number) => range(n),
          id: (i) => `i${i}`,
          apply: (i) => Effect.sync(() => (applied++, i))
        }))
      )
      const now = new Date()
      const lost = (command: string, resumableFlag: boolean): ExecutionRecord.ExecutionRecord => ({
        id: ExecutionRecord.makeId(),
        command,
        state: "Running",
        createdAt: now,
        updatedAt: now,
        startedAt: now,
        permissions: Access.ownerOnly,
        input: 4,
        blocks: ["work"],
        progress: {
          ...Progress.emptySummary(1, now.getTime()),
          items: { total: 4, pending: 1, running: 2, stalled: 1, succeeded: 0, failed: 0, interrupted: 0, skipped: 0 }
        },
        interrupts: [],
        strategy: Interrupt.FinishCurrent,
        cancellable: true,
        labels: {},
        resumable: resumableFlag,
        runner: "999:gone"
      })
      const plain = lost("report", false)
      const nightly = lost("nightly", true)
      yield* store.insert(plain)
      yield* store.insert(nightly)
      yield* store.saveItemStates([0, 1].map((i) => ({
        executionId: nightly.id,
        block: "work",
        item: `i${i}`,
        status: "Success" as const,
        value: i,
        finishedAt: now
      })))
      const layer = CmdExecutionMap.layer({ commands: [resumable] }).pipe(
        Layer.provide(Layer.succeed(ExecutionStore.ExecutionStore, store))
      )
      yield* Effect.gen(function*() {
        const map = yield* CmdExecutionMap.CmdExecutionMap
        const recordOf = (id: string) => map.get(id).pipe(Effect.map(Option.getOrThrow))
        const plainAfter = yield* recordOf(plain.id)
        expect(plainAfter.state).toBe("Interrupted")
        expect(plainAfter.interrupt?.source).toBe("process-lost")
        expect(plainAfter.interrupt?.reason).toContain("999:gone")
        // What was in flight was stopped with the lost process: nothing is left "running".
        expect(plainAfter.progress.items).toMatchObject({ pending: 1, running: 0, stalled: 0, interrupted: 3 })
        const page = yield* map.list({ where: { resumedFrom: { op: "eq", value: nightly.id } } })
        expect(page.records.length).toBe(1)
        const resumedId = (page.records[0] as ExecutionRecord.ExecutionRecord).id
        const outcome = yield* map.await(resumedId)
        expect(outcome).toEqual(CmdOutcome.complete([0, 1, 2, 3], ["work"]))
        expect(applied).toBe(2)
        expect((yield* recordOf(nightly.id)).state).toBe("Interrupted")
      }).pipe(Effect.provide(layer))
    }))

  it.live("10,000 concurrent executions complete in one map and leave no fibers behind", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const execution = CmdExecution.make<number>("tiny").pipe(
        CmdExecution.andThen(CmdBlock.items({
          name: "one",
          items: (n: number) => [n],
          id: String,
          apply: (n, ctx) => ctx.progress.inc(1).pipe(Effect.zipRight(Effect.yieldNow()), Effect.as(n))
        }))
      )
      const outcomes = yield* withMap((map) =>
        Effect.gen(function*() {
          const started = yield* Effect.forEach(range(10_000), (n) => map.start(execution, n))
          expect(new Set(started).size).toBe(10_000)
          const result = yield* map.awaitAll(started)
          yield* waitFor(() => started.every((id) => !map.isLive(id)), "all finished")
          return result
        })
      ).pipe(Effect.supervised(supervisor))
      expect(outcomes.length).toBe(10_000)
      expect(outcomes.every((o) => o._tag === "Complete")).toBe(true)
      expect((outcomes[9_999] as CmdOutcome.Complete<unknown>).value).toEqual([9_999])
      const alive = yield* Effect.map(
        supervisor.value,
        (fibers) => fibers.filter((fiber) => fiber.unsafePoll() === null)
      )
      expect(alive.length).toBe(0)
    }), 60_000)
})

const lastId = (map: CmdExecutionMap.CmdExecutionMap, command: string) =>
  map.list({ where: { command: { op: "eq", value: command } }, sort: "-createdAt", limit: 1 }).pipe(
    Effect.map((page) => Option.fromNullable(page.records[0]?.id))
  )
