/**
 * Memory: RSS with 100,000 executions in flight, each with one item sleeping. Goal: ≤ 1 GiB.
 *
 * Baseline side by side: 100,000 bare Effect fibers sleeping. Each side runs in a fresh
 * child process (RSS never shrinks back after a measurement, so one process cannot
 * measure both fairly); this file is both the driver and the child.
 *
 * The children run this file bundled to plain JavaScript (esbuild, as a build would):
 * under the benchmarks' TypeScript loader every process would also carry the loader's
 * thread and esbuild (~60 MiB of RSS) that a program using the packages does not have.
 */
import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { fmt, gc, verdict } from "./util.js"

const COUNT = Number(process.env.TRUCE_BENCH_EXECUTIONS ?? 100_000)
const MiB = 1024 * 1024

const rss = () => {
  gc()
  gc()
  return process.memoryUsage().rss
}

const sleeping = CmdExecution.make<number>("sleeper").pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "sleep",
    items: (n: number) => [n],
    id: String,
    apply: () => Effect.sleep("1 hour")
  }))
)

const baseline = Effect.gen(function*() {
  const before = rss()
  yield* Effect.forEach(Array.from({ length: COUNT }), () => Effect.fork(Effect.sleep("1 hour")), { discard: true })
  yield* Effect.sleep("300 millis")
  const after = rss()
  return { before, after }
})

const truce = Effect.gen(function*() {
  const map = yield* CmdExecutionMap.CmdExecutionMap
  const before = rss()
  for (let i = 0; i < COUNT; i++) yield* map.start(sleeping, i)
  // Wait until every execution runs its item.
  while (true) {
    const page = yield* map.list({ where: { state: { op: "eq", value: "Queued" } }, limit: 1 })
    if (page.records.length === 0) break
    yield* Effect.sleep("50 millis")
  }
  yield* Effect.sleep("300 millis")
  const running = yield* map.list({ where: { state: { op: "eq", value: "Running" } }, limit: 1000 })
  if (running.records.length === 0) return yield* Effect.dieMessage("nothing running")
  const after = rss()
  return { before, after }
}).pipe(Effect.provide(CmdExecutionMap.layerMemory()))

const child = process.env.TRUCE_BENCH_SIDE
if (child !== undefined) {
  Effect.runPromise(child === "baseline" ? baseline : truce).then(
    (result) => {
      process.stdout.write(JSON.stringify(result))
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
} else {
  // Loaded here only: the children are this file bundled, without esbuild.
  const { buildSync } = await import("esbuild")
  const bundled = join(mkdtempSync(join(tmpdir(), "truce-bench-")), "core-memory.mjs")
  buildSync({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: bundled,
    external: ["esbuild"],
    logLevel: "error"
  })
  const run = (side: "baseline" | "truce") => {
    const result = spawnSync(process.execPath, ["--expose-gc", bundled], {
      env: { ...process.env, TRUCE_BENCH_SIDE: side },
      encoding: "utf8",
      maxBuffer: 1024 * 1024
    })
    if (result.status !== 0) throw new Error(`${side} failed: ${result.stderr}`)
    return JSON.parse(result.stdout) as { before: number; after: number }
  }
  const base = run("baseline")
  const ours = run("truce")
  const baseGrowth = base.after - base.before
  const ourGrowth = ours.after - ours.before
  console.log(`${COUNT} in flight, each side in a fresh process`)
  console.log(
    `baseline: bare sleeping fibers: RSS ${fmt(base.after / MiB, 0)} MiB (+${fmt(baseGrowth / MiB, 0)} MiB, ${
      fmt(baseGrowth / COUNT, 0)
    } B each)`
  )
  console.log(
    `Truce: executions in flight:    RSS ${fmt(ours.after / MiB, 0)} MiB (+${fmt(ourGrowth / MiB, 0)} MiB, ${
      fmt(ourGrowth / COUNT, 0)
    } B each)`
  )
  console.log(`ratio Truce / bare fibers (growth per unit): ${fmt(ourGrowth / baseGrowth)}×`)
  verdict(
    `RSS with ${COUNT} executions in flight`,
    `${fmt(ours.after / MiB, 0)} MiB`,
    "≤ 1024 MiB",
    ours.after <= 1024 * MiB
  )
}
