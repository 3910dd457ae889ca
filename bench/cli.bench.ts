/**
 * Terminal rendering overhead: does drawing live progress slow the execution down?
 *
 * The execution: 500 items in flight at once. Each waits for its "I/O" (a timer, 0.2 to
 * 0.6 s), does ~0.2 ms of CPU work and reports progress, 8 times; so progress updates
 * arrive at about 1 kHz in total, for about 4 seconds — the shape of a real sync or
 * deploy, where items mostly wait.
 *
 * Baseline: the same execution with no output. Measured: the live terminal output
 * (`TerminalOutput`, 15 fps, 120×40 region) drawing into a sink that counts bytes. For
 * information, also plain lines and JSON lines into sinks. Runs alternate (baseline,
 * terminal, plain, json) in the same process; medians of the rounds are compared.
 *
 * The goal: the wall time with the terminal output is at most 1.05× the baseline's (the
 * median, over rounds, of each terminal run against the baseline run of its round — the
 * machine's load drifts, the two runs of a round see about the same). Also printed: the
 * CPU ratio, and the time the output itself spends applying events and drawing, per
 * second of run time (measured inside the output, so free of the noise of other
 * processes): an execution that needed the CPU all the time would be slowed by that much.
 *
 * Run: pnpm bench cli   (or: node --expose-gc --import ./bench/register.mjs bench/cli.bench.ts)
 */
import { JsonLines, PlainOutput, TerminalOutput } from "@truce/cli"
import { CmdBlock, CmdExecution, type Endpoint, Progress } from "@truce/core"
import { Effect } from "effect"

const ITEMS = 500
const UPDATES_PER_ITEM = 8
const ROUNDS = 7
const GOAL = 1.05

// --- CPU work of a fixed size, calibrated to about 0.2 ms ---------------------------------
let sinkValue = 0
const spin = (iterations: number) => {
  let x = 0x9e3779b9 ^ sinkValue
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  sinkValue = x
}
const calibrate = (targetMs: number): number => {
  spin(2_000_000) // let the JIT compile the loop first
  const probe = 5_000_000
  const times: Array<number> = []
  for (let attempt = 0; attempt < 5; attempt++) {
    const start = process.hrtime.bigint()
    spin(probe)
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  const ms = times.sort((x, y) => x - y)[2] as number
  return Math.max(1000, Math.round(probe * (targetMs / ms)))
}
const WORK = calibrate(0.2)

/** A deterministic wait between 200 and 600 ms for update `step` of item `index`. */
const waitMs = (index: number, step: number) => 200 + ((index * 7919 + step * 104_729) % 401)

const execution = CmdExecution.make<number>("bench").pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (n: number) => Array.from({ length: n }, (_, i) => i),
    id: (i) => `item-${String(i).padStart(3, "0")}.bin`,
    concurrency: ITEMS,
    apply: (index, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit(Progress.Bytes(UPDATES_PER_ITEM * 1024 * 1024))
        for (let step = 0; step < UPDATES_PER_ITEM; step++) {
          yield* Effect.sleep(waitMs(index, step))
          spin(WORK)
          yield* ctx.progress.update({ inc: 1024 * 1024, message: `chunk ${step + 1} of ${UPDATES_PER_ITEM}` })
        }
      })
  }))
)

interface Sample {
  readonly wallMs: number
  readonly cpuMs: number
  readonly bytes: number
  readonly frames: number
  /** Time the terminal output spent applying events and drawing. */
  readonly busyMs: number
}

const sink = () => {
  let bytes = 0
  return {
    stream: {
      write: (chunk: string) => {
        bytes += chunk.length
        return true
      },
      columns: 120,
      rows: 40,
      isTTY: true
    },
    bytes: () => bytes
  }
}

const variants = ["none", "terminal", "plain", "json"] as const
type Variant = typeof variants[number]

