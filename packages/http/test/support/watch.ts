/**
 * Watching through a proxy that cuts the connection once a few events have arrived, so the
 * client has to reconnect.
 */
import { FetchHttpClient } from "@effect/platform"
import type { ExecutionEvent } from "@truce/core"
import { Chunk, Effect, Stream } from "effect"
import { Client } from "../../src/index.js"
import { startProxy } from "./proxy.js"
import { keys } from "./server.js"

/** Starts a slow execution and watches it to the end, the connection cut after event 6. */
export const watchThroughCut = (port: number, transport: Client.WatchTransport) =>
  Effect.gen(function*() {
    const proxy = yield* Effect.promise(() => startProxy(port))
    const events = yield* Effect.flatMap(
      Client.make({ baseUrl: proxy.url, apiKey: keys.alice, retryDelay: "20 millis" }),
      (client) =>
        Effect.gen(function*() {
          const started = yield* client.start("slow", { items: 100, delayMs: 15 })
          let cut = false
          const seen = yield* client.watch(started.id, { transport }).pipe(
            Stream.tap((event) =>
              Effect.sync(() => {
                if (!cut && event.seq >= 6) {
                  cut = true
                  proxy.cut()
                }
              })
            ),
            Stream.runCollect
          )
          return Chunk.toArray(seen)
        })
    ).pipe(Effect.provide(FetchHttpClient.layer), Effect.ensuring(Effect.promise(() => proxy.close())))
    return { events, sent: proxy.sent() }
  })

/** The events arrived in order, without gaps or duplicates, and ended with a successful Finished. */
export const contiguousToSuccess = (events: ReadonlyArray<ExecutionEvent.ExecutionEvent>) =>
  events.map((event) => event.seq).every((seq, i) => seq === i + 1) &&
  events[events.length - 1]?._tag === "Finished" &&
  (events[events.length - 1] as { readonly state?: string }).state === "Succeeded"
