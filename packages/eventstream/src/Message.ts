/**
 * An event-stream message: typed headers and a binary payload.
 *
 * Headers are held in a `ReadonlyMap` (insertion-ordered, so encoding is deterministic, and free of
 * the `__proto__` hazard of plain objects). A header name appears at most once in a message.
 *
 * @since 0.1.0
 */
import * as Header from "./Header.js"

/**
 * The headers of a message, in wire order.
 *
 * @since 0.1.0
 */
export type Headers = ReadonlyMap<string, Header.HeaderValue>

/**
 * An event-stream message.
 *
 * Decoded payloads (and `Bytes` header values) may be views into the bytes given to the decoder;
 * see `Decoder.Options.copyPayloads`.
 *
 * @since 0.1.0
 */
export interface Message {
  readonly headers: Headers
  readonly payload: Uint8Array
}

/**
 * Headers as accepted by {@link make}: a map, an iterable of `[name, value]` pairs, or a record
 * (own enumerable string keys only — so `{ "__proto__": … }` written as a computed key is an
 * ordinary header, and inherited properties are never picked up).
 *
 * @since 0.1.0
 */
export type HeadersInput =
  | ReadonlyMap<string, Header.HeaderInput>
  | Iterable<readonly [string, Header.HeaderInput]>
  | { readonly [name: string]: Header.HeaderInput }

const EMPTY_PAYLOAD = new Uint8Array(0)

/**
 * Builds a message. Header values may be typed values or unambiguous JavaScript values (see
 * `Header.HeaderInput`); when a name repeats, the last value wins.
 *
 * @example
 * ```ts
 * import { Header, Message } from "@truce/eventstream"
 *
 * const message = Message.make({
 *   headers: { ":message-type": "event", ":event-type": "progress", sequence: Header.int(7) },
 *   payload: new TextEncoder().encode("{\"done\":3}")
 * })
 * ```
 * @since 0.1.0
 */
export const make = (options: { readonly headers?: HeadersInput; readonly payload?: Uint8Array } = {}): Message => ({
  headers: options.headers === undefined ? new Map() : makeHeaders(options.headers),
  payload: options.payload ?? EMPTY_PAYLOAD
})

/**
 * Builds a headers map (see {@link HeadersInput}).
 *
 * @example
 * ```ts
 * import { Message } from "@truce/eventstream"
 *
 * const headers = Message.makeHeaders([[":event-type", "progress"]])
 * console.log(headers.get(":event-type")) // { _tag: "String", value: "progress" }
 * ```
 * @since 0.1.0
 */
export const makeHeaders = (input: HeadersInput): Headers => {
  const headers = new Map<string, Header.HeaderValue>()
  if (isIterable(input)) {
    for (const [name, value] of input) headers.set(name, Header.fromInput(value))
  } else {
    for (const name of Object.keys(input)) {
      const value = input[name]
      if (value !== undefined) headers.set(name, Header.fromInput(value))
    }
  }
  return headers
}

/**
 * The value of a `String` header, or `undefined` when the header is absent or of another type.
 *
 * @example
 * ```ts
 * import { Message } from "@truce/eventstream"
 *
 * const message = Message.make({ headers: { ":event-type": "progress" } })
 * console.log(Message.getString(message, ":event-type")) // "progress"
 * ```
 * @since 0.1.0
 */
export const getString = (message: Message, name: string): string | undefined => {
  const value = message.headers.get(name)
  return value !== undefined && value._tag === "String" ? value.value : undefined
}

/**
 * Structural equality of two messages: same header names in the same order with equal values,
 * and equal payload bytes.
 *
 * @example
 * ```ts
 * import { Message } from "@truce/eventstream"
 *
 * const a = Message.make({ headers: { a: "1" } })
 * const b = Message.make({ headers: { a: "1" } })
 * console.log(Message.equals(a, b)) // true
 * ```
 * @since 0.1.0
 */
export const equals = (self: Message, that: Message): boolean => {
  if (self.headers.size !== that.headers.size) return false
  const others = that.headers.entries()
  for (const [name, value] of self.headers) {
    const other = others.next()
    if (other.done === true || other.value[0] !== name || !Header.equals(value, other.value[1])) return false
  }
  return bytesEqual(self.payload, that.payload)
}

/**
 * Size caps applied by the decoder (to declared lengths, before allocating) and by the encoder.
 *
 * @since 0.1.0
 */
export interface Limits {
  /** Largest payload, in bytes. Default 24 MiB (the specification's limit). */
  readonly maxPayloadBytes: number
  /** Largest headers section, in bytes. Default 128 KiB (the specification's limit). */
  readonly maxHeadersBytes: number
  /** Most headers in one message. Default 1024 (aws-c-event-stream's cap). */
  readonly maxHeaderCount: number
}

/**
 * The default {@link Limits}: payload 24 MiB, headers 128 KiB, 1024 headers.
 *
 * @example
 * ```ts
 * import { Message } from "@truce/eventstream"
 *
 * console.log(Message.defaultLimits.maxPayloadBytes) // 25165824
 * ```
 * @since 0.1.0
 */
export const defaultLimits: Limits = Object.freeze({
  maxPayloadBytes: 24 * 1024 * 1024,
  maxHeadersBytes: 128 * 1024,
  maxHeaderCount: 1024
})

/**
 * The size of the fixed part of a frame: 12-byte prelude and 4-byte message checksum.
 *
 * @example
 * ```ts
 * import { Encoder, Message } from "@truce/eventstream"
 *
 * console.log(Encoder.encodeSync(Message.make()).length === Message.FRAME_OVERHEAD) // true
 * ```
 * @since 0.1.0
 */
export const FRAME_OVERHEAD = 16

/**
 * The size of a frame's prelude (total length, headers length, prelude checksum).
 *
 * @example
 * ```ts
 * import { Message } from "@truce/eventstream"
 *
 * const preludeOf = (frame: Uint8Array) => frame.subarray(0, Message.PRELUDE_BYTES)
 * ```
 * @since 0.1.0
 */
export const PRELUDE_BYTES = 12

const isIterable = (
  input: HeadersInput
): input is ReadonlyMap<string, Header.HeaderInput> | Iterable<readonly [string, Header.HeaderInput]> =>
  typeof (input as Partial<Iterable<unknown>>)[Symbol.iterator] === "function"

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
