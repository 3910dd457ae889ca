/**
 * What running an execution produced. Never a thrown error for the expected cases:
 * completion, interruption (at a block boundary or inside a block), item errors and a
 * block-level failure are all values that say exactly what was done and what was not.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { InterruptRequest } from "./Interrupt.js"

/**
 * What happened to the items of the block that was running when the execution stopped.
 *
 * - `processed`: finished in this run (successfully or not).
 * - `skipped`: already done in an earlier run (resume) and not run again.
 * - `inFlightStopped`: started, then stopped before finishing (forced stop, or the item
 *   stopped at one of its own checkpoints).
 * - `notStarted`: never started.
 *
 * @since 0.1.0
 * @category models
 */
export const ItemsReport = Schema.Struct({
  processed: Schema.Array(Schema.String),
  skipped: Schema.Array(Schema.String),
  inFlightStopped: Schema.Array(Schema.String),
  notStarted: Schema.Array(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ItemsReport = typeof ItemsReport.Type

/**
 * The work that was kept when an execution did not complete: the output of the last
 * block that completed (if any), and the values of the current block's items that
 * succeeded, keyed by item id.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartialOutput {
  readonly output: Option.Option<unknown>
  readonly items: Readonly<Record<string, unknown>>
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const PartialOutput: Schema.Schema<PartialOutput, {
  readonly output: Schema.OptionEncoded<unknown>
  readonly items: { readonly [x: string]: unknown }
}> = Schema.Struct({
  output: Schema.Option(Schema.Unknown),
  items: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/**
 * An unexpected failure (a defect) inside an item or block, kept as a value so the rest of
 * the outcome survives.
 *
 * @since 0.1.0
 * @category errors
 */
export class CmdDefect extends Schema.TaggedError<CmdDefect>("@truce/core/CmdDefect")("CmdDefect", {
  message: Schema.String,
  stack: Schema.optional(Schema.String)
}) {
  /**
   * Wraps any thrown value.
   */
  static fromUnknown(defect: unknown): CmdDefect {
    if (defect instanceof Error) {
      return new CmdDefect({ message: defect.message, ...(defect.stack ? { stack: defect.stack } : {}) })
    }
    return new CmdDefect({ message: String(defect) })
  }
}

/**
 * The execution ran every block.
 *
 * @since 0.1.0
 * @category models
 */
export interface Complete<A> {
  readonly _tag: "Complete"
  readonly value: A
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
}

/**
 * An interrupt stopped the execution inside `block`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockInterrupted {
  readonly _tag: "BlockInterrupted"
  readonly block: string
  readonly items: ItemsReport
  readonly partial: PartialOutput
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
  readonly interrupt: InterruptRequest
}

/**
 * An interrupt stopped the execution at a block boundary (or while it was queued).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecutionInterrupted {
  readonly _tag: "ExecutionInterrupted"
  readonly partial: PartialOutput
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
  readonly interrupt: InterruptRequest
}

/**
 * Items of `block` failed; their errors are keyed by item id. Items that did not fail
 * are listed in `items`, and their values kept in `partial`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ItemErrors<E> {
  readonly _tag: "ItemErrors"
  readonly block: string
  readonly errors: Readonly<Record<string, E>>
  readonly items: ItemsReport
  readonly partial: PartialOutput
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
  readonly interrupt: Option.Option<InterruptRequest>
}

/**
 * `block` failed as a whole (its step, or the code that lists its items or builds its
 * output). The partial outcome is kept.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockFailed<E> {
  readonly _tag: "BlockFailed"
  readonly block: string
  readonly error: E
  readonly items: ItemsReport
  readonly partial: PartialOutput
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
}

/**
 * The outcome of an execution.
 *
 * @since 0.1.0
 * @category models
 */
export type CmdOutcome<A, E> = Complete<A> | BlockInterrupted | ExecutionInterrupted | ItemErrors<E> | BlockFailed<E>

/**
 * The JSON form of an outcome whose value and error types are unknown (as kept on a
 * stored record).
 *
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof Any.Encoded

/**
 * Builds the Schema of `CmdOutcome<A, E>` from the schemas of its value and error.
 *
 * @example
 * import { Schema } from "effect"
 * import { CmdOutcome } from "@truce/core"
 *
 * const OutcomeSchema = CmdOutcome.schema({ value: Schema.Number, error: Schema.String })
 * const json = Schema.encodeSync(OutcomeSchema)(CmdOutcome.complete(42, ["only"]))
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = <A, AI, E, EI>(options: {
  readonly value: Schema.Schema<A, AI>
  readonly error: Schema.Schema<E, EI>
}) => {
  const common = {
    blocksProcessed: Schema.Array(Schema.String),
    blocksNotProcessed: Schema.Array(Schema.String)
  }
  return Schema.Union(
    Schema.TaggedStruct("Complete", { value: options.value, ...common }),
    Schema.TaggedStruct("BlockInterrupted", {
      block: Schema.String,
      items: ItemsReport,
      partial: PartialOutput,
      interrupt: InterruptRequest,
      ...common
    }),
    Schema.TaggedStruct("ExecutionInterrupted", { partial: PartialOutput, interrupt: InterruptRequest, ...common }),
    Schema.TaggedStruct("ItemErrors", {
      block: Schema.String,
      errors: Schema.Record({ key: Schema.String, value: options.error }),
      items: ItemsReport,
      partial: PartialOutput,
      interrupt: Schema.Option(InterruptRequest),
      ...common
    }),
    Schema.TaggedStruct("BlockFailed", {
      block: Schema.String,
      error: options.error,
      items: ItemsReport,
      partial: PartialOutput,
      ...common
    })
  )
}

/**
 * A JSON-safe description of any error: its tag (if it has one), its message, and its
 * own enumerable fields.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorInfo = Schema.Struct({
  _tag: Schema.optional(Schema.String),
  message: Schema.String
}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorInfo = typeof ErrorInfo.Type

/**
 * Describes any error value as {@link ErrorInfo}.
 *
 * @example
 * import { CmdOutcome } from "@truce/core"
 * CmdOutcome.errorInfo(new Error("disk full")) // { message: "disk full", ... }
 *
 * @since 0.1.0
 * @category utils
 */
export const errorInfo = (error: unknown): ErrorInfo => {
  if (typeof error === "object" && error !== null) {
    const fields: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(error)) {
      if (key === "stack" || typeof value === "function") continue
      fields[key] = toJsonSafe(value)
    }
    const tag = (error as { _tag?: unknown })._tag
    const given = (error as { message?: unknown }).message
    // `Schema.TaggedError` without a message field derives one that only prints the fields
    // (`{ "instance": "db-1" }`): say which error it is instead.
    const derived = typeof given === "string" && !Object.prototype.hasOwnProperty.call(error, "message") &&
      typeof tag === "string" && given.startsWith("{") && given.endsWith("}")
    const message = derived ? undefined : given
    const own = Object.keys(fields).filter((key) => key !== "_tag" && key !== "message")
    const described = own.length === 0
      ? ""
      : ` (${own.map((key) => `${key}: ${safeStringify(fields[key])}`).join(", ")})`
    return {
      ...fields,
      ...(typeof tag === "string" ? { _tag: tag } : {}),
      message: typeof message === "string" && message.length > 0
        ? message
        : typeof tag === "string"
        ? `${tag}${described}`
        : safeStringify(error)
    }
  }
  return { message: String(error) }
}

const safeStringify = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const toJsonSafe = (value: unknown): unknown => {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value)
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Date) return value.toISOString()
  if (typeof value === "object") {
    try {
      return JSON.parse(JSON.stringify(value))
    } catch {
      return String(value)
    }
  }
  return undefined
}

