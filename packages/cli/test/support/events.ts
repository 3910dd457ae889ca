/**
 * Builders of execution events for the renderer tests.
 */
import { type ExecutionEvent, ExecutionRecord, Interrupt, type Progress } from "@truce/core"

export class EventFactory {
  seq = 0
  constructor(readonly id = ExecutionRecord.makeId(), readonly command = "sync") {}

  state(state: ExecutionRecord.ExecutionState, at: number): ExecutionEvent.ExecutionEvent {
    return { _tag: "StateChanged", seq: ++this.seq, at, executionId: this.id, command: this.command, state }
  }

  blockStarted(block: string, index: number, items: ReadonlyArray<string>, at: number): ExecutionEvent.ExecutionEvent {
    return { _tag: "BlockStarted", seq: ++this.seq, at, block, index, items }
  }

  blockFinished(
    block: string,
    index: number,
    status: "Complete" | "Interrupted" | "Failed",
    at: number
  ): ExecutionEvent.ExecutionEvent {
    return { _tag: "BlockFinished", seq: ++this.seq, at, block, index, status }
  }

  item(
    block: string,
    item: string,
    status: Progress.ItemStatus,
    at: number,
    extra: Partial<Progress.ItemProgress> = {}
  ): ExecutionEvent.ExecutionEvent {
    return {
      _tag: "ItemProgressed",
      seq: ++this.seq,
      at,
      progress: {
        block,
        item,
        status,
        limit: { _tag: "Unknown" },
        units: 0,
        updatedAt: at,
        ...(status === "Pending" ? {} : { startedAt: extra.startedAt ?? at }),
        ...extra
      }
    }
  }

  interrupt(
    at: number,
    inFlight: number,
    options: {
      readonly source?: Interrupt.InterruptSource
      readonly mode?: Interrupt.InterruptMode
      readonly escalated?: boolean
    } = {}
  ): ExecutionEvent.ExecutionEvent {
    return {
      _tag: "InterruptRequested",
      seq: ++this.seq,
      at,
      interrupt: Interrupt.request({
        source: options.source ?? "sigint",
        mode: options.mode ?? "graceful",
        at: new Date(at)
      }),
      escalated: options.escalated ?? false,
      inFlight
    }
  }

  finished(state: ExecutionRecord.ExecutionState, at: number): ExecutionEvent.ExecutionEvent {
    return {
      _tag: "Finished",
      seq: ++this.seq,
      at,
      state,
      outcome: { _tag: "Complete", value: null, blocksProcessed: [], blocksNotProcessed: [] }
    }
  }
}

export const ids = (n: number, prefix = "file-"): Array<string> =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}.bin`)
