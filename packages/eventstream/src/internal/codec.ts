/**
 * The frame codec proper: prelude validation, header parsing, frame decoding and message encoding.
 *
 * Everything here is synchronous and reports failures by throwing the typed errors of
 * `EventStreamError` (and nothing else); the public modules document and wrap this.
 *
 * @internal
 */
import * as EventStreamError from "../EventStreamError.js"
import * as Header from "../Header.js"
import type * as Message from "../Message.js"
import { crc32Range, preludeCrc32 } from "./crc32.js"
import { alloc, copyOf } from "./pool.js"
import { decodeUtf8, utf8Length, writeUtf8 } from "./utf8.js"

/** Prelude size. */
export const PRELUDE = 12
/** Prelude + message CRC. */
export const OVERHEAD = 16

const TWO_32 = 4294967296
const MAX_DATE_MS = 8.64e15
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Resolved limits with defaults applied. */
export interface ResolvedLimits {
  readonly maxPayloadBytes: number
  readonly maxHeadersBytes: number
  readonly maxHeaderCount: number
}

export const resolveLimits = (
  options: Partial<Message.Limits> | undefined,
  defaults: Message.Limits
): ResolvedLimits => ({
  maxPayloadBytes: limit(options?.maxPayloadBytes, defaults.maxPayloadBytes),
  maxHeadersBytes: limit(options?.maxHeadersBytes, defaults.maxHeadersBytes),
  maxHeaderCount: limit(options?.maxHeaderCount, defaults.maxHeaderCount)
})

const limit = (value: number | undefined, fallback: number): number =>
  value === undefined || !(value >= 0) ? fallback : Math.min(Math.floor(value), 0xffffffff)

export const readU32 = (b: Uint8Array, p: number): number =>
  ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0

const writeU32 = (b: Uint8Array, p: number, v: number): void => {
  b[p] = v >>> 24
  b[p + 1] = v >>> 16
  b[p + 2] = v >>> 8
  b[p + 3] = v
}

// ---------------------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Validates a prelude (checksum, then lengths, then caps) located at `b[p]`. Returns the prelude
 * CRC, which seeds the message CRC. `offset` is the frame's stream offset, for error reports.
 */
export const checkPrelude = (b: Uint8Array, p: number, limits: ResolvedLimits, offset: number): number => {
  const totalLength = readU32(b, p)
  const headersLength = readU32(b, p + 4)
  const expected = readU32(b, p + 8)
  const actual = preludeCrc32(b, p)
  if (expected !== actual) throw new EventStreamError.PreludeChecksumMismatch({ offset, expected, actual })
  if (totalLength < OVERHEAD) {
    throw new EventStreamError.InvalidPrelude({ offset, totalLength, headersLength, reason: "TotalLengthTooSmall" })
  }
  if (headersLength > totalLength - OVERHEAD) {
    throw new EventStreamError.InvalidPrelude({
      offset,
      totalLength,
      headersLength,
      reason: "HeadersLengthExceedsMessage"
    })
  }
  if (headersLength > limits.maxHeadersBytes) {
    throw new EventStreamError.TooLarge({
      subject: "headers",
      size: headersLength,
      limit: limits.maxHeadersBytes,
      offset
    })
  }
  const payloadLength = totalLength - OVERHEAD - headersLength
  if (payloadLength > limits.maxPayloadBytes) {
    throw new EventStreamError.TooLarge({
      subject: "payload",
      size: payloadLength,
      limit: limits.maxPayloadBytes,
      offset
    })
  }
  return actual
}

/**
 * Decodes the complete frame at `b[p, p + totalLength)` whose prelude was validated by
 * {@link checkPrelude} (returning `preludeCrc`). The payload is a view into `b` unless `copy`.
 */
export const decodeFrame = (
  b: Uint8Array,
  p: number,
  preludeCrc: number,
  limits: ResolvedLimits,
  offset: number,
  copy: boolean
): Message.Message => {
  const totalLength = readU32(b, p)
  const headersLength = readU32(b, p + 4)
  const end = p + totalLength
  const expected = readU32(b, end - 4)
  // the message CRC covers everything before it: continue from the prelude's CRC (bytes [0, 8))
  const actual = crc32Range(b, p + 8, end - 4, preludeCrc)
  if (expected !== actual) throw new EventStreamError.MessageChecksumMismatch({ offset, expected, actual })
  const headersStart = p + PRELUDE
  const payloadStart = headersStart + headersLength
  const headers = headersLength === 0
    ? new Map<string, Header.HeaderValue>()
    : parseHeaders(b, headersStart, payloadStart, limits, offset - p, copy)
  const payload = copy ? copyOf(b, payloadStart, end - 4) : b.subarray(payloadStart, end - 4)
  return { headers, payload }
}

