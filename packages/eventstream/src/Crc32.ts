/**
 * CRC-32 (IEEE 802.3), the checksum of the event-stream framing.
 *
 * Uses Node's native `zlib.crc32` where the runtime has it (found through
 * `process.getBuiltinModule`, so the package still loads where there is no `node:zlib`), for inputs
 * of 384 bytes and more; a slice-by-8 table implementation otherwise (it beats the native call's
 * fixed overhead on small inputs, and is the fallback everywhere else).
 *
 * @since 0.1.0
 */
import * as internal from "./internal/crc32.js"

/**
 * The CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it; 0 to start).
 * Returns an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { Crc32 } from "@truce/eventstream"
 *
 * console.log(Crc32.compute(new TextEncoder().encode("123456789")).toString(16)) // "cbf43926"
 * ```
 * @since 0.1.0
 */
export const compute = (data: Uint8Array, initial: number = 0): number =>
  internal.crc32Range(data, 0, data.length, initial >>> 0)

/**
 * Whether the native `zlib.crc32` is available in this runtime.
 *
 * @example
 * ```ts
 * import { Crc32 } from "@truce/eventstream"
 *
 * console.log(Crc32.nativeAvailable) // true on Node ≥ 20.16
 * ```
 * @since 0.1.0
 */
export const nativeAvailable: boolean = internal.nativeAvailable
