/**
 * Message-type semantics: the header conventions that turn raw messages into events, modeled
 * exceptions and unmodeled errors.
 *
 * | `:message-type` | other headers                                    | meaning                        |
 * | --------------- | ------------------------------------------------ | ------------------------------ |
 * | `event`         | `:event-type`, `:content-type`                   | a member of the event union    |
 * | `exception`     | `:exception-type`, `:content-type`               | a modeled error (payload body) |
 * | `error`         | `:error-code`, `:error-message`                  | an unmodeled error             |
 *
 * All these headers are `String` headers.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as EventStreamError from "./EventStreamError.js"
import * as Header from "./Header.js"
import * as Message from "./Message.js"

/**
 * The header names of the conventions.
 *
 * @example
 * ```ts
 * import { Event, Message } from "@truce/eventstream"
 *
 * const message = Event.event("progress", new Uint8Array(0))
 * console.log(Message.getString(message, Event.HeaderName.eventType)) // "progress"
 * ```
 * @since 0.1.0
 */
export const HeaderName = {
  messageType: ":message-type",
  eventType: ":event-type",
  contentType: ":content-type",
  exceptionType: ":exception-type",
  errorCode: ":error-code",
  errorMessage: ":error-message"
} as const

/**
 * The three message types.
 *
 * @since 0.1.0
 */
export type MessageType = "event" | "exception" | "error"

/**
 * Options of the message builders.
 *
 * @since 0.1.0
 */
export interface BuildOptions {
  /** The `:content-type` header (omitted when not given). */
  readonly contentType?: string
  /** Extra headers, written after the conventional ones. */
  readonly headers?: Message.HeadersInput
}

const build = (
  conventional: ReadonlyArray<readonly [string, string]>,
  payload: Uint8Array,
  options: BuildOptions | undefined
): Message.Message => {
  const headers = new Map<string, Header.HeaderValue>()
  for (const [name, value] of conventional) headers.set(name, Header.string(value))
  if (options?.contentType !== undefined) headers.set(HeaderName.contentType, Header.string(options.contentType))
  if (options?.headers !== undefined) {
    for (const [name, value] of Message.makeHeaders(options.headers)) {
      if (!headers.has(name)) headers.set(name, value)
    }
  }
  return { headers, payload }
}

/**
 * An `event` message of the given `:event-type`.
 *
 * @example
 * ```ts
 * import { Event } from "@truce/eventstream"
 *
 * const message = Event.event("progress", new TextEncoder().encode("{\"done\":1}"), {
 *   contentType: "application/json"
 * })
 * ```
 * @since 0.1.0
 */
export const event = (eventType: string, payload: Uint8Array, options?: BuildOptions): Message.Message =>
  build([[HeaderName.messageType, "event"], [HeaderName.eventType, eventType]], payload, options)

/**
 * An `exception` message (a modeled error) of the given `:exception-type`.
 *
 * @example
 * ```ts
 * import { Event } from "@truce/eventstream"
 *
 * const message = Event.exception("ValidationException", new TextEncoder().encode("{\"field\":\"name\"}"), {
 *   contentType: "application/json"
 * })
 * ```
 * @since 0.1.0
 */
export const exception = (exceptionType: string, payload: Uint8Array, options?: BuildOptions): Message.Message =>
  build([[HeaderName.messageType, "exception"], [HeaderName.exceptionType, exceptionType]], payload, options)

const EMPTY = new Uint8Array(0)

/**
 * An `error` message (an unmodeled error) with `:error-code` and `:error-message`, and an empty
 * payload.
 *
 * @example
 * ```ts
 * import { Event } from "@truce/eventstream"
 *
 * const message = Event.error("InternalFailure", "the worker crashed")
 * ```
 * @since 0.1.0
 */
export const error = (errorCode: string, errorMessage: string, options?: BuildOptions): Message.Message =>
  build(
    [[HeaderName.messageType, "error"], [HeaderName.errorCode, errorCode], [HeaderName.errorMessage, errorMessage]],
    EMPTY,
    options
  )

/**
 * A classified `event` message.
 *
 * @since 0.1.0
 */
export interface EventMessage {
  readonly _tag: "Event"
  readonly eventType: string
  readonly contentType: string | undefined
  readonly message: Message.Message
}

/**
 * A classified `exception` message.
 *
 * @since 0.1.0
 */
export interface ExceptionMessage {
  readonly _tag: "Exception"
  readonly exceptionType: string
  readonly contentType: string | undefined
  readonly message: Message.Message
}

