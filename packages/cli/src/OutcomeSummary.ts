/**
 * What the person at the terminal (or the CI script) is told when an execution ends:
 * which blocks were done, interrupted or never started; for the block that was running,
 * which items were processed, stopped in flight or never started; every error with its
 * item and message; and the exit code.
 *
 * `summarize` builds the data (a Schema, so the JSON output carries it as it is);
 * `lines` draws it for people; `textOutput` is an `OutcomeOutput` printing it.
 *
 * @since 0.1.0
 */
import * as CmdOutcome from "@truce/core/CmdOutcome"
import type { OutcomeOutput } from "@truce/core/Endpoint"
import { outcomeOutput } from "@truce/core/Endpoint"
import type { ExecutionRecord } from "@truce/core/ExecutionRecord"
import { ExecutionState } from "@truce/core/ExecutionRecord"
import { InterruptMode, InterruptSource } from "@truce/core/Interrupt"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Format from "./Format.js"

/**
 * The exit codes of a CLI run: 0 complete, 1 failed (item errors or a failed block), 130
 * interrupted (the shell's convention for SIGINT; also used for SIGTERM, timeouts and
 * other interrupt sources — the JSON outcome line says which).
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCodes = {
  complete: 0,
  failed: 1,
  interrupted: 130
} as const

/**
 * The exit code for an outcome.
 *
 * @example
 * import { CmdOutcome } from "@truce/core"
 * import { OutcomeSummary } from "@truce/cli"
 *
 * OutcomeSummary.exitCode(CmdOutcome.complete(1, ["only"])) // 0
 *
 * @since 0.1.0
 * @category utils
 */
export const exitCode = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>): 0 | 1 | 130 => {
  switch (outcome._tag) {
    case "Complete":
      return ExitCodes.complete
    case "ItemErrors":
    case "BlockFailed":
      return ExitCodes.failed
    case "BlockInterrupted":
    case "ExecutionInterrupted":
      return ExitCodes.interrupted
  }
}

/**
 * One error: the block, the item (absent when the block failed as a whole), the message
 * and the error's tag when it has one.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorEntry = Schema.Struct({
  block: Schema.String,
  item: Schema.optional(Schema.String),
  message: Schema.String,
  tag: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorEntry = typeof ErrorEntry.Type

/**
 * The summary of a finished execution.
 *
 * - `blocks`: `done`, `interrupted` (stopped inside), `failed`, `notStarted`.
 * - `block` and `items`: the block that was running when the execution stopped, and what
 *   happened to its items (ids): `processed` (finished in this run, with or without an
 *   error), `skipped` (done in an earlier run), `inFlightStopped`, `notStarted`.
 * - `errors`: every item error (or the block's error).
 *
 * @since 0.1.0
 * @category models
 */
