/**
 * Interrupt latency in-process: from `interrupt(id)` to the outcome recorded in the store
 * (the terminal record is written before `await` returns), p50/p99 over 2,000 runs.
 * Goal: p99 ≤ 1 ms.
 *
 * Two cases: a forced stop of four items in flight, and a graceful stop of four
 * cooperative items that return when they see the request (`ctx.whenInterrupted`).
 * Baseline side by side: interrupting a plain fiber running the same four items with
 * `Effect.forEach` and waiting for it to end. Each sample starts from a macrotask, as a
 * request arriving from I/O does (see `fromEventLoop`).
 */
import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
import { Deferred, Effect, Fiber } from "effect"
import { fmt, now, percentile, verdict } from "./util.js"

const RUNS = 2_000
const ITEMS = 4

const forced = CmdExecution.make<Deferred.Deferred<void>>("forced").pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (started: Deferred.Deferred<void>) => Array.from({ length: ITEMS }, (_, i) => ({ i, started })),
    id: ({ i }) => `item-${i}`,
    concurrency: ITEMS,
    apply: ({ started }): Effect.Effect<void> => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
  }))
)

const cooperative = CmdExecution.make<Deferred.Deferred<void>>("cooperative").pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (started: Deferred.Deferred<void>) => Array.from({ length: ITEMS }, (_, i) => ({ i, started })),
    id: ({ i }) => `item-${i}`,
    concurrency: ITEMS,
    apply: ({ started }, ctx) =>
      Effect.zipRight(Deferred.succeed(started, undefined), Effect.zipRight(ctx.whenInterrupted, ctx.checkpoint))
  }))
)

/**
 * Returns from a macrotask (`setImmediate`), as a request arriving from I/O (an HTTP
 * request, a signal) does. Without it the benchmark's own loop would never leave the
 * microtask queue, and Effect's scheduler inserts a `setTimeout(0)` (≥ 1 ms) after 2,048
 * consecutive microtask drains — a stall of the loop, not of the interrupt, that would
 * land inside every hundredth sample or so on both sides.
 */
const fromEventLoop = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const summarize = (label: string, samples: Array<number>) => {
  samples.sort((a, b) => a - b)
  const p50 = percentile(samples, 50)
  const p99 = percentile(samples, 99)
  console.log(
    `${label.padEnd(44)} p50 ${fmt(p50, 3)} ms   p99 ${fmt(p99, 3)} ms   max ${fmt(samples.at(-1) ?? 0, 3)} ms`
  )
  return { p50, p99 }
}

const program = Effect.gen(function*() {
  const map = yield* CmdExecutionMap.CmdExecutionMap
  const measure = (execution: typeof forced, mode: "force" | "graceful") =>
    Effect.gen(function*() {
      const samples: Array<number> = []
      for (let run = 0; run < RUNS + 200; run++) {
        const started = yield* Deferred.make<void>()
        const id = yield* map.start(execution, started)
        yield* Deferred.await(started)
        yield* fromEventLoop
        const t0 = now()
        yield* map.interrupt(id, { source: "api", mode })
        const record = yield* map.awaitRecord(id)
        const elapsed = now() - t0
        if (record.state !== "Interrupted") return yield* Effect.dieMessage(`unexpected ${record.state}`)
        if (run >= 200) samples.push(elapsed)
      }
      return samples
    })
  const baseline = Effect.gen(function*() {
    const samples: Array<number> = []
    for (let run = 0; run < RUNS + 200; run++) {
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        Effect.forEach(
          Array.from({ length: ITEMS }, (_, i) => i),
          () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never),
          { concurrency: ITEMS }
        )
      )
      yield* Deferred.await(started)
      yield* fromEventLoop
      const t0 = now()
      yield* Fiber.interrupt(fiber)
      if (run >= 200) samples.push(now() - t0)
    }
    return samples
  })
  console.log(`${RUNS} runs each, ${ITEMS} items in flight`)
  const base = summarize("baseline: Fiber.interrupt of Effect.forEach", yield* baseline)
  const hard = summarize("Truce forced stop → outcome recorded", yield* measure(forced, "force"))
  const soft = summarize("Truce graceful stop (cooperative) → recorded", yield* measure(cooperative, "graceful"))
  console.log(`ratio p99 forced / baseline: ${fmt(hard.p99 / base.p99)}×`)
  verdict("interrupt latency p99 (forced)", `${fmt(hard.p99, 3)} ms`, "≤ 1 ms", hard.p99 <= 1)
  verdict("interrupt latency p99 (graceful, cooperative)", `${fmt(soft.p99, 3)} ms`, "≤ 1 ms", soft.p99 <= 1)
}).pipe(Effect.provide(CmdExecutionMap.layerMemory({ eventLinger: "1 second", outputDrainTimeout: "1 second" })))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
