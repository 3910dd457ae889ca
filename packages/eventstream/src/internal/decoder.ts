/**
 * The streaming decoder's state machine.
 *
 * Memory and time:
 * - the 12-byte prelude is assembled (across chunks if need be) in a fixed buffer and validated —
 *   checksum, lengths, caps — before anything is allocated for the frame;
 * - a frame that lies entirely inside one input chunk is decoded in place (zero copy);
 * - otherwise exactly `totalLength` bytes are allocated once, and each input byte is copied into it
 *   exactly once. Pending input is never concatenated or re-copied, so the work is linear in the
 *   input whatever the chunking (one byte at a time included).
 *
 * @internal
 */
import * as EventStreamError from "../EventStreamError.js"
import type * as Message from "../Message.js"
import { checkPrelude, decodeFrame, PRELUDE, readU32, type ResolvedLimits } from "./codec.js"
import { alloc } from "./pool.js"

/** Counters exposed for tests and metrics. */
export interface DecoderStats {
  readonly bytesReceived: number
  readonly bytesCopied: number
  readonly bytesAllocated: number
  readonly framesDecoded: number
}

export class StreamDecoderImpl {
  private readonly prelude = new Uint8Array(PRELUDE)
  private preludeFill = 0
  private frame: Uint8Array | undefined = undefined
  private frameFill = 0
  /** Prelude CRC of the frame being assembled (the seed of its message CRC). */
  private frameCrc = 0
  private frameOffset = 0
  private received = 0
  private queue: Array<Message.Message | undefined> = []
  private head = 0
  private failure: EventStreamError.DecodeError | undefined = undefined
  private ended = false
  private copied = 0
  private allocated = 0
  private decoded = 0

  constructor(private readonly limits: ResolvedLimits, private readonly copy: boolean) {}

  get bufferedBytes(): number {
    return this.frame === undefined ? this.preludeFill : this.frameFill
  }

  get allocatedBytes(): number {
    return this.frame === undefined ? 0 : this.frame.length
  }

  get pendingMessages(): number {
    return this.queue.length - this.head
  }

  get state(): "open" | "ended" | "failed" {
    return this.failure !== undefined ? "failed" : this.ended ? "ended" : "open"
  }

  get error(): EventStreamError.DecodeError | undefined {
    return this.failure
  }

  get stats(): DecoderStats {
    return {
      bytesReceived: this.received,
      bytesCopied: this.copied,
      bytesAllocated: this.allocated,
      framesDecoded: this.decoded
    }
  }

  write(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure
    if (this.ended) throw new EventStreamError.DecoderClosed({ offset: this.received })
    try {
      this.consume(chunk)
    } catch (error) {
      this.fail(error)
    }
    this.received += chunk.length
  }

  read(): Message.Message | undefined {
    const queue = this.queue
    const head = this.head
    if (head < queue.length) {
      const message = queue[head]
      queue[head] = undefined
      if (head + 1 === queue.length) {
        queue.length = 0
        this.head = 0
      } else {
        this.head = head + 1
      }
      if (message !== undefined) return message
    }
    if (this.failure !== undefined) throw this.failure
    return undefined
  }

  end(): void {
    if (this.failure !== undefined) throw this.failure
    if (this.ended) return
    this.ended = true
    const frame = this.frame
    if (frame !== undefined || this.preludeFill > 0) {
      const error = new EventStreamError.Truncated({
        offset: this.frameOffset,
        received: frame === undefined ? this.preludeFill : this.frameFill,
        expected: frame === undefined ? PRELUDE : frame.length
      })
      this.fail(error)
      throw error
    }
  }

  private fail(error: unknown): void {
    this.frame = undefined
    this.frameFill = 0
    this.preludeFill = 0
    if (!EventStreamError.isDecodeError(error)) throw error
    this.failure = error
  }

  private push(message: Message.Message): void {
    this.queue.push(message)
    this.decoded++
  }

  private startFrame(totalLength: number, crc: number, offset: number): Uint8Array {
    const frame = alloc(totalLength)
    this.allocated += totalLength
    this.frame = frame
    this.frameFill = 0
    this.frameCrc = crc
    this.frameOffset = offset
    return frame
  }

  private consume(chunk: Uint8Array): void {
    const length = chunk.length
    const base = this.received
    const limits = this.limits
    let pos = 0
    while (pos < length) {
      const frame = this.frame
      if (frame !== undefined) {
        // continue a frame that spans chunks
        const fill = this.frameFill
        const total = frame.length
        const n = Math.min(total - fill, length - pos)
        if (n <= 16) {
          for (let i = 0; i < n; i++) frame[fill + i] = chunk[pos + i]
        } else {
          frame.set(pos === 0 && n === length ? chunk : chunk.subarray(pos, pos + n), fill)
        }
        this.copied += n
        pos += n
        if (fill + n === total) {
          this.frame = undefined
          this.frameFill = 0
          this.push(decodeFrame(frame, 0, this.frameCrc, limits, this.frameOffset, false))
        } else {
          this.frameFill = fill + n
        }
      } else if (this.preludeFill === 0 && length - pos >= PRELUDE) {
        // the prelude is in this chunk: validate it in place
        const offset = base + pos
        this.frameOffset = offset
        const crc = checkPrelude(chunk, pos, limits, offset)
        const totalLength = readU32(chunk, pos)
        if (length - pos >= totalLength) {
          this.push(decodeFrame(chunk, pos, crc, limits, offset, this.copy))
          pos += totalLength
        } else {
          this.startFrame(totalLength, crc, offset)
        }
      } else {
        // assemble the prelude across chunks
        const fill = this.preludeFill
        if (fill === 0) this.frameOffset = base + pos
        const n = Math.min(PRELUDE - fill, length - pos)
        const prelude = this.prelude
        for (let i = 0; i < n; i++) prelude[fill + i] = chunk[pos + i]
        this.copied += n
        pos += n
        if (fill + n < PRELUDE) {
          this.preludeFill = fill + n
        } else {
          this.preludeFill = 0
          const crc = checkPrelude(prelude, 0, limits, this.frameOffset)
          const next = this.startFrame(readU32(prelude, 0), crc, this.frameOffset)
          next.set(prelude, 0)
          this.copied += PRELUDE
          this.frameFill = PRELUDE
        }
      }
    }
  }
}
