/**
 * The model behind the terminal outputs: what an execution looks like right now, kept up
 * to date from its events, and drawn as a bounded number of lines.
 *
 * Applying an event costs O(1) whatever the number of items (counts are kept
 * incrementally); drawing costs O(lines drawn), never O(items). Many items collapse: a
 * block shows a header with counts, one line per item in flight (as many as fit), its
 * latest failures and recently finished items, and folds everything else into a count
 * line. Finished blocks take one line each. The region never grows beyond the height it
 * is given, so a live terminal never scrolls.
 *
 * @since 0.1.0
 */
import type { ExecutionEvent } from "@truce/core/ExecutionEvent"
import type { ExecutionState } from "@truce/core/ExecutionRecord"
import type { InterruptMode, InterruptSource } from "@truce/core/Interrupt"
import type { ItemProgress, ItemStatus } from "@truce/core/Progress"
import * as Format from "./Format.js"
import { interruptNotice } from "./internal/notice.js"

/**
 * Where a block is.
 *
 * @since 0.1.0
 * @category models
 */
export type BlockStatus = "NotStarted" | "Running" | "Complete" | "Interrupted" | "Failed"

/**
 * Items of a block by status (`pending` includes `Queued`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  pending: number
  running: number
  stalled: number
  interrupting: number
  succeeded: number
  failed: number
  interrupted: number
  skipped: number
}

/**
 * One block as the view knows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockView {
  readonly name: string
  index: number
  status: BlockStatus
  startedAt: number | undefined
  finishedAt: number | undefined
  total: number
  readonly counts: Counts
  /** The latest progress of every item that reported any. */
  readonly items: Map<string, ItemProgress>
  /** Ids of items in flight (running, stalled, stopping), in the order they started. */
  readonly active: Set<string>
  /** The last items that finished (newest last), at most a few. */
  readonly recent: Array<ItemProgress>
  /** Items that failed, in the order they failed. */
  readonly failures: Array<ItemProgress>
}

/**
 * An interrupt request as the view shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface InterruptView {
  readonly source: InterruptSource
  readonly mode: InterruptMode
  readonly reason: string | undefined
  readonly inFlight: number
  readonly escalated: boolean
  readonly at: number
}

/**
 * How a view draws itself.
 *
 * - `width`: terminal columns; no line is wider than `width - 1` (the last column is left
 *   free so that terminals never wrap).
 * - `height`: the most lines drawn.
 * - `hint`: `"ctrl-c"` adds "press Ctrl-C again …" to interrupt notices.
 * - `final`: draw the compact end state (one line per block) instead of live items.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderOptions {
  readonly width: number
  readonly height: number
  readonly style: Format.Style
  readonly unicode: boolean
  readonly now: number
  readonly hint?: "ctrl-c" | "none" | undefined
  readonly final?: boolean | undefined
}

/**
 * The view.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProgressView {
  readonly executionId: string | undefined
  readonly command: string | undefined
  readonly state: ExecutionState | undefined
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  readonly blocks: ReadonlyArray<BlockView>
  readonly interrupts: ReadonlyArray<InterruptView>
  /** Events stood for by snapshots (a reader that fell behind). */
  readonly coalesced: number
  /** True once `Finished` was applied. */
  readonly finished: boolean
  /** Items in flight in all blocks. */
  readonly inFlight: number
  /** Applies events in order. */
  readonly apply: (events: ReadonlyArray<ExecutionEvent>) => void
  /** Draws the view as lines (with colour escapes when the style has colour on). */
  readonly render: (options: RenderOptions) => ReadonlyArray<string>
  /** The block with this name, if known. */
  readonly block: (name: string) => BlockView | undefined
}

