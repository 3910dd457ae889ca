import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Decoder, Encoder, EventStreamError, Header, Message } from "../src/index.js"
import { overlaps, toHex } from "./support/arbitraries.js"

const encodeError = (message: Message.Message, options?: Encoder.Options): EventStreamError.EncodeError => {
  const result = Encoder.encode(message, options)
  if (Either.isRight(result)) throw new Error("expected an encoding error")
  return result.left
}

const withHeader = (name: string, value: Header.HeaderValue) => Message.make({ headers: new Map([[name, value]]) })

/** The header section bytes of a one-header message. */
const headerBytes = (name: string, value: Header.HeaderValue): string => {
  const frame = Encoder.encodeSync(withHeader(name, value))
  const headersLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4)
  return toHex(frame.subarray(12, 12 + headersLength))
}

describe("Encoder", () => {
  describe("wire format of every header type", () => {
    it("booleans, integers, long (big-endian two's complement)", () => {
      expect(headerBytes("a", Header.boolean(true))).toBe("016100")
      expect(headerBytes("a", Header.boolean(false))).toBe("016101")
      expect(headerBytes("a", Header.byte(-1))).toBe("016102ff")
      expect(headerBytes("a", Header.short(-2))).toBe("016103fffe")
      expect(headerBytes("a", Header.int(-2147483648))).toBe("01610480000000")
      expect(headerBytes("a", Header.long(-(2n ** 63n)))).toBe("0161058000000000000000")
      expect(headerBytes("a", Header.long(2n ** 63n - 1n))).toBe("0161057fffffffffffffff")
      expect(headerBytes("a", Header.long(-2n))).toBe("016105fffffffffffffffe")
    })

    it("bytes and strings with a u16 length, UTF-8 (including astral characters)", () => {
      expect(headerBytes("a", Header.bytes(Uint8Array.of(1, 2, 3)))).toBe("016106000301" + "0203")
      expect(headerBytes("a", Header.string(""))).toBe("0161070000")
      expect(headerBytes("a", Header.string("é😀"))).toBe("0161070006c3a9f09f9880")
      expect(headerBytes("ü", Header.boolean(true))).toBe("02c3bc00")
    })

    it("timestamps as int64 milliseconds, negative ones included", () => {
      expect(headerBytes("t", Header.timestamp(8675309))).toBe("017408" + "0000000000845fed")
      expect(headerBytes("t", Header.timestamp(-1))).toBe("017408" + "ffffffffffffffff")
      const min = BigInt.asUintN(64, -8640000000000000n).toString(16)
      expect(headerBytes("t", Header.timestamp(-8.64e15))).toBe("017408" + min)
      const max = Encoder.encodeSync(withHeader("t", Header.timestamp(8.64e15)))
      const decoded = Decoder.decodeSync(max).headers.get("t")
      expect(decoded?._tag === "Timestamp" && decoded.value.getTime()).toBe(8.64e15)
    })

    it("UUIDs as 16 bytes, upper or lower case", () => {
      const bytes = "0102030405060708090a0b0c0d0e0f10"
      expect(headerBytes("u", Header.uuid("01020304-0506-0708-090a-0b0c0d0e0f10"))).toBe("017509" + bytes)
      expect(headerBytes("u", Header.uuid("01020304-0506-0708-090A-0B0C0D0E0F10"))).toBe("017509" + bytes)
    })

    it("an empty message is the 16-byte minimum frame", () => {
      expect(toHex(Encoder.encodeSync(Message.make()))).toBe("000000100000000005c248eb7d98c8ff")
    })
  })

  describe("header names", () => {
    it("accepts exactly 255 UTF-8 bytes (multi-byte characters counted in bytes)", () => {
      expect(Either.isRight(Encoder.encode(withHeader("x".repeat(255), Header.boolean(true))))).toBe(true)
      expect(Either.isRight(Encoder.encode(withHeader("é".repeat(127) + "x", Header.boolean(true))))).toBe(true)
    })

    it("rejects 256 bytes and more with TooLarge — never a wrapped length byte", () => {
      expect(encodeError(withHeader("x".repeat(256), Header.boolean(true)))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerName",
        size: 256,
        limit: 255
      })
      // 128 two-byte characters: 128 code units but 256 bytes
      expect(encodeError(withHeader("é".repeat(128), Header.boolean(true)))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerName",
        size: 256
      })
    })

    it("rejects empty names and lone surrogates", () => {
      expect(encodeError(withHeader("", Header.boolean(true)))).toMatchObject({
        _tag: "InvalidHeader",
        reason: "EmptyName"
      })
      expect(encodeError(withHeader("a\ud800", Header.boolean(true)))).toMatchObject({
        _tag: "InvalidHeader",
        reason: "InvalidUtf8"
      })
    })
  })

  describe("header values", () => {
    it("accepts string and byte-array values of exactly 32,767 bytes", () => {
      expect(Either.isRight(Encoder.encode(withHeader("s", Header.string("x".repeat(32767)))))).toBe(true)
      expect(Either.isRight(Encoder.encode(withHeader("b", Header.bytes(new Uint8Array(32767)))))).toBe(true)
    })

    it("rejects values over 32,767 bytes with TooLarge (UTF-8 bytes, not code units)", () => {
      expect(encodeError(withHeader("s", Header.string("x".repeat(32768))))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerValue",
        size: 32768,
        limit: 32767,
        header: "s"
      })
      expect(encodeError(withHeader("s", Header.string("€".repeat(10923))))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerValue",
        size: 32769
      })
      expect(encodeError(withHeader("b", Header.bytes(new Uint8Array(65536))))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerValue",
        size: 65536
      })
    })

    it("rejects strings with lone surrogates instead of replacing them", () => {
      expect(encodeError(withHeader("s", Header.string("\udc00x")))).toMatchObject({
        _tag: "InvalidHeader",
        reason: "InvalidUtf8",
        header: "s"
      })
    })

    const outOfRange: ReadonlyArray<readonly [string, Header.HeaderValue]> = [
      ["byte 128", Header.byte(128)],
      ["byte -129", Header.byte(-129)],
      ["byte 1.5", Header.byte(1.5)],
      ["short 32768", Header.short(32768)],
      ["short -32769", Header.short(-32769)],
      ["int 2^31", Header.int(2 ** 31)],
      ["int -2^31 - 1", Header.int(-(2 ** 31) - 1)],
      ["int NaN", Header.int(Number.NaN)],
      ["int Infinity", Header.int(Number.POSITIVE_INFINITY)],
      ["long 2^63", Header.long(2n ** 63n)],
      ["long -2^63 - 1", Header.long(-(2n ** 63n) - 1n)]
    ]
    it.each(outOfRange)("rejects out-of-range %s with InvalidHeader OutOfRange", (_, value) => {
      expect(encodeError(withHeader("n", value))).toMatchObject({ _tag: "InvalidHeader", reason: "OutOfRange" })
    })

    it("accepts every integer type's extremes", () => {
      for (
        const value of [
          Header.byte(-128),
          Header.byte(127),
          Header.short(-32768),
          Header.short(32767),
          Header.int(-2147483648),
          Header.int(2147483647)
        ]
      ) {
        const decoded = Decoder.decodeSync(Encoder.encodeSync(withHeader("n", value))).headers.get("n")
        expect(decoded).toEqual(value)
      }
    })

    it("rejects values of the wrong JavaScript type (untyped callers)", () => {
      const wrong = (value: unknown) => withHeader("v", value as Header.HeaderValue)
      expect(encodeError(wrong({ _tag: "Long", value: 1 }))).toMatchObject({ reason: "InvalidValue" })
      expect(encodeError(wrong({ _tag: "Byte", value: "1" }))).toMatchObject({ reason: "InvalidValue" })
      expect(encodeError(wrong({ _tag: "Boolean", value: 1 }))).toMatchObject({ reason: "InvalidValue" })
      expect(encodeError(wrong({ _tag: "Bytes", value: [1, 2] }))).toMatchObject({ reason: "InvalidValue" })
      expect(encodeError(wrong({ _tag: "String", value: 1 }))).toMatchObject({ reason: "InvalidValue" })
      expect(encodeError(wrong({ _tag: "Float", value: 1 }))).toMatchObject({ reason: "UnknownType" })
      expect(encodeError(Message.make({ payload: "nope" as unknown as Uint8Array }))).toMatchObject({
        reason: "InvalidValue"
      })
    })

    it("rejects invalid dates and malformed UUIDs", () => {
      expect(encodeError(withHeader("t", Header.timestamp(Number.NaN)))).toMatchObject({
        _tag: "InvalidHeader",
        reason: "InvalidTimestamp"
      })
      for (
        const uuid of ["", "01020304050607080900a0b0c0d0e0f10", "0102030-40506-0708-090a-0b0c0d0e0f10", "g".repeat(36)]
      ) {
        expect(encodeError(withHeader("u", Header.uuid(uuid)))).toMatchObject({ reason: "InvalidUuid" })
      }
    })
  })

  describe("message caps", () => {
    it("rejects a payload over maxPayloadBytes", () => {
      expect(encodeError(Message.make({ payload: new Uint8Array(11) }), { maxPayloadBytes: 10 })).toMatchObject({
        _tag: "TooLarge",
        subject: "payload",
        size: 11,
        limit: 10
      })
      expect(Either.isRight(Encoder.encode(Message.make({ payload: new Uint8Array(10) }), { maxPayloadBytes: 10 })))
        .toBe(true)
    })

    it("rejects a payload over the default 24 MiB", () => {
      expect(encodeError(Message.make({ payload: new Uint8Array(24 * 1024 * 1024 + 1) }))).toMatchObject({
        _tag: "TooLarge",
        subject: "payload",
        limit: 24 * 1024 * 1024
      })
    })

    it("rejects a headers section over maxHeadersBytes (default 128 KiB)", () => {
      const headers = new Map(
        Array.from({ length: 5 }, (_, i) => [`h${i}`, Header.string("x".repeat(30000))] as const)
      )
      expect(encodeError(Message.make({ headers }))).toMatchObject({
        _tag: "TooLarge",
        subject: "headers",
        limit: 128 * 1024
      })
      expect(encodeError(withHeader("a", Header.string("xyz")), { maxHeadersBytes: 5 })).toMatchObject({
        subject: "headers",
        size: 8,
        limit: 5
      })
    })

    it("rejects more headers than maxHeaderCount (default 1024)", () => {
      const headers = new Map(Array.from({ length: 1025 }, (_, i) => [`h${i}`, Header.boolean(true)] as const))
      expect(encodeError(Message.make({ headers }))).toMatchObject({
        _tag: "TooLarge",
        subject: "headerCount",
        size: 1025,
        limit: 1024
      })
      headers.delete("h0")
      expect(Either.isRight(Encoder.encode(Message.make({ headers })))).toBe(true)
    })
  })

  it("encodeSync throws the typed error instance", () => {
    let thrown: unknown
    try {
      Encoder.encodeSync(withHeader("x".repeat(300), Header.boolean(true)))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(EventStreamError.TooLarge)
    expect(EventStreamError.isEncodeError(thrown)).toBe(true)
    expect(EventStreamError.isEventStreamError(thrown)).toBe(true)
    expect(String((thrown as Error).message)).toContain("headerName too large")
  })

  it.effect("encode is an Either usable as an Effect", () =>
    Effect.gen(function*() {
      const frame = yield* Encoder.encode(Message.make({ headers: { a: "b" } }))
      expect(frame.length).toBe(16 + 1 + 1 + 1 + 2 + 1)
      const error = yield* Effect.flip(Encoder.encode(withHeader("n", Header.byte(1000))))
      expect(error._tag).toBe("InvalidHeader")
    }))

  it("long ASCII and non-ASCII strings take the same path to the same bytes", () => {
    const value = "progress ".repeat(100) + "✓"
    const decoded = Decoder.decodeSync(Encoder.encodeSync(withHeader("s", Header.string(value)))).headers.get("s")
    expect(decoded).toEqual(Header.string(value))
  })

  describe("output buffers", () => {
    it("small frames share slabs but never bytes: each frame is independent", () => {
      const a = Encoder.encodeSync(Message.make({ headers: { a: "1" } }))
      const b = Encoder.encodeSync(Message.make({ headers: { a: "1" } }))
      expect(overlaps(a, b)).toBe(false)
      const before = toHex(b)
      a.fill(0)
      expect(toHex(b)).toBe(before)
      expect(toHex(Encoder.encodeSync(Decoder.decodeSync(b)))).toBe(before)
    })

    it("keeps working after a frame's buffer was transferred (detached)", () => {
      const frame = Encoder.encodeSync(Message.make({ headers: { a: "1" } }))
      const slab = frame.buffer as ArrayBuffer
      structuredClone(slab, { transfer: [slab] })
      expect(frame.byteLength).toBe(0)
      const next = Encoder.encodeSync(Message.make({ headers: { a: "1" } }))
      expect(Decoder.decodeSync(next).headers.get("a")).toEqual(Header.string("1"))
    })

    it("large frames get a buffer of their own", () => {
      const frame = Encoder.encodeSync(Message.make({ payload: new Uint8Array(10_000) }))
      expect(frame.byteOffset).toBe(0)
      expect(frame.buffer.byteLength).toBe(frame.length)
    })
  })
})
