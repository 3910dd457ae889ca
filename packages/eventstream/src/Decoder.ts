/**
 * Decoding `application/vnd.amazon.eventstream` frames.
 *
 * Two entry points:
 * - {@link make} creates a **streaming decoder** that accepts chunks of any size and boundary (one
 *   byte at a time included) and hands back complete messages;
 * - {@link decode} / {@link decodeAll} (and their `Sync` variants) decode buffers that are already
 *   complete.
 *
 * Guarantees:
 * - the prelude checksum is checked as soon as 12 bytes are present, then the declared lengths and
 *   the caps — before anything is allocated for the frame, so a declared length of `0xFFFFFFFF`
 *   costs nothing but a `TooLarge` error;
 * - a frame is only ever delivered after its message checksum and all its headers have been
 *   verified: an error never leaves a half-decoded message behind;
 * - linear time: frames that lie inside one chunk are decoded in place; a frame spanning chunks is
 *   copied once into a buffer of exactly its size;
 * - after an error the decoder refuses further input (every call rethrows the same error).
 *
 * Error reporting: this module is synchronous, for speed. `…Sync` functions and the streaming
 * decoder's methods throw only the typed errors of `EventStreamError` (`DecodeError`); the
 * non-`Sync` functions return an `Either` (which is also an `Effect`). The Effect `Stream` adapters
 * are in `EventStream`.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as EventStreamError from "./EventStreamError.js"
import { checkPrelude, decodeFrame, PRELUDE, readU32, type ResolvedLimits, resolveLimits } from "./internal/codec.js"
import { StreamDecoderImpl } from "./internal/decoder.js"
import * as Message from "./Message.js"

/**
 * Decoder options: caps (see `Message.Limits`, defaults `Message.defaultLimits`; a cap that is not a
 * non-negative number means the default) and payload copying.
 *
 * @since 0.1.0
 */
export interface Options extends Partial<Message.Limits> {
  /**
   * When `false` (the default), a frame that lies inside one input buffer is decoded in place: its
   * payload and `Bytes` header values are views into that buffer (do not modify the buffer
   * afterwards, and note that a view keeps the whole buffer alive). When `true`, they are copied.
   */
  readonly copyPayloads?: boolean
}

/**
 * Counters describing the work a streaming decoder has done.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Bytes written to the decoder. */
  readonly bytesReceived: number
  /** Bytes copied into decoder-owned buffers (prelude assembly and frames spanning chunks). */
  readonly bytesCopied: number
  /** Bytes allocated for frames spanning chunks (always the exact, validated frame size). */
  readonly bytesAllocated: number
  /** Messages decoded so far. */
  readonly framesDecoded: number
}

/**
 * A streaming decoder. Write chunks with `write`, take messages with `read`, and call `end` when
 * the input is over.
 *
 * @since 0.1.0
 */
export interface StreamDecoder {
  /**
   * Feeds a chunk (any size, any boundary). Complete messages become available to {@link read}. A
   * problem in the data is not thrown here but by `read`, after the messages that preceded it.
   *
   * @throws `EventStreamError.DecodeError` — the decoder's earlier failure, or `DecoderClosed` after `end()`.
   */
  write(chunk: Uint8Array): void
  /**
   * The next complete message, or `undefined` when more input is needed.
   *
   * @throws `EventStreamError.DecodeError` once every message preceding a failure has been read.
   */
  read(): Message.Message | undefined
  /**
   * Declares the end of the input. Messages already decoded stay readable.
   *
   * @throws `EventStreamError.Truncated` when the input stopped inside a frame (or the earlier failure).
   */
  end(): void
  /** Bytes of an incomplete frame currently held. */
  readonly bufferedBytes: number
  /** Size of the buffer allocated for the incomplete frame (0 when none). */
  readonly allocatedBytes: number
  /** Decoded messages not read yet. */
  readonly pendingMessages: number
  /** `open`, `ended` (after `end()`), or `failed`. */
  readonly state: "open" | "ended" | "failed"
  /** The failure, once the decoder has failed. */
  readonly error: EventStreamError.DecodeError | undefined
  /** Work counters. */
  readonly stats: Stats
}

const defaultLimits: ResolvedLimits = resolveLimits(undefined, Message.defaultLimits)

const limitsOf = (options: Options | undefined): ResolvedLimits =>
  options === undefined ? defaultLimits : resolveLimits(options, Message.defaultLimits)

