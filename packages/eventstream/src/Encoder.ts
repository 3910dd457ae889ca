/**
 * Encoding messages into `application/vnd.amazon.eventstream` frames.
 *
 * Every header is validated before anything is written, and every problem is a typed error — never
 * a silent wrap-around or truncation:
 * - names: non-empty, well-formed, at most 255 UTF-8 bytes (`InvalidHeader` / `TooLarge`);
 * - `String` / `Bytes` values: at most 32,767 bytes (`TooLarge`; the signed-16 limit of
 *   aws-c-event-stream, see `Header.MAX_VALUE_BYTES`), strings without lone surrogates;
 * - integers: within their type's range (`InvalidHeader` `OutOfRange`), `Long` as a `bigint`;
 * - timestamps: valid `Date`s; UUIDs: hyphenated hex;
 * - the message: within the caps (`Message.Limits`, the same defaults as the decoder's, so that
 *   what we send is accepted by a default decoder).
 *
 * A frame is allocated once, at its exact size; short ASCII strings are written without going
 * through `TextEncoder`.
 *
 * Error reporting: {@link encodeSync} throws only `EventStreamError.EncodeError`; {@link encode}
 * returns an `Either` (which is also an `Effect`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as EventStreamError from "./EventStreamError.js"
import { encodeMessage, type ResolvedLimits, resolveLimits } from "./internal/codec.js"
import * as Message from "./Message.js"

/**
 * Encoder options: caps (see `Message.Limits`, defaults `Message.defaultLimits`).
 *
 * @since 0.1.0
 */
export interface Options extends Partial<Message.Limits> {}

const defaultLimits: ResolvedLimits = resolveLimits(undefined, Message.defaultLimits)

/**
 * Encodes a message into one frame.
 *
 * @throws `EventStreamError.EncodeError` (`TooLarge` or `InvalidHeader`).
 * @example
 * ```ts
 * import { Encoder, Header, Message } from "@truce/eventstream"
 *
 * const frame = Encoder.encodeSync(
 *   Message.make({
 *     headers: { ":message-type": "event", ":event-type": "progress", step: Header.int(3) },
 *     payload: new TextEncoder().encode("{\"done\":3,\"total\":10}")
 *   })
 * )
 * console.log(frame.length)
 * ```
 * @since 0.1.0
 */
export const encodeSync = (message: Message.Message, options?: Options): Uint8Array =>
  encodeMessage(message, options === undefined ? defaultLimits : resolveLimits(options, Message.defaultLimits))

/**
 * Encodes a message into one frame, as an `Either` (usable as an `Effect`).
 *
 * @example
 * ```ts
 * import { Encoder, Header, Message } from "@truce/eventstream"
 * import * as Either from "effect/Either"
 *
 * const result = Encoder.encode(Message.make({ headers: { level: Header.byte(300) } }))
 * if (Either.isLeft(result)) console.log(result.left._tag) // "InvalidHeader"
 * ```
 * @since 0.1.0
 */
export const encode = (
  message: Message.Message,
  options?: Options
): Either.Either<Uint8Array, EventStreamError.EncodeError> => {
  try {
    return Either.right(encodeSync(message, options))
  } catch (error) {
    if (EventStreamError.isEncodeError(error)) return Either.left(error)
    throw error
  }
}