/**
 * Makes an empty view. Give the command and block names when known (they are drawn as
 * "not started" until the execution reaches them).
 *
 * @example
 * import { ProgressView, Format } from "@truce/cli"
 *
 * const view = ProgressView.make({ command: "sync", blocks: ["hash", "copy"] })
 * const lines = view.render({ width: 80, height: 10, style: Format.style(false), unicode: true, now: Date.now() })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: {
  readonly command?: string | undefined
  readonly blocks?: ReadonlyArray<string> | undefined
  readonly recentLimit?: number | undefined
}): ProgressView => new View(options?.command, options?.blocks ?? [], options?.recentLimit ?? 4)

/**
 * True for statuses of an item in flight.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInFlight = (status: ItemStatus): boolean =>
  status === "Running" || status === "Stalled" || status === "Interrupting"

const isDone = (status: ItemStatus): boolean =>
  status === "Success" || status === "Fail" || status === "Interrupted" || status === "Skipped"

const countKey = (status: ItemStatus): keyof Counts => {
  switch (status) {
    case "Pending":
    case "Queued":
      return "pending"
    case "Running":
      return "running"
    case "Stalled":
      return "stalled"
    case "Interrupting":
      return "interrupting"
    case "Success":
      return "succeeded"
    case "Fail":
      return "failed"
    case "Interrupted":
      return "interrupted"
    case "Skipped":
      return "skipped"
  }
}

const emptyCounts = (): Counts => ({
  pending: 0,
  running: 0,
  stalled: 0,
  interrupting: 0,
  succeeded: 0,
  failed: 0,
  interrupted: 0,
  skipped: 0
})

const newBlock = (name: string, index: number): BlockView => ({
  name,
  index,
  status: "NotStarted",
  startedAt: undefined,
  finishedAt: undefined,
  total: 0,
  counts: emptyCounts(),
  items: new Map(),
  active: new Set(),
  recent: [],
  failures: []
})

/** Items finished this recently (ms) are drawn on their own line for a moment. */
const recentWindowMs = 1500

class View implements ProgressView {
  executionId: string | undefined = undefined
  state: ExecutionState | undefined = undefined
  startedAt: number | undefined = undefined
  finishedAt: number | undefined = undefined
  firstEventAt: number | undefined = undefined
  readonly blocks: Array<BlockView> = []
  readonly byName = new Map<string, BlockView>()
  readonly interrupts: Array<InterruptView> = []
  coalesced = 0
  finished = false
  private lastSeq = 0

  constructor(
    public command: string | undefined,
    names: ReadonlyArray<string>,
    private readonly recentLimit: number
  ) {
    names.forEach((name, index) => this.ensureBlock(name, index))
  }

  get inFlight(): number {
    let n = 0
    for (const block of this.blocks) n += block.active.size
    return n
  }

  block(name: string): BlockView | undefined {
    return this.byName.get(name)
  }

  private ensureBlock(name: string, index: number | undefined): BlockView {
    let block = this.byName.get(name)
    if (block === undefined) {
      block = newBlock(name, index ?? this.blocks.length)
      this.byName.set(name, block)
      this.blocks.push(block)
      if (index !== undefined) this.blocks.sort((a, b) => a.index - b.index)
    } else if (index !== undefined && block.index !== index) {
      block.index = index
      this.blocks.sort((a, b) => a.index - b.index)
    }
    return block
  }

