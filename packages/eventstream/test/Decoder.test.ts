import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { Decoder, Encoder, EventStreamError, Header, Message } from "../src/index.js"
import { concat, decodeChunks, overlaps } from "./support/arbitraries.js"
import { prelude, rawFrame, rawHeader } from "./support/frames.js"

const progress = (n: number) =>
  Message.make({
    headers: { ":message-type": "event", ":event-type": "progress", n: Header.int(n) },
    payload: new TextEncoder().encode(JSON.stringify({ done: n, total: 100 }))
  })

const nOf = (message: Message.Message | undefined) => {
  const n = message?.headers.get("n")
  return n?._tag === "Int" ? n.value : undefined
}

/** Runs `f`, returning what it threw. */
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected a throw")
}

const decodeError = (frame: Uint8Array, options?: Decoder.Options): EventStreamError.DecodeError => {
  const result = Decoder.decode(frame, options)
  if (Either.isRight(result)) throw new Error("expected a decoding error")
  return result.left
}

describe("Decoder", () => {
  describe("streaming", () => {
    const frames = Array.from({ length: 20 }, (_, i) => Encoder.encodeSync(progress(i)))
    const all = concat(frames)

    it("decodes many frames from one chunk, in order", () => {
      expect(decodeChunks([all]).map(nOf)).toEqual(frames.map((_, i) => i))
    })

    it("decodes frames fed one byte at a time", () => {
      expect(decodeChunks(Array.from(all, (b) => Uint8Array.of(b))).map(nOf)).toEqual(frames.map((_, i) => i))
    })

    it("decodes with every chunk size from 1 to 64 (boundaries everywhere, prelude split included)", () => {
      for (let size = 1; size <= 64; size++) {
        const chunks: Array<Uint8Array> = []
        for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size))
        expect(decodeChunks(chunks).map(nOf)).toEqual(frames.map((_, i) => i))
      }
    })

    it("tolerates empty chunks", () => {
      expect(decodeChunks([new Uint8Array(0), frames[0], new Uint8Array(0)]).map(nOf)).toEqual([0])
    })

    it("decodes whole frames in place: no copy, no allocation", () => {
      const decoder = Decoder.make()
      decoder.write(all)
      while (decoder.read() !== undefined) { /* drain */ }
      expect(decoder.stats).toEqual({ bytesReceived: all.length, bytesCopied: 0, bytesAllocated: 0, framesDecoded: 20 })
    })

    it("payloads are views into the input by default, copies with copyPayloads", () => {
      const frame = Encoder.encodeSync(progress(1))
      const view = Decoder.decodeSync(frame).payload
      expect(overlaps(view, frame)).toBe(true)
      const copy = Decoder.decodeSync(frame, { copyPayloads: true }).payload
      expect(overlaps(copy, frame)).toBe(false)
      expect(copy).toEqual(view)
      const decoder = Decoder.make({ copyPayloads: true })
      decoder.write(frame)
      const streamed = decoder.read()?.payload
      expect(streamed && overlaps(streamed, frame)).toBe(false)
      // mutating the input changes the view only
      frame[frame.length - 5] ^= 0xff
      expect(view).not.toEqual(copy)
      expect(streamed).toEqual(copy)
    })

    it("does work linear in the input when fed one byte at a time (each byte copied once)", () => {
      for (const count of [10, 100, 1000]) {
        const many = concat(Array.from({ length: count }, (_, i) => Encoder.encodeSync(progress(i))))
        const decoder = Decoder.make()
        let decoded = 0
        for (let i = 0; i < many.length; i++) {
          decoder.write(many.subarray(i, i + 1))
          while (decoder.read() !== undefined) decoded++
        }
        decoder.end()
        expect(decoded).toBe(count)
        const stats = decoder.stats
        // every byte is copied once into its frame buffer, plus the 12 prelude bytes a second time
        expect(stats.bytesCopied).toBe(many.length + 12 * count)
        // one allocation of exactly the frame's size per frame
        expect(stats.bytesAllocated).toBe(many.length)
      }
    })

    it("exposes the bytes it buffers for an incomplete frame", () => {
      const frame = frames[3]
      const decoder = Decoder.make()
      decoder.write(frame.subarray(0, 5))
      expect([decoder.bufferedBytes, decoder.allocatedBytes]).toEqual([5, 0])
      decoder.write(frame.subarray(5, 20))
      expect([decoder.bufferedBytes, decoder.allocatedBytes]).toEqual([20, frame.length])
      decoder.write(frame.subarray(20))
      expect([decoder.bufferedBytes, decoder.allocatedBytes, decoder.pendingMessages]).toEqual([0, 0, 1])
      expect(nOf(decoder.read())).toBe(3)
      expect(decoder.read()).toBeUndefined()
    })
  })

  describe("declared lengths and caps (checked from the prelude alone)", () => {
    it("a declared length of 0xFFFFFFFF fails with TooLarge right after 12 bytes, allocating nothing", () => {
      const before = process.memoryUsage().arrayBuffers
      const decoder = Decoder.make()
      const header = prelude(0xffffffff, 0)
      for (let i = 0; i < 11; i++) decoder.write(header.subarray(i, i + 1))
      expect(decoder.state).toBe("open")
      expect(decoder.read()).toBeUndefined()
      decoder.write(header.subarray(11, 12))
      expect(decoder.state).toBe("failed")
      const error = thrown(() => decoder.read())
      expect(error).toBeInstanceOf(EventStreamError.TooLarge)
      expect(error).toMatchObject({ subject: "payload", size: 0xffffffff - 16, limit: 24 * 1024 * 1024, offset: 0 })
      expect(decoder.stats.bytesAllocated).toBe(0)
      expect(decoder.allocatedBytes).toBe(0)
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024)
    })

    it("the same in one chunk, and with a declared headers length of 0xFFFFFF00", () => {
      expect(thrown(() => decodeChunks([prelude(0xffffffff, 0)]))).toMatchObject({
        _tag: "TooLarge",
        subject: "payload"
      })
      expect(thrown(() => decodeChunks([prelude(0xffffffff, 0xffffff00)]))).toMatchObject({
        _tag: "TooLarge",
        subject: "headers",
        size: 0xffffff00,
        limit: 128 * 1024
      })
    })

    it("applies custom caps to declared lengths", () => {
      const frame = Encoder.encodeSync(Message.make({ headers: { a: "bc" }, payload: new Uint8Array(100) }))
      expect(decodeError(frame, { maxPayloadBytes: 99 })).toMatchObject({ subject: "payload", size: 100, limit: 99 })
      expect(Either.isRight(Decoder.decode(frame, { maxPayloadBytes: 100 }))).toBe(true)
      expect(decodeError(frame, { maxHeadersBytes: 6 })).toMatchObject({ subject: "headers", size: 7, limit: 6 })
      expect(Either.isRight(Decoder.decode(frame, { maxHeadersBytes: 7 }))).toBe(true)
    })

    it("caps the header count (default 1024)", () => {
      const many = (n: number) =>
        Message.make({ headers: new Map(Array.from({ length: n }, (_, i) => [`h${i}`, Header.boolean(true)])) })
      expect(Either.isRight(Decoder.decode(Encoder.encodeSync(many(1024))))).toBe(true)
      const tooMany = Encoder.encodeSync(many(1024), { maxHeaderCount: 2000 })
      expect(Either.isRight(Decoder.decode(tooMany))).toBe(true)
      const over = Encoder.encodeSync(many(1025), { maxHeaderCount: 2000 })
      expect(decodeError(over)).toMatchObject({ _tag: "TooLarge", subject: "headerCount", size: 1025, limit: 1024 })
      expect(decodeError(Encoder.encodeSync(many(3)), { maxHeaderCount: 2 })).toMatchObject({
        subject: "headerCount",
        limit: 2
      })
    })

    it("rejects a total length below 16 and a headers length that does not fit", () => {
      for (const total of [0, 12, 15]) {
        expect(thrown(() => decodeChunks([prelude(total, 0), new Uint8Array(4)]))).toMatchObject({
          _tag: "InvalidPrelude",
          reason: "TotalLengthTooSmall",
          totalLength: total
        })
      }
      expect(thrown(() => decodeChunks([prelude(20, 5)]))).toMatchObject({
        _tag: "InvalidPrelude",
        reason: "HeadersLengthExceedsMessage",
        headersLength: 5
      })
    })

    it("reports the stream offset of the faulty frame", () => {
      const good = Encoder.encodeSync(progress(1))
      const bad = prelude(0xffffffff, 0)
      expect(thrown(() => decodeChunks([good, good, bad]))).toMatchObject({ offset: 2 * good.length })
      expect(thrown(() => decodeChunks([concat([good, good, bad])]))).toMatchObject({ offset: 2 * good.length })
    })
  })

  describe("headers", () => {
    const headerError = (headers: Uint8Array) => decodeError(rawFrame(headers))

    it("rejects an unknown type tag", () => {
      expect(headerError(rawHeader("a", 10))).toMatchObject({
        _tag: "InvalidHeader",
        reason: "UnknownType",
        header: "a"
      })
      expect(headerError(rawHeader("a", 255))).toMatchObject({ reason: "UnknownType" })
    })

    it("rejects names and values that run past the headers section", () => {
      expect(headerError(Uint8Array.of(5, 0x61))).toMatchObject({ reason: "Overrun" })
      expect(headerError(rawHeader("a", 0).subarray(0, 2))).toMatchObject({ reason: "Overrun" })
      for (const [type, size] of [[2, 1], [3, 2], [4, 4], [5, 8], [8, 8], [9, 16]]) {
        expect(headerError(rawHeader("a", type, new Uint8Array(size - 1)))).toMatchObject({
          reason: "Overrun",
          header: "a"
        })
        expect(Either.isRight(Decoder.decode(rawFrame(rawHeader("a", type, new Uint8Array(size)))))).toBe(true)
      }
      expect(headerError(rawHeader("a", 7, [0]))).toMatchObject({ reason: "Overrun" })
      expect(headerError(rawHeader("a", 7, [0, 3, 0x61, 0x62]))).toMatchObject({ reason: "Overrun" })
      expect(headerError(rawHeader("a", 6, [0xff, 0xff, 1]))).toMatchObject({ reason: "Overrun" })
    })

    it("rejects an empty name", () => {
      expect(headerError(rawHeader("", 0))).toMatchObject({ reason: "EmptyName", offset: 12 })
    })

    it("rejects malformed UTF-8 in names and string values (never U+FFFD)", () => {
      expect(headerError(rawHeader(Uint8Array.of(0xc3), 0))).toMatchObject({ reason: "InvalidUtf8" })
      expect(headerError(rawHeader(Uint8Array.of(0xed, 0xa0, 0x80), 0))).toMatchObject({ reason: "InvalidUtf8" })
      expect(headerError(rawHeader("s", 7, [0, 2, 0xff, 0xfe]))).toMatchObject({ reason: "InvalidUtf8", header: "s" })
    })

    it("rejects a duplicate name (no last-wins smuggling)", () => {
      expect(headerError(concat([rawHeader("a", 0), rawHeader("a", 1)]))).toMatchObject({
        reason: "DuplicateName",
        header: "a",
        offset: 15
      })
    })

    it("accepts string and byte values up to the wire's 65,535 bytes", () => {
      const value = new Uint8Array(65535).fill(0x61)
      const message = Decoder.decodeSync(rawFrame(rawHeader("s", 7, [0xff, 0xff, ...value])))
      const decoded = message.headers.get("s")
      expect(decoded?._tag === "String" && decoded.value.length).toBe(65535)
    })

    it("rejects timestamps outside the range of Date", () => {
      expect(headerError(rawHeader("t", 8, [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toMatchObject({
        reason: "InvalidTimestamp"
      })
      const max = BigInt.asUintN(64, 8640000000000001n)
      const bytes = Array.from({ length: 8 }, (_, i) => Number((max >> BigInt(56 - 8 * i)) & 0xffn))
      expect(headerError(rawHeader("t", 8, bytes))).toMatchObject({ reason: "InvalidTimestamp" })
    })

    it("keeps `__proto__` and friends as ordinary header names (no prototype hazard)", () => {
      const frame = rawFrame(concat([rawHeader("__proto__", 7, [0, 1, 0x78]), rawHeader("constructor", 0)]))
      const message = Decoder.decodeSync(frame)
      expect([...message.headers.keys()]).toEqual(["__proto__", "constructor"])
      expect(message.headers.get("__proto__")).toEqual(Header.string("x"))
      expect(({} as Record<string, unknown>)["x"]).toBeUndefined()
    })

    it("decodes every type", () => {
      const message = Message.make({
        headers: new Map<string, Header.HeaderValue>([
          ["t", Header.boolean(true)],
          ["f", Header.boolean(false)],
          ["b", Header.byte(-7)],
          ["s", Header.short(-300)],
          ["i", Header.int(-70000)],
          ["l", Header.long(-(2n ** 40n))],
          ["y", Header.bytes(Uint8Array.of(0, 255))],
          ["str", Header.string("héllo")],
          ["ts", Header.timestamp(new Date("2024-05-01T12:00:00.123Z"))],
          ["u", Header.uuid("AABBCCDD-0506-0708-090a-0b0c0d0e0f10")]
        ]),
        payload: Uint8Array.of(9)
      })
      const decoded = Decoder.decodeSync(Encoder.encodeSync(message))
      expect(Message.equals(decoded, message)).toBe(true)
      expect(decoded.headers.get("u")).toEqual(Header.uuid("aabbccdd-0506-0708-090a-0b0c0d0e0f10"))
    })
  })

  describe("failure handling", () => {
    const good = Encoder.encodeSync(progress(1))
    const corrupt = Encoder.encodeSync(progress(2))
    corrupt[corrupt.length - 20] ^= 1 // payload byte: message checksum mismatch

    it("delivers the messages preceding an error, then the error; no half-decoded message", () => {
      const decoder = Decoder.make()
      decoder.write(concat([good, good, corrupt, good]))
      expect(nOf(decoder.read())).toBe(1)
      expect(nOf(decoder.read())).toBe(1)
      const error = thrown(() => decoder.read())
      expect(error).toMatchObject({ _tag: "MessageChecksumMismatch", offset: 2 * good.length })
      expect(decoder.stats.framesDecoded).toBe(2)
      expect(decoder.bufferedBytes).toBe(0)
      expect(decoder.allocatedBytes).toBe(0)
    })

    it("after an error refuses further input and keeps failing with the same error", () => {
      const decoder = Decoder.make()
      decoder.write(corrupt.subarray(0, 30))
      decoder.write(corrupt.subarray(30))
      expect(decoder.state).toBe("failed")
      const error = thrown(() => decoder.read())
      expect(thrown(() => decoder.write(good))).toBe(error)
      expect(thrown(() => decoder.read())).toBe(error)
      expect(thrown(() => decoder.end())).toBe(error)
      expect(decoder.error).toBe(error)
      expect(decoder.stats.framesDecoded).toBe(0)
    })

    it("end() inside a frame fails with Truncated (inside the prelude, and after it)", () => {
      expect(thrown(() => decodeChunks([good, good.subarray(0, 5)]))).toMatchObject({
        _tag: "Truncated",
        offset: good.length,
        received: 5,
        expected: 12
      })
      expect(thrown(() => decodeChunks([good.subarray(0, 40)]))).toMatchObject({
        _tag: "Truncated",
        offset: 0,
        received: 40,
        expected: good.length
      })
      expect(decodeChunks([])).toEqual([])
    })

    it("messages decoded before a Truncated end stay readable", () => {
      const decoder = Decoder.make()
      decoder.write(concat([good, good.subarray(0, 3)]))
      expect(thrown(() => decoder.end())).toBeInstanceOf(EventStreamError.Truncated)
      expect(nOf(decoder.read())).toBe(1)
      expect(thrown(() => decoder.read())).toBeInstanceOf(EventStreamError.Truncated)
    })

    it("write after end() fails with DecoderClosed", () => {
      const decoder = Decoder.make()
      decoder.write(good)
      decoder.end()
      decoder.end()
      expect(decoder.state).toBe("ended")
      expect(thrown(() => decoder.write(good))).toMatchObject({ _tag: "DecoderClosed", offset: good.length })
      expect(nOf(decoder.read())).toBe(1)
    })

    it("every thrown error is a typed DecodeError", () => {
      for (const error of [thrown(() => decodeChunks([corrupt])), thrown(() => decodeChunks([good.subarray(1)]))]) {
        expect(EventStreamError.isDecodeError(error)).toBe(true)
        expect(error).toBeInstanceOf(Error)
      }
    })
  })

  describe("one-shot", () => {
    const frame = Encoder.encodeSync(progress(5))

    it("decode requires exactly one frame", () => {
      expect(nOf(Either.getOrThrow(Decoder.decode(frame)))).toBe(5)
      expect(decodeError(frame.subarray(0, 11))).toMatchObject({ _tag: "Truncated", received: 11, expected: 12 })
      expect(decodeError(frame.subarray(0, frame.length - 1))).toMatchObject({
        _tag: "Truncated",
        expected: frame.length
      })
      expect(decodeError(concat([frame, Uint8Array.of(0)]))).toMatchObject({
        _tag: "InvalidPrelude",
        reason: "LengthMismatch"
      })
    })

    it("decodeAll decodes frames back to back and rejects a trailing partial frame", () => {
      expect(Either.getOrThrow(Decoder.decodeAll(concat([frame, frame]))).map(nOf)).toEqual([5, 5])
      expect(Either.getOrThrow(Decoder.decodeAll(new Uint8Array(0)))).toEqual([])
      const left = Decoder.decodeAll(concat([frame, frame.subarray(0, 3)]))
      expect(Either.isLeft(left) && left.left._tag).toBe("Truncated")
    })

    it("decodes from a view at a non-zero offset of a larger buffer", () => {
      const buffer = concat([Uint8Array.of(1, 2, 3), frame, Uint8Array.of(4)])
      expect(nOf(Decoder.decodeSync(buffer.subarray(3, 3 + frame.length)))).toBe(5)
    })
  })
})
