/**
 * The typed errors of `@truce/eventstream`.
 *
 * Every failure of the codec, the streaming decoder, the Effect adapters and the Schema event layer
 * is one of the classes below — values you can match on by `_tag` (`Effect.catchTag`,
 * `Match.tag`…), carrying the facts needed to diagnose the problem (stream offset, declared length,
 * cap…). They are `Schema.TaggedError` classes, so they can cross a process boundary.
 *
 * The synchronous codec (`Encoder.encodeSync`, the streaming `Decoder`) reports failures by throwing
 * these instances and nothing else; the Effect-returning APIs put them in the error channel.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

// ---------------------------------------------------------------------------------------------------------------------
// Codec errors
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The CRC-32 of a frame's first 8 bytes does not match the prelude checksum stored in bytes 8–11.
 * Detected as soon as the 12 prelude bytes are available, before anything is allocated.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.PreludeChecksumMismatch({ offset: 0, expected: 1, actual: 2 })
 * console.log(error.message) // "prelude checksum mismatch at offset 0: ..."
 * ```
 * @since 0.1.0
 */
export class PreludeChecksumMismatch extends Schema.TaggedError<PreludeChecksumMismatch>()("PreludeChecksumMismatch", {
  /** Stream offset of the frame's first byte. */
  offset: Schema.Number,
  /** The checksum stored in the frame (unsigned 32-bit). */
  expected: Schema.Number,
  /** The checksum computed over the received bytes (unsigned 32-bit). */
  actual: Schema.Number
}) {
  override get message(): string {
    return `prelude checksum mismatch at offset ${this.offset}: frame says ${hex(this.expected)}, bytes give ${
      hex(this.actual)
    }`
  }
}

/**
 * The CRC-32 of a whole frame (everything before its last 4 bytes) does not match the message
 * checksum stored in those last 4 bytes.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.MessageChecksumMismatch({ offset: 0, expected: 1, actual: 2 })
 * console.log(error._tag) // "MessageChecksumMismatch"
 * ```
 * @since 0.1.0
 */
export class MessageChecksumMismatch extends Schema.TaggedError<MessageChecksumMismatch>()("MessageChecksumMismatch", {
  /** Stream offset of the frame's first byte. */
  offset: Schema.Number,
  /** The checksum stored in the frame (unsigned 32-bit). */
  expected: Schema.Number,
  /** The checksum computed over the received bytes (unsigned 32-bit). */
  actual: Schema.Number
}) {
  override get message(): string {
    return `message checksum mismatch at offset ${this.offset}: frame says ${hex(this.expected)}, bytes give ${
      hex(this.actual)
    }`
  }
}

/**
 * A prelude whose checksum is right but whose lengths cannot describe a frame: a total length
 * below the 16-byte minimum (`TotalLengthTooSmall`), a headers length that does not fit in the
 * total length (`HeadersLengthExceedsMessage`), or — for `Decoder.decode`, which takes exactly one
 * frame — a buffer longer than the declared total length (`LengthMismatch`).
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.InvalidPrelude({
 *   offset: 0,
 *   totalLength: 8,
 *   headersLength: 0,
 *   reason: "TotalLengthTooSmall"
 * })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class InvalidPrelude extends Schema.TaggedError<InvalidPrelude>()("InvalidPrelude", {
  /** Stream offset of the frame's first byte. */
  offset: Schema.Number,
  /** The declared total length of the frame. */
  totalLength: Schema.Number,
  /** The declared length of the headers section. */
  headersLength: Schema.Number,
  /** Which rule the prelude breaks. */
  reason: Schema.Literal("TotalLengthTooSmall", "HeadersLengthExceedsMessage", "LengthMismatch")
}) {
  override get message(): string {
    switch (this.reason) {
      case "TotalLengthTooSmall":
        return `invalid prelude at offset ${this.offset}: total length ${this.totalLength} is below the 16-byte minimum`
      case "HeadersLengthExceedsMessage":
        return `invalid prelude at offset ${this.offset}: headers length ${this.headersLength} does not fit in total length ${this.totalLength}`
      case "LengthMismatch":
        return `invalid prelude at offset ${this.offset}: total length ${this.totalLength} does not match the size of the buffer`
    }
  }
}