  apply(events: ReadonlyArray<ExecutionEvent>): void {
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as ExecutionEvent
      // Sequence numbers only grow: an event seen already is never applied twice.
      if (event.seq <= this.lastSeq) continue
      this.lastSeq = event.seq
      this.applyOne(event)
    }
  }

  private applyOne(event: ExecutionEvent): void {
    if (this.firstEventAt === undefined) this.firstEventAt = event.at
    switch (event._tag) {
      case "ItemProgressed":
        this.applyItem(event.progress)
        return
      case "StateChanged":
        this.executionId = event.executionId
        this.command = event.command
        this.state = event.state
        if (event.state === "Running" && this.startedAt === undefined) this.startedAt = event.at
        return
      case "BlockStarted": {
        const block = this.ensureBlock(event.block, event.index)
        block.status = "Running"
        block.startedAt = event.at
        block.finishedAt = undefined
        this.resetItems(block)
        block.total = event.items.length
        block.counts.pending = event.items.length
        return
      }
      case "BlockFinished": {
        const block = this.ensureBlock(event.block, event.index)
        block.status = event.status
        block.finishedAt = event.at
        block.active.clear()
        return
      }
      case "InterruptRequested":
        this.interrupts.push({
          source: event.interrupt.source,
          mode: event.interrupt.mode,
          reason: event.interrupt.reason,
          inFlight: event.inFlight,
          escalated: event.escalated,
          at: event.at
        })
        return
      case "Snapshot":
        this.applySnapshot(event)
        return
      case "Finished":
        this.state = event.state
        this.finishedAt = event.at
        this.finished = true
        for (const block of this.blocks) block.active.clear()
        return
    }
  }

  private resetItems(block: BlockView): void {
    block.items.clear()
    block.active.clear()
    block.recent.length = 0
    block.failures.length = 0
    const counts = block.counts
    counts.pending =
      counts.running =
      counts.stalled =
      counts.interrupting =
        0
    counts.succeeded =
      counts.failed =
      counts.interrupted =
      counts.skipped =
        0
    block.total = 0
  }

  private applyItem(progress: ItemProgress): void {
    const block = this.ensureBlock(progress.block, undefined)
    if (block.status === "NotStarted") {
      block.status = "Running"
      block.startedAt = progress.startedAt ?? progress.updatedAt
    }
    const previous = block.items.get(progress.item)
    const previousStatus: ItemStatus = previous?.status ?? "Pending"
    if (previous !== undefined) block.counts[countKey(previous.status)]--
    else if (block.counts.pending > 0) block.counts.pending--
    else block.total++ // an item the view was never told about (after a snapshot)
    block.counts[countKey(progress.status)]++
    block.items.set(progress.item, progress)
    if (isInFlight(progress.status)) {
      block.active.add(progress.item)
    } else {
      block.active.delete(progress.item)
      if (isDone(progress.status) && !isDone(previousStatus)) {
        if (progress.status === "Fail") block.failures.push(progress)
        if (progress.status !== "Skipped") {
          block.recent.push(progress)
          if (block.recent.length > this.recentLimit) block.recent.shift()
        }
      }
    }
  }

  private applySnapshot(event: Extract<ExecutionEvent, { readonly _tag: "Snapshot" }>): void {
    this.coalesced += event.coalesced
    this.executionId = event.executionId
    this.command = event.command
    this.state = event.state
    event.blocks.forEach((name, index) => this.ensureBlock(name, index))
    const summary = event.summary
    for (const block of this.blocks) {
      if (block.index < summary.blocksDone && block.status !== "Complete") {
        block.status = "Complete"
        block.active.clear()
      }
    }
    const current = summary.block ?? event.items[0]?.block
    if (current === undefined) return
    const block = this.ensureBlock(current, summary.blockIndex)
    if (block.status === "NotStarted") block.status = "Running"
    if (block.startedAt === undefined) block.startedAt = event.at
    this.resetItems(block)
    block.total = event.items.length
    block.counts.pending = event.items.length
    for (const progress of event.items) {
      if (progress.status === "Pending" || progress.status === "Queued") continue
      this.applyItem(progress)
    }
  }

  render(options: RenderOptions): ReadonlyArray<string> {
    return renderView(this, options)
  }
}

// -----------------------------------------------------------------------------
// drawing

interface Glyphs {
  readonly ok: string
  readonly fail: string
  readonly stopped: string
  readonly skipped: string
  readonly pending: string
  readonly running: string
  readonly stalled: string
  readonly stopping: string
  readonly ellipsis: string
}

const unicodeGlyphs: Glyphs = {
  ok: "✓",
  fail: "✗",
  stopped: "⊘",
  skipped: "↷",
  pending: "○",
  running: "▸",
  stalled: "!",
  stopping: "■",
  ellipsis: "…"
}

const asciiGlyphs: Glyphs = {
  ok: "+",
  fail: "x",
  stopped: "/",
  skipped: ">",
  pending: "o",
  running: ">",
  stalled: "!",
  stopping: "#",
  ellipsis: "..."
}

const stateText = (state: ExecutionState | undefined): string => {
  switch (state) {
    case undefined:
      return "starting"
    case "Queued":
      return "queued (waiting for a slot)"
    case "Running":
      return "running"
    case "Interrupting":
      return "interrupting"
    case "Succeeded":
      return "complete"
    case "Failed":
      return "failed"
    case "Interrupted":
      return "interrupted"
    case "TimedOut":
      return "timed out"
  }
}

interface Ctx {
  readonly view: View
  readonly options: RenderOptions
  readonly style: Format.Style
  readonly glyphs: Glyphs
  /** Columns a line may use. */
  readonly columns: number
  readonly frame: number
}

