/**
 * What the `truce` command prints about records: a status block, a list table, progress
 * in a few words, dates. Every string that comes from the server goes through
 * {@link clean}, so a label or an error message cannot move the cursor or change colours.
 *
 * @internal
 */
import type { ExecutionRecord, ExecutionState } from "@truce/core/ExecutionRecord"
import { isTerminal } from "@truce/core/ExecutionRecord"
import type { InterruptRequest } from "@truce/core/Interrupt"
import type { ProgressSummary } from "@truce/core/Progress"
import * as Format from "../../Format.js"

/** Control characters (C0, DEL, C1) replaced by `?`: text from the server is shown, never obeyed. @internal */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
export const clean = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

/** `2026-11-23 14:03:12` in local time. @internal */
export const formatDate = (date: Date): string =>
  `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())} ` +
  `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`

/** The state, coloured by what it means. @internal */
export const stateText = (state: ExecutionState, style: Format.Style): string => {
  switch (state) {
    case "Succeeded":
      return style.green(state)
    case "Failed":
    case "TimedOut":
      return style.red(state)
    case "Interrupted":
    case "Interrupting":
      return style.yellow(state)
    case "Running":
      return style.cyan(state)
    case "Queued":
      return style.dim(state)
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

/**
 * Progress in a few words: `1/2 blocks · work: 3/8 items · 2 running · 1 failed`; `2/2 blocks` when done.
 *
 * @internal
 */
export const progressText = (progress: ProgressSummary, options: { readonly compact?: boolean } = {}): string => {
  const blocks = `${progress.blocksDone}/${progress.blocksTotal} blocks`
  // Item counts belong to the current block; once the execution is past its blocks there is none.
  if (progress.block === undefined) return blocks
  const parts = [blocks]
  const items = progress.items
  if (items.total > 0) {
    const finished = items.succeeded + items.failed + items.interrupted + items.skipped
    parts.push(`${clean(progress.block)}: ${finished}/${plural(items.total, "item")}`)
    if (items.running > 0) parts.push(`${items.running} running`)
    if (!options.compact) {
      if (items.stalled > 0) parts.push(`${items.stalled} stalled`)
      if (items.skipped > 0) parts.push(`${items.skipped} done before`)
      if (items.interrupted > 0) parts.push(`${items.interrupted} stopped`)
    }
    if (items.failed > 0) parts.push(`${items.failed} failed`)
  } else {
    parts.push(clean(progress.block))
  }
  return parts.join(" · ")
}

/** `http, graceful, by alice at 14:04:01: "reason"`. @internal */
export const interruptText = (request: InterruptRequest): string => {
  const by = request.requestedBy === undefined ? "" : ` by ${clean(request.requestedBy)}`
  const why = request.reason === undefined ? "" : `: "${clean(request.reason)}"`
  return `${request.source}, ${request.mode}${by} at ${formatDate(request.at)}${why}`
}

/**
 * The status block of `truce status`: one `name  value` line per field that has a value.
 *
 * @internal
 */
export const statusLines = (
  record: ExecutionRecord,
  options: { readonly style: Format.Style; readonly now: number }
): Array<string> => {
  const { now, style } = options
  const rows: Array<readonly [string, string]> = []
  rows.push(["command", clean(record.command)])
  rows.push(["state", stateText(record.state, style)])
  if (record.owner !== undefined) rows.push(["owner", clean(record.owner)])
  rows.push(["created", `${formatDate(record.createdAt)} (${Format.duration(now - record.createdAt.getTime())} ago)`])
  if (record.startedAt !== undefined) {
    const queued = record.startedAt.getTime() - record.createdAt.getTime()
    rows.push([
      "started",
      `${formatDate(record.startedAt)}${queued >= 1000 ? ` (queued ${Format.duration(queued)})` : ""}`
    ])
  }
  if (record.finishedAt !== undefined) {
    const ran = record.startedAt === undefined ? "" : ` (ran ${
      Format.duration(
        record.finishedAt.getTime() - record.startedAt.getTime()
      )
    })`
    rows.push(["finished", `${formatDate(record.finishedAt)}${ran}`])
  } else if (record.startedAt !== undefined) {
    rows.push(["running", Format.duration(now - record.startedAt.getTime())])
  }
  rows.push(["progress", progressText(record.progress)])
  if (record.progress.message !== undefined && !isTerminal(record.state)) {
    rows.push(["message", clean(record.progress.message)])
  }
  if (record.interrupt !== undefined) {
    const more = record.interrupts.length > 1 ? ` (${plural(record.interrupts.length, "request")} in all)` : ""
    rows.push(["interrupt", `${interruptText(record.interrupt)}${more}`])
  } else if (record.interrupts.length > 0) {
    const last = record.interrupts[record.interrupts.length - 1] as InterruptRequest
    rows.push(["interrupt", interruptText(last)])
  }
  if (!record.cancellable) rows.push(["cancel", "not cancellable"])
  if (record.timeoutMs !== undefined) rows.push(["timeout", Format.duration(record.timeoutMs)])
  const labels = Object.entries(record.labels)
  if (labels.length > 0) rows.push(["labels", labels.map(([key, value]) => clean(`${key}=${value}`)).join(", ")])
  if (record.resumedFrom !== undefined) rows.push(["resumed", `from ${record.resumedFrom}`])
  if (record.callback !== undefined) {
    const callback = record.callback
    const error = callback.lastError === undefined ? "" : `, last error: ${clean(callback.lastError)}`
    rows.push(["callback", `${callback.state} after ${plural(callback.attempts, "attempt")}${error}`])
  }
  if (record.error !== undefined && record.outcome === undefined) rows.push(["error", clean(record.error.message)])
  if (record.expiresAt !== undefined) rows.push(["expires", formatDate(record.expiresAt)])
  const lines = [`${style.bold("execution")} ${record.id}`]
  for (const [name, value] of rows) lines.push(`  ${style.dim(name.padEnd(9, " "))} ${value}`)
  return lines
}

/**
 * The table of `truce list`: id, command, state, owner, created, progress. Columns are as
 * wide as their longest cell (ids are never cut).
 *
 * @internal
 */
export const listLines = (
  records: ReadonlyArray<ExecutionRecord>,
  options: { readonly style: Format.Style }
): Array<string> => {
  const { style } = options
  const header = ["ID", "COMMAND", "STATE", "OWNER", "CREATED", "PROGRESS"]
  const rows = records.map((record) => [
    record.id as string,
    clean(record.command),
    record.state as string,
    record.owner === undefined ? "-" : clean(record.owner),
    formatDate(record.createdAt),
    progressText(record.progress, { compact: true })
  ])
  const widths = header.map((title, column) =>
    Math.max(Format.width(title), ...rows.map((row) => Format.width(row[column] as string)))
  )
  const line = (cells: ReadonlyArray<string>, colour: (column: number, text: string) => string) =>
    cells.map((cell, column) => {
      const last = column === cells.length - 1
      const padded = last ? cell : cell + " ".repeat((widths[column] as number) - Format.width(cell))
      return colour(column, padded)
    }).join("  ").trimEnd()
  return [
    line(header, (_, text) => style.bold(text)),
    ...rows.map((row, index) =>
      line(
        row,
        (column, text) =>
          column === 2
            ? text.replace(row[2] as string, stateText((records[index] as ExecutionRecord).state, style))
            : text
      )
    )
  ]
}