const TRUE = Header.boolean(true)
const FALSE = Header.boolean(false)

/**
 * Parses the headers section `b[start, end)`. `delta` converts a position in `b` into a stream
 * offset (for error reports).
 */
export const parseHeaders = (
  b: Uint8Array,
  start: number,
  end: number,
  limits: ResolvedLimits,
  delta: number,
  copy: boolean
): Map<string, Header.HeaderValue> => {
  const headers = new Map<string, Header.HeaderValue>()
  const maxCount = limits.maxHeaderCount
  let count = 0
  let p = start
  while (p < end) {
    const headerStart = p
    if (++count > maxCount) {
      throw new EventStreamError.TooLarge({ subject: "headerCount", size: count, limit: maxCount, offset: delta + p })
    }
    const nameLength = b[p++]
    if (nameLength === 0) throw invalid("EmptyName", "header name is empty", undefined, delta + headerStart)
    // the name and the type byte must fit
    if (p + nameLength + 1 > end) {
      throw invalid("Overrun", "header name runs past the headers section", undefined, delta + headerStart)
    }
    const name = decodeUtf8(b, p, p + nameLength)
    if (name === undefined) {
      throw invalid("InvalidUtf8", "header name is not valid UTF-8", undefined, delta + headerStart)
    }
    p += nameLength
    const type = b[p++]
    let value: Header.HeaderValue
    switch (type) {
      case 0:
        value = TRUE
        break
      case 1:
        value = FALSE
        break
      case 2:
        if (p + 1 > end) throw overrun(name, delta + headerStart)
        value = { _tag: "Byte", value: (b[p] << 24) >> 24 }
        p += 1
        break
      case 3:
        if (p + 2 > end) throw overrun(name, delta + headerStart)
        value = { _tag: "Short", value: ((b[p] << 24) | (b[p + 1] << 16)) >> 16 }
        p += 2
        break
      case 4:
        if (p + 4 > end) throw overrun(name, delta + headerStart)
        value = { _tag: "Int", value: (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3] }
        p += 4
        break
      case 5: {
        if (p + 8 > end) throw overrun(name, delta + headerStart)
        const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
        const lo = readU32(b, p + 4)
        value = { _tag: "Long", value: (BigInt(hi) << 32n) | BigInt(lo) }
        p += 8
        break
      }
      case 6: {
        if (p + 2 > end) throw overrun(name, delta + headerStart)
        const length = (b[p] << 8) | b[p + 1]
        p += 2
        if (p + length > end) throw overrun(name, delta + headerStart)
        value = { _tag: "Bytes", value: copy ? copyOf(b, p, p + length) : b.subarray(p, p + length) }
        p += length
        break
      }
      case 7: {
        if (p + 2 > end) throw overrun(name, delta + headerStart)
        const length = (b[p] << 8) | b[p + 1]
        p += 2
        if (p + length > end) throw overrun(name, delta + headerStart)
        const s = decodeUtf8(b, p, p + length)
        if (s === undefined) throw invalid("InvalidUtf8", "string value is not valid UTF-8", name, delta + headerStart)
        value = { _tag: "String", value: s }
        p += length
        break
      }
      case 8: {
        if (p + 8 > end) throw overrun(name, delta + headerStart)
        const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
        const ms = hi * TWO_32 + readU32(b, p + 4)
        if (!(ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS)) {
          throw invalid(
            "InvalidTimestamp",
            `timestamp ${ms} ms is outside the range of Date`,
            name,
            delta + headerStart
          )
        }
        value = { _tag: "Timestamp", value: new Date(ms) }
        p += 8
        break
      }
      case 9:
        if (p + 16 > end) throw overrun(name, delta + headerStart)
        value = { _tag: "Uuid", value: formatUuid(b, p) }
        p += 16
        break
      default:
        throw invalid("UnknownType", `unknown header value type ${type}`, name, delta + headerStart)
    }
    headers.set(name, value)
    if (headers.size !== count) throw invalid("DuplicateName", "header name appears twice", name, delta + headerStart)
  }
  return headers
}

const invalid = (
  reason: EventStreamError.InvalidHeaderReason,
  detail: string,
  header: string | undefined,
  offset: number | undefined
): EventStreamError.InvalidHeader =>
  new EventStreamError.InvalidHeader(
    header === undefined
      ? offset === undefined ? { reason, detail } : { reason, detail, offset }
      : offset === undefined
      ? { reason, detail, header }
      : { reason, detail, header, offset }
  )