/** Joins parts that fit in `columns` (each part is [plain, styled]); drops parts from the end that do not fit. */
const joinFitting = (parts: ReadonlyArray<readonly [string, string]>, columns: number, separator = "  "): string => {
  let out = ""
  let used = 0
  for (let i = 0; i < parts.length; i++) {
    const [plain, styled] = parts[i] as readonly [string, string]
    if (plain.length === 0) continue
    const sep = used === 0 ? 0 : separator.length
    const w = Format.width(plain)
    if (used + sep + w > columns) {
      // The first part is always drawn, cut to the width.
      if (used === 0) return Format.truncate(plain, columns)
      break
    }
    out += (sep > 0 ? separator : "") + styled
    used += sep + w
  }
  return out
}

const renderView = (view: View, options: RenderOptions): ReadonlyArray<string> => {
  const columns = Math.max(10, Math.floor(options.width) - 1)
  const height = Math.max(1, Math.floor(options.height))
  const ctx: Ctx = {
    view,
    options,
    style: options.style,
    glyphs: options.unicode ? unicodeGlyphs : asciiGlyphs,
    columns,
    frame: Math.floor(options.now / 100)
  }
  const final = options.final === true || view.finished
  const header = headerLine(ctx, final)
  const notices = noticeLines(ctx, final)
  const lines: Array<string> = [header]
  if (height === 1) return lines

  // Blocks: finished and not-started ones take a line each, unless there are too many.
  const blocks = view.blocks
  const activeBlocks = final ? [] : blocks.filter((block) => block.status === "Running")
  let blockLines: Array<{ readonly block: BlockView | undefined; readonly text: string }> = blocks.map((block) => ({
    block,
    text: blockLine(ctx, block)
  }))
  const room = height - 1 - notices.length
  // With a block running, keep up to 6 lines (half the room) for its items: fold the other
  // blocks into summary lines if they would not leave that much.
  const reserve = activeBlocks.length > 0 ? Math.min(6, Math.max(0, Math.floor(room / 2))) : 0
  if (blockLines.length > Math.max(1, room - reserve)) {
    blockLines = collapseBlocks(ctx, blocks, Math.max(1, room - reserve))
  }

  let budget = height - 1 - notices.length - blockLines.length
  const perBlock = activeBlocks.length > 0 ? Math.floor(Math.max(0, budget) / activeBlocks.length) : 0
  for (const entry of blockLines) {
    if (lines.length >= height) break
    lines.push(entry.text)
    if (entry.block !== undefined && entry.block.status === "Running" && !final && budget > 0) {
      const children = itemLines(ctx, entry.block, Math.min(perBlock, budget))
      for (const child of children) lines.push(child)
      budget -= children.length
    }
  }
  for (const notice of notices) {
    if (lines.length >= height) break
    lines.push(notice)
  }
  return lines
}

const collapseBlocks = (
  ctx: Ctx,
  blocks: ReadonlyArray<BlockView>,
  room: number
): Array<{ readonly block: BlockView | undefined; readonly text: string }> => {
  const { glyphs, style } = ctx
  const done = blocks.filter((block) => block.status === "Complete")
  const waiting = blocks.filter((block) => block.status === "NotStarted")
  const others = blocks.filter((block) => block.status !== "Complete" && block.status !== "NotStarted")
  const out: Array<{ readonly block: BlockView | undefined; readonly text: string }> = []
  if (done.length > 0) {
    const names = done.map((block) => block.name).join(", ")
    out.push({
      block: undefined,
      text: `  ${style.green(glyphs.ok)} ${
        Format.truncate(`${done.length} block${done.length === 1 ? "" : "s"} done: ${names}`, ctx.columns - 4)
      }`
    })
  }
  for (const block of others) out.push({ block, text: blockLine(ctx, block) })
  if (waiting.length > 0) {
    const names = waiting.map((block) => block.name).join(", ")
    out.push({
      block: undefined,
      text: style.dim(`  ${glyphs.pending} ${Format.truncate(`not started: ${names}`, ctx.columns - 4)}`)
    })
  }
  // Still too many (many blocks failed or were interrupted): keep the last ones.
  return out.length > room ? out.slice(out.length - room) : out
}