/**
 * What a {@link TooLarge} error is about.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 * import * as Schema from "effect/Schema"
 *
 * console.log(Schema.is(EventStreamError.TooLargeSubject)("payload")) // true
 * ```
 * @since 0.1.0
 */
export const TooLargeSubject = Schema.Literal(
  "message",
  "headers",
  "payload",
  "headerCount",
  "headerName",
  "headerValue"
)

/**
 * @since 0.1.0
 */
export type TooLargeSubject = typeof TooLargeSubject.Type

/**
 * A size is over a cap: a declared frame/headers/payload length over the decoder's limits (raised
 * from the prelude alone, before any allocation), too many headers, or — when encoding — a header
 * name over 255 bytes, a string/byte-array value over 32,767 bytes, or a message over the limits.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.TooLarge({ subject: "payload", size: 0xffffffef, limit: 24 * 1024 * 1024 })
 * console.log(error.message) // "payload too large: 4294967279 bytes, limit 25165824"
 * ```
 * @since 0.1.0
 */
export class TooLarge extends Schema.TaggedError<TooLarge>()("TooLarge", {
  /** What is too large. */
  subject: TooLargeSubject,
  /** The offending size (bytes, or a count for `headerCount`). */
  size: Schema.Number,
  /** The cap that was exceeded. */
  limit: Schema.Number,
  /** Stream offset of the frame (decoding only). */
  offset: Schema.optional(Schema.Number),
  /** The header concerned, when there is one. */
  header: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const unit = this.subject === "headerCount" ? "headers" : "bytes"
    const where = this.offset === undefined ? "" : ` at offset ${this.offset}`
    const which = this.header === undefined ? "" : ` (header ${JSON.stringify(this.header)})`
    return `${this.subject} too large${where}${which}: ${this.size} ${unit}, limit ${this.limit}`
  }
}

/**
 * Why a header is invalid.
 *
 * - `UnknownType`: a type tag outside 0–9 (decoding) or an unknown `_tag` (encoding);
 * - `Overrun`: a header runs past the end of the headers section;
 * - `InvalidUtf8`: a name or string value that is not well-formed UTF-8 (or a string with a lone surrogate);
 * - `EmptyName`: a zero-length name;
 * - `DuplicateName`: the same name twice in one frame;
 * - `OutOfRange`: an integer outside its type's range, or a non-integer;
 * - `InvalidUuid`: a UUID string not of the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`;
 * - `InvalidTimestamp`: an invalid `Date`, or a wire timestamp outside the range of `Date`;
 * - `InvalidValue`: a value of the wrong JavaScript type for its tag.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 * import * as Schema from "effect/Schema"
 *
 * console.log(Schema.is(EventStreamError.InvalidHeaderReason)("DuplicateName")) // true
 * ```
 * @since 0.1.0
 */
export const InvalidHeaderReason = Schema.Literal(
  "UnknownType",
  "Overrun",
  "InvalidUtf8",
  "EmptyName",
  "DuplicateName",
  "OutOfRange",
  "InvalidUuid",
  "InvalidTimestamp",
  "InvalidValue"
)

/**
 * @since 0.1.0
 */
export type InvalidHeaderReason = typeof InvalidHeaderReason.Type

/**
 * A header that cannot be decoded or encoded (see {@link InvalidHeaderReason}).
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.InvalidHeader({
 *   reason: "OutOfRange",
 *   detail: "byte value 300 is outside [-128, 127]",
 *   header: "level"
 * })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class InvalidHeader extends Schema.TaggedError<InvalidHeader>()("InvalidHeader", {
  /** Which rule is broken. */
  reason: InvalidHeaderReason,
  /** A human-readable description. */
  detail: Schema.String,
  /** The header name, when it could be read. */
  header: Schema.optional(Schema.String),
  /** Stream offset of the header's first byte (decoding only). */
  offset: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const where = this.offset === undefined ? "" : ` at offset ${this.offset}`
    const which = this.header === undefined ? "" : ` ${JSON.stringify(this.header)}`
    return `invalid header${which}${where} (${this.reason}): ${this.detail}`
  }
}

