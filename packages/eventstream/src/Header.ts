/**
 * Typed header values.
 *
 * The event-stream framing has ten header value types (wire tags 0–9). Each is represented here by
 * an immutable tagged object; `true` and `false` share the `Boolean` tag (wire tags 0 and 1).
 *
 * | `_tag`      | wire type            | JavaScript value                                   |
 * | ----------- | -------------------- | -------------------------------------------------- |
 * | `Boolean`   | 0 (true) / 1 (false) | `boolean`                                          |
 * | `Byte`      | 2, int8              | `number` in [-128, 127]                            |
 * | `Short`     | 3, int16             | `number` in [-32768, 32767]                        |
 * | `Int`       | 4, int32             | `number` in [-2^31, 2^31 - 1]                      |
 * | `Long`      | 5, int64             | `bigint` in [-2^63, 2^63 - 1]                      |
 * | `Bytes`     | 6, u16 length + data | `Uint8Array`, at most 32,767 bytes when encoding   |
 * | `String`    | 7, u16 length + UTF-8| `string`, at most 32,767 UTF-8 bytes when encoding |
 * | `Timestamp` | 8, int64 ms          | `Date`                                             |
 * | `Uuid`      | 9, 16 bytes          | lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`  |
 *
 * Constructors do not validate: the encoder does, and reports every problem as a typed
 * `InvalidHeader` / `TooLarge` error (never a silent wrap-around).
 *
 * @since 0.1.0
 */

/**
 * A `Boolean` header value (wire types 0 and 1).
 *
 * @since 0.1.0
 */
export interface BooleanValue {
  readonly _tag: "Boolean"
  readonly value: boolean
}

/**
 * A `Byte` header value (wire type 2, signed 8-bit).
 *
 * @since 0.1.0
 */
export interface ByteValue {
  readonly _tag: "Byte"
  readonly value: number
}

/**
 * A `Short` header value (wire type 3, signed 16-bit).
 *
 * @since 0.1.0
 */
export interface ShortValue {
  readonly _tag: "Short"
  readonly value: number
}

/**
 * An `Int` header value (wire type 4, signed 32-bit).
 *
 * @since 0.1.0
 */
export interface IntValue {
  readonly _tag: "Int"
  readonly value: number
}

/**
 * A `Long` header value (wire type 5, signed 64-bit, as a `bigint`).
 *
 * @since 0.1.0
 */
export interface LongValue {
  readonly _tag: "Long"
  readonly value: bigint
}

/**
 * A `Bytes` header value (wire type 6, byte array).
 *
 * @since 0.1.0
 */
export interface BytesValue {
  readonly _tag: "Bytes"
  readonly value: Uint8Array
}

/**
 * A `String` header value (wire type 7, UTF-8).
 *
 * @since 0.1.0
 */
export interface StringValue {
  readonly _tag: "String"
  readonly value: string
}

/**
 * A `Timestamp` header value (wire type 8, signed 64-bit milliseconds since the epoch).
 *
 * @since 0.1.0
 */
export interface TimestampValue {
  readonly _tag: "Timestamp"
  readonly value: Date
}

/**
 * A `Uuid` header value (wire type 9, 16 bytes), as a canonical hyphenated hex string.
 *
 * @since 0.1.0
 */
export interface UuidValue {
  readonly _tag: "Uuid"
  readonly value: string
}

/**
 * Any header value.
 *
 * @since 0.1.0
 */
export type HeaderValue =
  | BooleanValue
  | ByteValue
  | ShortValue
  | IntValue
  | LongValue
  | BytesValue
  | StringValue
  | TimestampValue
  | UuidValue

/**
 * The wire type tags.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * console.log(Header.wireType(Header.long(1n)) === Header.WireType.Long) // true
 * ```
 * @since 0.1.0
 */
export const WireType = {
  BoolTrue: 0,
  BoolFalse: 1,
  Byte: 2,
  Short: 3,
  Int: 4,
  Long: 5,
  Bytes: 6,
  String: 7,
  Timestamp: 8,
  Uuid: 9
} as const

/**
 * @since 0.1.0
 */
export type WireType = typeof WireType[keyof typeof WireType]

/**
 * The longest header name the framing allows, in UTF-8 bytes (the length is one unsigned byte).
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const fits = (name: string) => new TextEncoder().encode(name).length <= Header.MAX_NAME_BYTES
 * ```
 * @since 0.1.0
 */
export const MAX_NAME_BYTES = 255

/**
 * The longest string / byte-array value the encoder produces, in bytes. The wire length field is
 * an unsigned 16-bit integer, but like aws-c-event-stream (and the AWS SDKs) we keep to the signed
 * 16-bit limit so that every implementation accepts what we send. The decoder accepts up to 65,535.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const fits = (value: string) => new TextEncoder().encode(value).length <= Header.MAX_VALUE_BYTES
 * ```
 * @since 0.1.0
 */
export const MAX_VALUE_BYTES = 32_767

