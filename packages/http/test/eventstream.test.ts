/**
 * The binary framing of `GET /executions/{id}/events` (`application/vnd.amazon.eventstream`):
 * read with plain `fetch` and Smithy's own codec (`@smithy/eventstream-codec` with Smithy's
 * stream reassembly, `getChunkedStream`), decoding every frame; replay from `after` and
 * `Last-Event-ID`; keep-alive `ping` frames; permissions; the choice of framing by `Accept`;
 * an error after the head as an exception frame; and the client watching with
 * `transport: "eventstream"`, reconnecting after a dropped connection.
 */
import { FetchHttpClient } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord } from "@truce/core"
import { Encoder, Event, Header, Message } from "@truce/eventstream"
import { Chunk, Effect, Fiber, Option, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { SmithyMessage } from "../../eventstream/test/support/smithy.js"
import { getChunkedStream, makeSmithyCodec } from "../../eventstream/test/support/smithy.js"
import { Client } from "../src/index.js"
import { newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, finished, keys, start, startServer } from "./support/server.js"
import { contiguousToSuccess, watchThroughCut } from "./support/watch.js"

const mediaType = "application/vnd.amazon.eventstream"
const binary = { accept: mediaType }

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server.close()
})

const smithy = makeSmithyCodec()
const utf8 = new TextDecoder("utf-8", { fatal: true })

interface Frame {
  readonly messageType: unknown
  readonly eventType: unknown
  readonly exceptionType: unknown
  readonly contentType: unknown
  readonly seq: number | undefined
  readonly seqType: string | undefined
  readonly payload: Uint8Array
  readonly json: { readonly _tag: string; readonly seq: number; readonly state?: string; readonly [k: string]: unknown }
}

const frameOf = (message: SmithyMessage): Frame => {
  const seq = message.headers.seq
  const text = message.body.length === 0 ? "null" : utf8.decode(message.body)
  return {
    messageType: message.headers[":message-type"]?.value,
    eventType: message.headers[":event-type"]?.value,
    exceptionType: message.headers[":exception-type"]?.value,
    contentType: message.headers[":content-type"]?.value,
    seq: seq?.type === "long" ? seq.value.valueOf() : undefined,
    seqType: seq?.type,
    payload: message.body,
    json: JSON.parse(text) as Frame["json"]
  }
}

/** Reads a response body with Smithy's reassembly and codec, until it ends or `stop` says so. */
const readFrames = async (
  response: Response,
  stop: (frames: ReadonlyArray<Frame>) => boolean = () => false
): Promise<Array<Frame>> => {
  const body = response.body
  if (body === null) throw new Error("no body")
  const frames: Array<Frame> = []
  for await (const chunk of getChunkedStream(body)) {
    frames.push(frameOf(smithy.decode(chunk)))
    if (stop(frames)) break
  }
  return frames
}

const events = (frames: ReadonlyArray<Frame>) => frames.filter((frame) => frame.eventType !== "ping")

/** Every frame is one execution event, as the documentation says. */
const expectEventFrames = (frames: ReadonlyArray<Frame>, firstSeq: number) => {
  expect(frames.length).toBeGreaterThan(0)
  frames.forEach((frame, i) => {
    expect(frame.messageType).toBe("event")
    expect(frame.contentType).toBe("application/json")
    expect(frame.seqType).toBe("long")
    expect(frame.seq).toBe(firstSeq + i)
    expect(frame.json.seq).toBe(frame.seq)
    expect(frame.eventType).toBe(frame.json._tag)
  })
}

const withClient = <A, E>(f: (client: Client.Client) => Effect.Effect<A, E>, config: Partial<Client.Config> = {}) =>
  Effect.flatMap(Client.make({ baseUrl: server.url, apiKey: keys.alice, ...config }), f).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