/**
 * The input ended in the middle of a frame.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.Truncated({ offset: 0, received: 5, expected: 12 })
 * console.log(error.message) // "truncated frame at offset 0: received 5 of 12 bytes"
 * ```
 * @since 0.1.0
 */
export class Truncated extends Schema.TaggedError<Truncated>()("Truncated", {
  /** Stream offset of the incomplete frame's first byte. */
  offset: Schema.Number,
  /** How many bytes of the frame were received. */
  received: Schema.Number,
  /** The frame's declared total length, or 12 while the prelude itself is incomplete. */
  expected: Schema.Number
}) {
  override get message(): string {
    return `truncated frame at offset ${this.offset}: received ${this.received} of ${this.expected} bytes`
  }
}

/**
 * Input was written to a streaming decoder after `end()` was called.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.DecoderClosed({ offset: 16 })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class DecoderClosed extends Schema.TaggedError<DecoderClosed>()("DecoderClosed", {
  /** How many bytes the decoder had received when it was ended. */
  offset: Schema.Number
}) {
  override get message(): string {
    return `the decoder was ended at offset ${this.offset} and accepts no more input`
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Event errors
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A message that does not follow the event-stream message-type conventions: a missing or
 * non-string `:message-type`, an unknown message type, or a missing `:event-type` /
 * `:exception-type` / `:error-code`, or an unsupported `:content-type`.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.MalformedEvent({ detail: "missing :message-type header" })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class MalformedEvent extends Schema.TaggedError<MalformedEvent>()("MalformedEvent", {
  /** What is wrong with the message. */
  detail: Schema.String
}) {
  override get message(): string {
    return `malformed event: ${this.detail}`
  }
}

/**
 * An event whose `:event-type` has no schema in the event layer.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.UnknownEventType({ eventType: "surprise", known: ["progress"] })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class UnknownEventType extends Schema.TaggedError<UnknownEventType>()("UnknownEventType", {
  /** The `:event-type` received. */
  eventType: Schema.String,
  /** The event types the layer knows. */
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `unknown event type ${JSON.stringify(this.eventType)} (known: ${this.known.join(", ")})`
  }
}

/**
 * An event payload that does not match its schema (or is not JSON / not UTF-8), when decoding a
 * message or encoding a value.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.InvalidEventPayload({
 *   eventType: "progress",
 *   direction: "decode",
 *   detail: "Expected number, actual \"x\""
 * })
 * console.log(error.message)
 * ```
 * @since 0.1.0
 */