const headerLine = (ctx: Ctx, final: boolean): string => {
  const { view, style, options } = ctx
  const state = view.state
  let glyph: string
  let status: string
  switch (state) {
    case "Succeeded":
      glyph = style.green(ctx.glyphs.ok)
      status = style.green(stateText(state))
      break
    case "Failed":
    case "TimedOut":
      glyph = style.red(ctx.glyphs.fail)
      status = style.red(stateText(state))
      break
    case "Interrupted":
      glyph = style.yellow(ctx.glyphs.stopped)
      status = style.yellow(stateText(state))
      break
    case "Interrupting":
      glyph = style.yellow(Format.spinner(ctx.frame, { unicode: options.unicode }))
      status = style.yellow(stateText(state))
      break
    default:
      glyph = final ? " " : style.cyan(Format.spinner(ctx.frame, { unicode: options.unicode }))
      status = stateText(state)
  }
  const start = view.startedAt ?? view.firstEventAt
  const end = view.finishedAt ?? options.now
  const elapsed = start === undefined ? "" : Format.duration(end - start)
  const done = view.blocks.filter((block) => block.status === "Complete").length
  const command = view.command ?? "execution"
  const plainStatus = stateText(state)
  const parts: Array<readonly [string, string]> = [
    [`${command}`, style.bold(command)],
    [plainStatus, status],
    [elapsed, style.dim(elapsed)]
  ]
  if (view.blocks.length > 0) {
    const blocksText = `blocks ${done}/${view.blocks.length}`
    parts.push([blocksText, style.dim(blocksText)])
  }
  if (view.coalesced > 0) {
    const text = `(${view.coalesced} updates coalesced)`
    parts.push([text, style.dim(text)])
  }
  return `${glyph} ${joinFitting(parts, ctx.columns - 2)}`
}

const countsText = (ctx: Ctx, counts: Counts): Array<readonly [string, string]> => {
  const { glyphs, style } = ctx
  const parts: Array<readonly [string, string]> = []
  if (counts.succeeded > 0) {
    parts.push([`${glyphs.ok}${counts.succeeded}`, style.green(`${glyphs.ok}${counts.succeeded}`)])
  }
  if (counts.failed > 0) parts.push([`${glyphs.fail}${counts.failed}`, style.red(`${glyphs.fail}${counts.failed}`)])
  if (counts.interrupted > 0) {
    parts.push([`${glyphs.stopped}${counts.interrupted}`, style.yellow(`${glyphs.stopped}${counts.interrupted}`)])
  }
  if (counts.skipped > 0) {
    parts.push([
      `${glyphs.skipped}${counts.skipped} done before`,
      style.dim(`${glyphs.skipped}${counts.skipped} done before`)
    ])
  }
  return parts
}

const finishedCount = (counts: Counts): number => counts.succeeded + counts.failed + counts.interrupted + counts.skipped

const blockLine = (ctx: Ctx, block: BlockView): string => {
  const { glyphs, style, options } = ctx
  const counts = block.counts
  const done = finishedCount(counts)
  const itemsText = `${done}/${block.total} item${block.total === 1 ? "" : "s"}`
  const name = block.name
  switch (block.status) {
    case "NotStarted":
      return style.dim(`  ${glyphs.pending} ${Format.truncate(`${name}  not started`, ctx.columns - 4)}`)
    case "Running": {
      const inFlight = counts.running + counts.stalled + counts.interrupting
      const elapsed = block.startedAt === undefined ? "" : Format.duration(options.now - block.startedAt)
      const barWidth = Math.max(8, Math.min(24, Math.floor(ctx.columns / 6)))
      const fraction = block.total === 0 ? 0 : done / block.total
      const barText = Format.bar(fraction, barWidth, { unicode: options.unicode })
      const parts: Array<readonly [string, string]> = [
        [name, style.bold(name)],
        [barText, style.cyan(barText)],
        [itemsText, itemsText],
        ...countsText(ctx, counts)
      ]
      if (inFlight > 0) parts.push([`${inFlight} in flight`, style.cyan(`${inFlight} in flight`)])
      if (counts.pending > 0) parts.push([`${counts.pending} pending`, style.dim(`${counts.pending} pending`)])
      parts.push([elapsed, style.dim(elapsed)])
      return `  ${style.cyan(glyphs.running)} ${joinFitting(parts, ctx.columns - 4)}`
    }
    default: {
      // A step block has one item named after it: its counts say nothing more.
      const step = block.total === 1 && block.items.has(block.name)
      const glyph = block.status === "Complete"
        ? style.green(glyphs.ok)
        : block.status === "Failed"
        ? style.red(glyphs.fail)
        : style.yellow(glyphs.stopped)
      const statusText = block.status === "Complete" ? "" : block.status.toLowerCase()
      const took = block.startedAt !== undefined && block.finishedAt !== undefined
        ? Format.duration(block.finishedAt - block.startedAt)
        : ""
      const parts: Array<readonly [string, string]> = [
        [name, style.bold(name)],
        [statusText, block.status === "Failed" ? style.red(statusText) : style.yellow(statusText)],
        ...(step ? [] : [[itemsText, itemsText] as const, ...countsText(ctx, counts)]),
        [took, style.dim(took)]
      ]
      return `  ${glyph} ${joinFitting(parts, ctx.columns - 4)}`
    }
  }
}

