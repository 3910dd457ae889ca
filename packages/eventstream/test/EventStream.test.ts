import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Encoder, Event, EventStream, EventStreamError, Header, Message } from "../src/index.js"
import { concat, split } from "./support/arbitraries.js"

const progress = (n: number) =>
  Message.make({ headers: { ":event-type": "progress", n: Header.int(n) }, payload: Uint8Array.of(n) })
const nOf = (message: Message.Message) => {
  const n = message.headers.get("n")
  return n?._tag === "Int" ? n.value : -1
}
const frames = Array.from({ length: 10 }, (_, i) => Encoder.encodeSync(progress(i)))
const bytes = concat(frames)

describe("EventStream: bytes ⇄ messages", () => {
  it.effect("decodes a byte stream whatever its chunking", () =>
    Effect.gen(function*() {
      for (const cuts of [[], [0.5], [0.01, 0.02, 0.3, 0.31, 0.9], Array.from({ length: 99 }, (_, i) => i / 100)]) {
        const messages = yield* Stream.fromIterable(split(bytes, cuts)).pipe(EventStream.decode(), Stream.runCollect)
        expect(Chunk.toArray(messages).map(nOf)).toEqual(frames.map((_, i) => i))
      }
      // data-first form, and every element in one upstream chunk
      const direct = yield* Stream.runCollect(EventStream.decode(Stream.make(bytes), { maxPayloadBytes: 1 }))
      expect(Chunk.size(direct)).toBe(10)
    }))

  it.effect("emits the messages preceding a decoding error, then fails with the typed error", () =>
    Effect.gen(function*() {
      const corrupt = frames[2].slice()
      corrupt[corrupt.length - 5] ^= 0xff
      const results = yield* Stream.make(frames[0], frames[1], corrupt, frames[3]).pipe(
        EventStream.decode(),
        Stream.either,
        Stream.runCollect
      )
      const array = Chunk.toArray(results)
      expect(array.slice(0, 2).map((r) => Either.isRight(r) && nOf(r.right))).toEqual([0, 1])
      expect(array).toHaveLength(3)
      const last = array[2]
      expect(Either.isLeft(last) && last.left).toBeInstanceOf(EventStreamError.MessageChecksumMismatch)
      // the same when the bad frame shares an upstream chunk with good ones
      const oneChunk = yield* Stream.make(concat([frames[0], frames[1], corrupt])).pipe(
        EventStream.decode(),
        Stream.either,
        Stream.runCollect
      )
      expect(Chunk.toArray(oneChunk).map(Either.isRight)).toEqual([true, true, false])
    }))

  it.effect("fails with Truncated when the input ends inside a frame", () =>
    Effect.gen(function*() {
      const error = yield* Stream.make(frames[0], frames[1].subarray(0, 7)).pipe(
        EventStream.decode(),
        Stream.runDrain,
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "Truncated", offset: frames[0].length, received: 7, expected: 12 })
    }))

  it.effect("passes upstream errors through unchanged", () =>
    Effect.gen(function*() {
      const upstream = Stream.concat(Stream.make(frames[0]), Stream.fail("socket closed" as const))
      const collected = yield* upstream.pipe(EventStream.decode(), Stream.either, Stream.runCollect)
      const array = Chunk.toArray(collected)
      expect(array).toHaveLength(2)
      expect(array[1]).toEqual(Either.left("socket closed"))
    }))

  it.effect("is pull-based: an infinite upstream is read only as far as downstream pulls", () =>
    Effect.gen(function*() {
      const pulled = yield* Ref.make(0)
      const upstream = Stream.repeatEffect(
        Ref.getAndUpdate(pulled, (n) => n + 1).pipe(Effect.map((n) => frames[n % frames.length]))
      )
      const taken = yield* upstream.pipe(EventStream.decode(), Stream.take(3), Stream.runCollect)
      expect(Chunk.toArray(taken).map(nOf)).toEqual([0, 1, 2])
      expect(yield* Ref.get(pulled)).toBeLessThanOrEqual(4)

      // one downstream pull, one upstream element
      yield* Ref.set(pulled, 0)
      yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(upstream.pipe(EventStream.decode()))
        expect(Chunk.toArray(yield* pull).map(nOf)).toEqual([0])
        expect(yield* Ref.get(pulled)).toBe(1)
        expect(Chunk.toArray(yield* pull).map(nOf)).toEqual([1])
        expect(yield* Ref.get(pulled)).toBe(2)
      }))
    }))

  it.effect("a frame spread over many upstream elements is emitted once complete", () =>
    Effect.gen(function*() {
      const pulled = yield* Ref.make(0)
      const pieces = split(frames[4], Array.from({ length: 9 }, (_, i) => (i + 1) / 10))
      const upstream = Stream.fromIterable(pieces).pipe(
        Stream.rechunk(1),
        Stream.tap(() => Ref.update(pulled, (n) => n + 1))
      )
      const first = yield* upstream.pipe(EventStream.decode(), Stream.runHead)
      expect(Option.map(first, nOf)).toEqual(Option.some(4))
      expect(yield* Ref.get(pulled)).toBe(pieces.length)
    }))

  it.effect("encodes messages into one frame each", () =>
    Effect.gen(function*() {
      const encoded = yield* Stream.fromIterable(frames.map((_, i) => progress(i))).pipe(
        EventStream.encode(),
        Stream.runCollect
      )
      expect(Chunk.toArray(encoded).map((f) => Buffer.from(f).toString("hex"))).toEqual(
        frames.map((f) => Buffer.from(f).toString("hex"))
      )
      const roundTrip = yield* Stream.make(progress(7)).pipe(
        EventStream.encode(),
        EventStream.decode(),
        Stream.runCollect
      )
      expect(Chunk.toArray(roundTrip).map(nOf)).toEqual([7])
    }))

  it.effect("encoding errors are typed, after the frames that preceded them", () =>
    Effect.gen(function*() {
      const bad = Message.make({ headers: { level: Header.byte(1000) } })
      const results = yield* Stream.make(progress(1), bad, progress(2)).pipe(
        EventStream.encode(),
        Stream.either,
        Stream.runCollect
      )
      const array = Chunk.toArray(results)
      expect(array).toHaveLength(2)
      expect(Either.isRight(array[0])).toBe(true)
      expect(Either.isLeft(array[1]) && array[1].left).toMatchObject({ _tag: "InvalidHeader", reason: "OutOfRange" })
      const tooBig = yield* EventStream.encode(Stream.make(Message.make({ payload: new Uint8Array(11) })), {
        maxPayloadBytes: 10
      }).pipe(Stream.runDrain, Effect.flip)
      expect(tooBig._tag).toBe("TooLarge")
    }))
})