export class InvalidEventPayload extends Schema.TaggedError<InvalidEventPayload>()("InvalidEventPayload", {
  /** The event type concerned. */
  eventType: Schema.String,
  /** Whether the failure happened while decoding a message or encoding a value. */
  direction: Schema.Literal("decode", "encode"),
  /** The parse error, formatted. */
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot ${this.direction} ${JSON.stringify(this.eventType)} event: ${this.detail}`
  }
}

/**
 * A `:message-type: exception` frame was received: a modeled error sent by the peer, with its
 * `:exception-type` and raw payload (usually JSON, see `contentType`).
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.ExceptionReceived({
 *   exceptionType: "ThrottlingException",
 *   contentType: "application/json",
 *   payload: new TextEncoder().encode("{\"message\":\"slow down\"}")
 * })
 * console.log(error.text) // "{\"message\":\"slow down\"}"
 * ```
 * @since 0.1.0
 */
export class ExceptionReceived extends Schema.TaggedError<ExceptionReceived>()("ExceptionReceived", {
  /** The `:exception-type` header. */
  exceptionType: Schema.String,
  /** The `:content-type` header, when present. */
  contentType: Schema.optional(Schema.String),
  /** The raw payload. */
  payload: Schema.Uint8ArrayFromSelf
}) {
  /** The payload decoded as UTF-8 (lossy). */
  get text(): string {
    return new TextDecoder().decode(this.payload)
  }
  override get message(): string {
    return `exception ${this.exceptionType} received: ${this.text}`
  }
}

/**
 * A `:message-type: error` frame was received: an unmodeled error with `:error-code` and
 * `:error-message`.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * const error = new EventStreamError.ErrorReceived({ errorCode: "InternalError", errorMessage: "boom" })
 * console.log(error.message) // "error InternalError received: boom"
 * ```
 * @since 0.1.0
 */
export class ErrorReceived extends Schema.TaggedError<ErrorReceived>()("ErrorReceived", {
  /** The `:error-code` header. */
  errorCode: Schema.String,
  /** The `:error-message` header (empty when absent). */
  errorMessage: Schema.String
}) {
  override get message(): string {
    return `error ${this.errorCode} received: ${this.errorMessage}`
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Unions and guards
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Errors of the decoder (one-shot and streaming).
 *
 * @since 0.1.0
 */
export type DecodeError =
  | PreludeChecksumMismatch
  | MessageChecksumMismatch
  | InvalidPrelude
  | TooLarge
  | InvalidHeader
  | Truncated
  | DecoderClosed

/**
 * Errors of the encoder.
 *
 * @since 0.1.0
 */
export type EncodeError = TooLarge | InvalidHeader

/**
 * Errors of the event layer (message-type semantics and Schema events).
 *
 * @since 0.1.0
 */
export type EventError = MalformedEvent | UnknownEventType | InvalidEventPayload | ExceptionReceived | ErrorReceived

/**
 * Every error of `@truce/eventstream`.
 *
 * @since 0.1.0
 */
export type EventStreamError = DecodeError | EncodeError | EventError

const decodeErrorTags: ReadonlySet<string> = new Set([
  "PreludeChecksumMismatch",
  "MessageChecksumMismatch",
  "InvalidPrelude",
  "TooLarge",
  "InvalidHeader",
  "Truncated",
  "DecoderClosed"
])

const errorClasses = [
  PreludeChecksumMismatch,
  MessageChecksumMismatch,
  InvalidPrelude,
  TooLarge,
  InvalidHeader,
  Truncated,
  DecoderClosed,
  MalformedEvent,
  UnknownEventType,
  InvalidEventPayload,
  ExceptionReceived,
  ErrorReceived
] as const

/**
 * Whether a value is one of this package's errors.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * try {
 *   // ... a synchronous codec call
 * } catch (error) {
 *   if (EventStreamError.isEventStreamError(error)) console.log(error._tag)
 *   else throw error
 * }
 * ```
 * @since 0.1.0
 */
export const isEventStreamError = (u: unknown): u is EventStreamError =>
  Predicate.isObject(u) && errorClasses.some((errorClass) => u instanceof errorClass)

/**
 * Whether a value is a decoder error.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * console.log(EventStreamError.isDecodeError(new EventStreamError.Truncated({ offset: 0, received: 1, expected: 12 })))
 * ```
 * @since 0.1.0
 */
export const isDecodeError = (u: unknown): u is DecodeError => isEventStreamError(u) && decodeErrorTags.has(u._tag)

/**
 * Whether a value is an encoder error.
 *
 * @example
 * ```ts
 * import { EventStreamError } from "@truce/eventstream"
 *
 * console.log(EventStreamError.isEncodeError(new EventStreamError.TooLarge({ subject: "headerName", size: 300, limit: 255 })))
 * ```
 * @since 0.1.0
 */
export const isEncodeError = (u: unknown): u is EncodeError => u instanceof TooLarge || u instanceof InvalidHeader

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`
