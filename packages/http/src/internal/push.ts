/**
 * The streaming responses of `GET /executions/{id}/events`, whatever the framing: Server-Sent
 * Events (`sse.ts`) or the binary `application/vnd.amazon.eventstream` (`eventstream.ts`),
 * chosen by `Accept` ({@link choose}).
 *
 * Both framings share the semantics:
 * - the events after the requested sequence number, each as one SSE event / one frame,
 *   ending after `Finished`;
 * - keep-alives (an SSE comment / a `ping` event) on streams that were silent for a while;
 * - an error after the answer's head (the execution's events became unavailable, the store
 *   failed) is sent as a last error event carrying the `ApiError` as JSON, then the stream
 *   ends — never a silently truncated stream;
 * - backpressure: the response pulls one chunk at a time (the Node server waits for
 *   `drain`), and the execution's event log hands a slow reader a `Snapshot` instead of
 *   buffering without bound;
 * - when the server shuts down every stream ends at once, and its connection closes with it
 *   (`Connection: close`), so open connections do not hold up `server.close()`.
 *
 * On Node's server, the open streams are kept in a registry ({@link Watchers}): one timer per
 * server sends the keep-alives and the shutdown interrupts the streams' request fibers — no
 * extra fiber per stream (a thousand watchers cost a thousand requests, not three thousand
 * fibers). Elsewhere, each stream merges its own keep-alive ticker and watches the shutdown
 * signal.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ServerResponse } from "node:http"
import type * as ApiError from "../ApiError.js"
import { qualityOf } from "./negotiate.js"
import { eventStreamMediaType, sseMediaType } from "./wire.js"

/** A framing of the event stream. */
export interface Transport {
  readonly name: "sse" | "eventstream"
  readonly contentType: string
  /** Sent before the first event (SSE: the `retry:` field). */
  readonly preamble: Uint8Array | undefined
  /** Sent on a stream that was silent for the keep-alive interval. */
  readonly keepAlive: Uint8Array
  /** Frames the events; fails when an event cannot be framed. */
  readonly encode: <E>(
    events: Stream.Stream<ExecutionEvent.ExecutionEvent, E>
  ) => Stream.Stream<Uint8Array, E | ApiError.ServiceUnavailable>
  /** The last message of a stream that failed. */
  readonly encodeError: (error: ApiError.ApiError) => Uint8Array
}

/**
 * The framing an `Accept` header asks for: the binary event stream when it lists
 * `application/vnd.amazon.eventstream` with a higher q-value than `text/event-stream` (or
 * without it); Server-Sent Events otherwise — also when it lists neither (no `Accept`, `*\/*`,
 * `application/json`), as EventSource, curl and browsers expect.
 */
export const choose = (accept: string | undefined): "sse" | "eventstream" => {
  if (accept === undefined || !accept.toLowerCase().includes(eventStreamMediaType)) return "sse"
  const binary = qualityOf(accept, eventStreamMediaType)
  return binary > 0 && binary > qualityOf(accept, sseMediaType) ? "eventstream" : "sse"
}

const headers = {
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
  vary: "Accept",
  // The connection is dedicated to the stream: close it when the stream ends (also at shutdown).
  connection: "close"
}

interface Watcher {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly response: ServerResponse
  readonly keepAlive: Uint8Array
  lastWrite: number
}

/** The open event streams of a server on Node. */
export interface Watchers {
  /**
   * Registers the stream answered by `fiber` on `response`, kept alive with `keepAlive`;
   * returns a function marking activity.
   */
  readonly add: (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    response: ServerResponse,
    keepAlive: Uint8Array
  ) => () => void
  /** Ends every open stream (at shutdown). */
  readonly interruptAll: Effect.Effect<void>
  readonly size: () => number
}

/** The registry, with its keep-alive timer running in the scope. */
export const makeWatchers = (keepAliveMs: number): Effect.Effect<Watchers, never, Scope.Scope> =>
  Effect.gen(function*() {
    const watchers = new Set<Watcher>()
    const tick = Effect.sync(() => {
      const now = Date.now()
      for (const watcher of watchers) {
        const response = watcher.response
        if (now - watcher.lastWrite < keepAliveMs || !response.headersSent || response.writableEnded) continue
        watcher.lastWrite = now
        response.write(watcher.keepAlive)
      }
    })
    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(keepAliveMs / 2))))),
      Effect.interruptible,
      Effect.forkScoped
    )
    return {
      add: (fiber, response, keepAlive) => {
        const watcher: Watcher = { fiber, response, keepAlive, lastWrite: Date.now() }
        watchers.add(watcher)
        response.once("close", () => watchers.delete(watcher))
        return () => {
          watcher.lastWrite = Date.now()
        }
      },
      interruptAll: Effect.flatMap(Effect.fiberId, (self) =>
        Effect.sync(() => {
          for (const watcher of watchers) watcher.fiber.unsafeInterruptAsFork(self)
          watchers.clear()
        })),
      size: () => watchers.size
    }
  })

/** The framed events, the preamble first and an error event last if they fail. */
const body = (
  transport: Transport,
  events: Stream.Stream<ExecutionEvent.ExecutionEvent, ApiError.ApiError>
): Stream.Stream<Uint8Array> => {
  const framed = Stream.catchAll(transport.encode(events), (error) => Stream.make(transport.encodeError(error)))
  return transport.preamble === undefined ? framed : Stream.concat(Stream.make(transport.preamble), framed)
}

/** The streaming response, registered with the server's watchers (Node). */
export const registeredStream = (
  transport: Transport,
  events: Stream.Stream<ExecutionEvent.ExecutionEvent, ApiError.ApiError>,
  touch: () => void
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(
    Stream.mapChunks(body(transport, events), (chunk) => {
      touch()
      return chunk
    }),
    { contentType: transport.contentType, headers }
  )

/** The streaming response, with its own keep-alive ticker and shutdown watch (any platform). */
export const standaloneStream = (
  transport: Transport,
  events: Stream.Stream<ExecutionEvent.ExecutionEvent, ApiError.ApiError>,
  options: { readonly keepAliveMs: number; readonly shutdown: Deferred.Deferred<void> }
): HttpServerResponse.HttpServerResponse => {
  const keepAlive = Stream.fromSchedule(Schedule.spaced(Duration.millis(options.keepAliveMs))).pipe(
    Stream.map(() => transport.keepAlive)
  )
  return HttpServerResponse.stream(
    Stream.merge(body(transport, events), keepAlive, { haltStrategy: "left" }).pipe(
      Stream.interruptWhen(Deferred.await(options.shutdown))
    ),
    { contentType: transport.contentType, headers }
  )
}