const Progress = Schema.Struct({ done: Schema.NonNegativeInt, total: Schema.NonNegativeInt })
const Outcome = Schema.Struct({ ok: Schema.Boolean, finishedAt: Schema.Date })
const Events = EventStream.schema({ progress: Progress, outcome: Outcome })

const toBytes = (messages: ReadonlyArray<Message.Message>) => Stream.fromIterable(messages).pipe(EventStream.encode())

describe("EventStream: Schema events", () => {
  it.effect("typed events round-trip through bytes in any chunking", () =>
    Effect.gen(function*() {
      const events = [
        Events.make("progress", { done: 1, total: 3 }),
        Events.make("progress", { done: 2, total: 3 }),
        Events.make("outcome", { ok: true, finishedAt: new Date("2024-05-01T00:00:00Z") })
      ]
      const encoded = yield* Stream.fromIterable(events).pipe(
        EventStream.encodeEvents(Events),
        EventStream.encode(),
        Stream.runCollect
      )
      const wire = concat(Chunk.toArray(encoded))
      const decoded = yield* Stream.fromIterable(split(wire, [0.1, 0.5, 0.51])).pipe(
        EventStream.decode(),
        EventStream.decodeEvents(Events),
        Stream.runCollect
      )
      expect(Chunk.toArray(decoded)).toEqual(events)
    }))

  it.effect("messages carry the conventional headers and a JSON payload", () =>
    Effect.gen(function*() {
      const message = yield* Events.encode(Events.make("progress", { done: 1, total: 3 }))
      expect(Message.getString(message, ":message-type")).toBe("event")
      expect(Message.getString(message, ":event-type")).toBe("progress")
      expect(Message.getString(message, ":content-type")).toBe("application/json")
      expect(new TextDecoder().decode(message.payload)).toBe("{\"done\":1,\"total\":3}")
      const outcome = yield* Events.encode(Events.make("outcome", { ok: false, finishedAt: new Date(0) }))
      expect(JSON.parse(new TextDecoder().decode(outcome.payload))).toEqual({
        ok: false,
        finishedAt: "1970-01-01T00:00:00.000Z"
      })
    }))

  it.effect("exception frames fail with ExceptionReceived, error frames with ErrorReceived", () =>
    Effect.gen(function*() {
      const payload = new TextEncoder().encode("{\"reason\":\"cancelled\"}")
      const exception = yield* toBytes([
        Event.event("progress", new TextEncoder().encode("{\"done\":0,\"total\":1}")),
        Event.exception("CommandFailed", payload, { contentType: "application/json" })
      ]).pipe(EventStream.decode(), EventStream.decodeEvents(Events), Stream.runDrain, Effect.flip)
      expect(exception).toBeInstanceOf(EventStreamError.ExceptionReceived)
      expect(exception).toMatchObject({ exceptionType: "CommandFailed", contentType: "application/json" })
      expect(exception._tag === "ExceptionReceived" && exception.text).toBe("{\"reason\":\"cancelled\"}")

      const error = yield* Events.decode(Event.error("InternalFailure", "worker crashed")).pipe(Effect.flip)
      expect(error).toBeInstanceOf(EventStreamError.ErrorReceived)
      expect(error).toMatchObject({ errorCode: "InternalFailure", errorMessage: "worker crashed" })

      // matchable by tag
      const recovered = yield* Events.decode(Event.error("Boom", "x")).pipe(
        Effect.catchTag("ErrorReceived", (e) => Effect.succeed(e.errorCode))
      )
      expect(recovered).toBe("Boom")
    }))

  it.effect("unknown event types fail by default, or are skipped", () =>
    Effect.gen(function*() {
      const messages = [
        Event.event("heartbeat", new Uint8Array(0)),
        yield* Events.encode(Events.make("progress", { done: 1, total: 1 }))
      ]
      const error = yield* toBytes(messages).pipe(
        EventStream.decode(),
        EventStream.decodeEvents(Events),
        Stream.runDrain,
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "UnknownEventType", eventType: "heartbeat", known: ["progress", "outcome"] })
      const skipped = yield* Stream.fromIterable(messages).pipe(
        EventStream.decodeEvents(Events, { onUnknownEventType: "skip" }),
        Stream.runCollect
      )
      expect(Chunk.toArray(skipped)).toEqual([Events.make("progress", { done: 1, total: 1 })])
    }))

  it.effect("payloads that do not match the schema, are not JSON or not UTF-8 fail with InvalidEventPayload", () =>
    Effect.gen(function*() {
      const payloadError = (payload: Uint8Array) =>
        Events.decode(Event.event("progress", payload, { contentType: "application/json" })).pipe(Effect.flip)
      const utf8 = new TextEncoder()
      const mismatch = yield* payloadError(utf8.encode("{\"done\":-1,\"total\":1}"))
      expect(mismatch).toMatchObject({ _tag: "InvalidEventPayload", eventType: "progress", direction: "decode" })
      expect(mismatch.message).toContain("done")
      expect(yield* payloadError(utf8.encode("{not json"))).toMatchObject({ _tag: "InvalidEventPayload" })
      expect(yield* payloadError(Uint8Array.of(0x7b, 0xff, 0x7d))).toMatchObject({
        _tag: "InvalidEventPayload",
        detail: "payload is not valid UTF-8"
      })
    }))

  it.effect("content types: JSON with parameters or absent is accepted, others are MalformedEvent", () =>
    Effect.gen(function*() {
      const payload = new TextEncoder().encode("{\"done\":1,\"total\":2}")
      for (const contentType of [undefined, "application/json; charset=utf-8", "Application/JSON"]) {
        const event = yield* Events.decode(
          Event.event("progress", payload, contentType === undefined ? {} : { contentType })
        )
        expect(event).toEqual(Events.make("progress", { done: 1, total: 2 }))
      }
      const error = yield* Events.decode(Event.event("progress", payload, { contentType: "application/cbor" })).pipe(
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "MalformedEvent" })
      const noType = yield* Events.decode(Message.make({ headers: { ":event-type": "progress" } })).pipe(Effect.flip)
      expect(noType._tag).toBe("MalformedEvent")
    }))

  it.effect("encoding a value that breaks its schema fails with InvalidEventPayload", () =>
    Effect.gen(function*() {
      const error = yield* Events.encode(Events.make("progress", { done: -1, total: 1 })).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "InvalidEventPayload", eventType: "progress", direction: "encode" })
      const unknown = yield* Events.encode(
        { _tag: "nope", value: {} } as unknown as Parameters<typeof Events.encode>[0]
      )
        .pipe(Effect.flip)
      expect(unknown._tag).toBe("UnknownEventType")
    }))

  it.effect("the typed error channel of a full pipeline is the union of the layers' errors", () =>
    Effect.gen(function*() {
      const exit = yield* Stream.make(new Uint8Array(3)).pipe(
        EventStream.decode(),
        EventStream.decodeEvents(Events),
        Stream.runDrain,
        Effect.catchTags({
          Truncated: (e) => Effect.succeed(`truncated after ${e.received}`),
          ExceptionReceived: (e) => Effect.succeed(e.exceptionType)
        }),
        Effect.exit
      )
      expect(exit).toEqual(Exit.succeed("truncated after 3"))
    }))
})
