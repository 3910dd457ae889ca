import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { crc32 as nodeZlibCrc32 } from "node:zlib"
import { afterEach } from "vitest"
import { Crc32 } from "../src/index.js"
import * as internal from "../src/internal/crc32.js"

const ascii = (s: string) => new TextEncoder().encode(s)

const implementations = [
  ["table", internal.tableCrc32],
  ["zlib", internal.zlibCrc32]
] as const

describe("Crc32", () => {
  afterEach(() => internal.setImplementation("auto"))

  it("the runtime provides zlib.crc32 (Node ≥ 20.16), so both implementations are exercised", () => {
    expect(internal.nativeAvailable).toBe(true)
    expect(Crc32.nativeAvailable).toBe(true)
    expect(internal.zlibCrc32).toBeDefined()
  })

  describe.each(implementations)("%s implementation", (_, crc) => {
    const compute = (data: Uint8Array, initial = 0) => {
      if (crc === undefined) throw new Error("unavailable")
      return crc(data, 0, data.length, initial)
    }

    it("matches the standard check values", () => {
      expect(compute(new Uint8Array(0))).toBe(0)
      expect(compute(ascii("123456789"))).toBe(0xcbf43926)
      expect(compute(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339)
      expect(compute(new Uint8Array(32))).toBe(0x190a55ad)
      expect(compute(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b)
    })

    it("matches the prelude and message checksums of a conformance frame", () => {
      // payload_no_headers: prelude CRC 0xfd528c5a, message CRC 0xc3653936
      const frame = Uint8Array.from(Buffer.from("0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936", "hex"))
      expect(compute(frame.subarray(0, 8))).toBe(0xfd528c5a)
      expect(compute(frame.subarray(0, frame.length - 4))).toBe(0xc3653936)
      // continuing from the prelude CRC over the rest gives the message CRC
      expect(compute(frame.subarray(8, frame.length - 4), 0xfd528c5a)).toBe(0xc3653936)
    })

    it("works on sub-ranges (offsets that are not multiples of 8)", () => {
      const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff)
      for (const [start, end] of [[0, 1000], [3, 997], [5, 13], [7, 8], [100, 100]]) {
        if (crc === undefined) throw new Error("unavailable")
        expect(crc(data, start, end, 0)).toBe(nodeZlibCrc32(data.subarray(start, end)))
      }
    })
  })

  it.prop(
    "table and zlib agree on any input, split anywhere (continuation)",
    [FastCheck.uint8Array({ maxLength: 2048 }), FastCheck.nat(), FastCheck.nat()],
    ([data, a, b]) => {
      const zlib = internal.zlibCrc32
      if (zlib === undefined) throw new Error("unavailable")
      const whole = internal.tableCrc32(data, 0, data.length, 0)
      expect(zlib(data, 0, data.length, 0)).toBe(whole)
      expect(whole).toBe(nodeZlibCrc32(data))
      const cut = data.length === 0 ? 0 : a % data.length
      const first = internal.tableCrc32(data, 0, cut, 0)
      expect(internal.tableCrc32(data, cut, data.length, first)).toBe(whole)
      expect(zlib(data, cut, data.length, first)).toBe(whole)
      // the 8-byte prelude specialisation
      if (data.length >= 8) {
        const p = b % (data.length - 7)
        expect(internal.preludeCrc32(data, p)).toBe(nodeZlibCrc32(data.subarray(p, p + 8)))
      }
    },
    { fastCheck: { numRuns: 300, seed: 20240501 } }
  )

  it("auto uses the table below the threshold and zlib above, with identical results", () => {
    for (const size of [0, 1, internal.ZLIB_THRESHOLD - 1, internal.ZLIB_THRESHOLD, 4096]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff)
      expect(Crc32.compute(data)).toBe(nodeZlibCrc32(data))
    }
  })

  it("the implementation can be selected, and Crc32.compute follows it", () => {
    const data = ascii("123456789".repeat(100))
    for (const implementation of ["table", "zlib", "auto"] as const) {
      internal.setImplementation(implementation)
      expect(internal.getImplementation()).toBe(implementation)
      expect(Crc32.compute(data)).toBe(nodeZlibCrc32(data))
      expect(Crc32.compute(data.subarray(9), Crc32.compute(data.subarray(0, 9)))).toBe(nodeZlibCrc32(data))
    }
  })

  it("finds zlib.crc32 through process.getBuiltinModule, and falls back to the table without it", () => {
    expect(internal.findNativeCrc32(process)).toBe(nodeZlibCrc32)
    // browsers (no process), Node < 20.16 (no getBuiltinModule), a zlib without crc32 (Node < 20.15),
    // a loader that throws
    expect(internal.findNativeCrc32(undefined)).toBeUndefined()
    expect(internal.findNativeCrc32({})).toBeUndefined()
    expect(internal.findNativeCrc32({ getBuiltinModule: () => undefined })).toBeUndefined()
    expect(internal.findNativeCrc32({ getBuiltinModule: () => ({ deflate: () => 0 }) })).toBeUndefined()
    expect(internal.findNativeCrc32({
      getBuiltinModule: () => {
        throw new Error("denied")
      }
    })).toBeUndefined()
  })
})
