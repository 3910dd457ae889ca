/**
 * Round-trip properties: random headers (every type, full ranges) and payloads, random chunk splits,
 * under both CRC implementations.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { afterAll } from "vitest"
import { Decoder, Encoder, Message } from "../src/index.js"
import * as crc32 from "../src/internal/crc32.js"
import { concat, decodeChunks, message, overlaps, split, splitPoints, toHex } from "./support/arbitraries.js"

describe.each(["auto", "table"] as const)("round trip (CRC: %s)", (implementation) => {
  afterAll(() => crc32.setImplementation("auto"))

  it.prop(
    "decode(encode(m)) equals m, and re-encoding gives the same bytes",
    [message],
    ([m]) => {
      crc32.setImplementation(implementation)
      const frame = Encoder.encodeSync(m)
      const decoded = Decoder.decodeSync(frame)
      expect(Message.equals(decoded, m)).toBe(true)
      expect(toHex(Encoder.encodeSync(decoded))).toBe(toHex(frame))
    },
    { fastCheck: { numRuns: 300, seed: 1 } }
  )

  it.prop(
    "any sequence of messages survives any chunking",
    [FastCheck.array(message, { minLength: 0, maxLength: 8 }), splitPoints(40)],
    ([messages, cuts]) => {
      crc32.setImplementation(implementation)
      const bytes = concat(messages.map((m) => Encoder.encodeSync(m)))
      const decoded = decodeChunks(split(bytes, cuts))
      expect(decoded).toHaveLength(messages.length)
      decoded.forEach((d, i) => expect(Message.equals(d, messages[i])).toBe(true))
    },
    { fastCheck: { numRuns: 200, seed: 2 } }
  )

  it.prop(
    "one byte at a time",
    [FastCheck.array(message, { minLength: 1, maxLength: 3 })],
    ([messages]) => {
      crc32.setImplementation(implementation)
      const bytes = concat(messages.map((m) => Encoder.encodeSync(m)))
      const decoded = decodeChunks(Array.from(bytes, (b) => Uint8Array.of(b)))
      decoded.forEach((d, i) => expect(Message.equals(d, messages[i])).toBe(true))
    },
    { fastCheck: { numRuns: 30, seed: 3 } }
  )

  it.prop(
    "copyPayloads yields equal messages that share no memory with the input",
    [message],
    ([m]) => {
      crc32.setImplementation(implementation)
      const frame = Encoder.encodeSync(m)
      const decoded = Decoder.decodeSync(frame, { copyPayloads: true })
      expect(Message.equals(decoded, m)).toBe(true)
      expect(overlaps(decoded.payload, frame)).toBe(false)
      for (const value of decoded.headers.values()) {
        if (value._tag === "Bytes") expect(overlaps(value.value, frame)).toBe(false)
      }
    },
    { fastCheck: { numRuns: 50, seed: 4 } }
  )
})
