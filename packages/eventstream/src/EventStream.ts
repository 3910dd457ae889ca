/**
 * Effect adapters: `Stream<Uint8Array>` ⇄ `Stream<Message>` through pull-based `Channel`s, and a
 * Schema layer mapping typed events to messages by `:event-type`.
 *
 * Backpressure: the channels only read upstream when downstream pulls, and decode exactly what one
 * upstream chunk contains — a slow or finished consumer (`Stream.take`) stops the upstream.
 *
 * Errors: decoding and encoding failures are typed errors in the error channel
 * (`EventStreamError.DecodeError` / `EncodeError`); messages that preceded a failure are emitted
 * first. Input ending inside a frame fails with `Truncated`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual, identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Decoder from "./Decoder.js"
import * as Encoder from "./Encoder.js"
import * as Event from "./Event.js"
import * as EventStreamError from "./EventStreamError.js"
import type * as Message from "./Message.js"

// ---------------------------------------------------------------------------------------------------------------------
// Bytes ⇄ messages
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A channel decoding chunks of bytes into chunks of messages. Upstream errors pass through.
 *
 * @example
 * ```ts
 * import { EventStream } from "@truce/eventstream"
 * import * as Stream from "effect/Stream"
 *
 * const messages = Stream.make(new Uint8Array(0)).pipe(Stream.pipeThroughChannel(EventStream.decodeChannel()))
 * ```
 * @since 0.1.0
 */
export const decodeChannel = <InErr = never>(
  options?: Decoder.Options
): Channel.Channel<
  Chunk.Chunk<Message.Message>,
  Chunk.Chunk<Uint8Array>,
  InErr | EventStreamError.DecodeError,
  InErr,
  void,
  unknown
> =>
  Channel.suspend(() => {
    const state = Decoder.make(options)
    const loop: Channel.Channel<
      Chunk.Chunk<Message.Message>,
      Chunk.Chunk<Uint8Array>,
      InErr | EventStreamError.DecodeError,
      InErr,
      void,
      unknown
    > = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => {
        const out: Array<Message.Message> = []
        let failure: unknown = undefined
        let failed = false
        try {
          for (const bytes of input) {
            state.write(bytes)
            for (let message = state.read(); message !== undefined; message = state.read()) out.push(message)
          }
        } catch (error) {
          failed = true
          failure = error
        }
        const next = failed ? failWith(failure, EventStreamError.isDecodeError) : loop
        return out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
      },
      onFailure: (cause) => Channel.failCause(cause),
      onDone: () => {
        try {
          state.end()
          return Channel.void
        } catch (error) {
          return failWith(error, EventStreamError.isDecodeError)
        }
      }
    })
    return loop
  })

/**
 * A channel encoding chunks of messages into chunks of frames (one `Uint8Array` per message).
 * Upstream errors pass through.
 *
 * @example
 * ```ts
 * import { EventStream, Message } from "@truce/eventstream"
 * import * as Stream from "effect/Stream"
 *
 * const frames = Stream.make(Message.make()).pipe(Stream.pipeThroughChannel(EventStream.encodeChannel()))
 * ```
 * @since 0.1.0
 */
export const encodeChannel = <InErr = never>(
  options?: Encoder.Options
): Channel.Channel<
  Chunk.Chunk<Uint8Array>,
  Chunk.Chunk<Message.Message>,
  InErr | EventStreamError.EncodeError,
  InErr,
  void,
  unknown
> => {
  const loop: Channel.Channel<
    Chunk.Chunk<Uint8Array>,
    Chunk.Chunk<Message.Message>,
    InErr | EventStreamError.EncodeError,
    InErr,
    void,
    unknown
  > = Channel.readWithCause({
    onInput: (input: Chunk.Chunk<Message.Message>) => {
      const out: Array<Uint8Array> = []
      let failure: unknown = undefined
      let failed = false
      try {
        for (const message of input) out.push(Encoder.encodeSync(message, options))
      } catch (error) {
        failed = true
        failure = error
      }
      const next = failed ? failWith(failure, EventStreamError.isEncodeError) : loop
      return out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
    },
    onFailure: (cause) => Channel.failCause(cause),
    onDone: () => Channel.void
  })
  return loop
}

const failWith = <E>(
  error: unknown,
  isExpected: (u: unknown) => u is E
): Channel.Channel<never, unknown, E, unknown, never, unknown> =>
  isExpected(error) ? Channel.fail(error) : Channel.failCause(Cause.die(error))

