/**
 * A bounded, replayable log of one execution's events.
 *
 * Writers never wait: appending is a synchronous push into a ring buffer. Each reader
 * keeps its own cursor (the last sequence number it has seen) and pulls at its own pace;
 * a reader whose cursor fell out of the buffer is told so (`"behind"`) and receives a
 * snapshot instead of the events it missed.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { ExecutionEvent } from "../ExecutionEvent.js"

/** @internal */
export class EventLog {
  private ring: Array<ExecutionEvent> = []
  private head = 0
  /** Readers waiting for the next event; made on first use. */
  private waiters: Array<() => void> | undefined = undefined
  /**
   * The sequence number of the last event pushed. A number reserved with `nextSeq` counts
   * only once its event is pushed: the execution map reserves `Finished`'s number before
   * it stores the outcome, and readers must not see that number as readable meanwhile
   * (they would read the previous event again, in a loop).
   */
  lastSeq = 0
  private reservedSeq = 0
  closed = false

  constructor(readonly capacity: number) {}

  /** Reserves the next sequence number; the event carrying it must be pushed next. */
  nextSeq(): number {
    return ++this.reservedSeq
  }

  push(event: ExecutionEvent): void {
    if (this.ring.length < this.capacity) {
      // The first few events go into an array of exactly their number (a push onto a small
      // array reserves 17 slots): most executions in flight hold only a handful of events.
      if (this.ring.length < 8) this.ring = [...this.ring, event]
      else this.ring.push(event)
    } else {
      this.ring[this.head] = event
      this.head = (this.head + 1) % this.capacity
    }
    this.lastSeq = event.seq
    if (event._tag === "Finished") this.closed = true
    if (this.waiters !== undefined && this.waiters.length > 0) {
      const waiters = this.waiters
      this.waiters = undefined
      for (const wake of waiters) wake()
    }
  }

  /** The oldest sequence number still held. */
  get firstSeq(): number {
    return this.lastSeq - this.ring.length + 1
  }

  /** Events after `after`, at most `max`; `"behind"` when some of them were overwritten. */
  readAfter(after: number, max: number): ReadonlyArray<ExecutionEvent> | "behind" {
    if (after >= this.lastSeq) return []
    const first = this.firstSeq
    if (after < first - 1) return "behind"
    const count = Math.min(this.lastSeq - after, max)
    const offset = after + 1 - first
    const out: Array<ExecutionEvent> = new Array(count)
    const size = this.ring.length
    for (let i = 0; i < count; i++) {
      out[i] = this.ring[(this.head + offset + i) % size] as ExecutionEvent
    }
    return out
  }

  /** The last event, if it is `Finished`. */
  finishedEvent(): ExecutionEvent | undefined {
    if (!this.closed || this.ring.length === 0) return undefined
    const index = (this.head + this.ring.length - 1) % this.ring.length
    return this.ring[index]
  }

  /** Completes once an event with a sequence number above `after` exists (or the log closed). */
  waitAfter(after: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.lastSeq > after || this.closed) {
        resume(Effect.void)
        return
      }
      const wake = () => resume(Effect.void)
      ;(this.waiters ??= []).push(wake)
      return Effect.sync(() => {
        const index = this.waiters?.indexOf(wake) ?? -1
        if (index >= 0) this.waiters?.splice(index, 1)
      })
    })
  }
}
