/**
 * The events an execution emits while it runs. Every event carries a sequence number,
 * monotonically increasing per execution from 1, so a watcher can resume after a given
 * number; times are epoch milliseconds.
 *
 * A watcher that falls too far behind receives a `Snapshot` (the current state of every
 * item, and how many events it stands for) instead of the events it missed: updates are
 * coalesced, never silently dropped. The last event is always `Finished`, carrying the
 * encoded outcome.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as CmdOutcome from "./CmdOutcome.js"
import { ExecutionId, ExecutionState } from "./ExecutionRecord.js"
import { InterruptRequest } from "./Interrupt.js"
import { ItemProgress, ProgressSummary } from "./Progress.js"

const base = {
  seq: Schema.Number,
  at: Schema.Number
}

/**
 * The execution moved to another state.
 *
 * @since 0.1.0
 * @category models
 */
export const StateChanged = Schema.TaggedStruct("StateChanged", {
  ...base,
  executionId: ExecutionId,
  command: Schema.String,
  state: ExecutionState
})

/**
 * A block started; `items` lists its item ids in order.
 *
 * @since 0.1.0
 * @category models
 */
export const BlockStarted = Schema.TaggedStruct("BlockStarted", {
  ...base,
  block: Schema.String,
  index: Schema.Number,
  items: Schema.Array(Schema.String)
})

/**
 * A block ended.
 *
 * @since 0.1.0
 * @category models
 */
export const BlockFinished = Schema.TaggedStruct("BlockFinished", {
  ...base,
  block: Schema.String,
  index: Schema.Number,
  status: Schema.Literal("Complete", "Interrupted", "Failed")
})

/**
 * An item's progress changed; `progress` is the item's whole snapshot.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemProgressed = Schema.TaggedStruct("ItemProgressed", {
  ...base,
  progress: ItemProgress
})

/**
 * An interrupt request was accepted. `escalated` is true when it turned a graceful stop
 * into an immediate one; `inFlight` is the number of items running at that moment.
 *
 * @since 0.1.0
 * @category models
 */
export const InterruptRequested = Schema.TaggedStruct("InterruptRequested", {
  ...base,
  interrupt: InterruptRequest,
  escalated: Schema.Boolean,
  inFlight: Schema.Number
})

/**
 * Everything a watcher needs after it fell behind: the state, the summary, the current
 * block's item snapshots, and how many events it replaces (`coalesced`).
 *
 * @since 0.1.0
 * @category models
 */
export const Snapshot = Schema.TaggedStruct("Snapshot", {
  ...base,
  coalesced: Schema.Number,
  executionId: ExecutionId,
  command: Schema.String,
  state: ExecutionState,
  blocks: Schema.Array(Schema.String),
  summary: ProgressSummary,
  items: Schema.Array(ItemProgress)
})

/**
 * The execution ended. Always the last event.
 *
 * @since 0.1.0
 * @category models
 */
export const Finished = Schema.TaggedStruct("Finished", {
  ...base,
  state: ExecutionState,
  outcome: Schema.encodedSchema(CmdOutcome.Any)
})

/**
 * Any execution event.
 *
 * @since 0.1.0
 * @category models
 */
export const ExecutionEvent = Schema.Union(
  StateChanged,
  BlockStarted,
  BlockFinished,
  ItemProgressed,
  InterruptRequested,
  Snapshot,
  Finished
)

/**
 * @since 0.1.0
 * @category models
 */
export type ExecutionEvent = typeof ExecutionEvent.Type

/**
 * The JSON form of an event.
 *
 * @since 0.1.0
 * @category models
 */
export type ExecutionEventEncoded = typeof ExecutionEvent.Encoded

/**
 * An event without its sequence number (what the engine appends).
 *
 * @since 0.1.0
 * @category models
 */
export type Unsequenced = ExecutionEvent extends infer E ? E extends { readonly seq: number } ? Omit<E, "seq"> : never
  : never

/**
 * Encodes an event to JSON-safe data.
 *
 * @example
 * import { ExecutionEvent } from "@truce/core"
 * const line = (event: ExecutionEvent.ExecutionEvent) => JSON.stringify(ExecutionEvent.encode(event))
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (event: ExecutionEvent) => ExecutionEventEncoded = Schema.encodeSync(ExecutionEvent)

/**
 * Decodes an event from JSON-safe data; fails with a `ParseError` on malformed input.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodeUnknown = Schema.decodeUnknown(ExecutionEvent)

/**
 * True for the last event of an execution.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFinished = (event: ExecutionEvent): event is typeof Finished.Type => event._tag === "Finished"
