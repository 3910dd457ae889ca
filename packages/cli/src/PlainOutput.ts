/**
 * Progress as plain appended lines, for logs, CI and pipes: one line per meaningful change
 * (the execution's state, a block starting or finishing, an item starting or finishing,
 * an interrupt request, and for long items a line at 25 %, 50 % and 75 %), never one per
 * progress tick, and no escape codes unless colour is forced.
 *
 * ```text
 * [  0.0s] sync-demo: running (id 0b6f0a4e-…)
 * [  0.1s] hash: started (300 items)
 * [  0.1s] hash: started docs/readme.md
 * [  0.2s] hash: done docs/readme.md (4.0 KiB in 0.1s)
 * [  1.4s] interrupting: finishing 4 items in flight — press Ctrl-C again to force
 * [  1.9s] hash: interrupted (120/300 items: 116 done, 4 stopped)
 * ```
 *
 * @since 0.1.0
 */
import type { ProgressOutput } from "@truce/core/Endpoint"
import { progressOutput } from "@truce/core/Endpoint"
import type { ExecutionEvent } from "@truce/core/ExecutionEvent"
import type { ItemProgress, ItemStatus } from "@truce/core/Progress"
import * as Effect from "effect/Effect"
import * as Format from "./Format.js"
import { interruptNotice } from "./internal/notice.js"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where lines go (default `process.stdout`). */
  readonly stream?: { readonly write: (chunk: string) => unknown } | undefined
  /** Which item lines to print: when they start and finish (default), only when they finish, or none. */
  readonly items?: "start-and-finish" | "finish" | "none" | undefined
  /** Print 25 / 50 / 75 % lines for items running longer than this many ms (default 1000; `false` = never). */
  readonly milestonesAfter?: number | false | undefined
  /** Colour (default: only when `FORCE_COLOR` asks for it). */
  readonly color?: boolean | undefined
  /** `"ctrl-c"` adds "press Ctrl-C again to force" to interrupt lines. */
  readonly hint?: "ctrl-c" | "none" | undefined
  /** Only interrupt lines (used next to JSON output, on stderr). */
  readonly noticesOnly?: boolean | undefined
  /** Wait between two batches of events, in ms (default 50; 0 = none). */
  readonly batchInterval?: number | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * A plain-lines output.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlainOutput {
  readonly output: ProgressOutput
  /** Prints a line (with the same time prefix). */
  readonly log: (text: string) => void
}

const preciseDuration = (ms: number): string => (ms < 1000 ? `${Math.max(0, Math.round(ms))}ms` : Format.duration(ms))

interface ItemMemo {
  status: ItemStatus
  milestone: number
  lastLineAt: number
}

