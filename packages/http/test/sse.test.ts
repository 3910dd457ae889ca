/**
 * The event stream (Server-Sent Events) read by a real EventSource client (the
 * `eventsource` package), including a reconnection with `Last-Event-ID` after the
 * connection was cut, replay with `?after=`, keep-alive comments, and 204 at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { EventSource } from "eventsource"
import { newGate, openGate } from "./support/commands.js"
import { startProxy } from "./support/proxy.js"
import type { TestServer } from "./support/server.js"
import { as, finished, keys, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server.close()
})

const eventTypes = [
  "StateChanged",
  "BlockStarted",
  "BlockFinished",
  "ItemProgressed",
  "InterruptRequested",
  "Snapshot",
  "Finished"
] as const

interface Received {
  readonly type: string
  readonly id: string
  readonly data: { readonly seq: number; readonly _tag: string; readonly state?: string }
}

/** An EventSource authenticated with an API key, recording each request's headers. */
const open = (url: string, key: string) => {
  const requests: Array<Record<string, string>> = []
  const received: Array<Received> = []
  const source = new EventSource(url, {
    fetch: (input, init) => {
      requests.push({ ...init.headers })
      return fetch(input, { ...init, headers: { ...init.headers, "x-api-key": key } })
    }
  })
  for (const type of eventTypes) {
    source.addEventListener(type, (event) => {
      received.push({ type, id: event.lastEventId, data: JSON.parse(event.data) as Received["data"] })
    })
  }
  return { source, requests, received }
}

const until = (predicate: () => boolean, what: string, timeoutMs = 20_000) =>
  new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs
    const check = () => {
      if (predicate()) resolve()
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`))
      else setTimeout(check, 5)
    }
    check()
  })

const expectContiguous = (received: ReadonlyArray<Received>) => {
  const seqs = received.map((event) => event.data.seq)
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
  for (const event of received) {
    expect(event.id).toBe(String(event.data.seq))
    expect(event.type).toBe(event.data._tag)
  }
}

describe("GET /executions/{id}/events", () => {
  it("streams every event to an EventSource, ends with Finished, then answers 204 (no more reconnects)", async () => {
    const started = await start(server, keys.alice, "slow", { items: 12, delayMs: 5 })
    const { received, requests, source } = open(`${server.url}/executions/${started.id}/events`, keys.alice)
    let closedByServer = false
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) closedByServer = true
    })
    await until(() => closedByServer, "the event source to be closed after Finished")
    expectContiguous(received)
    expect(received[0]?.type).toBe("StateChanged")
    const last = received[received.length - 1]
    expect(last?.type).toBe("Finished")
    expect(last?.data.state).toBe("Succeeded")
    expect(received.filter((event) => event.type === "ItemProgressed").length).toBeGreaterThanOrEqual(12)
    // The reconnect after the end carried the last id and got 204.
    expect(requests).toHaveLength(2)
    expect(requests[1]?.["Last-Event-ID"]).toBe(last?.id)
  })

  it("resumes after a dropped connection from Last-Event-ID, without gaps or duplicates", async () => {
    const proxy = await startProxy(server.port)
    try {
      const started = await start(server, keys.alice, "slow", { items: 60, delayMs: 15 })
      const { received, requests, source } = open(`${proxy.url}/executions/${started.id}/events`, keys.alice)
      await until(() => received.length >= 5, "five events")
      const seenBeforeCut = () => received[received.length - 1]?.id
      const lastBeforeCut = seenBeforeCut()
      proxy.cut()
      await until(() => received.some((event) => event.type === "Finished"), "Finished after reconnecting")
      source.close()
      expect(requests.length).toBeGreaterThanOrEqual(2)
      expect(requests[0]?.["Last-Event-ID"]).toBeUndefined()
      const resumedFrom = Number(requests[1]?.["Last-Event-ID"])
      expect(resumedFrom).toBeGreaterThanOrEqual(Number(lastBeforeCut))
      expect(proxy.connections()).toBeGreaterThanOrEqual(2)
      expectContiguous(received)
      expect(received[received.length - 1]?.data.state).toBe("Succeeded")
    } finally {
      await proxy.close()
    }
  })

  it("replays from ?after=", async () => {
    const started = await start(server, keys.alice, "slow", { items: 3, delayMs: 1 })
    await finished(server, keys.alice, started.id)
    const response = await as(keys.alice)(`${server.url}/executions/${started.id}/events?after=4`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    const text = await response.text()
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]))
    expect(ids[0]).toBe(5)
    expect(text).toMatch(/^retry: 100$/m)
    expect(text.trimEnd().split("\n").some((line) => line === "event: Finished")).toBe(true)
  })

  it("sends keep-alive comments while nothing happens", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const response = await as(keys.alice)(`${server.url}/executions/${started.id}/events`)
    const reader = response.body?.getReader()
    if (reader === undefined) throw new Error("no body")
    const decoder = new TextDecoder()
    let text = ""
    while (!text.includes(": keep-alive\n\n")) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    expect(text).toContain(": keep-alive\n\n")
    openGate(gate)
    while (true) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    expect(text).toContain("event: Finished")
  })

  it("answers 204 when nothing follows the given id of a finished execution", async () => {
    const started = await start(server, keys.alice, "echo", { message: "done" })
    const record = await finished(server, keys.alice, started.id)
    const seq = (record.progress as { seq: number }).seq
    const response = await as(keys.alice)(`${server.url}/executions/${started.id}/events`, {
      headers: { "last-event-id": String(seq) }
    })
    expect(response.status).toBe(204)
    const before = await as(keys.alice)(`${server.url}/executions/${started.id}/events`, {
      headers: { "last-event-id": String(seq - 1) }
    })
    expect(before.status).toBe(200)
    expect(await before.text()).toContain(`id: ${seq}\nevent: Finished`)
  })

  it("checks authentication and permissions (404 for unknown and unreadable ids), and refuses malformed ids", async () => {
    const started = await start(server, keys.alice, "echo", { message: "private" })
    expect((await fetch(`${server.url}/executions/${started.id}/events`)).status).toBe(401)
    expect((await as(keys.bob)(`${server.url}/executions/${started.id}/events`)).status).toBe(404)
    const unknown = await as(keys.alice)(`${server.url}/executions/no-such-execution/events`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ _tag: "ExecutionNotFound", id: "no-such-execution" })
    const bad = await as(keys.alice)(`${server.url}/executions/${started.id}/events`, {
      headers: { "last-event-id": "seven" }
    })
    expect(bad.status).toBe(400)
    expect((await as(keys.alice)(`${server.url}/executions/${started.id}/events?after=-1`)).status).toBe(400)
  })
})
