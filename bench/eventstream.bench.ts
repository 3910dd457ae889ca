/**
 * Event streams (@truce/eventstream): our codec side by side with Smithy's TypeScript codec and with
 * `zlib.crc32` alone, in the same process.
 *
 * 1. encode of a ~200-byte progress event vs Smithy's `EventStreamCodec.encode` — goal ≥ 2×;
 * 2. decode of the same frame vs Smithy's `EventStreamCodec.decode` — goal ≥ 2×;
 * 3. streaming decode of 64 KiB-payload frames vs `zlib.crc32` alone over the same bytes — goal ≥ 0.7×.
 *
 * Run: `node --expose-gc --import tsx bench/eventstream.bench.ts` (or `pnpm bench eventstream`).
 */
import { crc32 } from "node:zlib"
import { Decoder, Encoder, Event, Header, Message } from "../packages/eventstream/src/index.js"
import type { SmithyMessage } from "../packages/eventstream/test/support/smithy.js"
import { makeSmithyCodec } from "../packages/eventstream/test/support/smithy.js"

// ---------------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------------

const ROUNDS = 7
const ROUND_MS = 250
const gc: () => void = typeof globalThis.gc === "function" ? globalThis.gc : () => {}

let sink = 0

/** Calls `body` (which performs `batch` operations) repeatedly for ~ROUND_MS; returns ops/s. */
const measureRound = (body: () => void, batch: number): number => {
  gc()
  let operations = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(ROUND_MS * 1e6)
  let now = start
  while (now < deadline) {
    body()
    operations += batch
    now = process.hrtime.bigint()
  }
  return operations / (Number(now - start) / 1e9)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

interface Case {
  readonly title: string
  readonly unit: "ops/s" | "MB/s"
  /** Bytes processed per operation (for MB/s). */
  readonly bytesPerOp: number
  readonly batch: number
  readonly baselineName: string
  readonly baseline: () => void
  readonly truce: () => void
  /** The goal for truce / baseline, or `undefined` for an informational case. */
  readonly goal: number | undefined
}

interface Outcome {
  readonly title: string
  readonly baseline: number
  readonly truce: number
  readonly ratio: number
  readonly goal: number | undefined
}

const verdict = (o: Outcome): string =>
  o.goal === undefined ? "(informational)" : `goal ≥ ${o.goal}×  ${o.ratio >= o.goal ? "PASS" : "FAIL"}`

const run = (c: Case): Outcome => {
  // warm-up: let both sides reach their optimised tiers
  for (let i = 0; i < 3; i++) {
    measureRound(c.baseline, c.batch)
    measureRound(c.truce, c.batch)
  }
  const baseline: Array<number> = []
  const truce: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    // alternate the order so that neither side always runs right after a GC of the other's garbage
    if (round % 2 === 0) {
      baseline.push(measureRound(c.baseline, c.batch))
      truce.push(measureRound(c.truce, c.batch))
    } else {
      truce.push(measureRound(c.truce, c.batch))
      baseline.push(measureRound(c.baseline, c.batch))
    }
  }
  const scale = c.unit === "MB/s" ? c.bytesPerOp / 1e6 : 1
  const outcome = {
    title: c.title,
    baseline: median(baseline) * scale,
    truce: median(truce) * scale,
    ratio: median(truce) / median(baseline),
    goal: c.goal
  }
  const format = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })
  console.log(`\n${c.title}`)
  console.log(`  ${c.baselineName.padEnd(28)} ${format(outcome.baseline).padStart(12)} ${c.unit}`)
  console.log(`  ${"@truce/eventstream".padEnd(28)} ${format(outcome.truce).padStart(12)} ${c.unit}`)
  console.log(`  ratio ${outcome.ratio.toFixed(2)}×  ${verdict(outcome)}`)
  return outcome
}

// ---------------------------------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------------------------------

const utf8 = new TextEncoder()

/** A progress event as Truce will push it: JSON payload, the three conventional headers. */
const progressPayload = utf8.encode(
  JSON.stringify({
    execution: "exec_01HZX8Q4K7M2",
    step: "compile",
    done: 1234,
    total: 5000,
    message: "compiling packages/core/src/index.ts"
  })
)
const progress = Event.event("progress", progressPayload, { contentType: "application/json" })

const smithyProgress: SmithyMessage = {
  headers: {
    ":message-type": { type: "string", value: "event" },
    ":event-type": { type: "string", value: "progress" },
    ":content-type": { type: "string", value: "application/json" }
  },
  body: progressPayload
}

const smithy = makeSmithyCodec()
const progressFrame = Encoder.encodeSync(progress)
const smithyFrame = smithy.encode(smithyProgress)
if (Buffer.compare(progressFrame, smithyFrame) !== 0) throw new Error("the two encoders disagree on the progress frame")

