import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { Decoder, Encoder, Event, EventStreamError, Header, Message } from "../src/index.js"

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const classified = (message: Message.Message) => Either.getOrThrow(Event.classify(message))

const malformed = (message: Message.Message) => {
  const result = Event.classify(message)
  if (Either.isRight(result)) throw new Error("expected MalformedEvent")
  return result.left
}

describe("Event", () => {
  it("event() writes :message-type, :event-type, then :content-type and extra headers", () => {
    const message = Event.event("progress", json({ done: 1 }), {
      contentType: "application/json",
      headers: { ":event-type": "ignored", trace: "abc" }
    })
    expect([...message.headers]).toEqual([
      [":message-type", Header.string("event")],
      [":event-type", Header.string("progress")],
      [":content-type", Header.string("application/json")],
      ["trace", Header.string("abc")]
    ])
    expect(classified(message)).toEqual({
      _tag: "Event",
      eventType: "progress",
      contentType: "application/json",
      message
    })
  })

  it("exception() and error() follow the conventions, and survive the wire", () => {
    const exception = Decoder.decodeSync(Encoder.encodeSync(Event.exception("Throttled", json({ retryIn: 5 }))))
    expect(classified(exception)).toMatchObject({
      _tag: "Exception",
      exceptionType: "Throttled",
      contentType: undefined
    })
    const error = Decoder.decodeSync(Encoder.encodeSync(Event.error("InternalFailure", "worker crashed")))
    expect(classified(error)).toMatchObject({
      _tag: "Error",
      errorCode: "InternalFailure",
      errorMessage: "worker crashed"
    })
    expect(error.payload.length).toBe(0)
  })

  it("toError turns exception and error messages into typed errors", () => {
    const exception = Event.toError(
      classified(Event.exception("Throttled", json({ retryIn: 5 }), { contentType: "application/json" }))
    )
    expect(exception).toBeInstanceOf(EventStreamError.ExceptionReceived)
    expect(exception).toMatchObject({ exceptionType: "Throttled", contentType: "application/json" })
    expect(exception?._tag === "ExceptionReceived" && exception.text).toBe("{\"retryIn\":5}")
    const error = Event.toError(classified(Event.error("Boom", "it broke")))
    expect(error).toBeInstanceOf(EventStreamError.ErrorReceived)
    expect(error?.message).toBe("error Boom received: it broke")
    expect(Event.toError(classified(Event.event("x", new Uint8Array(0))))).toBeUndefined()
  })

  it(":error-message is optional", () => {
    const message = Message.make({ headers: { ":message-type": "error", ":error-code": "E" } })
    expect(classified(message)).toMatchObject({ _tag: "Error", errorCode: "E", errorMessage: "" })
  })

  it("rejects malformed messages with MalformedEvent", () => {
    expect(malformed(Message.make()).detail).toContain(":message-type")
    expect(malformed(Message.make({ headers: { ":message-type": "nope" } })).detail).toContain("unknown :message-type")
    expect(malformed(Message.make({ headers: { ":message-type": Header.int(1) } })).detail).toContain("not a String")
    expect(malformed(Message.make({ headers: { ":message-type": "event" } })).detail).toContain(":event-type")
    expect(malformed(Message.make({ headers: { ":message-type": "exception" } })).detail).toContain(":exception-type")
    expect(malformed(Message.make({ headers: { ":message-type": "error" } })).detail).toContain(":error-code")
    expect(
      malformed(Message.make({ headers: { ":message-type": "event", ":event-type": "a", ":content-type": true } }))
        .detail
    ).toContain(":content-type")
  })
})

