/**
 * Closing the server does not wait for clients that are still attached: event streams and
 * long polls end, the HTTP server closes, and running executions are stopped with their
 * outcome recorded (source `shutdown`).
 */
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord } from "@truce/core"
import { Effect, Option } from "effect"
import { EventSource } from "eventsource"
import * as http from "node:http"
import { newGate, openGate } from "./support/commands.js"
import { as, keys, start, startServer } from "./support/server.js"

describe("shutdown", () => {
  it("closes promptly with event-stream clients and long polls attached", async () => {
    const server = await startServer({ keepAliveInterval: "1 hour" })
    const gate = newGate()
    try {
      const started = await start(server, keys.alice, "gated", { gate })
      const url = `${server.url}/executions/${started.id}`

      // A raw event stream, an EventSource, and a long poll: all attached when the server closes.
      const raw = await as(keys.alice)(`${url}/events`)
      const reader = raw.body?.getReader()
      if (reader === undefined) throw new Error("no body")
      await reader.read()
      const source = new EventSource(`${url}/events`, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, "x-api-key": keys.alice } })
      })
      await new Promise<void>((resolve) => source.addEventListener("StateChanged", () => resolve(), { once: true }))
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
      // after the app stopped taking requests — 503), the raw stream ended.
      expect([200, 503]).toContain(await longPoll)
      let ended = false
      while (!ended) ended = (await reader.read()).done
      expect(ended).toBe(true)
      source.close()

      // The execution was stopped by the shutdown, and its outcome recorded.
      const record = await Effect.runPromise(server.map.store.get(started.id as ExecutionRecord.ExecutionId))
      expect(Option.map(record, (found) => [found.state, found.interrupt?.source])).toEqual(
        Option.some(["Interrupted", "shutdown"])
      )
    } finally {
      openGate(gate)
    }
  })
})