const isStream = (u: unknown): u is Stream.Stream<unknown, unknown, unknown> =>
  Predicate.hasProperty(u, Stream.StreamTypeId)

/**
 * Decodes a stream of bytes (any chunking) into a stream of messages.
 *
 * @example
 * ```ts
 * import { Encoder, EventStream, Message } from "@truce/eventstream"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 *
 * const frame = Encoder.encodeSync(Message.make({ headers: { ":event-type": "progress" } }))
 * const program = Stream.make(frame.subarray(0, 5), frame.subarray(5)).pipe(
 *   EventStream.decode({ maxPayloadBytes: 1024 }),
 *   Stream.runCollect
 * )
 * Effect.runPromise(program).then((messages) => console.log(messages.length)) // 1
 * ```
 * @since 0.1.0
 */
export const decode: {
  (
    options?: Decoder.Options
  ): <E, R>(
    self: Stream.Stream<Uint8Array, E, R>
  ) => Stream.Stream<Message.Message, E | EventStreamError.DecodeError, R>
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    options?: Decoder.Options
  ): Stream.Stream<Message.Message, E | EventStreamError.DecodeError, R>
} = dual(
  (args) => isStream(args[0]),
  <E, R>(
    self: Stream.Stream<Uint8Array, E, R>,
    options?: Decoder.Options
  ): Stream.Stream<Message.Message, E | EventStreamError.DecodeError, R> =>
    Stream.pipeThroughChannel(self, decodeChannel<E>(options))
)

/**
 * Encodes a stream of messages into a stream of frames (one `Uint8Array` per message).
 *
 * @example
 * ```ts
 * import { Event, EventStream } from "@truce/eventstream"
 * import * as Stream from "effect/Stream"
 *
 * const bytes = Stream.make(Event.error("Boom", "it broke")).pipe(EventStream.encode())
 * ```
 * @since 0.1.0
 */
export const encode: {
  (
    options?: Encoder.Options
  ): <E, R>(
    self: Stream.Stream<Message.Message, E, R>
  ) => Stream.Stream<Uint8Array, E | EventStreamError.EncodeError, R>
  <E, R>(
    self: Stream.Stream<Message.Message, E, R>,
    options?: Encoder.Options
  ): Stream.Stream<Uint8Array, E | EventStreamError.EncodeError, R>
} = dual(
  (args) => isStream(args[0]),
  <E, R>(
    self: Stream.Stream<Message.Message, E, R>,
    options?: Encoder.Options
  ): Stream.Stream<Uint8Array, E | EventStreamError.EncodeError, R> =>
    Stream.pipeThroughChannel(self, encodeChannel<E>(options))
)

// ---------------------------------------------------------------------------------------------------------------------
// Schema events
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The schemas of an event union, by `:event-type`.
 *
 * @since 0.1.0
 */
export type EventSchemas = { readonly [eventType: string]: Schema.Schema.Any }

/**
 * The typed events of an event union: `{ _tag: eventType, value }`.
 *
 * @since 0.1.0
 */
export type EventOf<S extends EventSchemas> = {
  readonly [K in keyof S & string]: { readonly _tag: K; readonly value: Schema.Schema.Type<S[K]> }
}[keyof S & string]

/**
 * The context the schemas of an event union need.
 *
 * @since 0.1.0
 */
export type ContextOf<S extends EventSchemas> = Schema.Schema.Context<S[keyof S]>

/**
 * The errors of decoding a message into a typed event: a malformed message, an unknown event
 * type, an invalid payload, or the `exception` / `error` frame received.
 *
 * @since 0.1.0
 */
export type EventDecodeError =
  | EventStreamError.MalformedEvent
  | EventStreamError.UnknownEventType
  | EventStreamError.InvalidEventPayload
  | EventStreamError.ExceptionReceived
  | EventStreamError.ErrorReceived

/**
 * Encodes and decodes the typed events of a union to and from messages: `:message-type: event`,
 * `:event-type` the union member, `:content-type: application/json`, the payload the member's
 * schema encoded as JSON.
 *
 * @since 0.1.0
 */
