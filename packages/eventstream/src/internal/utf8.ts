/**
 * UTF-8 helpers tuned for short, mostly-ASCII header names and values.
 *
 * - encoding never goes through an intermediate `Uint8Array`: lengths are computed from the string,
 *   and bytes are written straight into the frame;
 * - decoding is strict (malformed UTF-8 is an error, never U+FFFD) and short ASCII strings are
 *   interned in a small cache, so repeated header names and values (`:event-type`, `progress`…) are
 *   neither re-created nor re-hashed when they are used as `Map` keys.
 *
 * @internal
 */

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** UTF-8 byte length of `s`, or -1 when `s` holds a lone surrogate (not encodable without loss). */
export const utf8Length = (s: string): number => {
  const n = s.length
  let bytes = n
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) {
      bytes += 1
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate pair is 2 code units and 4 bytes
      if (c > 0xdbff || i + 1 >= n) return -1
      const d = s.charCodeAt(i + 1)
      if (d < 0xdc00 || d > 0xdfff) return -1
      bytes += 2
      i++
    } else {
      bytes += 2
    }
  }
  return bytes
}

/**
 * Writes `s` (whose UTF-8 length is `length`, from {@link utf8Length}) at `out[offset]`.
 */
export const writeUtf8 = (s: string, length: number, out: Uint8Array, offset: number): void => {
  const n = s.length
  if (length === n) {
    for (let i = 0; i < n; i++) out[offset + i] = s.charCodeAt(i)
  } else {
    encoder.encodeInto(s, out.subarray(offset, offset + length))
  }
}

const CACHE_SIZE = 1024
const CACHE_MAX_LENGTH = 32
const cache: Array<string | undefined> = new Array(CACHE_SIZE).fill(undefined)

/**
 * Decodes `bytes[start, end)` as strict UTF-8; `undefined` when malformed.
 *
 * Short ASCII strings come from an intern cache. Its slot is chosen from the length and four
 * sampled bytes (no full hashing pass), and a hit is confirmed by comparing every byte with the
 * cached string — so a hit costs one pass over the bytes, and a collision only costs a miss.
 */
export const decodeUtf8 = (bytes: Uint8Array, start: number, end: number): string | undefined => {
  const length = end - start
  if (length === 0) return ""
  if (length <= CACHE_MAX_LENGTH) {
    const last = end - 1
    const slot = (Math.imul(
      length ^ (bytes[start] << 5) ^ (bytes[last] << 10) ^ (bytes[start + (length >> 1)] << 15) ^
        (bytes[start + (length >> 2)] << 20),
      0x9e3779b1
    ) >>> 22) & (CACHE_SIZE - 1)
    const cached = cache[slot]
    if (cached !== undefined && cached.length === length) {
      let i = 0
      while (i < length && cached.charCodeAt(i) === bytes[start + i]) i++
      // the cache only holds ASCII strings, so equal code units mean equal bytes
      if (i === length) return cached
    }
    let ascii = 0
    for (let i = start; i < end; i++) ascii |= bytes[i]
    if (ascii < 0x80) {
      const s = String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as Array<number>)
      cache[slot] = s
      return s
    }
  }
  try {
    return strictDecoder.decode(bytes.subarray(start, end))
  } catch {
    return undefined
  }
}