const overrun = (name: string, offset: number): EventStreamError.InvalidHeader =>
  invalid("Overrun", "header value runs past the headers section", name, offset)

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const formatUuid = (b: Uint8Array, p: number): string =>
  HEX[b[p]] + HEX[b[p + 1]] + HEX[b[p + 2]] + HEX[b[p + 3]] + "-" + HEX[b[p + 4]] + HEX[b[p + 5]] + "-" +
  HEX[b[p + 6]] + HEX[b[p + 7]] + "-" + HEX[b[p + 8]] + HEX[b[p + 9]] + "-" + HEX[b[p + 10]] + HEX[b[p + 11]] +
  HEX[b[p + 12]] + HEX[b[p + 13]] + HEX[b[p + 14]] + HEX[b[p + 15]]

// ---------------------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------------------

const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

const isIntegerIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max

const outOfRange = (
  name: string,
  what: string,
  value: unknown,
  range: string,
  type: "number" | "bigint"
): EventStreamError.InvalidHeader =>
  typeof value === type
    ? invalid("OutOfRange", `${what} value ${String(value)} is not an integer in ${range}`, name, undefined)
    : invalid("InvalidValue", `${what} value is a ${typeof value}, not a ${type}`, name, undefined)

/**
 * Scratch for the UTF-8 lengths computed while sizing a message (pass 1), reused when writing it
 * (pass 2). Index 2k is the name of the k-th header, 2k+1 its string value.
 */
let lengths = new Int32Array(64)

/**
 * Size of the value part (type byte included) of a header, validating it. Records string lengths
 * in `lengths[slot]`.
 */
const valueSize = (name: string, value: Header.HeaderValue, slot: number): number => {
  switch (value._tag) {
    case "Boolean":
      if (typeof value.value !== "boolean") {
        throw invalid("InvalidValue", "boolean value is not a boolean", name, undefined)
      }
      return 1
    case "Byte":
      if (!isIntegerIn(value.value, -128, 127)) throw outOfRange(name, "byte", value.value, "[-128, 127]", "number")
      return 2
    case "Short":
      if (!isIntegerIn(value.value, -32768, 32767)) {
        throw outOfRange(name, "short", value.value, "[-32768, 32767]", "number")
      }
      return 3
    case "Int":
      if (!isIntegerIn(value.value, -2147483648, 2147483647)) {
        throw outOfRange(name, "int", value.value, "[-2^31, 2^31 - 1]", "number")
      }
      return 5
    case "Long":
      if (typeof value.value !== "bigint" || value.value < INT64_MIN || value.value > INT64_MAX) {
        throw outOfRange(name, "long", value.value, "[-2^63, 2^63 - 1]", "bigint")
      }
      return 9
    case "Bytes": {
      if (!(value.value instanceof Uint8Array)) {
        throw invalid("InvalidValue", "bytes value is not a Uint8Array", name, undefined)
      }
      const size = value.value.length
      if (size > Header.MAX_VALUE_BYTES) {
        throw new EventStreamError.TooLarge({
          subject: "headerValue",
          size,
          limit: Header.MAX_VALUE_BYTES,
          header: name
        })
      }
      return 3 + size
    }
    case "String": {
      if (typeof value.value !== "string") {
        throw invalid("InvalidValue", "string value is not a string", name, undefined)
      }
      const size = utf8Length(value.value)
      if (size < 0) throw invalid("InvalidUtf8", "string value holds a lone surrogate", name, undefined)
      if (size > Header.MAX_VALUE_BYTES) {
        throw new EventStreamError.TooLarge({
          subject: "headerValue",
          size,
          limit: Header.MAX_VALUE_BYTES,
          header: name
        })
      }
      lengths[slot] = size
      return 3 + size
    }
    case "Timestamp": {
      const time = value.value instanceof Date ? value.value.getTime() : Number.NaN
      if (Number.isNaN(time)) throw invalid("InvalidTimestamp", "timestamp is not a valid Date", name, undefined)
      return 9
    }
    case "Uuid":
      if (typeof value.value !== "string" || !UUID_PATTERN.test(value.value)) {
        throw invalid("InvalidUuid", `${JSON.stringify(value.value)} is not a hyphenated hex UUID`, name, undefined)
      }
      return 17
    default: {
      const tag: unknown = (value as { readonly _tag: unknown })._tag
      throw invalid("UnknownType", `unknown header value tag ${String(tag)}`, name, undefined)
    }
  }
}

