/**
 * Closing the server does not wait for clients that are still attached: event streams (both
 * framings, raw, EventSource and the typed client) and long polls end, callback deliveries in
 * progress stop (recorded as failed), the HTTP server closes, and running executions are
 * stopped with their outcome recorded (source `shutdown`).
 *
 * The servers here give open connections an hour before destroying them (`shutdownGrace`),
 * so a close that completes at all did not rely on that timer.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord } from "@truce/core"
import { Effect, Exit, Option, Stream } from "effect"
import { EventSource } from "eventsource"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Client } from "../src/index.js"
import { newGate, openGate } from "./support/commands.js"
import { as, callbackSecret, eventually, keys, start, startServer } from "./support/server.js"

const noGrace = { shutdownGrace: "1 hour" } as const

/** Reads a streaming answer until its first bytes arrived; returns the reader. */
const attach = async (response: Response) => {
  expect(response.status).toBe(200)
  const reader = response.body?.getReader()
  if (reader === undefined) throw new Error("no body")
  await reader.read()
  return reader
}

const drained = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
  let ended = false
  while (!ended) ended = (await reader.read().catch(() => ({ done: true }))).done
  return ended
}

describe("shutdown", () => {
  it("closes promptly with event-stream clients and long polls attached", async () => {
    const server = await startServer({ keepAliveInterval: "1 hour" }, {}, noGrace)
    const gate = newGate()
    try {
      const started = await start(server, keys.alice, "gated", { gate })
      const url = `${server.url}/executions/${started.id}`

      // A raw SSE stream, a raw binary event stream, an EventSource, the typed client and a
      // long poll: all attached when the server closes.
      const raw = await attach(await as(keys.alice)(`${url}/events`))
      const binary = await attach(
        await as(keys.alice)(`${url}/events`, { headers: { accept: "application/vnd.amazon.eventstream" } })
      )
      const source = new EventSource(`${url}/events`, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, "x-api-key": keys.alice } })
      })
      await new Promise<void>((resolve) => source.addEventListener("StateChanged", () => resolve(), { once: true }))
      let clientSaw = 0
      const watching = Effect.runPromiseExit(
        Effect.flatMap(
          Client.make({ baseUrl: server.url, apiKey: keys.alice, retries: 1, retryDelay: "10 millis" }),
          (client) => Stream.runForEach(client.watch(started.id), () => Effect.sync(() => clientSaw++))
        ).pipe(Effect.provide(FetchHttpClient.layer))
      )
      await eventually(async () => clientSaw > 0 ? true : undefined, "the client to see an event")
      // The long poll is sent (the connection accepted) before the server closes.
      const { answered: longPoll } = await new Promise<{ readonly answered: Promise<number> }>((resolve, reject) => {
        const request = http.get(`${url}?wait=60s`, { headers: { "x-api-key": keys.alice } })
        const answered = new Promise<number>((done) => {
          request.on("response", (response) => {
            response.resume()
            response.on("end", () => done(response.statusCode ?? 0))
          })
        })
        request.on("error", reject)
        request.on("finish", () => resolve({ answered }))
      })

      await server.close()

      // The long poll was answered (with the record as it was, or — when its bytes arrived
      // after the app stopped taking requests — 503), the raw streams ended.
      expect([200, 503]).toContain(await longPoll)
      expect(await drained(raw)).toBe(true)
      expect(await drained(binary)).toBe(true)
      source.close()
      // The client could not reconnect to a closed server: it says so (after its retries).
      const exit = await watching
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toMatch(/TransportError|ServiceUnavailable/)

      // The execution was stopped by the shutdown, and its outcome recorded.
      const record = await Effect.runPromise(server.map.store.get(started.id as ExecutionRecord.ExecutionId))
      expect(Option.map(record, (found) => [found.state, found.interrupt?.source])).toEqual(
        Option.some(["Interrupted", "shutdown"])
      )
    } finally {
      openGate(gate)
    }
  })

  it("does not wait for a callback delivery in progress; the record says it stopped", async () => {
    // A receiver that accepts the request and never answers.
    const hanging = http.createServer(() => undefined)
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve))
    const { port } = hanging.address() as AddressInfo
    const server = await startServer(
      {
        callbacks: { secret: callbackSecret, allowAddresses: ["loopback"], requestTimeout: "10 minutes" }
      },
      {},
      noGrace
    )
    try {
      const started = await start(server, keys.alice, "echo", { message: "x" }, {
        callbackUrl: `http://127.0.0.1:${port}/hook`
      })
      await eventually(async () => {
        const record = await (await as(keys.alice)(`${server.url}/executions/${started.id}`)).json() as {
          callback?: { state: string }
        }
        return record.callback?.state === "Delivering" ? true : undefined
      }, "the delivery to begin")
      await server.close()
      const record = await Effect.runPromise(server.map.store.get(started.id as ExecutionRecord.ExecutionId))
      expect(Option.map(record, (found) => found.callback)).toEqual(Option.some(expect.objectContaining({
        state: "Failed",
        attempts: 1,
        lastError: "delivery stopped: the server shut down"
      })))
    } finally {
      hanging.closeAllConnections()
      await new Promise<void>((resolve) => hanging.close(() => resolve()))
    }
  })
})
