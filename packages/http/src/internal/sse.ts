/**
 * The Server-Sent Events response of `GET /executions/{id}/events`, written with the
 * SSE encoder of `@effect/experimental`.
 *
 * - `id:` is the event's sequence number (EventSource sends it back as `Last-Event-ID`),
 *   `event:` its type, `data:` the encoded event as JSON.
 * - A `retry:` field first, then the events; the stream ends after `Finished`.
 * - Keep-alive comments go to streams that were silent for a while.
 * - Backpressure: the response pulls one chunk at a time (the Node server waits for
 *   `drain`), and the execution's event log hands a slow reader a `Snapshot` instead of
 *   buffering without bound.
 * - When the server shuts down every stream ends at once, and its connection closes with
 *   it (`Connection: close`), so open connections do not hold up `server.close()`.
 *
 * On Node's server, the open streams are kept in a registry ({@link Watchers}): one timer
 * per server sends the keep-alive comments and the shutdown interrupts the streams'
 * request fibers — no extra fiber per stream (a thousand watchers cost a thousand
 * requests, not three thousand fibers). Elsewhere, each stream merges its own keep-alive
 * ticker and watches the shutdown signal.
 *
 * @internal
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ServerResponse } from "node:http"

/** Encodes one execution event as an SSE event. */
export const encodeEvent = (event: ExecutionEvent.ExecutionEvent): string =>
  Sse.encoder.write({
    _tag: "Event",
    event: event._tag,
    id: String(event.seq),
    data: JSON.stringify(ExecutionEvent.encode(event))
  })

/** A keep-alive comment (ignored by SSE parsers). */
export const keepAliveComment = ": keep-alive\n\n"

const headers = {
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
  // The connection is dedicated to the stream: close it when the stream ends (also at shutdown).
  connection: "close"
}

const contentType = "text/event-stream; charset=utf-8"

const retryField = (retryMs: number) =>
  Sse.encoder.write(new Sse.Retry({ duration: Duration.millis(retryMs), lastEventId: undefined }))

interface Watcher {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly response: ServerResponse
  lastWrite: number
}

/** The open event streams of a server on Node. */
export interface Watchers {
  /** Registers the stream answered by `fiber` on `response`; returns a function marking activity. */
  readonly add: (fiber: Fiber.RuntimeFiber<unknown, unknown>, response: ServerResponse) => () => void
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
        response.write(keepAliveComment)
      }
    })
    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(keepAliveMs / 2))))),
      Effect.interruptible,
      Effect.forkScoped
    )
    return {
      add: (fiber, response) => {
        const watcher: Watcher = { fiber, response, lastWrite: Date.now() }
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

/** The streaming response, registered with the server's watchers (Node). */
export const registeredStream = <E>(
  events: Stream.Stream<ExecutionEvent.ExecutionEvent, E>,
  options: { readonly retryMs: number; readonly touch: () => void }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(
    Stream.make(retryField(options.retryMs)).pipe(
      Stream.concat(Stream.map(events, (event) => {
        options.touch()
        return encodeEvent(event)
      })),
      Stream.encodeText
    ),
    { contentType, headers }
  )

/** The streaming response, with its own keep-alive ticker and shutdown watch (any platform). */
export const standaloneStream = <E>(
  events: Stream.Stream<ExecutionEvent.ExecutionEvent, E>,
  options: {
    readonly keepAliveMs: number
    readonly retryMs: number
    readonly shutdown: Deferred.Deferred<void>
  }
): HttpServerResponse.HttpServerResponse => {
  const keepAlive = Stream.fromSchedule(Schedule.spaced(Duration.millis(options.keepAliveMs))).pipe(
    Stream.map(() => keepAliveComment)
  )
  const body = Stream.make(retryField(options.retryMs)).pipe(
    Stream.concat(Stream.merge(Stream.map(events, encodeEvent), keepAlive, { haltStrategy: "left" })),
    Stream.interruptWhen(Deferred.await(options.shutdown)),
    Stream.encodeText
  )
  return HttpServerResponse.stream(body, { contentType, headers })
}