/**
 * Makes a plain-lines output.
 *
 * @example
 * import { PlainOutput } from "@truce/cli"
 *
 * const plain = PlainOutput.make({ items: "finish" })
 * // CmdExecution.run(execution, input, { outputs: [plain.output] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): PlainOutput => {
  const stream = options.stream ?? process.stdout
  const env = options.env ?? process.env
  const style = Format.style(options.color ?? Format.colorEnabled({ isTTY: false, env }))
  const itemsMode = options.items ?? "start-and-finish"
  const milestonesAfter = options.milestonesAfter ?? 1000
  const hint = options.hint ?? "none"
  const batchInterval = options.batchInterval ?? 50
  const noticesOnly = options.noticesOnly === true

  let origin: number | undefined = undefined
  let lastAt = 0
  let lastSeq = 0
  const memo = new Map<string, ItemMemo>()
  const skippedByBlock = new Map<string, number>()
  const reportedSkips = new Set<string>()
  const totals = new Map<string, number>()
  const blockStart = new Map<string, number>()
  const counts = new Map<string, { done: number; failed: number; stopped: number; skipped: number }>()

  const prefix = (at: number) => {
    if (origin === undefined) origin = at
    return style.dim(`[${Format.duration(at - origin).padStart(7, " ")}]`)
  }

  const line = (at: number, text: string) => {
    stream.write(`${prefix(at)} ${text}\n`)
  }

  const countsOf = (block: string) => {
    let entry = counts.get(block)
    if (entry === undefined) {
      entry = { done: 0, failed: 0, stopped: 0, skipped: 0 }
      counts.set(block, entry)
    }
    return entry
  }

  const reportSkips = (block: string, at: number) => {
    const skipped = skippedByBlock.get(block) ?? 0
    if (skipped === 0 || reportedSkips.has(block)) return
    reportedSkips.add(block)
    line(at, `${style.bold(block)}: skipped ${skipped} item${skipped === 1 ? "" : "s"} done in an earlier run`)
  }

  const sizeOf = (progress: ItemProgress): string => {
    const limit = progress.limit
    if (limit._tag === "Bytes") return Format.bytes(limit.n)
    if (limit._tag === "Steps") return `${progress.units}/${limit.n} steps`
    return ""
  }

  const onItem = (progress: ItemProgress, at: number) => {
    const key = `${progress.block}\u0000${progress.item}`
    let entry = memo.get(key)
    const previous = entry?.status ?? "Pending"
    if (entry === undefined) {
      entry = { status: progress.status, milestone: 0, lastLineAt: at }
      memo.set(key, entry)
    }
    entry.status = progress.status
    const block = style.bold(progress.block)
    const tally = countsOf(progress.block)
    // A step block has one item named after it: the block lines say it all.
    const quiet = itemsMode === "none" || (progress.item === progress.block && totals.get(progress.block) === 1)
    switch (progress.status) {
      case "Running": {
        if (previous === "Running" || previous === "Stalled") {
          // A progress tick: at most a milestone line.
          if (milestonesAfter === false || quiet) return
          const limit = progress.limit
          if (limit._tag === "Unknown" || limit.n <= 0 || progress.startedAt === undefined) return
          // At 100 % the item is about to finish: its "done" line says it.
          if (progress.units >= limit.n) return
          if (at - progress.startedAt < milestonesAfter) return
          const quarter = Math.min(3, Math.floor((progress.units / limit.n) * 4))
          if (quarter <= entry.milestone) return
          entry.milestone = quarter
          entry.lastLineAt = at
          const amount = limit._tag === "Bytes"
            ? `${Format.bytes(progress.units)}/${Format.bytes(limit.n)}`
            : `${progress.units}/${limit.n}`
          const percent = Math.floor((progress.units / limit.n) * 100)
          line(at, `${block}: ${progress.item} ${percent}% (${amount})`)
          return
        }
        if (previous === "Pending" || previous === "Queued") {
          reportSkips(progress.block, at)
          if (itemsMode === "start-and-finish" && !quiet) line(at, `${block}: started ${progress.item}`)
        }
        return
      }
      case "Stalled":
        if (previous !== "Stalled" && !quiet) {
          line(at, `${block}: ${style.yellow("stalled")} ${progress.item} (no progress reported for a while)`)
        }
        return
      case "Interrupting":
        return
      case "Success": {
        tally.done++
        if (quiet) return
        const took = progress.startedAt === undefined ? "" : preciseDuration(progress.updatedAt - progress.startedAt)
        const size = sizeOf(progress)
        const details = [size, took].filter((part) => part.length > 0).join(" in ")
        line(at, `${block}: ${style.green("done")} ${progress.item}${details.length > 0 ? ` (${details})` : ""}`)
        return
      }
      case "Fail":
        tally.failed++
        if (itemsMode === "none") return
        line(at, `${block}: ${style.red("failed")} ${progress.item}: ${progress.error ?? "failed"}`)
        return
      case "Interrupted":
        tally.stopped++
        if (quiet) return
        line(at, `${block}: ${style.yellow("stopped")} ${progress.item} (interrupted in flight)`)
        return
      case "Skipped":
        tally.skipped++
        skippedByBlock.set(progress.block, (skippedByBlock.get(progress.block) ?? 0) + 1)
        return
      default:
        return
    }
  }

  const onEvent = (event: ExecutionEvent) => {
    lastAt = event.at
    if (noticesOnly) {
      if (event._tag === "InterruptRequested") {
        stream.write(
          `${
            interruptNotice({
              source: event.interrupt.source,
              mode: event.interrupt.mode,
              reason: event.interrupt.reason,
              inFlight: event.inFlight,
              escalated: event.escalated
            }, hint)
          }\n`
        )
      }
      return
    }
    switch (event._tag) {
      case "ItemProgressed":
        onItem(event.progress, event.at)
        return
      case "StateChanged":
        if (event.state === "Running") {
          line(event.at, `${style.bold(event.command)}: running (id ${event.executionId})`)
        }
        return
      case "BlockStarted":
        totals.set(event.block, event.items.length)
        blockStart.set(event.block, event.at)
        counts.set(event.block, { done: 0, failed: 0, stopped: 0, skipped: 0 })
        line(
          event.at,
          `${style.bold(event.block)}: started (${event.items.length} item${event.items.length === 1 ? "" : "s"})`
        )
        return
      case "BlockFinished": {
        reportSkips(event.block, event.at)
        const tally = countsOf(event.block)
        const total = totals.get(event.block) ?? 0
        const finished = tally.done + tally.failed + tally.stopped + tally.skipped
        const parts = [`${tally.done} done`]
        if (tally.skipped > 0) parts.push(`${tally.skipped} done before`)
        if (tally.failed > 0) parts.push(`${tally.failed} failed`)
        if (tally.stopped > 0) parts.push(`${tally.stopped} stopped`)
        const started = blockStart.get(event.block)
        const took = started === undefined ? "" : `, ${preciseDuration(event.at - started)}`
        const status = event.status === "Complete"
          ? style.green("complete")
          : event.status === "Failed"
          ? style.red("failed")
          : style.yellow("interrupted")
        line(event.at, `${style.bold(event.block)}: ${status} (${finished}/${total} items: ${parts.join(", ")}${took})`)
        return
      }
      case "InterruptRequested":
        line(
          event.at,
          style.yellow(interruptNotice({
            source: event.interrupt.source,
            mode: event.interrupt.mode,
            reason: event.interrupt.reason,
            inFlight: event.inFlight,
            escalated: event.escalated
          }, hint))
        )
        return
      case "Snapshot":
        line(
          event.at,
          style.dim(`(${event.coalesced} updates coalesced; ${event.summary.items.running} items in flight)`)
        )
        for (const progress of event.items) {
          const key = `${progress.block}\u0000${progress.item}`
          const entry = memo.get(key)
          if (entry === undefined || entry.status !== progress.status) onItem(progress, event.at)
        }
        return
      case "Finished": {
        const text = event.state === "Succeeded"
          ? style.green("complete")
          : event.state === "Failed" || event.state === "TimedOut"
          ? style.red(event.state === "Failed" ? "failed" : "timed out")
          : style.yellow("interrupted")
        line(event.at, `finished: ${text}`)
        return
      }
    }
  }

  const write = (events: ReadonlyArray<ExecutionEvent>): Effect.Effect<void> =>
    Effect.suspend(() => {
      let finished = false
      for (const event of events) {
        // Each event once: sequence numbers only grow.
        if (event.seq <= lastSeq) continue
        lastSeq = event.seq
        onEvent(event)
        if (event._tag === "Finished") finished = true
      }
      return finished || batchInterval <= 0 ? Effect.void : Effect.sleep(batchInterval)
    })

  return {
    output: progressOutput(noticesOnly ? "notices" : "plain", write),
    log: (text) => {
      if (noticesOnly) stream.write(`${text}\n`)
      else line(origin === undefined ? Date.now() : lastAt, text)
    }
  }
}