export interface EventCodec<S extends EventSchemas> {
  /** The schemas, by event type. */
  readonly schemas: S
  /** The known event types. */
  readonly eventTypes: ReadonlyArray<string>
  /** Builds a typed event. */
  readonly make: <K extends keyof S & string>(eventType: K, value: Schema.Schema.Type<S[K]>) => EventOf<S>
  /** Encodes a typed event into a message. */
  readonly encode: (
    event: EventOf<S>
  ) => Effect.Effect<
    Message.Message,
    EventStreamError.InvalidEventPayload | EventStreamError.UnknownEventType,
    ContextOf<S>
  >
  /**
   * Decodes a message into a typed event. `exception` and `error` messages fail with
   * `ExceptionReceived` / `ErrorReceived`.
   */
  readonly decode: (message: Message.Message) => Effect.Effect<EventOf<S>, EventDecodeError, ContextOf<S>>
}

/** The media type of event payloads. */
const JSON_CONTENT_TYPE = "application/json"

const isJsonContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return true
  const semicolon = contentType.indexOf(";")
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
  return mediaType === JSON_CONTENT_TYPE
}

const textEncoder = new TextEncoder()
const strictTextDecoder = new TextDecoder("utf-8", { fatal: true })

/**
 * Builds the codec of an event union from the schemas of its members, by `:event-type`.
 * A message without `:content-type` is read as JSON; any other content type than
 * `application/json` is a `MalformedEvent`.
 *
 * @example
 * ```ts
 * import { EventStream } from "@truce/eventstream"
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 *
 * const Events = EventStream.schema({
 *   progress: Schema.Struct({ done: Schema.Number, total: Schema.Number }),
 *   outcome: Schema.Struct({ ok: Schema.Boolean })
 * })
 *
 * const program = Effect.gen(function*() {
 *   const message = yield* Events.encode(Events.make("progress", { done: 1, total: 3 }))
 *   const event = yield* Events.decode(message)
 *   if (event._tag === "progress") console.log(event.value.done) // 1
 * })
 * ```
 * @since 0.1.0
 */
export const schema = <const S extends EventSchemas>(schemas: S): EventCodec<S> => {
  const eventTypes = Object.keys(schemas)
  const codecs = new Map<string, Schema.Schema<unknown, string, ContextOf<S>>>()
  for (const eventType of eventTypes) {
    const member = schemas[eventType]
    if (member !== undefined) {
      codecs.set(eventType, Schema.parseJson(member) as unknown as Schema.Schema<unknown, string, ContextOf<S>>)
    }
  }
  const unknownEventType = (eventType: string) =>
    new EventStreamError.UnknownEventType({ eventType, known: eventTypes })

  const encodeEvent = (
    event: EventOf<S>
  ): Effect.Effect<
    Message.Message,
    EventStreamError.InvalidEventPayload | EventStreamError.UnknownEventType,
    ContextOf<S>
  > => {
    const eventType: string = event._tag
    const codec = codecs.get(eventType)
    if (codec === undefined) return Effect.fail(unknownEventType(eventType))
    return Effect.map(
      Effect.mapError(
        Schema.encode(codec)(event.value),
        (error) => new EventStreamError.InvalidEventPayload({ eventType, direction: "encode", detail: error.message })
      ),
      (json) => Event.event(eventType, textEncoder.encode(json), { contentType: JSON_CONTENT_TYPE })
    )
  }

  const decodeEvent = (message: Message.Message): Effect.Effect<EventOf<S>, EventDecodeError, ContextOf<S>> => {
    const classified = Event.classify(message)
    if (Either.isLeft(classified)) return Effect.fail(classified.left)
    const frame = classified.right
    if (frame._tag !== "Event") {
      const error = Event.toError(frame)
      return error === undefined ? Effect.dieMessage("unreachable") : Effect.fail(error)
    }
    const eventType = frame.eventType
    const codec = codecs.get(eventType)
    if (codec === undefined) return Effect.fail(unknownEventType(eventType))
    if (!isJsonContentType(frame.contentType)) {
      return Effect.fail(
        new EventStreamError.MalformedEvent({
          detail: `unsupported :content-type ${JSON.stringify(frame.contentType)} for event ${
            JSON.stringify(eventType)
          } (expected ${JSON_CONTENT_TYPE})`
        })
      )
    }
    let text: string
    try {
      text = strictTextDecoder.decode(message.payload)
    } catch {
      return Effect.fail(
        new EventStreamError.InvalidEventPayload({
          eventType,
          direction: "decode",
          detail: "payload is not valid UTF-8"
        })
      )
    }
    return Effect.mapBoth(Schema.decode(codec)(text), {
      onFailure: (error) =>
        new EventStreamError.InvalidEventPayload({ eventType, direction: "decode", detail: error.message }),
      onSuccess: (value) => ({ _tag: eventType, value }) as EventOf<S>
    })
  }

  return {
    schemas,
    eventTypes,
    make: (eventType, value) => ({ _tag: eventType, value }) as EventOf<S>,
    encode: encodeEvent,
    decode: decodeEvent
  }
}