const TRUE: BooleanValue = Object.freeze({ _tag: "Boolean", value: true })
const FALSE: BooleanValue = Object.freeze({ _tag: "Boolean", value: false })

/**
 * A boolean header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const done = Header.boolean(true) // { _tag: "Boolean", value: true }
 * ```
 * @since 0.1.0
 */
export const boolean = (value: boolean): BooleanValue => value ? TRUE : FALSE

/**
 * A signed 8-bit header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const level = Header.byte(-3)
 * ```
 * @since 0.1.0
 */
export const byte = (value: number): ByteValue => ({ _tag: "Byte", value })

/**
 * A signed 16-bit header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const port = Header.short(8080)
 * ```
 * @since 0.1.0
 */
export const short = (value: number): ShortValue => ({ _tag: "Short", value })

/**
 * A signed 32-bit header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const sequence = Header.int(42)
 * ```
 * @since 0.1.0
 */
export const int = (value: number): IntValue => ({ _tag: "Int", value })

/**
 * A signed 64-bit header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const bytesSoFar = Header.long(9_007_199_254_740_993n)
 * ```
 * @since 0.1.0
 */
export const long = (value: bigint): LongValue => ({ _tag: "Long", value })

/**
 * A byte-array header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const digest = Header.bytes(new Uint8Array([0xde, 0xad]))
 * ```
 * @since 0.1.0
 */
export const bytes = (value: Uint8Array): BytesValue => ({ _tag: "Bytes", value })

/**
 * A string header value.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const eventType = Header.string("progress")
 * ```
 * @since 0.1.0
 */
export const string = (value: string): StringValue => ({ _tag: "String", value })

/**
 * A timestamp header value, from a `Date` or milliseconds since the epoch.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const at = Header.timestamp(Date.UTC(2024, 0, 1))
 * ```
 * @since 0.1.0
 */
export const timestamp = (value: Date | number): TimestampValue => ({
  _tag: "Timestamp",
  value: typeof value === "number" ? new Date(value) : value
})

/**
 * A UUID header value, from its hyphenated hex form (case-insensitive).
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * const id = Header.uuid("01020304-0506-0708-090a-0b0c0d0e0f10")
 * ```
 * @since 0.1.0
 */
export const uuid = (value: string): UuidValue => ({ _tag: "Uuid", value })

/**
 * The wire type tag a value is encoded with.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * console.log(Header.wireType(Header.boolean(false))) // 1
 * ```
 * @since 0.1.0
 */
export const wireType = (value: HeaderValue): WireType => {
  switch (value._tag) {
    case "Boolean":
      return value.value ? WireType.BoolTrue : WireType.BoolFalse
    case "Byte":
      return WireType.Byte
    case "Short":
      return WireType.Short
    case "Int":
      return WireType.Int
    case "Long":
      return WireType.Long
    case "Bytes":
      return WireType.Bytes
    case "String":
      return WireType.String
    case "Timestamp":
      return WireType.Timestamp
    case "Uuid":
      return WireType.Uuid
  }
}

/**
 * Structural equality of two header values (bytes compared byte by byte, timestamps by time, UUIDs
 * case-insensitively).
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * console.log(Header.equals(Header.long(1n), Header.long(1n))) // true
 * ```
 * @since 0.1.0
 */
export const equals = (self: HeaderValue, that: HeaderValue): boolean => {
  switch (self._tag) {
    case "Bytes":
      return that._tag === "Bytes" && bytesEqual(self.value, that.value)
    case "Timestamp":
      return that._tag === "Timestamp" && Object.is(self.value.getTime(), that.value.getTime())
    case "Uuid":
      return that._tag === "Uuid" && self.value.toLowerCase() === that.value.toLowerCase()
    default:
      return self._tag === that._tag && self.value === that.value
  }
}

/**
 * What `Message.make` accepts for a header: a typed value, or a JavaScript value whose header type
 * is unambiguous — `string` → `String`, `boolean` → `Boolean`, `bigint` → `Long`, `Date` →
 * `Timestamp`, `Uint8Array` → `Bytes`. Numbers must be given a width explicitly (`Header.int`…).
 *
 * @since 0.1.0
 */
export type HeaderInput = HeaderValue | string | boolean | bigint | Date | Uint8Array

/**
 * Turns a {@link HeaderInput} into a {@link HeaderValue}.
 *
 * @example
 * ```ts
 * import { Header } from "@truce/eventstream"
 *
 * console.log(Header.fromInput("progress")) // { _tag: "String", value: "progress" }
 * ```
 * @since 0.1.0
 */
export const fromInput = (input: HeaderInput): HeaderValue => {
  switch (typeof input) {
    case "string":
      return string(input)
    case "boolean":
      return boolean(input)
    case "bigint":
      return long(input)
    default:
      if (input instanceof Date) return timestamp(input)
      if (input instanceof Uint8Array) return bytes(input)
      return input
  }
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
