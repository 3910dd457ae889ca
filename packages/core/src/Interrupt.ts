/**
 * Interrupts are values, not just signals: who asked, why, when, and how hard.
 *
 * An {@link InterruptRequest} is recorded on the execution it targets. How the engine
 * reacts depends on the execution's {@link InterruptStrategy} and on escalation: a second
 * request, or the end of a grace period, turns a graceful stop into an immediate one.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

/**
 * Where an interrupt came from.
 *
 * - `sigint`: Ctrl-C at a terminal.
 * - `http`: an HTTP cancel request.
 * - `timeout`: the execution's deadline passed.
 * - `shutdown`: the process or the scope running the execution is closing (also SIGTERM).
 * - `api`: a call from code (`CmdExecutionMap.interrupt`).
 * - `process-lost`: the process running the execution died; found on restart.
 * - `parent`: a parent execution or scope asked its children to stop.
 *
 * @example
 * import { Interrupt } from "@truce/core"
 * const source: Interrupt.InterruptSource = "sigint"
 *
 * @since 0.1.0
 * @category models
 */
export const InterruptSource = Schema.Literal("sigint", "http", "timeout", "shutdown", "api", "process-lost", "parent")

/**
 * @since 0.1.0
 * @category models
 */
export type InterruptSource = typeof InterruptSource.Type

/**
 * How hard a request asks: `graceful` follows the execution's strategy, `force` stops
 * in-flight items now (their finalizers and uninterruptible regions still run).
 *
 * @since 0.1.0
 * @category models
 */
export const InterruptMode = Schema.Literal("graceful", "force")

/**
 * @since 0.1.0
 * @category models
 */
export type InterruptMode = typeof InterruptMode.Type

/**
 * An interrupt request, as recorded on the execution.
 *
 * @example
 * import { Interrupt } from "@truce/core"
 * const request = Interrupt.request({ source: "api", reason: "deploy window closed", requestedBy: "ops" })
 *
 * @since 0.1.0
 * @category models
 */
export class InterruptRequest extends Schema.Class<InterruptRequest>("@truce/core/InterruptRequest")({
  source: InterruptSource,
  mode: InterruptMode,
  at: Schema.Date,
  reason: Schema.optional(Schema.String),
  requestedBy: Schema.optional(Schema.String)
}) {}

/**
 * The fields a caller supplies; `at` defaults to now and `mode` to `graceful`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InterruptRequestInput {
  readonly source: InterruptSource
  readonly mode?: InterruptMode | undefined
  readonly reason?: string | undefined
  readonly requestedBy?: string | undefined
  readonly at?: Date | undefined
}

/**
 * Builds an {@link InterruptRequest}, filling `at` (now) and `mode` (`graceful`).
 *
 * @example
 * import { Interrupt } from "@truce/core"
 * const forced = Interrupt.request({ source: "sigint", mode: "force" })
 *
 * @since 0.1.0
 * @category constructors
 */
export const request = (input: InterruptRequestInput): InterruptRequest =>
  new InterruptRequest({
    source: input.source,
    mode: input.mode ?? "graceful",
    at: input.at ?? new Date(),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.requestedBy !== undefined ? { requestedBy: input.requestedBy } : {})
  }, { disableValidation: true })

/**
 * How an execution (or one block) reacts to a graceful interrupt.
 *
 * - `FinishCurrent` (default): items in flight finish; nothing new starts.
 * - `PollNextN(n)`: up to `n` more stopping points let work go on (each item start and
 *   each block boundary counts as one), then it stops as `FinishCurrent` does.
 * - `IgnoreInterruptions`: the block runs to its end; the interrupt applies at the next
 *   block boundary. Cooperative checks inside items report no interrupt.
 * - `Immediate`: in-flight item fibers are interrupted now.
 *
 * A forced request (or escalation) always behaves as `Immediate`.
 *
 * @example
 * import { Interrupt } from "@truce/core"
 * const strategy = Interrupt.PollNextN({ n: 3 })
 *
 * @since 0.1.0
 * @category models
 */
export type InterruptStrategy = Data.TaggedEnum<{
  FinishCurrent: {}
  PollNextN: { readonly n: number }
  IgnoreInterruptions: {}
  Immediate: {}
}>

const strategies = Data.taggedEnum<InterruptStrategy>()

/**
 * @since 0.1.0
 * @category constructors
 */
export const FinishCurrent: InterruptStrategy = strategies.FinishCurrent()

/**
 * @since 0.1.0
 * @category constructors
 */
export const IgnoreInterruptions: InterruptStrategy = strategies.IgnoreInterruptions()

/**
 * @since 0.1.0
 * @category constructors
 */
export const Immediate: InterruptStrategy = strategies.Immediate()

/**
 * @since 0.1.0
 * @category constructors
 */
export const PollNextN = (args: { readonly n: number }): InterruptStrategy => {
  if (!Number.isInteger(args.n) || args.n < 0) {
    throw new RangeError(`PollNextN needs a non-negative integer, got ${args.n}`)
  }
  return strategies.PollNextN(args)
}

/**
 * Pattern match on a strategy.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const matchStrategy = strategies.$match

/**
 * The serialised form of a strategy (for records and HTTP).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InterruptStrategySchema: Schema.Schema<InterruptStrategy> = Schema.Union(
  Schema.TaggedStruct("FinishCurrent", {}),
  Schema.TaggedStruct("PollNextN", { n: Schema.NonNegativeInt }),
  Schema.TaggedStruct("IgnoreInterruptions", {}),
  Schema.TaggedStruct("Immediate", {})
)

/**
 * The answer to an interrupt request.
 *
 * - `Accepted`: recorded; `escalated` is true when it turned a graceful stop into an immediate one.
 * - `NotCancellable`: the execution was started with `cancellable: false`.
 * - `AlreadyFinished`: nothing to interrupt; the execution has ended.
 * - `UnknownId`: no execution has that id.
 *
 * @since 0.1.0
 * @category models
 */
export type InterruptResult = Data.TaggedEnum<{
  Accepted: { readonly interrupt: InterruptRequest; readonly escalated: boolean }
  NotCancellable: {}
  AlreadyFinished: { readonly state: string }
  UnknownId: {}
}>

/**
 * Constructors and matchers for {@link InterruptResult}.
 *
 * @example
 * import { Interrupt } from "@truce/core"
 * const describe = Interrupt.InterruptResult.$match({
 *   Accepted: () => "interrupting",
 *   NotCancellable: () => "cannot be cancelled",
 *   AlreadyFinished: () => "nothing to interrupt",
 *   UnknownId: () => "no such execution"
 * })
 *
 * @since 0.1.0
 * @category constructors
 */
export const InterruptResult = Data.taggedEnum<InterruptResult>()
