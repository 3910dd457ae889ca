/**
 * fast-check arbitraries and helpers shared by the property, interop and fuzz tests.
 */
import * as FastCheck from "effect/FastCheck"
import type { Message } from "../../src/index.js"
import { Decoder, Header } from "../../src/index.js"

const utf8 = new TextEncoder()

/** A header name: 1–255 UTF-8 bytes, any well-formed Unicode. */
export const headerName: FastCheck.Arbitrary<string> = FastCheck.oneof(
  FastCheck.constantFrom(":message-type", ":event-type", ":content-type", "__proto__", "constructor", "toString"),
  FastCheck.string({ unit: "binary", minLength: 1, maxLength: 24 }),
  FastCheck.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 255 })
).filter((name) => {
  const length = utf8.encode(name).length
  return length >= 1 && length <= 255
})

const uuidBytes = FastCheck.uint8Array({ minLength: 16, maxLength: 16 })

export const formatUuid = (bytes: Uint8Array): string => {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Any header value, covering the full range of every type. */
export const headerValue: FastCheck.Arbitrary<Header.HeaderValue> = FastCheck.oneof(
  FastCheck.boolean().map(Header.boolean),
  FastCheck.integer({ min: -128, max: 127 }).map(Header.byte),
  FastCheck.integer({ min: -32768, max: 32767 }).map(Header.short),
  FastCheck.integer({ min: -2147483648, max: 2147483647 }).map(Header.int),
  FastCheck.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(Header.long),
  FastCheck.uint8Array({ maxLength: 64 }).map(Header.bytes),
  FastCheck.string({ unit: "binary", maxLength: 40 }).map(Header.string),
  FastCheck.date({ noInvalidDate: true }).map(Header.timestamp),
  uuidBytes.map((bytes) => Header.uuid(formatUuid(bytes)))
)

/** Headers with distinct names, in a random order. */
export const headers: FastCheck.Arbitrary<Message.Headers> = FastCheck.uniqueArray(
  FastCheck.tuple(headerName, headerValue),
  { selector: ([name]) => name, maxLength: 12 }
).map((entries) => new Map(entries))

/** A payload, mostly small, sometimes larger. */
export const payload: FastCheck.Arbitrary<Uint8Array> = FastCheck.oneof(
  { weight: 5, arbitrary: FastCheck.uint8Array({ maxLength: 256 }) },
  { weight: 1, arbitrary: FastCheck.uint8Array({ minLength: 1000, maxLength: 5000 }) }
)

/** A message. */
export const message: FastCheck.Arbitrary<Message.Message> = FastCheck.record({ headers, payload })

/** Cut points for splitting a buffer of `length` bytes into chunks (sorted, within (0, length)). */
export const splitPoints = (maxCuts: number): FastCheck.Arbitrary<ReadonlyArray<number>> =>
  FastCheck.array(FastCheck.double({ min: 0, max: 1, noNaN: true }), { maxLength: maxCuts })

/** Splits `bytes` at fractional positions (each in [0, 1]). */
export const split = (bytes: Uint8Array, fractions: ReadonlyArray<number>): Array<Uint8Array> => {
  const cuts = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))]
    .filter((cut) => cut > 0 && cut < bytes.length)
    .sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut))
    start = cut
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

/** Concatenates buffers. */
export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Feeds chunks to a fresh streaming decoder and collects every message (throws the decoder's typed errors). */
export const decodeChunks = (chunks: ReadonlyArray<Uint8Array>, options?: Decoder.Options): Array<Message.Message> => {
  const decoder = Decoder.make(options)
  const out: Array<Message.Message> = []
  for (const chunk of chunks) {
    decoder.write(chunk)
    for (let m = decoder.read(); m !== undefined; m = decoder.read()) out.push(m)
  }
  decoder.end()
  return out
}

export const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"))
export const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

/** Whether two arrays share memory. */
export const overlaps = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength
