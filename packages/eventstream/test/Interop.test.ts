/**
 * Interoperability with Smithy's own TypeScript codec (`@smithy/eventstream-codec`, a dev
 * dependency): what we encode it decodes, what it encodes we decode.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Decoder, Encoder, Header, Message } from "../src/index.js"
import { concat, decodeChunks, headerValue, message, split, splitPoints, toHex } from "./support/arbitraries.js"
import type { SmithyHeaders, SmithyMessage } from "./support/smithy.js"
import { getChunkedStream, Int64, makeSmithyCodec } from "./support/smithy.js"

type SmithyValue = SmithyHeaders[string]

const int64Bytes = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigInt64(0, value)
  return bytes
}

const toSmithyValue = (value: Header.HeaderValue): SmithyValue => {
  switch (value._tag) {
    case "Boolean":
      return { type: "boolean", value: value.value }
    case "Byte":
      return { type: "byte", value: value.value }
    case "Short":
      return { type: "short", value: value.value }
    case "Int":
      return { type: "integer", value: value.value }
    case "Long":
      return { type: "long", value: new Int64(int64Bytes(value.value)) }
    case "Bytes":
      return { type: "binary", value: value.value }
    case "String":
      return { type: "string", value: value.value }
    case "Timestamp":
      return { type: "timestamp", value: value.value }
    case "Uuid":
      return { type: "uuid", value: value.value }
  }
}

const fromSmithyValue = (value: SmithyValue): Header.HeaderValue => {
  switch (value.type) {
    case "boolean":
      return Header.boolean(value.value)
    case "byte":
      return Header.byte(value.value)
    case "short":
      return Header.short(value.value)
    case "integer":
      return Header.int(value.value)
    case "long":
      return Header.long(new DataView(value.value.bytes.buffer, value.value.bytes.byteOffset, 8).getBigInt64(0))
    case "binary":
      return Header.bytes(value.value)
    case "string":
      return Header.string(value.value)
    case "timestamp":
      return Header.timestamp(value.value)
    case "uuid":
      return Header.uuid(value.value)
  }
}

/** Smithy keeps headers in a plain object: `__proto__` cannot be a header name there. */
const smithySafe = message.filter((m) => !m.headers.has("__proto__"))

const toSmithy = (m: Message.Message): SmithyMessage => {
  const headers: SmithyHeaders = {}
  for (const [name, value] of m.headers) headers[name] = toSmithyValue(value)
  return { headers, body: m.payload }
}

/** Compares by name: a plain object reorders integer-like keys, so Smithy does not keep header order. */
const expectSameHeaders = (ours: Message.Headers, smithy: SmithyHeaders) => {
  expect(new Set(ours.keys())).toEqual(new Set(Object.keys(smithy)))
  for (const [name, value] of ours) {
    const other = smithy[name]
    expect(other).toBeDefined()
    if (other !== undefined) expect(Header.equals(value, fromSmithyValue(other))).toBe(true)
  }
}

describe("interoperability with @smithy/eventstream-codec", () => {
  const smithy = makeSmithyCodec()

  it.prop(
    "what we encode, Smithy decodes",
    [smithySafe],
    ([m]) => {
      const decoded = smithy.decode(Encoder.encodeSync(m))
      expectSameHeaders(m.headers, decoded.headers)
      expect(toHex(decoded.body)).toBe(toHex(m.payload))
    },
    { fastCheck: { numRuns: 300, seed: 11 } }
  )

  it.prop(
    "what Smithy encodes, we decode (and re-encode to the same bytes when the order is the same)",
    [smithySafe],
    ([m]) => {
      const smithyMessage = toSmithy(m)
      const frame = smithy.encode(smithyMessage)
      const decoded = Decoder.decodeSync(frame)
      expectSameHeaders(decoded.headers, smithyMessage.headers)
      expect(toHex(decoded.payload)).toBe(toHex(m.payload))
      // our encoding of what we decoded is byte-identical to Smithy's frame
      expect(toHex(Encoder.encodeSync(decoded))).toBe(toHex(frame))
    },
    { fastCheck: { numRuns: 300, seed: 12 } }
  )

  it.prop(
    "Smithy frames streamed to our decoder in random chunks",
    [FastCheck.array(smithySafe, { maxLength: 6 }), splitPoints(30)],
    ([messages, cuts]) => {
      const bytes = concat(messages.map((m) => smithy.encode(toSmithy(m))))
      const decoded = decodeChunks(split(bytes, cuts))
      expect(decoded).toHaveLength(messages.length)
      decoded.forEach((d, i) => expectSameHeaders(d.headers, toSmithy(messages[i]).headers))
    },
    { fastCheck: { numRuns: 100, seed: 13 } }
  )

  it("our frames streamed in random chunks through Smithy's client-side reassembly (getChunkedStream)", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(
        FastCheck.array(smithySafe, { maxLength: 6 }),
        splitPoints(30),
        async (messages, cuts) => {
          const chunks = split(concat(messages.map((m) => Encoder.encodeSync(m))), cuts)
          const source = (async function*() {
            for (const chunk of chunks) yield chunk
          })()
          const decoded: Array<SmithyMessage> = []
          for await (const frame of getChunkedStream(source)) decoded.push(smithy.decode(frame))
          expect(decoded).toHaveLength(messages.length)
          decoded.forEach((d, i) => {
            expectSameHeaders(messages[i].headers, d.headers)
            expect(toHex(d.body)).toBe(toHex(messages[i].payload))
          })
        }
      ),
      { numRuns: 50, seed: 14 }
    )
  })

  it.prop(
    "every single header type, both directions",
    [headerValue],
    ([value]) => {
      const m = Message.make({ headers: new Map([["h", value]]) })
      const ours = Encoder.encodeSync(m)
      const theirs = smithy.encode(toSmithy(m))
      expect(toHex(ours)).toBe(toHex(theirs))
    },
    { fastCheck: { numRuns: 300, seed: 15 } }
  )

  it("the conformance frame with all header types is byte-identical in both codecs", () => {
    const m = Message.make({
      headers: new Map<string, Header.HeaderValue>([
        ["event-type", Header.int(40972)],
        ["content-type", Header.string("application/json")],
        ["bool false", Header.boolean(false)],
        ["bool true", Header.boolean(true)],
        ["byte", Header.byte(-49)],
        ["byte buf", Header.bytes(new TextEncoder().encode("I'm a little teapot!"))],
        ["timestamp", Header.timestamp(8675309)],
        ["int16", Header.short(42)],
        ["int64", Header.long(42424242n)],
        ["uuid", Header.uuid("01020304-0506-0708-090a-0b0c0d0e0f10")]
      ]),
      payload: new TextEncoder().encode("{'foo':'bar'}")
    })
    expect(toHex(Encoder.encodeSync(m))).toBe(toHex(smithy.encode(toSmithy(m))))
  })
})