/**
 * The schema for outcomes whose value is kept as it is (it must be JSON-safe to be
 * serialised) and whose errors are described as {@link ErrorInfo} when encoded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Any = schema({
  value: Schema.Unknown,
  error: Schema.transform(Schema.Unknown, Schema.Unknown, {
    strict: true,
    decode: (encoded) => encoded,
    encode: (error) => errorInfo(error)
  })
})

/**
 * Encodes any outcome to its JSON form (values as they are, errors as {@link ErrorInfo}).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeUnknown = (outcome: CmdOutcome<unknown, unknown>): Encoded =>
  Schema.encodeSync(Any)(outcome as typeof Any.Type)

/**
 * Decodes the JSON form of an outcome.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodeUnknown = (encoded: Encoded): CmdOutcome<unknown, unknown> =>
  Schema.decodeSync(Any)(encoded) as CmdOutcome<unknown, unknown>

const emptyPartial: PartialOutput = { output: Option.none(), items: {} }

/**
 * @example
 * import { CmdOutcome } from "@truce/core"
 * const outcome = CmdOutcome.complete("done", ["plan", "apply"])
 *
 * @since 0.1.0
 * @category constructors
 */
export const complete = <A>(value: A, blocksProcessed: ReadonlyArray<string>): Complete<A> => ({
  _tag: "Complete",
  value,
  blocksProcessed,
  blocksNotProcessed: []
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const executionInterrupted = (options: {
  readonly interrupt: InterruptRequest
  readonly blocksProcessed: ReadonlyArray<string>
  readonly blocksNotProcessed: ReadonlyArray<string>
  readonly partial?: PartialOutput | undefined
}): ExecutionInterrupted => ({
  _tag: "ExecutionInterrupted",
  interrupt: options.interrupt,
  blocksProcessed: options.blocksProcessed,
  blocksNotProcessed: options.blocksNotProcessed,
  partial: options.partial ?? emptyPartial
})

/**
 * Pattern match on every variant.
 *
 * @example
 * import { CmdOutcome } from "@truce/core"
 * const describe = CmdOutcome.match({
 *   Complete: (o) => `done: ${o.value}`,
 *   BlockInterrupted: (o) => `stopped in ${o.block}`,
 *   ExecutionInterrupted: () => "stopped between blocks",
 *   ItemErrors: (o) => `${Object.keys(o.errors).length} items failed`,
 *   BlockFailed: (o) => `${o.block} failed`
 * })
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match: {
  <A, E, R1, R2, R3, R4, R5>(cases: {
    readonly Complete: (outcome: Complete<A>) => R1
    readonly BlockInterrupted: (outcome: BlockInterrupted) => R2
    readonly ExecutionInterrupted: (outcome: ExecutionInterrupted) => R3
    readonly ItemErrors: (outcome: ItemErrors<E>) => R4
    readonly BlockFailed: (outcome: BlockFailed<E>) => R5
  }): (self: CmdOutcome<A, E>) => R1 | R2 | R3 | R4 | R5
  <A, E, R1, R2, R3, R4, R5>(self: CmdOutcome<A, E>, cases: {
    readonly Complete: (outcome: Complete<A>) => R1
    readonly BlockInterrupted: (outcome: BlockInterrupted) => R2
    readonly ExecutionInterrupted: (outcome: ExecutionInterrupted) => R3
    readonly ItemErrors: (outcome: ItemErrors<E>) => R4
    readonly BlockFailed: (outcome: BlockFailed<E>) => R5
  }): R1 | R2 | R3 | R4 | R5
} = dual(2, <A, E, R1, R2, R3, R4, R5>(self: CmdOutcome<A, E>, cases: {
  readonly Complete: (outcome: Complete<A>) => R1
  readonly BlockInterrupted: (outcome: BlockInterrupted) => R2
  readonly ExecutionInterrupted: (outcome: ExecutionInterrupted) => R3
  readonly ItemErrors: (outcome: ItemErrors<E>) => R4
  readonly BlockFailed: (outcome: BlockFailed<E>) => R5
}): R1 | R2 | R3 | R4 | R5 => {
  switch (self._tag) {
    case "Complete":
      return cases.Complete(self)
    case "BlockInterrupted":
      return cases.BlockInterrupted(self)
    case "ExecutionInterrupted":
      return cases.ExecutionInterrupted(self)
    case "ItemErrors":
      return cases.ItemErrors(self)
    case "BlockFailed":
      return cases.BlockFailed(self)
  }
})

/**
 * Maps the value of a complete outcome; other variants are returned unchanged.
 *
 * @example
 * import { CmdOutcome } from "@truce/core"
 * const answer: CmdOutcome.CmdOutcome<number, never> = CmdOutcome.complete(21, ["compute"])
 * const doubled = CmdOutcome.map(answer, (n) => n * 2)
 *
 * @since 0.1.0
 * @category mapping
 */
export const map: {
  <A, B>(f: (a: A) => B): <E>(self: CmdOutcome<A, E>) => CmdOutcome<B, E>
  <A, E, B>(self: CmdOutcome<A, E>, f: (a: A) => B): CmdOutcome<B, E>
} = dual(
  2,
  <A, E, B>(self: CmdOutcome<A, E>, f: (a: A) => B): CmdOutcome<B, E> =>
    self._tag === "Complete" ? { ...self, value: f(self.value) } : self
)

/**
 * Maps the errors of `ItemErrors` and `BlockFailed`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const mapError: {
  <E, E2>(f: (e: E) => E2): <A>(self: CmdOutcome<A, E>) => CmdOutcome<A, E2>
  <A, E, E2>(self: CmdOutcome<A, E>, f: (e: E) => E2): CmdOutcome<A, E2>
} = dual(2, <A, E, E2>(self: CmdOutcome<A, E>, f: (e: E) => E2): CmdOutcome<A, E2> => {
  switch (self._tag) {
    case "ItemErrors": {
      const errors: Record<string, E2> = {}
      for (const key of Object.keys(self.errors)) errors[key] = f(self.errors[key] as E)
      return { ...self, errors }
    }
    case "BlockFailed":
      return { ...self, error: f(self.error) }
    default:
      return self
  }
})

/**
 * @since 0.1.0
 * @category guards
 */
export const isComplete = <A, E>(self: CmdOutcome<A, E>): self is Complete<A> => self._tag === "Complete"

/**
 * True for `BlockInterrupted` and `ExecutionInterrupted`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInterrupted = <A, E>(self: CmdOutcome<A, E>): self is BlockInterrupted | ExecutionInterrupted =>
  self._tag === "BlockInterrupted" || self._tag === "ExecutionInterrupted"

/**
 * True for `ItemErrors` and `BlockFailed`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFailure = <A, E>(self: CmdOutcome<A, E>): self is ItemErrors<E> | BlockFailed<E> =>
  self._tag === "ItemErrors" || self._tag === "BlockFailed"

/**
 * The interrupt that stopped (or was pending when) the execution ended, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const interruptOf = <A, E>(self: CmdOutcome<A, E>): Option.Option<InterruptRequest> => {
  switch (self._tag) {
    case "BlockInterrupted":
    case "ExecutionInterrupted":
      return Option.some(self.interrupt)
    case "ItemErrors":
      return self.interrupt
    default:
      return Option.none()
  }
}
