/**
 * Smithy's TypeScript event-stream codec (a dev dependency of this package), re-exported for the
 * interoperability tests and the benchmarks (which live outside the package and cannot resolve it).
 */
import { getChunkedStream } from "@smithy/core/event-streams"
import { EventStreamCodec } from "@smithy/eventstream-codec"
import type { Message as SmithyMessage, MessageHeaders as SmithyHeaders } from "@smithy/eventstream-codec"
import { Int64 } from "@smithy/eventstream-codec"
import { fromUtf8, toUtf8 } from "@smithy/util-utf8"

export type { SmithyHeaders, SmithyMessage }

/** A fresh Smithy codec, wired with Smithy's UTF-8 helpers as its own clients do. */
export const makeSmithyCodec = (): EventStreamCodec => new EventStreamCodec(toUtf8, fromUtf8)

export { getChunkedStream, Int64 }
