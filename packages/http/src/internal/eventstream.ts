/**
 * The binary framing of `GET /executions/{id}/events`: `application/vnd.amazon.eventstream`
 * (AWS event-stream frames, encoded by `@truce/eventstream`; the shared semantics are in
 * `push.ts`).
 *
 * - per execution event, one frame: `:message-type` = `event`, `:event-type` = the event's
 *   type (`StateChanged`, …, `Finished`), `:content-type` = `application/json`, `seq` = its
 *   sequence number (a `long` header), payload = the event as JSON (`ExecutionEvent.encode`);
 * - keep-alive: `:message-type` = `event`, `:event-type` = `ping`, no payload (skip it);
 * - an error after the head: `:message-type` = `exception`, `:exception-type` = the error's
 *   tag (`ExecutionNotFound`, `ServiceUnavailable`), `:content-type` = `application/json`,
 *   payload = the `ApiError` as JSON. It is the last frame.
 *
 * An event larger than the framing's payload limit (24 MiB — a `Snapshot` of a very large
 * execution) cannot be sent: the stream ends with a `ServiceUnavailable` exception saying so
 * (the SSE framing has no such limit).
 *
 * @internal
 */
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as Encoder from "@truce/eventstream/Encoder"
import * as Event from "@truce/eventstream/Event"
import * as Header from "@truce/eventstream/Header"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ApiError from "../ApiError.js"
import type { Transport } from "./push.js"
import { eventStreamMediaType, keepAliveEventType, seqHeader } from "./wire.js"

const jsonContentType = "application/json"
const utf8 = new TextEncoder()
const encodeApiError = Schema.encodeSync(ApiError.ApiError)

/** The frame of one execution event, or the error saying why it cannot be framed. */
export const encodeEvent = (
  event: ExecutionEvent.ExecutionEvent,
  options?: Encoder.Options
): Either.Either<Uint8Array, ApiError.ServiceUnavailable> => {
  const payload = utf8.encode(JSON.stringify(ExecutionEvent.encode(event)))
  const message = Event.event(event._tag, payload, {
    contentType: jsonContentType,
    headers: [[seqHeader, Header.long(BigInt(event.seq))]]
  })
  return Either.mapLeft(Encoder.encode(message, options), (error) =>
    new ApiError.ServiceUnavailable({
      message: `event ${event.seq} (${event._tag}) cannot be sent as an event-stream frame: ${error.message}; ` +
        "watch with text/event-stream instead"
    }))
}

/** The last frame of a stream that failed. */
export const encodeError = (error: ApiError.ApiError): Uint8Array =>
  Encoder.encodeSync(
    Event.exception(error._tag, utf8.encode(JSON.stringify(encodeApiError(error))), { contentType: jsonContentType })
  )

const keepAlive = Encoder.encodeSync(Event.event(keepAliveEventType, new Uint8Array(0)))

/** The binary event-stream framing. */
export const transport: Transport = {
  name: "eventstream",
  contentType: eventStreamMediaType,
  preamble: undefined,
  keepAlive,
  encode: (events) => Stream.mapEffect(events, (event) => Effect.suspend(() => encodeEvent(event))),
  encodeError
}
