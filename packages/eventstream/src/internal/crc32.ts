/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) — the checksum of the
 * `application/vnd.amazon.eventstream` framing.
 *
 * Two implementations:
 * - `zlib`: Node's native `zlib.crc32` (Node ≥ 20.15), several times faster on large inputs but with
 *   a fixed call overhead that loses on small ones;
 * - `table`: a slice-by-8 table implementation in plain JavaScript that runs everywhere.
 *
 * `auto` (the default) uses the table below {@link ZLIB_THRESHOLD} bytes and `zlib` above it when it
 * exists. The active implementation can be switched with {@link setImplementation} so that tests can
 * exercise every path.
 *
 * @internal
 */

/** Inputs shorter than this many bytes are checksummed with the table even when zlib is available. */
export const ZLIB_THRESHOLD = 384

/** The signature shared by every implementation: CRC of `data[start, end)` continuing from `crc`. */
export type Crc32Range = (data: Uint8Array, start: number, end: number, crc: number) => number

const TABLE = /* @__PURE__ */ (() => {
  const table = new Int32Array(256 * 8)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = table[n]
    for (let t = 1; t < 8; t++) {
      c = table[c & 0xff] ^ (c >>> 8)
      table[t * 256 + n] = c
    }
  }
  return table
})()

/** Table-driven (slice-by-8) CRC-32 of `data[start, end)`, continuing from `crc` (0 to start). */
export const tableCrc32: Crc32Range = (data, start, end, crc) => {
  const t = TABLE
  let c = ~crc
  let i = start
  const last8 = end - 8
  while (i <= last8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^ t[data[i + 7]]
    i += 8
  }
  while (i < end) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

/** CRC-32 of exactly 8 bytes at `data[start]` (the prelude), from scratch. */
export const preludeCrc32 = (data: Uint8Array, start: number): number => {
  const t = TABLE
  const a = ~(data[start] | (data[start + 1] << 8) | (data[start + 2] << 16) | (data[start + 3] << 24))
  const c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
    t[1024 + (a >>> 24)] ^ t[768 + data[start + 4]] ^ t[512 + data[start + 5]] ^ t[256 + data[start + 6]] ^
    t[data[start + 7]]
  return ~c >>> 0
}

export type NativeCrc32 = (data: Uint8Array, value?: number) => number

interface BuiltinModuleLoader {
  readonly getBuiltinModule?: (id: string) => unknown
}

/**
 * Finds `zlib.crc32` through `process.getBuiltinModule` (Node ≥ 20.16, Bun, Deno) rather than a
 * static `node:zlib` import, so that the package still loads in runtimes without Node built-ins
 * (browsers), where the table is used instead. Takes the `process` object to make it testable.
 */
export const findNativeCrc32 = (proc: unknown): NativeCrc32 | undefined => {
  if (typeof proc !== "object" || proc === null) return undefined
  const loader = proc as BuiltinModuleLoader
  if (typeof loader.getBuiltinModule !== "function") return undefined
  try {
    const zlib = loader.getBuiltinModule("node:zlib")
    if (typeof zlib !== "object" || zlib === null) return undefined
    const crc32: unknown = Reflect.get(zlib, "crc32")
    return typeof crc32 === "function" ? (crc32 as NativeCrc32) : undefined
  } catch {
    return undefined
  }
}

/** Node's native `zlib.crc32`, when the runtime has it. */
export const nativeCrc32: NativeCrc32 | undefined = findNativeCrc32(Reflect.get(globalThis, "process"))

/** The zlib implementation over a range, or `undefined` when the runtime has no `zlib.crc32`. */
export const zlibCrc32: Crc32Range | undefined = nativeCrc32 === undefined ? undefined : (() => {
  const native = nativeCrc32
  return (data, start, end, crc) => native(data.subarray(start, end), crc)
})()

const autoCrc32: Crc32Range = zlibCrc32 === undefined ? tableCrc32 : (() => {
  const native = zlibCrc32
  return (data, start, end, crc) =>
    end - start < ZLIB_THRESHOLD ? tableCrc32(data, start, end, crc) : native(data, start, end, crc)
})()

/** The names of the selectable implementations. */
export type Implementation = "auto" | "zlib" | "table"

let active: Implementation = "auto"

/** The implementation used by the encoder and decoder (see {@link setImplementation}). */
export let crc32Range: Crc32Range = autoCrc32

/** The implementation that `auto` resolves to for large inputs in this runtime. */
export const nativeAvailable: boolean = zlibCrc32 !== undefined

/**
 * Selects the CRC-32 implementation used by the codec. Throws a plain `Error` when `zlib` is requested
 * but the runtime does not have it (a programming error, only reachable from tests and benchmarks).
 */
export const setImplementation = (implementation: Implementation): void => {
  switch (implementation) {
    case "auto":
      crc32Range = autoCrc32
      break
    case "table":
      crc32Range = tableCrc32
      break
    case "zlib":
      if (zlibCrc32 === undefined) throw new Error("zlib.crc32 is not available in this runtime")
      crc32Range = zlibCrc32
      break
  }
  active = implementation
}

/** The currently selected implementation. */
export const getImplementation = (): Implementation => active