/** The lines under a running block, at most `budget`. */
const itemLines = (ctx: Ctx, block: BlockView, budget: number): Array<string> => {
  if (budget <= 0) return []
  const { style, glyphs, options } = ctx
  const out: Array<string> = []
  const counts = block.counts
  const finished = finishedCount(counts)
  const recentVisible = block.recent.filter((item) =>
    item.status !== "Fail" && options.now - item.updatedAt <= recentWindowMs
  )
  const failures = block.failures
  let avail = budget
  const foldShown = finished > 0 && avail >= 3 ? 1 : 0
  avail -= foldShown
  const failuresShown = Math.min(failures.length, 3, Math.max(0, Math.floor(avail / 4)))
  avail -= failuresShown
  const recentShown = Math.min(recentVisible.length, 2, Math.max(0, Math.floor((avail - block.active.size) / 2)))
  avail -= recentShown
  let activeShown = Math.min(block.active.size, avail)
  const overflow = activeShown < block.active.size
  if (overflow) activeShown = Math.max(0, avail - 1)

  const shownIds: Array<string> = []
  const activeItems: Array<ItemProgress> = []
  for (const id of block.active) {
    if (activeItems.length >= activeShown) break
    const item = block.items.get(id)
    if (item !== undefined) activeItems.push(item)
  }
  const failuresList = failures.slice(failures.length - failuresShown)
  const recentList = recentVisible.slice(recentVisible.length - recentShown)
  for (const item of [...failuresList, ...recentList, ...activeItems]) shownIds.push(item.item)
  const idColumns = Math.max(
    8,
    Math.min(
      Math.max(...shownIds.map((id) => Format.width(id)), 8),
      Math.max(12, Math.floor(ctx.columns * 0.35))
    )
  )
  const indent = "    "
  if (foldShown === 1) {
    const text = `${finished} finished`
    const line = joinFitting([[text, style.dim(text)], ...countsText(ctx, counts)], ctx.columns - indent.length)
    out.push(`${indent}${line}`)
  }
  for (const item of failuresList) {
    const idWidth = Math.max(1, Math.min(idColumns, ctx.columns - indent.length - 2))
    const room = ctx.columns - indent.length - 2 - idWidth - 2
    const error = item.error ?? "failed"
    out.push(
      `${indent}${style.red(glyphs.fail)} ${style.red(Format.fit(item.item, idWidth))}${
        room >= 4 ? `  ${style.red(Format.truncate(error, room))}` : ""
      }`
    )
  }
  for (const item of recentList) out.push(`${indent}${itemLine(ctx, item, idColumns, indent.length)}`)
  for (const item of activeItems) out.push(`${indent}${itemLine(ctx, item, idColumns, indent.length)}`)
  if (overflow) {
    const more = block.active.size - activeShown
    const text = `${glyphs.ellipsis} ${more} more in flight`
    out.push(`${indent}${style.dim(Format.truncate(text, ctx.columns - indent.length))}`)
  }
  return out
}

