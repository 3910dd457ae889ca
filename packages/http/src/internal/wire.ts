/**
 * Names shared by the server's event streams and the client that reads them.
 *
 * @internal
 */

/** The media type of Server-Sent Events. */
export const sseMediaType = "text/event-stream"

/** The media type of the binary framing (AWS event stream). */
export const eventStreamMediaType = "application/vnd.amazon.eventstream"

/** The SSE event type of an error that ended the stream (its data: the `ApiError` as JSON). */
export const sseErrorEventType = "StreamError"

/** The `:event-type` of keep-alive frames of the binary framing (no payload). */
export const keepAliveEventType = "ping"

/** The header of a binary frame carrying the event's sequence number (a `long`). */
export const seqHeader = "seq"
