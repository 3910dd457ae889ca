/**
 * The uniform record every execution leaves behind, whatever its command: the audit
 * trail that clients query and wait on.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Permissions } from "./Access.js"
import * as CmdOutcome from "./CmdOutcome.js"
import { InterruptRequest, InterruptStrategySchema } from "./Interrupt.js"
import { ProgressSummary } from "./Progress.js"

/**
 * An execution's id: unique and unguessable (122 random bits).
 *
 * @since 0.1.0
 * @category models
 */
export const ExecutionId = Schema.String.pipe(Schema.brand("@truce/core/ExecutionId"))

/**
 * @since 0.1.0
 * @category models
 */
export type ExecutionId = typeof ExecutionId.Type

/**
 * A fresh, unguessable execution id.
 *
 * @example
 * import { ExecutionRecord } from "@truce/core"
 * const id = ExecutionRecord.makeId()
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeId = (): ExecutionId =>
  // `randomUUID` builds its result as a rope of 14 concatenated strings (~450 bytes kept per
  // id); `join` gives one flat string of 36 characters.
  ExecutionId.make(globalThis.crypto.randomUUID().split("-").join("-"))

/**
 * Where an execution is in its life.
 *
 * `Queued` (waiting for a concurrency slot), `Running`, `Interrupting` (an interrupt was
 * accepted; finishing), and the terminal states `Succeeded`, `Failed`, `Interrupted`,
 * `TimedOut`.
 *
 * @since 0.1.0
 * @category models
 */
export const ExecutionState = Schema.Literal(
  "Queued",
  "Running",
  "Interrupting",
  "Succeeded",
  "Failed",
  "Interrupted",
  "TimedOut"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ExecutionState = typeof ExecutionState.Type

/**
 * @example
 * import { ExecutionRecord } from "@truce/core"
 * ExecutionRecord.isTerminal("TimedOut") // true
 *
 * @since 0.1.0
 * @category guards
 */
export const isTerminal = (state: ExecutionState): boolean =>
  state === "Succeeded" || state === "Failed" || state === "Interrupted" || state === "TimedOut"

/**
 * The terminal state an outcome maps to.
 *
 * @since 0.1.0
 * @category utils
 */
export const stateOfOutcome = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>): ExecutionState => {
  switch (outcome._tag) {
    case "Complete":
      return "Succeeded"
    case "ItemErrors":
    case "BlockFailed":
      return "Failed"
    case "BlockInterrupted":
    case "ExecutionInterrupted":
      return outcome.interrupt.source === "timeout" ? "TimedOut" : "Interrupted"
  }
}

/**
 * The state of a callback delivery (HTTP callbacks on terminal states).
 *
 * @since 0.1.0
 * @category models
 */
export const CallbackStatus = Schema.Struct({
  url: Schema.String,
  state: Schema.Literal("Pending", "Delivering", "Delivered", "Failed"),
  attempts: Schema.Number,
  lastError: Schema.optional(Schema.String),
  lastAttemptAt: Schema.optional(Schema.Date),
  deliveredAt: Schema.optional(Schema.Date)
})

/**
 * @since 0.1.0
 * @category models
 */
export type CallbackStatus = typeof CallbackStatus.Type

/**
 * The execution record. `input` is the encoded input (absent, with `inputRedacted`, when
 * the start asked not to keep it); `outcome`
 * is the encoded outcome (see `CmdOutcome.decodeUnknown` or the command's own schema);
 * `error` summarises a failure; `interrupt` is the request that stopped the execution
 * and `interrupts` every request received.
 *
 * @since 0.1.0
 * @category models
 */
export const ExecutionRecord = Schema.Struct({
  id: ExecutionId,
  command: Schema.String,
  state: ExecutionState,
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  startedAt: Schema.optional(Schema.Date),
  finishedAt: Schema.optional(Schema.Date),
  expiresAt: Schema.optional(Schema.Date),
  owner: Schema.optional(Schema.String),
  permissions: Permissions,
  input: Schema.optional(Schema.Unknown),
  inputRedacted: Schema.optional(Schema.Boolean),
  blocks: Schema.Array(Schema.String),
  progress: ProgressSummary,
  outcome: Schema.optional(Schema.encodedSchema(CmdOutcome.Any)),
  error: Schema.optional(CmdOutcome.ErrorInfo),
  interrupt: Schema.optional(InterruptRequest),
  interrupts: Schema.Array(InterruptRequest),
  strategy: InterruptStrategySchema,
  cancellable: Schema.Boolean,
  timeoutMs: Schema.optional(Schema.Number),
  callback: Schema.optional(CallbackStatus),
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  resumedFrom: Schema.optional(ExecutionId),
  resumable: Schema.Boolean,
  idempotencyKey: Schema.optional(Schema.String),
  idempotencyFingerprint: Schema.optional(Schema.String),
  runner: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ExecutionRecord = typeof ExecutionRecord.Type

/**
 * The JSON form of a record.
 *
 * @since 0.1.0
 * @category models
 */
export type ExecutionRecordEncoded = typeof ExecutionRecord.Encoded

/**
 * Encodes a record to JSON-safe data.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (record: ExecutionRecord) => ExecutionRecordEncoded = Schema.encodeSync(ExecutionRecord)

/**
 * Decodes a record from JSON-safe data (throws a `ParseError` on invalid data; use
 * `Schema.decodeUnknown(ExecutionRecord)` for an Effect).
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode: (encoded: ExecutionRecordEncoded) => ExecutionRecord = Schema.decodeSync(ExecutionRecord)

/**
 * The fields of a record that change after it is created.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordPatch = {
  readonly [
    K in
      | "state"
      | "updatedAt"
      | "startedAt"
      | "finishedAt"
      | "expiresAt"
      | "progress"
      | "outcome"
      | "error"
      | "interrupt"
      | "interrupts"
      | "callback"
      | "labels"
      | "runner"
  ]?: ExecutionRecord[K]
}

/**
 * One line of the append-only transition log: who or what moved an execution from one
 * state to another, and when.
 *
 * @since 0.1.0
 * @category models
 */
export const Transition = Schema.Struct({
  executionId: ExecutionId,
  at: Schema.Date,
  from: Schema.optional(ExecutionState),
  to: ExecutionState,
  actor: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Transition = typeof Transition.Type

/**
 * The state an item reached, recorded when it completes (successfully, with an error, or
 * interrupted). `value` is the item's result, encoded by the block's state schema when
 * it has one. A resumed execution skips items whose recorded status is `Success` or
 * `Skipped`.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemState = Schema.Struct({
  executionId: ExecutionId,
  block: Schema.String,
  item: Schema.String,
  status: Schema.Literal("Success", "Fail", "Interrupted", "Skipped"),
  value: Schema.optional(Schema.Unknown),
  error: Schema.optional(CmdOutcome.ErrorInfo),
  startedAt: Schema.optional(Schema.Date),
  finishedAt: Schema.Date
})

/**
 * @since 0.1.0
 * @category models
 */
export type ItemState = typeof ItemState.Type