/** One item: glyph, id, bar (or spinner), percent, units, elapsed, ETA, message. */
const itemLine = (ctx: Ctx, item: ItemProgress, idColumns: number, indent: number): string => {
  const { style, glyphs, options } = ctx
  const columns = ctx.columns - indent
  const limit = item.limit
  const running = isInFlight(item.status)
  let glyph: string
  switch (item.status) {
    case "Running":
      glyph = limit._tag === "Unknown"
        ? style.cyan(Format.spinner(ctx.frame + item.item.length, { unicode: options.unicode }))
        : style.cyan(glyphs.running)
      break
    case "Stalled":
      glyph = style.yellow(glyphs.stalled)
      break
    case "Interrupting":
      glyph = style.yellow(glyphs.stopping)
      break
    case "Success":
      glyph = style.green(glyphs.ok)
      break
    case "Fail":
      glyph = style.red(glyphs.fail)
      break
    case "Interrupted":
      glyph = style.yellow(glyphs.stopped)
      break
    case "Skipped":
      glyph = style.dim(glyphs.skipped)
      break
    default:
      glyph = style.dim(glyphs.pending)
  }
  const end = running ? options.now : item.updatedAt
  const elapsed = item.startedAt === undefined ? "" : Format.duration(Math.max(0, end - item.startedAt))
  const fraction = limit._tag === "Unknown" ? undefined : limit.n <= 0 ? 1 : Math.min(1, item.units / limit.n)
  let unitsText = ""
  if (limit._tag === "Bytes") unitsText = `${Format.bytes(item.units)}/${Format.bytes(limit.n)}`
  else if (limit._tag === "Steps") unitsText = `${item.units}/${limit.n}`
  else if (item.units > 0) unitsText = `${item.units}`
  let etaText = ""
  if (running && item.etaMs !== undefined) etaText = Format.eta(item.etaMs - (options.now - item.updatedAt))
  let statusWord = ""
  if (item.status === "Stalled") statusWord = "stalled"
  else if (item.status === "Interrupting") statusWord = "stopping"
  else if (item.status === "Interrupted") statusWord = "stopped"
  const message = item.status === "Fail" ? item.error ?? item.message ?? "" : item.message ?? ""

  // Choose what fits: id first, then status, percent, a bar, elapsed, units, ETA; spare
  // room widens the bar (up to 30 columns) and the message takes the rest.
  let room = columns - 2
  const idWidth = Math.min(idColumns, Math.max(4, room))
  room -= idWidth
  const pctText = fraction === undefined ? "" : Format.percent(fraction)
  const take = (text: string): boolean => {
    if (text.length === 0) return false
    const need = Format.width(text) + 2
    if (need > room) return false
    room -= need
    return true
  }
  const showStatus = take(statusWord)
  const showPct = take(pctText)
  let barWidth = 0
  if (fraction !== undefined && room >= 10) {
    barWidth = 8
    room -= barWidth + 2
  }
  const showElapsed = take(elapsed)
  const showUnits = take(unitsText)
  const showEta = take(etaText)
  if (barWidth > 0 && room > 0) {
    const extra = Math.min(22, message.length > 0 ? Math.floor(room / 3) : room)
    barWidth += extra
    room -= extra
  }
  const messageRoom = room - 2
  const showMessage = message.length > 0 && messageRoom >= 4

  let line = `${glyph} ${Format.fit(item.item, idWidth)}`
  if (showStatus) line += `  ${style.yellow(statusWord)}`
  if (barWidth > 0 && fraction !== undefined) {
    const barText = Format.bar(fraction, barWidth, { unicode: options.unicode })
    line += `  ${
      item.status === "Fail"
        ? style.red(barText)
        : item.status === "Success"
        ? style.green(barText)
        : style.cyan(barText)
    }`
  }
  if (showPct) line += `  ${style.bold(pctText)}`
  if (showUnits) line += `  ${style.dim(unitsText)}`
  if (showElapsed) line += `  ${style.dim(elapsed)}`
  if (showEta) line += `  ${style.dim(etaText)}`
  if (showMessage) line += `  ${Format.truncate(message, messageRoom)}`
  return line
}

const noticeLines = (ctx: Ctx, final: boolean): Array<string> => {
  const { view, style } = ctx
  if (view.interrupts.length === 0) return []
  const out: Array<string> = []
  // The first request and the one that forced the stop, if any.
  const first = view.interrupts[0] as InterruptView
  const forced = view.interrupts.find((interrupt, index) =>
    index > 0 && (interrupt.mode === "force" || interrupt.escalated)
  )
  const hint = final ? "none" : ctx.options.hint ?? "none"
  out.push(style.yellow(Format.truncate(interruptNotice(first, forced === undefined ? hint : "none"), ctx.columns)))
  if (forced !== undefined) out.push(style.yellow(Format.truncate(interruptNotice(forced, hint), ctx.columns)))
  return out
}