/**
 * Options of {@link decodeEvents}.
 *
 * @since 0.1.0
 */
export interface DecodeEventsOptions {
  /** What to do with an event whose `:event-type` has no schema: fail (default) or skip it. */
  readonly onUnknownEventType?: "fail" | "skip"
}

/**
 * Decodes a stream of messages into typed events. The stream fails on the first `exception` or
 * `error` message (`ExceptionReceived` / `ErrorReceived`), on malformed messages and invalid
 * payloads, and — unless `onUnknownEventType: "skip"` — on unknown event types.
 *
 * @example
 * ```ts
 * import { EventStream } from "@truce/eventstream"
 * import * as Schema from "effect/Schema"
 * import * as Stream from "effect/Stream"
 *
 * const Events = EventStream.schema({ progress: Schema.Struct({ done: Schema.Number }) })
 * const bytes: Stream.Stream<Uint8Array> = Stream.empty
 * const events = bytes.pipe(
 *   EventStream.decode(),
 *   EventStream.decodeEvents(Events, { onUnknownEventType: "skip" })
 * )
 * ```
 * @since 0.1.0
 */
export const decodeEvents: {
  <S extends EventSchemas>(
    codec: EventCodec<S>,
    options?: DecodeEventsOptions
  ): <E, R>(
    self: Stream.Stream<Message.Message, E, R>
  ) => Stream.Stream<EventOf<S>, E | EventDecodeError, R | ContextOf<S>>
  <S extends EventSchemas, E, R>(
    self: Stream.Stream<Message.Message, E, R>,
    codec: EventCodec<S>,
    options?: DecodeEventsOptions
  ): Stream.Stream<EventOf<S>, E | EventDecodeError, R | ContextOf<S>>
} = dual(
  (args) => isStream(args[0]),
  <S extends EventSchemas, E, R>(
    self: Stream.Stream<Message.Message, E, R>,
    codec: EventCodec<S>,
    options?: DecodeEventsOptions
  ): Stream.Stream<EventOf<S>, E | EventDecodeError, R | ContextOf<S>> =>
    options?.onUnknownEventType === "skip"
      ? Stream.filterMap(
        Stream.mapEffect(self, (message) =>
          Effect.catchIf(
            Effect.map(codec.decode(message), Option.some),
            (error) => error._tag === "UnknownEventType",
            () => Effect.succeed(Option.none<EventOf<S>>())
          )),
        identity
      )
      : Stream.mapEffect(self, codec.decode)
)

/**
 * Encodes a stream of typed events into a stream of messages (pipe into {@link encode} for bytes).
 *
 * @example
 * ```ts
 * import { EventStream } from "@truce/eventstream"
 * import * as Schema from "effect/Schema"
 * import * as Stream from "effect/Stream"
 *
 * const Events = EventStream.schema({ progress: Schema.Struct({ done: Schema.Number }) })
 * const bytes = Stream.make(Events.make("progress", { done: 1 })).pipe(
 *   EventStream.encodeEvents(Events),
 *   EventStream.encode()
 * )
 * ```
 * @since 0.1.0
 */
export const encodeEvents: {
  <S extends EventSchemas>(
    codec: EventCodec<S>
  ): <E, R>(
    self: Stream.Stream<EventOf<S>, E, R>
  ) => Stream.Stream<
    Message.Message,
    E | EventStreamError.InvalidEventPayload | EventStreamError.UnknownEventType,
    R | ContextOf<S>
  >
  <S extends EventSchemas, E, R>(
    self: Stream.Stream<EventOf<S>, E, R>,
    codec: EventCodec<S>
  ): Stream.Stream<
    Message.Message,
    E | EventStreamError.InvalidEventPayload | EventStreamError.UnknownEventType,
    R | ContextOf<S>
  >
} = dual(2, <S extends EventSchemas, E, R>(
  self: Stream.Stream<EventOf<S>, E, R>,
  codec: EventCodec<S>
): Stream.Stream<
  Message.Message,
  E | EventStreamError.InvalidEventPayload | EventStreamError.UnknownEventType,
  R | ContextOf<S>
> => Stream.mapEffect(self, codec.encode))
