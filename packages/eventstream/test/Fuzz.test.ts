/**
 * Fuzzing with a fixed seed: mutated frames (bit flips, random bytes, truncation, extension,
 * splicing, tampered lengths with a re-validated prelude, garbage headers with both checksums fixed)
 * fed in random chunks. The decoder must only ever yield valid messages or typed errors, keep its
 * memory within the caps, and never deliver a message that does not re-encode to its own bytes.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { Decoder, Encoder, EventStreamError, Header, Message } from "../src/index.js"
import { concat, fromHex, toHex } from "./support/arbitraries.js"
import { fixChecksums } from "./support/frames.js"

/** mulberry32: a small deterministic PRNG. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const vectors = JSON.parse(
  readFileSync(new URL("./fixtures/eventstream-conformance-vectors.json", import.meta.url), "utf8")
) as { readonly positive: Record<string, { readonly encoded_hex: string }> }

const corpus: ReadonlyArray<Uint8Array> = [
  ...Object.values(vectors.positive).map((v) => fromHex(v.encoded_hex)),
  Encoder.encodeSync(
    Message.make({
      headers: new Map<string, Header.HeaderValue>([
        [":message-type", Header.string("event")],
        [":event-type", Header.string("progress")],
        ["n", Header.long(-5n)],
        ["u", Header.uuid("00112233-4455-6677-8899-aabbccddeeff")],
        ["s", Header.string("héllo wörld ✓")]
      ]),
      payload: new TextEncoder().encode("{\"done\":1,\"total\":2}")
    })
  )
]

const LIMITS = { maxPayloadBytes: 4096, maxHeadersBytes: 1024, maxHeaderCount: 16 } as const
const MAX_ALLOCATION = 16 + LIMITS.maxHeadersBytes + LIMITS.maxPayloadBytes

const mutate = (random: () => number, input: Uint8Array): Uint8Array => {
  const pick = (n: number) => Math.floor(random() * n)
  let bytes: Uint8Array = input.slice()
  const kind = pick(9)
  switch (kind) {
    case 0: // flip bits
      for (let i = 0, n = 1 + pick(3); i < n; i++) bytes[pick(bytes.length)] ^= 1 << pick(8)
      break
    case 1: // random bytes
      for (let i = 0, n = 1 + pick(4); i < n; i++) bytes[pick(bytes.length)] = pick(256)
      break
    case 2: // truncate
      bytes = bytes.subarray(0, pick(bytes.length))
      break
    case 3: // extend with garbage
      bytes = concat([bytes, Uint8Array.from({ length: 1 + pick(64) }, () => pick(256))])
      break
    case 4: { // splice two frames at random points
      const other = corpus[pick(corpus.length)]
      bytes = concat([bytes.subarray(0, pick(bytes.length)), other.subarray(pick(other.length))])
      break
    }
    case 5: { // tamper with a length field, keep the prelude checksum valid
      const view = new DataView(bytes.buffer)
      const extremes = [0, 1, 15, 16, 17, 0x7fffffff, 0xffffffff, 0xfffffff0, bytes.length - 1, bytes.length + 1]
      const value = random() < 0.5 ? extremes[pick(extremes.length)] : pick(0x100000000)
      view.setUint32(random() < 0.5 ? 0 : 4, value >>> 0)
      view.setUint32(8, 0)
      fixChecksums(bytes)
      break
    }
    case 6: // corrupt the headers section and fix both checksums: exercises the header parser
    case 7: {
      const headersLength = new DataView(bytes.buffer).getUint32(4)
      if (headersLength > 0) {
        for (let i = 0, n = 1 + pick(4); i < n; i++) bytes[12 + pick(headersLength)] = pick(256)
      }
      fixChecksums(bytes)
      break
    }
    case 8: // pure garbage with a valid prelude
      bytes = fixChecksums(Uint8Array.from({ length: 16 + pick(64) }, () => pick(256)))
      new DataView(bytes.buffer).setUint32(0, bytes.length)
      fixChecksums(bytes)
      break
  }
  return bytes
}

interface Outcome {
  readonly messages: number
  readonly error: EventStreamError.DecodeError | undefined
  readonly maxAllocated: number
}

const feed = (random: () => number, bytes: Uint8Array, options: Decoder.Options): Outcome => {
  const decoder = Decoder.make(options)
  let messages = 0
  let maxAllocated = 0
  try {
    let pos = 0
    while (pos < bytes.length) {
      const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * 40)
      decoder.write(bytes.subarray(pos, pos + size))
      pos += size
      maxAllocated = Math.max(maxAllocated, decoder.allocatedBytes)
      for (let m = decoder.read(); m !== undefined; m = decoder.read()) {
        messages++
        // whatever we deliver is a well-formed message: encodable within the same caps
        Encoder.encodeSync(m, { ...options, maxHeaderCount: 10_000 })
      }
    }
    decoder.end()
    return { messages, error: undefined, maxAllocated }
  } catch (error) {
    if (!EventStreamError.isDecodeError(error)) throw error
    // after a failure the decoder refuses input and holds nothing
    expect(decoder.state).toBe("failed")
    expect(decoder.allocatedBytes).toBe(0)
    expect(() => decoder.write(Uint8Array.of(0))).toThrow(error)
    return { messages, error, maxAllocated }
  }
}

describe("fuzz (fixed seed)", () => {
  it("mutated frames only ever yield messages or typed errors, within the memory caps", () => {
    const random = prng(0x5eed)
    const tags = new Map<string, number>()
    let accepted = 0
    const before = process.memoryUsage().arrayBuffers
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(random, corpus[Math.floor(random() * corpus.length)])
      const options = i % 2 === 0 ? LIMITS : {}
      const outcome = feed(random, input, options)
      if (options === LIMITS) expect(outcome.maxAllocated).toBeLessThanOrEqual(MAX_ALLOCATION)
      if (outcome.error === undefined) {
        accepted++
      } else {
        tags.set(outcome.error._tag, (tags.get(outcome.error._tag) ?? 0) + 1)
      }
      // the one-shot decoder agrees, and what it accepts re-encodes to exactly the same bytes
      const single = Decoder.decode(input, options)
      if (single._tag === "Right") {
        expect(toHex(Encoder.encodeSync(single.right, { maxHeaderCount: 10_000 }))).toBe(toHex(input))
      } else {
        expect(EventStreamError.isDecodeError(single.left)).toBe(true)
      }
    }
    // the mutations reach every layer of the decoder
    for (
      const tag of [
        "PreludeChecksumMismatch",
        "MessageChecksumMismatch",
        "InvalidPrelude",
        "TooLarge",
        "InvalidHeader",
        "Truncated"
      ]
    ) {
      expect(tags.get(tag) ?? 0, tag).toBeGreaterThan(0)
    }
    expect(accepted).toBeGreaterThan(0)
    // bounded memory overall: nothing proportional to a declared length was ever allocated
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
  })

  it("a stream of random bytes is rejected quickly and cheaply", () => {
    const random = prng(42)
    for (let i = 0; i < 2_000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))
      const outcome = feed(random, bytes, {})
      expect(outcome.messages).toBe(0)
      expect(outcome.maxAllocated).toBe(0) // a random prelude essentially never passes the checksum
    }
  })
})
