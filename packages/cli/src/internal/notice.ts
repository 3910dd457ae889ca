/**
 * The line shown when an interrupt is requested.
 *
 * @internal
 */
import type { InterruptMode, InterruptSource } from "@truce/core/Interrupt"

/** @internal */
export interface NoticeInput {
  readonly source: InterruptSource
  readonly mode: InterruptMode
  readonly reason: string | undefined
  readonly inFlight: number
  readonly escalated: boolean
}

const sourceLabel = (source: InterruptSource, reason: string | undefined): string => {
  switch (source) {
    case "sigint":
      return ""
    case "shutdown":
      return reason !== undefined && /SIGTERM/.test(reason) ? "SIGTERM" : "shutdown"
    case "timeout":
      return "timed out"
    case "http":
      return "cancelled over HTTP"
    case "api":
      return "requested by the program"
    case "process-lost":
      return "process lost"
    case "parent":
      return "parent stopped"
  }
}

const items = (n: number): string => `${n} item${n === 1 ? "" : "s"}`

/**
 * "interrupting: finishing 4 items in flight — press Ctrl-C again to force" and its
 * variants (forced stop, other sources, no hint).
 *
 * @internal
 */
export const interruptNotice = (notice: NoticeInput, hint: "ctrl-c" | "none"): string => {
  const label = sourceLabel(notice.source, notice.reason)
  const origin = label.length > 0 ? ` (${label})` : ""
  if (notice.mode === "force" || notice.escalated) {
    const what = notice.inFlight > 0 ? `stopping ${items(notice.inFlight)} in flight now` : "stopping now"
    return `forcing${origin}: ${what}${hint === "ctrl-c" ? " — press Ctrl-C again to exit at once" : ""}`
  }
  const what = notice.inFlight > 0
    ? `finishing ${items(notice.inFlight)} in flight`
    : "no items in flight, stopping before the next one"
  const again = notice.source === "sigint" ? "again " : ""
  return `interrupting${origin}: ${what}${hint === "ctrl-c" ? ` — press Ctrl-C ${again}to force` : ""}`
}
