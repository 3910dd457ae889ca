/**
 * Endpoints connect an execution to the outside world; several can be attached at once.
 *
 * - A {@link ProgressOutput} receives the execution's events (terminal bars, a log file,
 *   a web stream). Each output reads at its own pace: a slow output never slows the
 *   execution, and one that falls behind gets a `Snapshot` instead of the events it missed.
 * - An {@link OutcomeOutput} presents the outcome when the execution ends.
 * - An {@link InputEndpoint} yields interrupt requests (a signal handler, a web route).
 *
 * Adding a new kind of output is one object implementing one of these interfaces.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { CmdOutcome } from "./CmdOutcome.js"
import type { ExecutionEvent } from "./ExecutionEvent.js"
import type { ExecutionRecord } from "./ExecutionRecord.js"
import type { InterruptRequestInput } from "./Interrupt.js"

/**
 * Receives batches of events, in order. `write` is called again only after the previous
 * call finished; the batch holds everything that arrived meanwhile (up to a bound).
 *
 * @example
 * import { Effect } from "effect"
 * import { Endpoint } from "@truce/core"
 *
 * const log = Endpoint.progressOutput("log", (events) =>
 *   Effect.sync(() => events.forEach((event) => console.log(event.seq, event._tag))))
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressOutput {
  readonly name: string
  readonly write: (events: ReadonlyArray<ExecutionEvent>) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const progressOutput = (
  name: string,
  write: (events: ReadonlyArray<ExecutionEvent>) => Effect.Effect<void>
): ProgressOutput => ({ name, write })

/**
 * Presents the outcome of an execution when it ends (after the final record is stored).
 *
 * @since 0.1.0
 * @category models
 */
export interface OutcomeOutput {
  readonly name: string
  readonly present: (outcome: CmdOutcome<unknown, unknown>, record: ExecutionRecord) => Effect.Effect<void>
}

/**
 * @example
 * import { Effect } from "effect"
 * import { Endpoint } from "@truce/core"
 *
 * const print = Endpoint.outcomeOutput("print", (outcome) => Effect.log(`finished: ${outcome._tag}`))
 *
 * @since 0.1.0
 * @category constructors
 */
export const outcomeOutput = (
  name: string,
  present: (outcome: CmdOutcome<unknown, unknown>, record: ExecutionRecord) => Effect.Effect<void>
): OutcomeOutput => ({ name, present })

/**
 * A source of interrupt requests for one execution. The stream is consumed while the
 * execution runs and stopped when it ends.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputEndpoint {
  readonly name: string
  readonly requests: Stream.Stream<InterruptRequestInput>
}

/**
 * @example
 * import { Stream } from "effect"
 * import { Endpoint } from "@truce/core"
 *
 * const afterFirstEvent = Endpoint.inputEndpoint("test", Stream.make({ source: "api" as const }))
 *
 * @since 0.1.0
 * @category constructors
 */
export const inputEndpoint = (name: string, requests: Stream.Stream<InterruptRequestInput>): InputEndpoint => ({
  name,
  requests
})

/**
 * An output that collects every event in an array (for tests and small tools).
 *
 * @since 0.1.0
 * @category constructors
 */
export const collect = (): { readonly output: ProgressOutput; readonly events: Array<ExecutionEvent> } => {
  const events: Array<ExecutionEvent> = []
  return {
    events,
    output: progressOutput("collect", (batch) =>
      Effect.sync(() => {
        for (const event of batch) events.push(event)
      }))
  }
}