// 64 KiB payloads
const bigFrames = Array.from({ length: 16 }, (_, i) =>
  Encoder.encodeSync(
    Message.make({
      headers: { ":message-type": "event", ":event-type": "chunk", sequence: Header.int(i) },
      payload: Uint8Array.from({ length: 64 * 1024 }, (_, j) => (i * 31 + j * 7) & 0xff)
    })
  ))
const bigFrameBytes = bigFrames[0].length

// ---------------------------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------------------------

console.log(
  `@truce/eventstream — Node ${process.version}, ${process.platform}/${process.arch}; ` +
    `progress frame ${progressFrame.length} B, large frame ${bigFrameBytes} B; ` +
    `median of ${ROUNDS} rounds of ${ROUND_MS} ms after warm-up`
)

const outcomes: Array<Outcome> = []
const SMALL_BATCH = 1000

outcomes.push(run({
  title: `encode: progress event (${progressFrame.length} B)`,
  unit: "ops/s",
  bytesPerOp: progressFrame.length,
  batch: SMALL_BATCH,
  baselineName: "@smithy EventStreamCodec",
  baseline: () => {
    for (let i = 0; i < SMALL_BATCH; i++) sink ^= smithy.encode(smithyProgress).length
  },
  truce: () => {
    for (let i = 0; i < SMALL_BATCH; i++) sink ^= Encoder.encodeSync(progress).length
  },
  goal: 2
}))

outcomes.push(run({
  title: `decode: progress event (${progressFrame.length} B)`,
  unit: "ops/s",
  bytesPerOp: progressFrame.length,
  batch: SMALL_BATCH,
  baselineName: "@smithy EventStreamCodec",
  baseline: () => {
    for (let i = 0; i < SMALL_BATCH; i++) sink ^= smithy.decode(smithyFrame).body.length
  },
  truce: () => {
    for (let i = 0; i < SMALL_BATCH; i++) sink ^= Decoder.decodeSync(progressFrame).payload.length
  },
  goal: 2
}))

// The streaming decoder, one frame per chunk (the common case for an HTTP body read frame by frame).
const streamSmall = Decoder.make()
outcomes.push(run({
  title: `streaming decode: progress events, one frame per chunk (${progressFrame.length} B)`,
  unit: "ops/s",
  bytesPerOp: progressFrame.length,
  batch: SMALL_BATCH,
  baselineName: "@smithy EventStreamCodec",
  baseline: () => {
    for (let i = 0; i < SMALL_BATCH; i++) sink ^= smithy.decode(smithyFrame).body.length
  },
  truce: () => {
    for (let i = 0; i < SMALL_BATCH; i++) {
      streamSmall.write(progressFrame)
      const message = streamSmall.read()
      if (message !== undefined) sink ^= message.payload.length
    }
  },
  goal: 2
}))

const streamBig = Decoder.make()
const BIG_BATCH = bigFrames.length
outcomes.push(run({
  title: `streaming decode: 64 KiB payloads (${bigFrameBytes} B frames), one frame per chunk`,
  unit: "MB/s",
  bytesPerOp: bigFrameBytes,
  batch: BIG_BATCH,
  baselineName: "zlib.crc32 alone",
  baseline: () => {
    for (let i = 0; i < BIG_BATCH; i++) sink ^= crc32(bigFrames[i])
  },
  truce: () => {
    for (let i = 0; i < BIG_BATCH; i++) {
      streamBig.write(bigFrames[i])
      const message = streamBig.read()
      if (message !== undefined) sink ^= message.payload.length
    }
  },
  goal: 0.7
}))

// The same frames arriving in 16 KiB network-sized chunks: every frame spans chunks, so it is copied
// once into a buffer of its exact size (informational: the price of reassembly).
const streamChunked = Decoder.make()
const chunked = bigFrames.flatMap((frame) =>
  Array.from({ length: Math.ceil(frame.length / 16384) }, (_, i) => frame.subarray(i * 16384, (i + 1) * 16384))
)
outcomes.push(run({
  title: "streaming decode: 64 KiB payloads arriving in 16 KiB chunks (reassembly copy)",
  unit: "MB/s",
  bytesPerOp: bigFrameBytes,
  batch: BIG_BATCH,
  baselineName: "zlib.crc32 alone",
  baseline: () => {
    for (let i = 0; i < BIG_BATCH; i++) sink ^= crc32(bigFrames[i])
  },
  truce: () => {
    for (const chunk of chunked) {
      streamChunked.write(chunk)
      const message = streamChunked.read()
      if (message !== undefined) sink ^= message.payload.length
    }
  },
  goal: undefined
}))

// ---------------------------------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------------------------------

console.log("\nsummary")
for (const o of outcomes) {
  console.log(`  ${o.ratio.toFixed(2)}×  ${verdict(o).padEnd(18)}  ${o.title}`)
}
if (sink === 0.5) console.log(sink) // keep results observable