describe("Message and Header", () => {
  it("make accepts records, maps and entry lists, with shorthand values", () => {
    const at = new Date(0)
    const bytes = Uint8Array.of(1)
    const fromRecord = Message.make({ headers: { s: "x", b: true, l: 5n, t: at, y: bytes, i: Header.int(3) } })
    expect([...fromRecord.headers]).toEqual([
      ["s", Header.string("x")],
      ["b", Header.boolean(true)],
      ["l", Header.long(5n)],
      ["t", Header.timestamp(at)],
      ["y", Header.bytes(bytes)],
      ["i", Header.int(3)]
    ])
    const fromEntries = Message.make({ headers: [["s", "x"], ["s", "y"]] })
    expect([...fromEntries.headers]).toEqual([["s", Header.string("y")]])
    const fromMap = Message.make({ headers: new Map([["s", "x"]]) })
    expect(Message.getString(fromMap, "s")).toBe("x")
    expect(Message.make().payload.length).toBe(0)
  })

  it("a record's own `__proto__` key is an ordinary header; inherited keys are ignored", () => {
    const record = JSON.parse("{\"__proto__\":\"x\",\"a\":\"b\"}") as Record<string, string>
    const message = Message.make({ headers: record })
    expect([...message.headers.keys()]).toEqual(["__proto__", "a"])
    const inherited = Object.create({ hidden: "x" }) as Record<string, string>
    inherited.own = "y"
    expect([...Message.make({ headers: inherited }).headers.keys()]).toEqual(["own"])
    const decoded = Decoder.decodeSync(Encoder.encodeSync(message))
    expect(Message.getString(decoded, "__proto__")).toBe("x")
  })

  it("equals compares order, values and payload", () => {
    const a = Message.make({ headers: { x: "1", y: "2" }, payload: Uint8Array.of(1) })
    expect(Message.equals(a, Message.make({ headers: { x: "1", y: "2" }, payload: Uint8Array.of(1) }))).toBe(true)
    expect(Message.equals(a, Message.make({ headers: { y: "2", x: "1" }, payload: Uint8Array.of(1) }))).toBe(false)
    expect(Message.equals(a, Message.make({ headers: { x: "1", y: "3" }, payload: Uint8Array.of(1) }))).toBe(false)
    expect(Message.equals(a, Message.make({ headers: { x: "1", y: "2" }, payload: Uint8Array.of(2) }))).toBe(false)
    expect(Message.equals(a, Message.make({ headers: { x: "1" }, payload: Uint8Array.of(1) }))).toBe(false)
  })

  it("Header.equals is type-aware", () => {
    expect(Header.equals(Header.int(1), Header.short(1))).toBe(false)
    expect(Header.equals(Header.bytes(Uint8Array.of(1)), Header.bytes(Uint8Array.of(1)))).toBe(true)
    expect(Header.equals(Header.bytes(Uint8Array.of(1)), Header.bytes(Uint8Array.of(1, 2)))).toBe(false)
    expect(Header.equals(Header.timestamp(5), Header.timestamp(new Date(5)))).toBe(true)
    expect(
      Header.equals(
        Header.uuid("AA" + "0".repeat(6) + "-0000-0000-0000-" + "0".repeat(12)),
        Header.uuid("aa" + "0".repeat(6) + "-0000-0000-0000-" + "0".repeat(12))
      )
    ).toBe(true)
    expect(Header.wireType(Header.boolean(true))).toBe(0)
    expect(Header.wireType(Header.uuid(""))).toBe(9)
  })

  it("error messages are informative", () => {
    expect(new EventStreamError.TooLarge({ subject: "payload", size: 10, limit: 5, offset: 3 }).message).toBe(
      "payload too large at offset 3: 10 bytes, limit 5"
    )
    expect(new EventStreamError.PreludeChecksumMismatch({ offset: 0, expected: 1, actual: 255 }).message).toBe(
      "prelude checksum mismatch at offset 0: frame says 0x00000001, bytes give 0x000000ff"
    )
    expect(new EventStreamError.Truncated({ offset: 0, received: 5, expected: 12 }).message).toBe(
      "truncated frame at offset 0: received 5 of 12 bytes"
    )
    expect(
      new EventStreamError.InvalidHeader({ reason: "EmptyName", detail: "header name is empty", offset: 12 }).message
    )
      .toBe("invalid header at offset 12 (EmptyName): header name is empty")
  })
})