describe("GET /executions/{id}/events as application/vnd.amazon.eventstream", () => {
  it("sends every event as one frame, decoded by Smithy's codec, ending with Finished", async () => {
    const started = await start(server, keys.alice, "slow", { items: 12, delayMs: 5 })
    const response = await as(keys.alice)(`${server.url}/executions/${started.id}/events`, { headers: binary })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe(mediaType)
    expect(response.headers.get("vary")).toBe("Accept")
    const frames = events(await readFrames(response))
    expectEventFrames(frames, 1)
    expect(frames[0]?.eventType).toBe("StateChanged")
    const last = frames[frames.length - 1]
    expect(last?.eventType).toBe("Finished")
    expect(last?.json.state).toBe("Succeeded")
    expect(last?.json.outcome).toMatchObject({ _tag: "Complete" })
    expect(frames.filter((frame) => frame.eventType === "ItemProgressed").length).toBeGreaterThanOrEqual(12)
    // The same events as the SSE framing, byte for byte in their JSON.
    const sse = await (await as(keys.alice)(`${server.url}/executions/${started.id}/events`)).text()
    const sseData = [...sse.matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1] as string) as unknown)
    expect(frames.map((frame) => frame.json)).toEqual(sseData)
  })

  it("replays after ?after= and Last-Event-ID; 204 when nothing follows", async () => {
    const started = await start(server, keys.alice, "slow", { items: 3, delayMs: 1 })
    const record = await finished(server, keys.alice, started.id)
    const lastSeq = (record.progress as { seq: number }).seq
    const url = `${server.url}/executions/${started.id}/events`
    const byParam = events(await readFrames(await as(keys.alice)(`${url}?after=4`, { headers: binary })))
    expectEventFrames(byParam, 5)
    expect(byParam[byParam.length - 1]?.seq).toBe(lastSeq)
    const byHeader = events(
      await readFrames(await as(keys.alice)(url, { headers: { ...binary, "last-event-id": "4" } }))
    )
    expect(byHeader.map((frame) => frame.json)).toEqual(byParam.map((frame) => frame.json))
    const done = await as(keys.alice)(`${url}?after=${lastSeq}`, { headers: binary })
    expect(done.status).toBe(204)
  })

  it("keeps a silent stream alive with empty ping events", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const response = await as(keys.alice)(`${server.url}/executions/${started.id}/events`, { headers: binary })
    let opened = false
    const frames = await readFrames(response, (seen) => {
      const last = seen[seen.length - 1]
      if (!opened && last?.eventType === "ping") {
        opened = true
        openGate(gate)
      }
      return false
    })
    const ping = frames.find((frame) => frame.eventType === "ping")
    expect(ping).toMatchObject({ messageType: "event", seq: undefined, contentType: undefined })
    expect(ping?.payload.length).toBe(0)
    const real = events(frames)
    expectEventFrames(real, 1)
    expect(real[real.length - 1]?.eventType).toBe("Finished")
  })

  it("answers 404 for an unknown or unreadable id, 401 without credentials, 400 for a bad sequence number", async () => {
    const started = await start(server, keys.alice, "echo", { message: "private" })
    const url = `${server.url}/executions/${started.id}/events`
    const unknown = await as(keys.alice)(`${server.url}/executions/nope/events`, { headers: binary })
    const unreadable = await as(keys.bob)(url, { headers: binary })
    expect(unknown.status).toBe(404)
    expect(unreadable.status).toBe(404)
    expect((await unreadable.json() as { _tag: string })._tag).toBe("ExecutionNotFound")
    expect((await fetch(url, { headers: binary })).status).toBe(401)
    expect((await as(keys.alice)(`${url}?after=x`, { headers: binary })).status).toBe(400)
  })

  it("chooses the framing by Accept; an Accept that lists neither gets Server-Sent Events", async () => {
    const started = await start(server, keys.alice, "echo", { message: "which" })
    await finished(server, keys.alice, started.id)
    const url = `${server.url}/executions/${started.id}/events`
    const sseType = "text/event-stream; charset=utf-8"
    const cases: Array<[string | undefined, string]> = [
      [undefined, sseType],
      ["*/*", sseType],
      ["application/json", sseType],
      ["image/png", sseType],
      ["text/event-stream", sseType],
      [mediaType, mediaType],
      [`${mediaType}, text/event-stream`, sseType],
      [`text/event-stream;q=0.5, ${mediaType}`, mediaType],
      [`${mediaType};q=0.5, */*`, sseType],
      [`${mediaType}, */*;q=0.1`, mediaType],
      [`${mediaType};q=0`, sseType]
    ]
    for (const [accept, expected] of cases) {
      const response = await as(keys.alice)(url, { headers: accept === undefined ? {} : { accept } })
      expect([accept, response.status, response.headers.get("content-type")]).toEqual([accept, 200, expected])
      await response.arrayBuffer()
    }
  })

  it("ends a stream that fails after its head with an exception frame (and SSE with a StreamError event)", async () => {
    // A finished record without an outcome (as a damaged or foreign store could hold): its
    // events cannot be replayed, which the map only finds out once the stream has begun.
    const done = await finished(server, keys.alice, (await start(server, keys.alice, "echo", { message: "x" })).id)
    const stored = await Effect.runPromise(server.map.store.get(String(done.id) as ExecutionRecord.ExecutionId))
    if (Option.isNone(stored)) throw new Error("not stored")
    const { outcome: _, ...withoutOutcome } = stored.value
    const id = `${stored.value.id}-damaged` as ExecutionRecord.ExecutionId
    await Effect.runPromise(server.map.store.insert({ ...withoutOutcome, id }))
    const url = `${server.url}/executions/${id}/events`

    const response = await as(keys.alice)(url, { headers: binary })
    expect(response.status).toBe(200)
    const frames = await readFrames(response)
    expect(frames).toHaveLength(1)
    expect(frames[0]).toMatchObject({
      messageType: "exception",
      exceptionType: "ExecutionNotFound",
      contentType: "application/json",
      json: { _tag: "ExecutionNotFound", id }
    })

    const sse = await (await as(keys.alice)(url)).text()
    const errorEvent = /^event: StreamError\ndata: (.*)$/m.exec(sse)
    expect(JSON.parse(errorEvent?.[1] ?? "null")).toMatchObject({ _tag: "ExecutionNotFound", id })
    expect(sse).not.toMatch(/^id: /m)

    // The client fails with the typed error, for either framing, without retrying.
    for (const transport of ["sse", "eventstream"] as const) {
      const error = await Effect.runPromise(
        withClient((client) => Effect.flip(Stream.runDrain(client.watch(id, { transport }))))
      )
      expect([transport, error._tag]).toEqual([transport, "ExecutionNotFound"])
    }
  })
})

