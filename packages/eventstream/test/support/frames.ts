/**
 * Hand-built frames (possibly invalid) with correct checksums, for the decoder's unhappy paths.
 */
import { crc32 } from "node:zlib"

/** A 12-byte prelude declaring the given lengths, with a valid prelude checksum. */
export const prelude = (totalLength: number, headersLength: number): Uint8Array => {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setUint32(0, totalLength)
  view.setUint32(4, headersLength)
  view.setUint32(8, crc32(out.subarray(0, 8)))
  return out
}

/**
 * A frame whose headers section is exactly `headers` (raw bytes, valid or not) and whose checksums
 * are both right, so the decoder gets past them and has to judge the content.
 */
export const rawFrame = (headers: Uint8Array, payload: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const totalLength = 16 + headers.length + payload.length
  const out = new Uint8Array(totalLength)
  out.set(prelude(totalLength, headers.length), 0)
  out.set(headers, 12)
  out.set(payload, 12 + headers.length)
  new DataView(out.buffer).setUint32(totalLength - 4, crc32(out.subarray(0, totalLength - 4)))
  return out
}

/** Recomputes both checksums of a frame in place (after mutating its content). */
export const fixChecksums = (frame: Uint8Array): Uint8Array => {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  view.setUint32(8, crc32(frame.subarray(0, 8)))
  if (frame.length >= 16) view.setUint32(frame.length - 4, crc32(frame.subarray(0, frame.length - 4)))
  return frame
}

/** Raw header bytes: name (UTF-8 or bytes), type, value bytes. */
export const rawHeader = (name: string | Uint8Array, type: number, value: ArrayLike<number> = []): Uint8Array => {
  const nameBytes = typeof name === "string" ? new TextEncoder().encode(name) : name
  return Uint8Array.from([nameBytes.length, ...nameBytes, type, ...Array.from(value)])
}
