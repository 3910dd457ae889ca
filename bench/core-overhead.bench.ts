/**
 * Engine overhead: 10,000 no-op items × 3 blocks through Truce (a CmdExecutionMap with the
 * in-memory store: events, item states and the record all kept) versus the same work with
 * plain `Effect.forEach`, same concurrency, same process. Goal: ≤ 1.5×.
 */
import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
import { Effect } from "effect"
import { fmt, gc, median, now, verdict } from "./util.js"

const ITEMS = 10_000
const CONCURRENCY = 16
const ROUNDS = 15

const items = Array.from({ length: ITEMS }, (_, i) => i)

const block = (name: string) =>
  CmdBlock.items({
    name,
    items: (input: ReadonlyArray<number>) => input,
    id: (i) => `${name}-${i}`,
    concurrency: CONCURRENCY,
    apply: (i) => Effect.succeed(i)
  })

const execution = CmdExecution.make<ReadonlyArray<number>>("overhead").pipe(
  CmdExecution.andThen(block("a")),
  CmdExecution.andThen(block("b")),
  CmdExecution.andThen(block("c"))
)

const baseline = Effect.gen(function*() {
  let input: ReadonlyArray<number> = items
  for (let b = 0; b < 3; b++) {
    input = yield* Effect.forEach(input, (i) => Effect.succeed(i), { concurrency: CONCURRENCY })
  }
  return input
})

const program = Effect.gen(function*() {
  const map = yield* CmdExecutionMap.CmdExecutionMap
  const truce = Effect.flatMap(
    map.run(execution, items),
    (outcome) => outcome._tag === "Complete" ? Effect.void : Effect.dieMessage(`unexpected ${outcome._tag}`)
  )
  const timings = { baseline: [] as Array<number>, truce: [] as Array<number> }
  const cpu = { baseline: [] as Array<number>, truce: [] as Array<number> }
  for (let round = 0; round < ROUNDS + 3; round++) {
    // Alternate the order so neither side always runs on a warmer heap.
    const order = round % 2 === 0 ? (["baseline", "truce"] as const) : (["truce", "baseline"] as const)
    for (const side of order) {
      gc()
      const start = now()
      const startCpu = process.cpuUsage()
      yield* side === "baseline" ? baseline : truce
      const elapsed = now() - start
      const used = process.cpuUsage(startCpu)
      if (round >= 3) {
        timings[side].push(elapsed)
        cpu[side].push((used.user + used.system) / 1000)
      }
    }
  }
  const base = median(timings.baseline)
  const ours = median(timings.truce)
  const baseCpu = median(cpu.baseline)
  const oursCpu = median(cpu.truce)
  console.log(`items: ${ITEMS} × 3 blocks, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (median; wall and CPU time)`)
  console.log(`Effect.forEach : ${fmt(base)} ms wall, ${fmt(baseCpu)} ms CPU  (${fmt((ITEMS * 3) / base, 0)}k items/s)`)
  console.log(`Truce          : ${fmt(ours)} ms wall, ${fmt(oursCpu)} ms CPU  (${fmt((ITEMS * 3) / ours, 0)}k items/s)`)
  console.log(`CPU-time ratio : ${fmt(oursCpu / baseCpu)}×`)
  verdict("engine overhead (Truce / Effect.forEach, wall time)", `${fmt(ours / base)}×`, "≤ 1.5×", ours / base <= 1.5)
}).pipe(Effect.provide(CmdExecutionMap.layerMemory({ eventLinger: "1 second" })))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