const runOnce = async (variant: Variant): Promise<Sample> => {
  const out = sink()
  let stats = () => ({ frames: 0, busyMs: 0 })
  const outputs: Array<Endpoint.ProgressOutput> = []
  if (variant === "terminal") {
    const terminal = TerminalOutput.make({
      stream: out.stream,
      command: "bench",
      blocks: ["work"],
      captureOutput: false,
      env: {}
    })
    outputs.push(terminal.output)
    stats = terminal.stats
  } else if (variant === "plain") {
    outputs.push(PlainOutput.make({ stream: out.stream, env: {} }).output)
  } else if (variant === "json") {
    outputs.push(JsonLines.make({ stream: out.stream }).output)
  }
  globalThis.gc?.()
  const cpu = process.cpuUsage()
  const start = performance.now()
  const outcome = await Effect.runPromise(CmdExecution.run(execution, ITEMS, { outputs }))
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  if (outcome._tag !== "Complete") throw new Error(`the execution did not complete: ${outcome._tag}`)
  return { wallMs, cpuMs: (used.user + used.system) / 1000, bytes: out.bytes(), ...stats() }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const main = async () => {
  const updates = ITEMS * UPDATES_PER_ITEM
  console.log(
    `${ITEMS} items × ${UPDATES_PER_ITEM} updates; each update after a 0.2–0.6 s wait and ~0.2 ms of CPU work (${WORK} iterations)`
  )
  for (const variant of variants) await runOnce(variant) // warm-up (JIT) of every path

  const samples: Record<Variant, Array<Sample>> = { none: [], terminal: [], plain: [], json: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) samples[variant].push(await runOnce(variant))
  }

  const baseWall = median(samples.none.map((sample) => sample.wallMs))
  const baseCpu = median(samples.none.map((sample) => sample.cpuMs))
  /** The ratio of each run to the baseline run of the same round (runs of a round are back to back). */
  const paired = (variant: Variant, field: "wallMs" | "cpuMs") =>
    median(samples[variant].map((sample, round) => sample[field] / (samples.none[round] as Sample)[field]))
  console.log(`\nupdate rate (baseline): ${(updates / (baseWall / 1000)).toFixed(0)} updates/s\n`)
  console.log("variant     wall (median)  cpu (median)  wall ratio  cpu ratio  output")
  for (const variant of variants) {
    const wall = median(samples[variant].map((sample) => sample.wallMs))
    const cpu = median(samples[variant].map((sample) => sample.cpuMs))
    const last = samples[variant][samples[variant].length - 1] as Sample
    const output = variant === "none"
      ? "-"
      : `${(last.bytes / 1024).toFixed(0)} KiB${variant === "terminal" ? `, ${last.frames} frames` : ""}`
    console.log(
      `${variant.padEnd(10)}  ${wall.toFixed(0).padStart(10)} ms  ${cpu.toFixed(0).padStart(9)} ms  ${
        paired(variant, "wallMs").toFixed(3).padStart(10)
      }  ${paired(variant, "cpuMs").toFixed(3).padStart(9)}  ${output}`
    )
  }
  console.log(
    `(ratios: median over rounds of each run against the baseline run of its round; base cpu ${baseCpu.toFixed(0)} ms)`
  )
  const busy = median(samples.terminal.map((sample) => sample.busyMs / sample.wallMs))
  const frames = median(samples.terminal.map((sample) => sample.frames / (sample.wallMs / 1000)))
  console.log(
    `\nterminal output's own work (applying events + drawing): ${(busy * 100).toFixed(2)} % of the run time, ` +
      `${frames.toFixed(1)} frames/s`
  )
  const ratio = paired("terminal", "wallMs")
  const pass = ratio <= GOAL
  console.log(
    `terminal output vs no output: ${ratio.toFixed(3)}× wall time (goal ≤ ${GOAL.toFixed(2)}): ${
      pass ? "PASS" : "FAIL"
    }`
  )
  console.log(
    `all runs (wall ms): none ${samples.none.map((s) => s.wallMs.toFixed(0)).join(", ")}; terminal ${
      samples.terminal.map((s) => s.wallMs.toFixed(0)).join(", ")
    }`
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