/**
 * Creates a streaming decoder.
 *
 * @example
 * ```ts
 * import { Decoder, Encoder, Message } from "@truce/eventstream"
 *
 * const frame = Encoder.encodeSync(Message.make({ headers: { ":event-type": "progress" } }))
 * const decoder = Decoder.make({ maxPayloadBytes: 1024 * 1024 })
 * for (const byte of frame) decoder.write(Uint8Array.of(byte)) // any chunking works
 * decoder.end()
 * const message = decoder.read()
 * console.log(message && Message.getString(message, ":event-type")) // "progress"
 * ```
 * @since 0.1.0
 */
export const make = (options?: Options): StreamDecoder =>
  new StreamDecoderImpl(limitsOf(options), options?.copyPayloads === true)

/**
 * Decodes exactly one complete frame.
 *
 * @throws `EventStreamError.DecodeError` — `Truncated` when the buffer is shorter than the frame,
 *   `InvalidPrelude` (`LengthMismatch`) when it is longer, and the other decoding errors.
 * @example
 * ```ts
 * import { Decoder, Encoder, Message } from "@truce/eventstream"
 *
 * const frame = Encoder.encodeSync(Message.make({ payload: new Uint8Array([1, 2, 3]) }))
 * console.log(Decoder.decodeSync(frame).payload) // Uint8Array [1, 2, 3]
 * ```
 * @since 0.1.0
 */
export const decodeSync = (frame: Uint8Array, options?: Options): Message.Message => {
  const limits = limitsOf(options)
  const length = frame.length
  if (length < PRELUDE) throw new EventStreamError.Truncated({ offset: 0, received: length, expected: PRELUDE })
  const crc = checkPrelude(frame, 0, limits, 0)
  const totalLength = readU32(frame, 0)
  if (length < totalLength) throw new EventStreamError.Truncated({ offset: 0, received: length, expected: totalLength })
  if (length > totalLength) {
    throw new EventStreamError.InvalidPrelude({
      offset: 0,
      totalLength,
      headersLength: readU32(frame, 4),
      reason: "LengthMismatch"
    })
  }
  return decodeFrame(frame, 0, crc, limits, 0, options?.copyPayloads === true)
}

/**
 * Decodes exactly one complete frame, as an `Either` (usable as an `Effect`).
 *
 * @example
 * ```ts
 * import { Decoder } from "@truce/eventstream"
 * import * as Either from "effect/Either"
 *
 * const result = Decoder.decode(new Uint8Array(3))
 * if (Either.isLeft(result)) console.log(result.left._tag) // "Truncated"
 * ```
 * @since 0.1.0
 */
export const decode = (
  frame: Uint8Array,
  options?: Options
): Either.Either<Message.Message, EventStreamError.DecodeError> => attempt(() => decodeSync(frame, options))

/**
 * Decodes every frame of a buffer holding zero or more complete frames back to back.
 *
 * @throws `EventStreamError.DecodeError` — `Truncated` when the buffer ends inside a frame.
 * @example
 * ```ts
 * import { Decoder, Encoder, Message } from "@truce/eventstream"
 *
 * const one = Encoder.encodeSync(Message.make({ headers: { n: "1" } }))
 * const two = Encoder.encodeSync(Message.make({ headers: { n: "2" } }))
 * const both = new Uint8Array([...one, ...two])
 * console.log(Decoder.decodeAllSync(both).length) // 2
 * ```
 * @since 0.1.0
 */
export const decodeAllSync = (bytes: Uint8Array, options?: Options): Array<Message.Message> => {
  const decoder = make(options)
  decoder.write(bytes)
  const messages: Array<Message.Message> = []
  for (let message = decoder.read(); message !== undefined; message = decoder.read()) messages.push(message)
  decoder.end()
  return messages
}

/**
 * Decodes every frame of a buffer, as an `Either` (usable as an `Effect`).
 *
 * @example
 * ```ts
 * import { Decoder } from "@truce/eventstream"
 * import * as Either from "effect/Either"
 *
 * console.log(Either.getOrThrow(Decoder.decodeAll(new Uint8Array(0)))) // []
 * ```
 * @since 0.1.0
 */
export const decodeAll = (
  bytes: Uint8Array,
  options?: Options
): Either.Either<Array<Message.Message>, EventStreamError.DecodeError> => attempt(() => decodeAllSync(bytes, options))

const attempt = <A>(f: () => A): Either.Either<A, EventStreamError.DecodeError> => {
  try {
    return Either.right(f())
  } catch (error) {
    if (EventStreamError.isDecodeError(error)) return Either.left(error)
    throw error
  }
}
