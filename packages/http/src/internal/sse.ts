/**
 * Server-Sent Events framing of `GET /executions/{id}/events`, written with the SSE encoder
 * of `@effect/experimental` (the shared semantics are in `push.ts`):
 *
 * - a `retry:` field first (the reconnection delay EventSource should use);
 * - per event: `id:` = its sequence number (EventSource sends it back as `Last-Event-ID`),
 *   `event:` = its type, `data:` = the encoded event as JSON;
 * - keep-alive: the comment `: keep-alive`;
 * - an error after the head: `event: StreamError` with `data:` = the `ApiError` as JSON
 *   (no `id:`, so a reconnection resumes after the last real event).
 *
 * @internal
 */
import * as Sse from "@effect/experimental/Sse"
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ApiError from "../ApiError.js"
import type { Transport } from "./push.js"
import { sseErrorEventType, sseMediaType } from "./wire.js"

const utf8 = new TextEncoder()
const encodeApiError = Schema.encodeSync(ApiError.ApiError)

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

/** The SSE framing, suggesting reconnections after `retryMs`. */
export const transport = (options: { readonly retryMs: number }): Transport => ({
  name: "sse",
  contentType: `${sseMediaType}; charset=utf-8`,
  preamble: utf8.encode(
    Sse.encoder.write(new Sse.Retry({ duration: Duration.millis(options.retryMs), lastEventId: undefined }))
  ),
  keepAlive: utf8.encode(keepAliveComment),
  encode: (events) => Stream.map(events, (event) => utf8.encode(encodeEvent(event))),
  encodeError: (error) =>
    utf8.encode(
      Sse.encoder.write({
        _tag: "Event",
        event: sseErrorEventType,
        id: undefined,
        data: JSON.stringify(encodeApiError(error))
      })
    )
})