/**
 * A classified `error` message.
 *
 * @since 0.1.0
 */
export interface ErrorMessage {
  readonly _tag: "Error"
  readonly errorCode: string
  readonly errorMessage: string
  readonly message: Message.Message
}

/**
 * The result of {@link classify}.
 *
 * @since 0.1.0
 */
export type Classified = EventMessage | ExceptionMessage | ErrorMessage

const requireString = (
  message: Message.Message,
  name: string,
  context: string
): Either.Either<string, EventStreamError.MalformedEvent> => {
  const value = message.headers.get(name)
  if (value === undefined) {
    return Either.left(new EventStreamError.MalformedEvent({ detail: `${context} message without a ${name} header` }))
  }
  if (value._tag !== "String") {
    return Either.left(
      new EventStreamError.MalformedEvent({ detail: `${name} header is a ${value._tag}, not a String` })
    )
  }
  return Either.right(value.value)
}

const optionalString = (
  message: Message.Message,
  name: string
): Either.Either<string | undefined, EventStreamError.MalformedEvent> => {
  const value = message.headers.get(name)
  if (value === undefined) return Either.right(undefined)
  if (value._tag !== "String") {
    return Either.left(
      new EventStreamError.MalformedEvent({ detail: `${name} header is a ${value._tag}, not a String` })
    )
  }
  return Either.right(value.value)
}

/**
 * Reads a message's `:message-type` and the headers that go with it. `:content-type` and
 * `:error-message` are optional; everything else is required.
 *
 * @example
 * ```ts
 * import { Event } from "@truce/eventstream"
 * import * as Either from "effect/Either"
 *
 * const classified = Event.classify(Event.error("Boom", "it broke"))
 * if (Either.isRight(classified) && classified.right._tag === "Error") {
 *   console.log(classified.right.errorCode) // "Boom"
 * }
 * ```
 * @since 0.1.0
 */
export const classify = (message: Message.Message): Either.Either<Classified, EventStreamError.MalformedEvent> =>
  Either.flatMap(requireString(message, HeaderName.messageType, "a"), (messageType): Either.Either<
    Classified,
    EventStreamError.MalformedEvent
  > => {
    switch (messageType) {
      case "event":
        return Either.flatMap(
          requireString(message, HeaderName.eventType, "an event"),
          (eventType) =>
            Either.map(optionalString(message, HeaderName.contentType), (contentType) => ({
              _tag: "Event" as const,
              eventType,
              contentType,
              message
            }))
        )
      case "exception":
        return Either.flatMap(
          requireString(message, HeaderName.exceptionType, "an exception"),
          (exceptionType) =>
            Either.map(optionalString(message, HeaderName.contentType), (contentType) => ({
              _tag: "Exception" as const,
              exceptionType,
              contentType,
              message
            }))
        )
      case "error":
        return Either.flatMap(
          requireString(message, HeaderName.errorCode, "an error"),
          (errorCode) =>
            Either.map(optionalString(message, HeaderName.errorMessage), (errorMessage) => ({
              _tag: "Error" as const,
              errorCode,
              errorMessage: errorMessage ?? "",
              message
            }))
        )
      default:
        return Either.left(
          new EventStreamError.MalformedEvent({ detail: `unknown :message-type ${JSON.stringify(messageType)}` })
        )
    }
  })

/**
 * The error a classified `exception` or `error` message stands for (`undefined` for an event).
 *
 * @example
 * ```ts
 * import { Event } from "@truce/eventstream"
 * import * as Either from "effect/Either"
 *
 * const classified = Either.getOrThrow(Event.classify(Event.error("Boom", "it broke")))
 * console.log(Event.toError(classified)?._tag) // "ErrorReceived"
 * ```
 * @since 0.1.0
 */
export const toError = (
  classified: Classified
): EventStreamError.ExceptionReceived | EventStreamError.ErrorReceived | undefined => {
  switch (classified._tag) {
    case "Event":
      return undefined
    case "Exception":
      return new EventStreamError.ExceptionReceived(
        classified.contentType === undefined
          ? { exceptionType: classified.exceptionType, payload: classified.message.payload }
          : {
            exceptionType: classified.exceptionType,
            contentType: classified.contentType,
            payload: classified.message.payload
          }
      )
    case "Error":
      return new EventStreamError.ErrorReceived({
        errorCode: classified.errorCode,
        errorMessage: classified.errorMessage
      })
  }
}