export const Summary = Schema.Struct({
  executionId: Schema.String,
  command: Schema.String,
  state: ExecutionState,
  outcome: Schema.Literal("Complete", "BlockInterrupted", "ExecutionInterrupted", "ItemErrors", "BlockFailed"),
  exitCode: Schema.Number,
  durationMs: Schema.optional(Schema.Number),
  resumedFrom: Schema.optional(Schema.String),
  interrupt: Schema.optional(Schema.Struct({
    source: InterruptSource,
    mode: InterruptMode,
    reason: Schema.optional(Schema.String),
    requestedBy: Schema.optional(Schema.String)
  })),
  blocks: Schema.Struct({
    done: Schema.Array(Schema.String),
    interrupted: Schema.Array(Schema.String),
    failed: Schema.Array(Schema.String),
    notStarted: Schema.Array(Schema.String)
  }),
  block: Schema.optional(Schema.String),
  items: Schema.optional(CmdOutcome.ItemsReport),
  errors: Schema.Array(ErrorEntry)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Summary = typeof Summary.Type

/**
 * Builds the summary of an outcome and its final record.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { OutcomeSummary } from "@truce/cli"
 *
 * const hello = CmdExecution.make("hello").pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "greet", run: () => Effect.succeed("hi") }))
 * )
 * const program = Effect.gen(function*() {
 *   const map = yield* CmdExecutionMap.CmdExecutionMap
 *   const id = yield* map.start(hello, undefined)
 *   const outcome = yield* map.await(id)
 *   const record = yield* map.awaitRecord(id)
 *   return OutcomeSummary.summarize(outcome, record)
 * }).pipe(Effect.provide(CmdExecutionMap.layerMemory()))
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarize = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>, record: ExecutionRecord): Summary => {
  const base = {
    executionId: record.id as string,
    command: record.command,
    state: record.state,
    outcome: outcome._tag,
    exitCode: exitCode(outcome),
    ...(record.startedAt !== undefined && record.finishedAt !== undefined
      ? { durationMs: record.finishedAt.getTime() - record.startedAt.getTime() }
      : {}),
    ...(record.resumedFrom !== undefined ? { resumedFrom: record.resumedFrom as string } : {})
  }
  /** The blocks, the current one (if any) listed as interrupted or failed. */
  const blocks = (current?: { readonly block: string; readonly as: "interrupted" | "failed" }) => ({
    done: outcome.blocksProcessed,
    interrupted: current?.as === "interrupted" ? [current.block] : [],
    failed: current?.as === "failed" ? [current.block] : [],
    notStarted: outcome.blocksNotProcessed
  })
  switch (outcome._tag) {
    case "Complete":
      return { ...base, blocks: blocks(), errors: [] }
    case "ExecutionInterrupted":
      return { ...base, interrupt: interruptEntry(outcome.interrupt), blocks: blocks(), errors: [] }
    case "BlockInterrupted":
      return {
        ...base,
        interrupt: interruptEntry(outcome.interrupt),
        blocks: blocks({ block: outcome.block, as: "interrupted" }),
        block: outcome.block,
        items: outcome.items,
        errors: []
      }
    case "ItemErrors":
      return {
        ...base,
        ...(outcome.interrupt._tag === "Some" ? { interrupt: interruptEntry(outcome.interrupt.value) } : {}),
        blocks: blocks({ block: outcome.block, as: "failed" }),
        block: outcome.block,
        items: outcome.items,
        errors: Object.keys(outcome.errors).map((item) => errorEntry(outcome.block, item, outcome.errors[item]))
      }
    case "BlockFailed":
      return {
        ...base,
        blocks: blocks({ block: outcome.block, as: "failed" }),
        block: outcome.block,
        items: outcome.items,
        errors: [errorEntry(outcome.block, undefined, outcome.error)]
      }
  }
}

const interruptEntry = (request: CmdOutcome.BlockInterrupted["interrupt"]): NonNullable<Summary["interrupt"]> => ({
  source: request.source,
  mode: request.mode,
  ...(request.reason !== undefined ? { reason: request.reason } : {}),
  ...(request.requestedBy !== undefined ? { requestedBy: request.requestedBy } : {})
})

const errorEntry = (block: string, item: string | undefined, error: unknown): ErrorEntry => {
  const info = CmdOutcome.errorInfo(error)
  return {
    block,
    ...(item !== undefined ? { item } : {}),
    message: info.message,
    ...(info._tag !== undefined ? { tag: info._tag } : {})
  }
}

/**
 * Options of {@link lines}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LinesOptions {
  readonly style?: Format.Style | undefined
  /** Columns available (lines are cut to it; default 100). */
  readonly width?: number | undefined
  /** Item ids listed per group before "… and N more" (default 10). */
  readonly maxIds?: number | undefined
  /** Errors listed before "… and N more" (default 20). */
  readonly maxErrors?: number | undefined
}

const sourceText = (
  source: string,
  mode: string,
  reason: string | undefined,
  requestedBy: string | undefined
): string => {
  const from = requestedBy !== undefined ? ` from ${requestedBy}` : ""
  const who = source === "sigint"
    ? "Ctrl-C"
    : source === "shutdown"
    ? reason !== undefined && /SIGTERM/.test(reason) ? "SIGTERM" : "shutdown"
    : source === "http"
    ? `an HTTP request${from}`
    : source === "api"
    ? `an API call${from}`
    : source === "process-lost"
    ? "the loss of its process"
    : source === "parent"
    ? "its parent"
    : source
  return `${who} (${source}, ${mode})`
}

/** Ids joined with ", " as far as they fit in `room` columns (and `max` ids), then "… and N more". */
const list = (ids: ReadonlyArray<string>, max: number, room: number): string => {
  let out = ""
  let shown = 0
  for (const id of ids) {
    if (shown >= max) break
    const candidate = shown === 0 ? id : `${out}, ${id}`
    const left = ids.length - shown - 1
    const suffix = left > 0 ? ` … and ${left} more`.length : 0
    if (Format.width(candidate) + suffix > room) break
    out = candidate
    shown++
  }
  const remaining = ids.length - shown
  if (remaining === 0) return out
  return shown === 0 ? `${remaining} item${remaining === 1 ? "" : "s"}` : `${out} … and ${remaining} more`
}

