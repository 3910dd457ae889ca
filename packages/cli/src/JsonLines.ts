/**
 * Machine-readable output: one JSON object per line (JSON lines). Every execution event
 * is a line `{"type":"event","event":{…}}` (the event as `ExecutionEvent.encode` writes
 * it), and the last line is `{"type":"outcome",…}` with the exit code, a summary, the
 * encoded outcome and the final record. Nothing else is written to the stream (notices
 * for people go to stderr), so a CI script can parse every line.
 *
 * The lines are described by {@link Line} (an `effect/Schema`), so a TypeScript consumer
 * decodes them with {@link decodeLine}; others read the schema in `docs/cli.md`.
 *
 * @since 0.1.0
 */
import * as CmdOutcome from "@truce/core/CmdOutcome"
import type { OutcomeOutput, ProgressOutput } from "@truce/core/Endpoint"
import { outcomeOutput, progressOutput } from "@truce/core/Endpoint"
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as OutcomeSummary from "./OutcomeSummary.js"

/**
 * A line carrying one execution event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventLine = Schema.Struct({
  type: Schema.Literal("event"),
  event: ExecutionEvent.ExecutionEvent
})

/**
 * @since 0.1.0
 * @category models
 */
export type EventLine = typeof EventLine.Type

/**
 * The last line: how the execution ended. `exitCode` is the process's exit code,
 * `summary` the same data the human summary shows, `outcome` the encoded outcome
 * (`CmdOutcome.Any`) and `record` the final execution record.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OutcomeLine = Schema.Struct({
  type: Schema.Literal("outcome"),
  executionId: Schema.String,
  state: ExecutionRecord.ExecutionState,
  exitCode: Schema.Number,
  summary: OutcomeSummary.Summary,
  outcome: CmdOutcome.Any,
  record: ExecutionRecord.ExecutionRecord
})

/**
 * @since 0.1.0
 * @category models
 */
export type OutcomeLine = typeof OutcomeLine.Type

/**
 * Any line.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Line = Schema.Union(EventLine, OutcomeLine)

/**
 * @since 0.1.0
 * @category models
 */
export type Line = typeof Line.Type

/**
 * Decodes one line of text (JSON) into a typed {@link Line}; fails with a `ParseError`
 * on anything else.
 *
 * @example
 * import { Effect } from "effect"
 * import { JsonLines } from "@truce/cli"
 *
 * const program = JsonLines.decodeLine('{"type":"event","event":{"_tag":"BlockFinished","seq":3,"at":0,"block":"b","index":0,"status":"Complete"}}')
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeLine: (text: string) => Effect.Effect<Line, ParseResult.ParseError> = Schema.decodeUnknown(
  Schema.parseJson(Line)
)

/**
 * The text of an event line (no trailing newline).
 *
 * @since 0.1.0
 * @category encoding
 */
export const eventLine = (event: ExecutionEvent.ExecutionEvent): string =>
  JSON.stringify({ type: "event", event: ExecutionEvent.encode(event) })

/**
 * The text of the outcome line (no trailing newline).
 *
 * @since 0.1.0
 * @category encoding
 */
export const outcomeLine = (
  outcome: CmdOutcome.CmdOutcome<unknown, unknown>,
  record: ExecutionRecord.ExecutionRecord
): string => {
  const summary = OutcomeSummary.summarize(outcome, record)
  return JSON.stringify({
    type: "outcome",
    executionId: record.id,
    state: record.state,
    exitCode: summary.exitCode,
    summary: Schema.encodeSync(OutcomeSummary.Summary)(summary),
    outcome: record.outcome ?? CmdOutcome.encodeUnknown(outcome),
    record: ExecutionRecord.encode(record)
  })
}

/**
 * A JSON-lines output: the progress output writes event lines, the outcome output writes
 * the outcome line (which the engine calls after every event was written).
 *
 * @example
 * import { JsonLines } from "@truce/cli"
 *
 * const json = JsonLines.make()
 * // CmdExecution.run(execution, input, { outputs: [json.output], outcomeOutputs: [json.outcome] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly stream?: { readonly write: (chunk: string) => unknown } | undefined
} = {}): { readonly output: ProgressOutput; readonly outcome: OutcomeOutput } => {
  const stream = options.stream ?? process.stdout
  let lastSeq = 0
  return {
    output: progressOutput("json-lines", (events) =>
      Effect.sync(() => {
        let text = ""
        for (const event of events) {
          // Each event once, in order: sequence numbers only grow.
          if (event.seq <= lastSeq) continue
          lastSeq = event.seq
          text += eventLine(event) + "\n"
        }
        if (text.length > 0) stream.write(text)
      })),
    outcome: outcomeOutput("json-lines", (outcome, record) =>
      Effect.sync(() => {
        stream.write(outcomeLine(outcome, record) + "\n")
      }))
  }
}
