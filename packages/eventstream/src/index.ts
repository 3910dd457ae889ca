/**
 * `@truce/eventstream`: an AWS-compatible `application/vnd.amazon.eventstream` codec — frames,
 * a streaming decoder with caps and typed errors, message-type semantics, Effect `Stream` adapters
 * and a Schema event layer.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Crc32 from "./Crc32.js"

/** @since 0.1.0 */
export * as Decoder from "./Decoder.js"

/** @since 0.1.0 */
export * as Encoder from "./Encoder.js"

/** @since 0.1.0 */
export * as Event from "./Event.js"

/** @since 0.1.0 */
export * as EventStream from "./EventStream.js"

/** @since 0.1.0 */
export * as EventStreamError from "./EventStreamError.js"

/** @since 0.1.0 */
export * as Header from "./Header.js"

/** @since 0.1.0 */
export * as Message from "./Message.js"