/**
 * Draws a summary for people.
 *
 * ```text
 * ⊘ sync-demo interrupted after 4.2s by Ctrl-C (sigint, graceful)
 *   blocks: done: discover, hash · interrupted: copy · not started: verify
 *   copy: 120 processed · 4 stopped in flight · 276 not started
 *     stopped in flight: a.bin, b.bin, c.bin, d.bin
 *     not started: e.bin, f.bin, … and 266 more
 *   exit code 130
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const lines = (summary: Summary, options: LinesOptions = {}): ReadonlyArray<string> => {
  const style = options.style ?? Format.style(false)
  const width = Math.max(20, options.width ?? 100)
  const maxIds = options.maxIds ?? 10
  const maxErrors = options.maxErrors ?? 20
  const cut = (text: string) => Format.truncate(text, width - 1)
  const out: Array<string> = []
  const took = summary.durationMs === undefined ? "" : ` ${Format.duration(summary.durationMs)}`
  switch (summary.outcome) {
    case "Complete":
      out.push(
        `${style.green("✓")} ${style.bold(summary.command)} ${style.green("complete")}${took ? ` in${took}` : ""}`
      )
      break
    case "BlockInterrupted":
    case "ExecutionInterrupted": {
      const by = summary.interrupt === undefined
        ? ""
        : ` by ${
          sourceText(
            summary.interrupt.source,
            summary.interrupt.mode,
            summary.interrupt.reason,
            summary.interrupt.requestedBy
          )
        }`
      const word = summary.state === "TimedOut" ? "timed out" : "interrupted"
      out.push(
        `${style.yellow("⊘")} ${style.bold(summary.command)} ${style.yellow(word)}${took ? ` after${took}` : ""}${by}`
      )
      break
    }
    case "ItemErrors":
    case "BlockFailed":
      out.push(`${style.red("✗")} ${style.bold(summary.command)} ${style.red("failed")}${took ? ` after${took}` : ""}`)
      break
  }
  if (summary.resumedFrom !== undefined) out.push(style.dim(`  resumed from ${summary.resumedFrom}`))
  const blocks: Array<string> = []
  if (summary.blocks.done.length > 0) blocks.push(`done: ${summary.blocks.done.join(", ")}`)
  if (summary.blocks.interrupted.length > 0) blocks.push(`interrupted: ${summary.blocks.interrupted.join(", ")}`)
  if (summary.blocks.failed.length > 0) blocks.push(`failed: ${summary.blocks.failed.join(", ")}`)
  if (summary.blocks.notStarted.length > 0) blocks.push(`not started: ${summary.blocks.notStarted.join(", ")}`)
  if (blocks.length === 0) blocks.push("none")
  out.push(cut(`  blocks: ${blocks.join(" · ")}`))
  if (summary.block !== undefined && summary.items !== undefined) {
    const items = summary.items
    const counts = [
      `${items.processed.length} processed`,
      `${items.inFlightStopped.length} stopped in flight`,
      `${items.notStarted.length} not started`
    ]
    if (items.skipped.length > 0) counts.push(`${items.skipped.length} done in an earlier run`)
    out.push(cut(`  ${summary.block}: ${counts.join(" · ")}`))
    if (items.inFlightStopped.length > 0) {
      out.push(`    stopped in flight: ${list(items.inFlightStopped, maxIds, width - 25)}`)
    }
    if (items.notStarted.length > 0 && summary.outcome !== "Complete") {
      out.push(`    not started: ${list(items.notStarted, maxIds, width - 19)}`)
    }
  }
  if (summary.errors.length > 0) {
    out.push(style.red(`  errors (${summary.errors.length}):`))
    for (const error of summary.errors.slice(0, maxErrors)) {
      const where = error.item !== undefined ? `${error.item}: ` : `${error.block}: `
      out.push(`    ${style.red("✗")} ${Format.truncate(`${where}${error.message}`, width - 7)}`)
    }
    if (summary.errors.length > maxErrors) out.push(`    … and ${summary.errors.length - maxErrors} more`)
  }
  out.push(style.dim(`  exit code ${summary.exitCode}`))
  return out
}

/**
 * An outcome output printing the summary for people.
 *
 * @example
 * import { OutcomeSummary } from "@truce/cli"
 * const summary = OutcomeSummary.textOutput({ stream: process.stderr })
 * // CmdExecution.run(execution, input, { outcomeOutputs: [summary] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const textOutput = (options: {
  readonly stream?: { readonly write: (chunk: string) => unknown; readonly columns?: number | undefined } | undefined
  readonly color?: boolean | undefined
  readonly maxIds?: number | undefined
  readonly maxErrors?: number | undefined
} = {}): OutcomeOutput =>
  outcomeOutput("summary", (outcome, record) =>
    Effect.sync(() => {
      const stream = options.stream ?? process.stdout
      const style = Format.style(options.color ?? false)
      const text = lines(summarize(outcome, record), {
        style,
        width: stream.columns ?? 100,
        maxIds: options.maxIds,
        maxErrors: options.maxErrors
      })
      stream.write(`${text.join("\n")}\n`)
    }))
