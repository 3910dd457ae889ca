/**
 * Backpressure of the event stream: a reader that stops reading holds the server back (it
 * stops pulling events once the connection's buffers are full) instead of making it buffer
 * without bound; when the reader comes back, the events it can no longer get arrive as one
 * `Snapshot` (with the count of events it stands for), then the stream goes on to `Finished`.
 * A reader that keeps reading gets every event of the same execution (so the Snapshot is
 * the paused reader's doing). Both framings, read with Node's HTTP client, which stops
 * reading the socket while its response is paused.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Decoder } from "@truce/eventstream"
import * as http from "node:http"
import { newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { finished, keys, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer({}, { eventBufferSize: 1024 })
})

afterAll(async () => {
  await server.close()
})

interface Received {
  readonly _tag: string
  readonly seq: number
  readonly coalesced?: number
  readonly state?: string
}

/** About 13 MB of events: more than the sockets' buffers can hold. */
const updates = 20_000

type Framing = "sse" | "eventstream"

const parse = (framing: Framing, body: Buffer): Array<Received> =>
  framing === "sse"
    ? [...body.toString("utf8").matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1] as string) as Received)
    : Decoder.decodeAllSync(body)
      .filter((message) => message.payload.length > 0)
      .map((message) => JSON.parse(new TextDecoder().decode(message.payload)) as Received)

/** Watches a burst of `updates` events; `paused`: not reading until the execution has finished. */
const watchBurst = async (framing: Framing, paused: boolean) => {
  const gate = newGate()
  const started = await start(server, keys.alice, "chatty", { gate, updates })
  const headers: Record<string, string> = { "x-api-key": keys.alice }
  if (framing === "eventstream") headers.accept = "application/vnd.amazon.eventstream"
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${server.url}/executions/${started.id}/events`, { headers }, resolve).on("error", reject)
  })
  expect(response.statusCode).toBe(200)
  const chunks: Array<Buffer> = []
  const ended = new Promise<void>((resolve, reject) => {
    response.on("end", resolve)
    response.on("error", reject)
  })
  if (paused) response.pause()
  else response.on("data", (chunk: Buffer) => chunks.push(chunk))
  openGate(gate)
  const record = await finished(server, keys.alice, started.id)
  expect(record.state).toBe("Succeeded")
  if (paused) response.on("data", (chunk: Buffer) => chunks.push(chunk)).resume()
  await ended
  const events = parse(framing, Buffer.concat(chunks))
  const seqs = events.map((event) => event.seq)
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  expect(new Set(seqs).size).toBe(seqs.length)
  expect(events[events.length - 1]).toMatchObject({
    _tag: "Finished",
    state: "Succeeded",
    seq: (record.progress as { seq: number }).seq
  })
  return events
}

describe("backpressure", () => {
  it("a reader that keeps reading gets every event", async () => {
    const events = await watchBurst("sse", false)
    expect(events.filter((event) => event._tag === "Snapshot")).toEqual([])
    expect(events.filter((event) => event._tag === "ItemProgressed").length).toBeGreaterThanOrEqual(updates)
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1))
  })

  for (const framing of ["sse", "eventstream"] as const) {
    it(`a paused reader holds the server back, then gets a Snapshot for what it missed (${framing})`, async () => {
      const events = await watchBurst(framing, true)
      const snapshots = events.filter((event) => event._tag === "Snapshot")
      expect(snapshots.length).toBeGreaterThanOrEqual(1)
      expect(snapshots.every((snapshot) => (snapshot.coalesced ?? 0) > 0)).toBe(true)
      // Far fewer events than the execution produced were sent; the Snapshots stand for the rest.
      expect(events.length).toBeLessThan(updates / 2)
    })
  }
})