const writeInt64 = (out: Uint8Array, p: number, v: bigint): void => {
  const u = BigInt.asUintN(64, v)
  writeU32(out, p, Number(u >> 32n))
  writeU32(out, p + 4, Number(u & 0xffffffffn))
}

const writeUuid = (out: Uint8Array, p: number, s: string): void => {
  let j = 0
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i)
    if (c === 45) continue // "-"
    const hi = hexDigit(c)
    const lo = hexDigit(s.charCodeAt(++i))
    out[p + j++] = (hi << 4) | lo
  }
}

const hexDigit = (c: number): number => c <= 57 ? c - 48 : (c | 0x20) - 87

/**
 * Encodes a message into one frame, validating everything first (nothing is allocated for an
 * invalid message).
 */
export const encodeMessage = (message: Message.Message, limits: ResolvedLimits): Uint8Array => {
  const headers = message.headers
  const payload = message.payload
  const count = headers.size
  if (count > limits.maxHeaderCount) {
    throw new EventStreamError.TooLarge({ subject: "headerCount", size: count, limit: limits.maxHeaderCount })
  }
  if (lengths.length < count * 2) lengths = new Int32Array(count * 2)
  // pass 1: validate and size
  let headersLength = 0
  let slot = 0
  for (const [name, value] of headers) {
    const nameLength = typeof name === "string" ? utf8Length(name) : -2
    if (nameLength <= 0) {
      throw nameLength === 0
        ? invalid("EmptyName", "header name is empty", name, undefined)
        : invalid("InvalidUtf8", "header name is not a well-formed string", String(name), undefined)
    }
    if (nameLength > Header.MAX_NAME_BYTES) {
      throw new EventStreamError.TooLarge({
        subject: "headerName",
        size: nameLength,
        limit: Header.MAX_NAME_BYTES,
        header: name
      })
    }
    lengths[slot] = nameLength
    headersLength += 1 + nameLength + valueSize(name, value, slot + 1)
    slot += 2
  }
  if (headersLength > limits.maxHeadersBytes) {
    throw new EventStreamError.TooLarge({ subject: "headers", size: headersLength, limit: limits.maxHeadersBytes })
  }
  if (!(payload instanceof Uint8Array)) {
    throw invalid("InvalidValue", "payload is not a Uint8Array", undefined, undefined)
  }
  const payloadLength = payload.length
  if (payloadLength > limits.maxPayloadBytes) {
    throw new EventStreamError.TooLarge({ subject: "payload", size: payloadLength, limit: limits.maxPayloadBytes })
  }
  const totalLength = OVERHEAD + headersLength + payloadLength
  if (totalLength > 0xffffffff) {
    throw new EventStreamError.TooLarge({ subject: "message", size: totalLength, limit: 0xffffffff })
  }
  // pass 2: write
  const out = alloc(totalLength)
  writeU32(out, 0, totalLength)
  writeU32(out, 4, headersLength)
  const preludeCrc = preludeCrc32(out, 0)
  writeU32(out, 8, preludeCrc)
  let p = PRELUDE
  slot = 0
  for (const [name, value] of headers) {
    const nameLength = lengths[slot]
    out[p++] = nameLength
    writeUtf8(name, nameLength, out, p)
    p += nameLength
    switch (value._tag) {
      case "Boolean":
        out[p++] = value.value ? 0 : 1
        break
      case "Byte":
        out[p++] = 2
        out[p++] = value.value
        break
      case "Short":
        out[p++] = 3
        out[p++] = value.value >> 8
        out[p++] = value.value
        break
      case "Int":
        out[p++] = 4
        writeU32(out, p, value.value)
        p += 4
        break
      case "Long":
        out[p++] = 5
        writeInt64(out, p, value.value)
        p += 8
        break
      case "Bytes": {
        const size = value.value.length
        out[p++] = 6
        out[p++] = size >> 8
        out[p++] = size
        out.set(value.value, p)
        p += size
        break
      }
      case "String": {
        const size = lengths[slot + 1]
        out[p++] = 7
        out[p++] = size >> 8
        out[p++] = size
        writeUtf8(value.value, size, out, p)
        p += size
        break
      }
      case "Timestamp": {
        const ms = value.value.getTime()
        const hi = Math.floor(ms / TWO_32)
        out[p++] = 8
        writeU32(out, p, hi)
        writeU32(out, p + 4, ms - hi * TWO_32)
        p += 8
        break
      }
      case "Uuid":
        out[p++] = 9
        writeUuid(out, p, value.value)
        p += 16
        break
    }
    slot += 2
  }
  out.set(payload, p)
  writeU32(out, totalLength - 4, crc32Range(out, 8, totalLength - 4, preludeCrc))
  return out
}
