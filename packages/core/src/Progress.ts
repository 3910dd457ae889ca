/**
 * Progress of items: status, limit, units done, message, timing and ETA.
 *
 * Items report progress through a {@link ProgressHandle}; the engine turns every change into
 * an `ItemProgress` event with a per-execution sequence number (see `ExecutionEvent`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * What an item is doing.
 *
 * `Pending` (not started), `Queued` (waiting for a concurrency slot or a dependency),
 * `Running`, `Stalled` (running but silent for longer than the stall threshold),
 * `Interrupting` (asked to stop, finishing), and the complete states `Success`, `Fail`,
 * `Interrupted`, `Skipped` (done in an earlier run).
 *
 * @since 0.1.0
 * @category models
 */
export const ItemStatus = Schema.Literal(
  "Pending",
  "Queued",
  "Running",
  "Stalled",
  "Interrupting",
  "Success",
  "Fail",
  "Interrupted",
  "Skipped"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ItemStatus = typeof ItemStatus.Type

/**
 * True for the four complete statuses.
 *
 * @example
 * import { Progress } from "@truce/core"
 * Progress.isComplete("Skipped") // true
 *
 * @since 0.1.0
 * @category guards
 */
export const isComplete = (status: ItemStatus): boolean =>
  status === "Success" || status === "Fail" || status === "Interrupted" || status === "Skipped"

/**
 * How much work an item has: unknown, a number of steps, or a number of bytes.
 *
 * @since 0.1.0
 * @category models
 */
export const ProgressLimit = Schema.Union(
  Schema.TaggedStruct("Unknown", {}),
  Schema.TaggedStruct("Steps", { n: Schema.NonNegative }),
  Schema.TaggedStruct("Bytes", { n: Schema.NonNegative })
)

/**
 * @since 0.1.0
 * @category models
 */
export type ProgressLimit = typeof ProgressLimit.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const Unknown: ProgressLimit = { _tag: "Unknown" }

/**
 * @example
 * import { Progress } from "@truce/core"
 * const limit = Progress.Steps(10)
 *
 * @since 0.1.0
 * @category constructors
 */
export const Steps = (n: number): ProgressLimit => ({ _tag: "Steps", n })

/**
 * @example
 * import { Progress } from "@truce/core"
 * const limit = Progress.Bytes(1024 * 1024)
 *
 * @since 0.1.0
 * @category constructors
 */
export const Bytes = (n: number): ProgressLimit => ({ _tag: "Bytes", n })

/**
 * A snapshot of one item's progress. Times are epoch milliseconds; `etaMs` is the
 * estimated remaining time at `updatedAt`, present once a rate can be measured.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemProgress = Schema.Struct({
  block: Schema.String,
  item: Schema.String,
  status: ItemStatus,
  limit: ProgressLimit,
  units: Schema.Number,
  message: Schema.optional(Schema.String),
  startedAt: Schema.optional(Schema.Number),
  updatedAt: Schema.Number,
  etaMs: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ItemProgress = typeof ItemProgress.Type

/**
 * Counts of items by status, for a block.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemCounts = Schema.Struct({
  total: Schema.Number,
  pending: Schema.Number,
  running: Schema.Number,
  stalled: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  interrupted: Schema.Number,
  skipped: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type ItemCounts = typeof ItemCounts.Type

/**
 * The progress summary kept on an execution record: where the execution is and how
 * far the current block has come.
 *
 * @since 0.1.0
 * @category models
 */
export const ProgressSummary = Schema.Struct({
  seq: Schema.Number,
  updatedAt: Schema.Number,
  block: Schema.optional(Schema.String),
  blockIndex: Schema.Number,
  blocksTotal: Schema.Number,
  blocksDone: Schema.Number,
  items: ItemCounts,
  message: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ProgressSummary = typeof ProgressSummary.Type

/**
 * An empty summary for an execution with `blocksTotal` blocks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptySummary = (blocksTotal: number, now: number): ProgressSummary => ({
  seq: 0,
  updatedAt: now,
  blockIndex: 0,
  blocksTotal,
  blocksDone: 0,
  items: { total: 0, pending: 0, running: 0, stalled: 0, succeeded: 0, failed: 0, interrupted: 0, skipped: 0 }
})

/**
 * A change an item reports. `inc` adds units; `units` sets them; both may not be given.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressUpdate {
  readonly inc?: number | undefined
  readonly units?: number | undefined
  readonly limit?: ProgressLimit | undefined
  readonly message?: string | undefined
}

/**
 * The handle an item uses to report progress. The Effect methods and the `unsafe`
 * variant (for callbacks from non-Effect code) do the same thing: update the snapshot and
 * emit one event. None of them ever blocks on a slow output.
 *
 * @example
 * import { Effect } from "effect"
 * import { Progress } from "@truce/core"
 *
 * const copy = (progress: Progress.ProgressHandle) =>
 *   Effect.gen(function*() {
 *     yield* progress.setLimit(Progress.Bytes(4096))
 *     yield* progress.inc(1024)
 *     yield* progress.message("copying chunk 2 of 4")
 *   })
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressHandle {
  readonly setLimit: (limit: ProgressLimit) => Effect.Effect<void>
  readonly inc: (units?: number) => Effect.Effect<void>
  readonly set: (units: number) => Effect.Effect<void>
  readonly message: (text: string) => Effect.Effect<void>
  readonly update: (update: ProgressUpdate) => Effect.Effect<void>
  readonly unsafeUpdate: (update: ProgressUpdate) => void
}

/**
 * Estimated remaining milliseconds, from the average rate since the item started.
 * Undefined when the limit is unknown or no rate can be measured yet.
 *
 * @example
 * import { Progress } from "@truce/core"
 * Progress.estimateRemaining(Progress.Steps(10), 5, 0, 1000) // 1000
 *
 * @since 0.1.0
 * @category utils
 */
export const estimateRemaining = (
  limit: ProgressLimit,
  units: number,
  startedAt: number | undefined,
  now: number
): number | undefined => {
  if (limit._tag === "Unknown" || startedAt === undefined || units <= 0) return undefined
  const elapsed = now - startedAt
  if (elapsed <= 0) return undefined
  const remainingUnits = limit.n - units
  if (remainingUnits <= 0) return 0
  return Math.round(remainingUnits * elapsed / units)
}

/**
 * The fraction done in `[0, 1]`, or undefined when the limit is unknown.
 *
 * @example
 * import { Progress } from "@truce/core"
 * Progress.fraction(Progress.Bytes(200), 50) // 0.25
 *
 * @since 0.1.0
 * @category utils
 */
export const fraction = (limit: ProgressLimit, units: number): number | undefined => {
  if (limit._tag === "Unknown") return undefined
  if (limit.n <= 0) return 1
  return Math.max(0, Math.min(1, units / limit.n))
}