describe("Client.watch with transport eventstream", () => {
  it.live("streams to Finished, and awaits through it", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const started = yield* client.start("slow", { items: 5, delayMs: 2 })
        const seen = Chunk.toArray(yield* Stream.runCollect(client.watch(started.id, { transport: "eventstream" })))
        expect(seen.map((event) => event.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1))
        expect(seen[seen.length - 1]?._tag).toBe("Finished")
        const gate = newGate()
        const gated = yield* client.start("gated", { gate, value: 9 })
        const waiting = yield* Effect.fork(client.await(gated.id, { via: "events", transport: "eventstream" }))
        openGate(gate)
        const record = yield* Fiber.join(waiting)
        expect(record.outcome).toMatchObject({ value: { gate, value: 9 } })
      })
    ))

  it.live("resumes after a dropped connection from the last sequence number (?after=)", () =>
    Effect.gen(function*() {
      const { events, sent } = yield* watchThroughCut(server.port, "eventstream")
      const resumedAfter = /GET \/executions\/[^/]+\/events\?after=(\d+) /.exec(sent)
      expect(resumedAfter).not.toBeNull()
      expect(Number(resumedAfter?.[1])).toBeGreaterThanOrEqual(6)
      expect(sent).toMatch(/accept: application\/vnd\.amazon\.eventstream/i)
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
      expect(contiguousToSuccess(events)).toBe(true)
    }))
})

describe("Client.watch refuses malformed event streams", () => {
  const frame = (message: Message.Message) => Encoder.encodeSync(message)
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
  const stateChanged = {
    _tag: "StateChanged",
    seq: 1,
    at: 0,
    state: "Running"
  }

  /** A server answering every request with these bytes (and this content type). */
  const fake = (body: Uint8Array, contentType = mediaType) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const server = http.createServer((_request, response) => {
          response.writeHead(200, { "content-type": contentType })
          response.end(body)
        })
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
        return server
      }),
      (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
    )

  const watchError = (body: Uint8Array, contentType?: string) =>
    Effect.scoped(Effect.gen(function*() {
      const target = yield* fake(body, contentType)
      const { port } = target.address() as AddressInfo
      const client = yield* Client.make({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 })
      return yield* Effect.flip(Stream.runDrain(client.watch("x", { transport: "eventstream" })))
    })).pipe(Effect.provide(FetchHttpClient.layer))

  it.live("a broken checksum, an unknown event type, a payload that is not the event, a bad exception", () =>
    Effect.gen(function*() {
      const good = frame(Event.event("StateChanged", json(stateChanged), { contentType: "application/json" }))
      const corrupt = Uint8Array.from(good)
      corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff
      const cases: Array<[string, Uint8Array, RegExp]> = [
        ["checksum", corrupt, /MessageChecksumMismatch|checksum/i],
        ["truncated", good.subarray(0, good.length - 3), /Truncated|ended inside/i],
        ["unknown type", frame(Event.event("Exploded", json({}), { contentType: "application/json" })), /Exploded/],
        [
          "type and payload disagree",
          frame(Event.event("Finished", json(stateChanged), { contentType: "application/json" })),
          /Finished/
        ],
        ["not JSON", frame(Event.event("StateChanged", new TextEncoder().encode("{"))), /StateChanged/],
        [
          "exception that is not an API error",
          frame(Event.exception("Boom", json({ nope: 1 }), { contentType: "application/json" })),
          /not an API error/
        ],
        [
          "no message type",
          frame(Message.make({ headers: { ":event-type": Header.string("StateChanged") } })),
          /message-type/
        ]
      ]
      for (const [name, body, message] of cases) {
        const error = yield* watchError(body)
        expect([name, error._tag]).toEqual([name, "MalformedEvent"])
        expect([name, error.message]).toEqual([name, expect.stringMatching(message)])
      }
    }))

  it.live("an error frame and an answer in another framing are unexpected responses", () =>
    Effect.gen(function*() {
      const error = yield* watchError(frame(Event.error("InternalError", "boom")))
      expect(error._tag).toBe("UnexpectedResponse")
      expect(error.message).toMatch(/InternalError/)
      const sse = yield* watchError(
        new TextEncoder().encode("id: 1\nevent: StateChanged\ndata: {}\n\n"),
        "text/event-stream"
      )
      expect(sse._tag).toBe("UnexpectedResponse")
      expect(sse.message).toMatch(/instead of application\/vnd\.amazon\.eventstream/)
    }))
})
