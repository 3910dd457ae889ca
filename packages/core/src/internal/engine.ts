/**
 * The execution engine: runs the blocks of one execution, schedules items, applies the
 * interrupt strategy at every stopping point, keeps progress, and always produces an
 * outcome — also when its fiber is interrupted from outside.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as CmdBlock from "../CmdBlock.js"
import * as CmdOutcome from "../CmdOutcome.js"
import type { ExecutionEvent } from "../ExecutionEvent.js"
import type { ExecutionId, ExecutionState, ItemState } from "../ExecutionRecord.js"
import type { InterruptRequest, InterruptStrategy } from "../Interrupt.js"
import { request as makeRequest } from "../Interrupt.js"
import type {
  ItemCounts,
  ItemProgress,
  ItemStatus,
  ProgressHandle,
  ProgressLimit,
  ProgressSummary,
  ProgressUpdate
} from "../Progress.js"
import { estimateRemaining } from "../Progress.js"
import { InterruptController } from "./controller.js"
import { EventLog } from "./eventLog.js"
import type { Timers } from "./timers.js"

/** @internal */
export interface RuntimeHooks {
  readonly saveItemStates: (runtime: ExecutionRuntime, states: ReadonlyArray<ItemState>) => Effect.Effect<void>
  readonly interruptAccepted: (
    runtime: ExecutionRuntime,
    request: InterruptRequest,
    escalated: boolean
  ) => Effect.Effect<void>
}

/** @internal */
export interface RuntimeOptions {
  readonly id: ExecutionId
  readonly command: string
  readonly blocks: ReadonlyArray<string>
  readonly strategy: InterruptStrategy
  readonly graceMs: number | undefined
  readonly resumeStates: ReadonlyMap<string, ItemState> | undefined
  /** What every execution of the map shares (one object per map). */
  readonly shared: RuntimeShared
}

/** @internal */
export interface RuntimeShared {
  readonly timeoutGraceMs: number
  readonly eventCapacity: number
  readonly now: () => number
  readonly hooks: RuntimeHooks
  readonly timers: Timers
}

type SlotOutcome = "notStarted" | "running" | "succeeded" | "failed" | "stopped" | "skipped"

/** @internal */
export interface ItemSlot {
  readonly index: number
  readonly id: string
  readonly block: string
  status: ItemStatus
  limit: ProgressLimit
  units: number
  message: string | undefined
  startedAt: number | undefined
  updatedAt: number
  error: string | undefined
  outcome: SlotOutcome
  value: unknown
  failure: unknown
  abort: AbortController | undefined
  remainingDeps: number
  /** Indexes of the items that depend on this one (`noDependents`, shared, when none). */
  dependents: Array<number>
}

// Shared empty arrays, replaced by an array of its own on the first push (never pushed to).
const noNames: Array<string> = []
const noStates: Array<ItemState> = []

/** Shared by every slot no item depends on: most slots, and no array each. */
const noDependents: Array<number> = []

type BlockResult =
  | { readonly _tag: "Done"; readonly output: unknown }
  | { readonly _tag: "Interrupted"; readonly items: CmdOutcome.ItemsReport; readonly partial: CmdOutcome.PartialOutput }
  | {
    readonly _tag: "ItemErrors"
    readonly errors: Record<string, unknown>
    readonly items: CmdOutcome.ItemsReport
    readonly partial: CmdOutcome.PartialOutput
  }
  | {
    readonly _tag: "Failed"
    readonly error: unknown
    readonly items: CmdOutcome.ItemsReport
    readonly partial: CmdOutcome.PartialOutput
  }

const unknownLimit: ProgressLimit = { _tag: "Unknown" }

/**
 * The items in flight, in the order they started. Most executions run one item at a time:
 * it is kept in a field, and a `Set` is made only when a second one runs alongside.
 */
class RunningSlots {
  private one: ItemSlot | undefined = undefined
  private many: Set<ItemSlot> | undefined = undefined

  get size(): number {
    return this.many !== undefined ? this.many.size : this.one === undefined ? 0 : 1
  }

  add(slot: ItemSlot): void {
    if (this.many !== undefined) {
      this.many.add(slot)
    } else if (this.one === undefined || this.one === slot) {
      this.one = slot
    } else {
      this.many = new Set([this.one, slot])
      this.one = undefined
    }
  }

  delete(slot: ItemSlot): void {
    if (this.many !== undefined) this.many.delete(slot)
    else if (this.one === slot) this.one = undefined
  }

  forEach(f: (slot: ItemSlot) => void): void {
    if (this.many !== undefined) this.many.forEach((slot) => f(slot))
    else if (this.one !== undefined) f(this.one)
  }

  toArray(): Array<ItemSlot> {
    return this.many !== undefined ? [...this.many] : this.one === undefined ? [] : [this.one]
  }
}

const emptyReport: CmdOutcome.ItemsReport = { processed: [], skipped: [], inFlightStopped: [], notStarted: [] }

const countKey = (status: ItemStatus): keyof Omit<ItemCounts, "total"> => {
  switch (status) {
    case "Pending":
    case "Queued":
      return "pending"
    case "Running":
    case "Interrupting":
      return "running"
    case "Stalled":
      return "stalled"
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

/** Key of an item state in a resume map. @internal */
export const itemStateKey = (block: string, item: string): string => `${block}\u0000${item}`

const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failure.value
  if (Cause.isInterruptedOnly(cause)) {
    return new CmdOutcome.CmdDefect({ message: "interrupted without an interrupt request" })
  }
  return CmdOutcome.CmdDefect.fromUnknown(Cause.squash(cause))
}

/**
 * The live state of one execution.
 *
 * @internal
 */
export class ExecutionRuntime {
  readonly log: EventLog
  readonly controller: InterruptController
  state: ExecutionState = "Queued"
  outcome: CmdOutcome.CmdOutcome<unknown, unknown> | undefined = undefined

  // progress summary
  blockIndex = 0
  blocksDone = 0
  blockName: string | undefined = undefined
  lastMessage: string | undefined = undefined
  readonly counts = {
    total: 0,
    pending: 0,
    running: 0,
    stalled: 0,
    succeeded: 0,
    failed: 0,
    interrupted: 0,
    skipped: 0
  }
  summaryDirty = false

  // current block
  blockActive = false
  slots: Array<ItemSlot> = []
  readonly running = new RunningSlots()
  lastOutput: Option.Option<unknown> = Option.none()
  // Arrays made on first use (an empty array per execution in flight adds up).
  blocksProcessed: Array<string> = noNames
  pendingStates: Array<ItemState> = noStates

  // while a block's items run
  private scheduling = false
  private blockStrategy: InterruptStrategy
  private wakeIdleWorkers: { wake(): void } | undefined = undefined
  /** The fiber running the blocks; a forced stop interrupts it. */
  private fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  /** A forced stop interrupted `fiber` (as opposed to an interruption from outside). */
  private forceRequested = false

  // timers (on the map's shared timer fiber)
  private cancelTimeout: (() => void) | undefined = undefined
  private cancelGrace: (() => void) | undefined = undefined

  // The options are copied rather than kept: an object less per execution in flight.
  readonly id: ExecutionId
  readonly command: string
  readonly blocks: ReadonlyArray<string>
  readonly graceMs: number | undefined
  readonly resumeStates: ReadonlyMap<string, ItemState> | undefined
  readonly shared: RuntimeShared

  constructor(options: RuntimeOptions) {
    this.id = options.id
    this.command = options.command
    this.blocks = options.blocks
    this.graceMs = options.graceMs
    this.resumeStates = options.resumeStates
    this.shared = options.shared
    this.log = new EventLog(options.shared.eventCapacity)
    this.controller = new InterruptController(options.strategy, this)
    this.blockStrategy = options.strategy
  }

  now(): number {
    return this.shared.now()
  }

  private lastDate: Date | undefined = undefined

  /**
   * A `Date` for item states: items finishing in the same millisecond share one (never
   * mutated), instead of two new objects per item.
   */
  private dateAt(ms: number): Date {
    const last = this.lastDate
    if (last !== undefined && last.getTime() === ms) return last
    return this.lastDate = new Date(ms)
  }

  // ---------------------------------------------------------------------------
  // events and progress

  setState(state: ExecutionState): void {
    this.state = state
    this.summaryDirty = true
    this.log.push({
      _tag: "StateChanged",
      seq: this.log.nextSeq(),
      at: this.now(),
      executionId: this.id,
      command: this.command,
      state
    })
  }

  summary(): ProgressSummary {
    if (this.blockName !== undefined && this.lastMessage === undefined) {
      // The usual case as one literal: properties added afterwards would cost the object a
      // separate property store (it is kept on the record while the execution runs).
      return {
        seq: this.log.lastSeq,
        updatedAt: this.now(),
        blockIndex: this.blockIndex,
        blocksTotal: this.blocks.length,
        blocksDone: this.blocksDone,
        items: { ...this.counts },
        block: this.blockName
      }
    }
    const summary: {
      -readonly [K in keyof ProgressSummary]: ProgressSummary[K]
    } = {
      seq: this.log.lastSeq,
      updatedAt: this.now(),
      blockIndex: this.blockIndex,
      blocksTotal: this.blocks.length,
      blocksDone: this.blocksDone,
      items: { ...this.counts }
    }
    if (this.blockName !== undefined) summary.block = this.blockName
    if (this.lastMessage !== undefined) summary.message = this.lastMessage
    return summary
  }

  progressOf(slot: ItemSlot): ItemProgress {
    if (
      slot.startedAt !== undefined && slot.message === undefined && slot.error === undefined &&
      (slot.outcome !== "running" || slot.limit._tag === "Unknown")
    ) {
      // The usual case (started, no message, no ETA, no error) as one literal: properties
      // added afterwards cost a separate property store, and events are kept for replay.
      return {
        block: slot.block,
        item: slot.id,
        status: slot.status,
        limit: slot.limit,
        units: slot.units,
        updatedAt: slot.updatedAt,
        startedAt: slot.startedAt
      }
    }
    const progress: { -readonly [K in keyof ItemProgress]: ItemProgress[K] } = {
      block: slot.block,
      item: slot.id,
      status: slot.status,
      limit: slot.limit,
      units: slot.units,
      updatedAt: slot.updatedAt
    }
    if (slot.message !== undefined) progress.message = slot.message
    if (slot.startedAt !== undefined) {
      progress.startedAt = slot.startedAt
      if (slot.outcome === "running") {
        const eta = estimateRemaining(slot.limit, slot.units, slot.startedAt, slot.updatedAt)
        if (eta !== undefined) progress.etaMs = eta
      }
    }
    if (slot.error !== undefined) progress.error = slot.error
    return progress
  }

  private emitItem(slot: ItemSlot): void {
    this.summaryDirty = true
    this.log.push({
      _tag: "ItemProgressed",
      seq: this.log.nextSeq(),
      at: slot.updatedAt,
      progress: this.progressOf(slot)
    })
  }

  private setStatus(slot: ItemSlot, status: ItemStatus): void {
    this.counts[countKey(slot.status)]--
    this.counts[countKey(status)]++
    slot.status = status
  }

  updateItem(slot: ItemSlot, update: ProgressUpdate): void {
    if (slot.outcome !== "running") return
    if (update.limit !== undefined) slot.limit = update.limit
    if (update.units !== undefined && Number.isFinite(update.units)) slot.units = update.units
    if (update.inc !== undefined && Number.isFinite(update.inc)) slot.units += update.inc
    if (update.message !== undefined) {
      slot.message = update.message
      this.lastMessage = update.message
    }
    slot.updatedAt = this.now()
    if (slot.status === "Stalled") this.setStatus(slot, "Running")
    this.emitItem(slot)
  }

  /** Marks running items silent for `stallAfterMs` as stalled. Returns how many changed. */
  checkStalls(now: number, stallAfterMs: number): number {
    let changed = 0
    this.running.forEach((slot) => {
      if (slot.status === "Running" && now - slot.updatedAt >= stallAfterMs) {
        this.setStatus(slot, "Stalled")
        this.emitItem(slot)
        changed++
      }
    })
    return changed
  }

  snapshotEvent(seq: number, coalesced: number): ExecutionEvent {
    return {
      _tag: "Snapshot",
      seq,
      at: this.now(),
      coalesced,
      executionId: this.id,
      command: this.command,
      state: this.state,
      blocks: this.blocks,
      summary: { ...this.summary(), seq },
      items: this.slots.map((slot) => this.progressOf(slot))
    }
  }

  /** Events after `after` (at most `max`), or a snapshot standing for those that were overwritten. */
  readBatch(after: number, max: number): ReadonlyArray<ExecutionEvent> {
    const events = this.log.readAfter(after, max)
    if (events !== "behind") return events
    const covered = this.log.closed ? this.log.lastSeq - 1 : this.log.lastSeq
    return [this.snapshotEvent(covered, covered - after)]
  }

  /** A stream of this execution's events after `after`, ending with `Finished`. */
  events(after: number): Stream.Stream<ExecutionEvent> {
    return Stream.suspend(() => {
      let cursor = after
      let done = false
      const pull: Effect.Effect<Chunk.Chunk<ExecutionEvent>, Option.Option<never>> = Effect.suspend(() => {
        if (done) return Effect.fail(Option.none())
        const batch = this.readBatch(cursor, 1024)
        if (batch.length === 0) {
          if (this.log.closed) return Effect.fail(Option.none())
          return Effect.zipRight(this.log.waitAfter(cursor), pull)
        }
        const last = batch[batch.length - 1] as ExecutionEvent
        cursor = last.seq
        if (last._tag === "Finished") done = true
        return Effect.succeed(Chunk.unsafeFromArray(batch as Array<ExecutionEvent>))
      })
      return Stream.repeatEffectChunkOption(pull)
    })
  }

  /** Delivers events to `write` in batches until `Finished` was delivered. */
  pump(after: number, write: (events: ReadonlyArray<ExecutionEvent>) => Effect.Effect<void>): Effect.Effect<void> {
    const loop = (cursor: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const batch = this.readBatch(cursor, 1024)
        if (batch.length === 0) {
          if (this.log.closed) return Effect.void
          return Effect.zipRight(this.log.waitAfter(cursor), loop(cursor))
        }
        const last = batch[batch.length - 1] as ExecutionEvent
        return write(batch).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning("progress output failed", cause)),
          Effect.zipRight(last._tag === "Finished" ? Effect.void : loop(last.seq))
        )
      })
    return loop(after)
  }

  // ---------------------------------------------------------------------------
  // interrupts

  private logInterrupt(interrupt: InterruptRequest, escalated: boolean): void {
    this.log.push({
      _tag: "InterruptRequested",
      seq: this.log.nextSeq(),
      at: this.now(),
      interrupt,
      escalated,
      inFlight: this.running.size
    })
  }

  /** Records an interrupt request and tells the store and watchers. */
  requestInterrupt(
    request: InterruptRequest
  ): Effect.Effect<{ readonly escalated: boolean; readonly effective: InterruptRequest } | undefined> {
    return Effect.suspend(() => {
      if (this.controller.finished) return Effect.succeed(undefined)
      const result = this.controller.request(request)
      this.logInterrupt(request, result.escalated)
      return Effect.as(this.shared.hooks.interruptAccepted(this, request, result.escalated), result)
    })
  }

  private escalate(reason: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const escalation = this.controller.escalate(reason, new Date(this.now()))
      if (escalation === undefined) return Effect.void
      this.logInterrupt(escalation, true)
      return this.shared.hooks.interruptAccepted(this, escalation, true)
    })
  }

  /** Starts the execution's deadline: when it passes, a graceful interrupt with source `timeout`. */
  startTimeout(timeoutMs: number): void {
    this.cancelTimeout?.()
    this.cancelTimeout = this.shared.timers.schedule(timeoutMs, () => {
      this.cancelTimeout = undefined
      Effect.runFork(this.requestInterrupt(makeRequest({
        source: "timeout",
        at: new Date(this.now()),
        reason: `timed out after ${timeoutMs} ms`
      })))
    })
  }

  /** Reacts to a new interrupt request (called synchronously by the controller). */
  /** @internal Called by the controller on every change. */
  onInterruptChange(): void {
    const controller = this.controller
    const effective = controller.effective
    if (effective === undefined || controller.finished) return
    // A graceful stop: idle workers re-check; the grace period starts.
    this.wakeIdleWorkers?.wake()
    if (!controller.forced && this.cancelGrace === undefined) {
      const graceMs = this.graceMs ?? (effective.source === "timeout" ? this.shared.timeoutGraceMs : undefined)
      if (graceMs !== undefined) {
        this.cancelGrace = this.shared.timers.schedule(graceMs, () => {
          Effect.runFork(this.escalate(`grace period of ${graceMs} ms elapsed`))
        })
      }
    }
    // An immediate stop while items run: stop them now, by interrupting the fiber running them.
    if (this.scheduling && !this.forceRequested && controller.immediate(this.blockStrategy)) {
      this.forceRequested = true
      this.running.forEach((slot) => {
        slot.abort?.abort(controller.effective)
        if (slot.status !== "Interrupting") {
          this.setStatus(slot, "Interrupting")
          slot.updatedAt = this.now()
          this.emitItem(slot)
        }
      })
      this.fiber?.unsafeInterruptAsFork(FiberId.none)
    }
  }

  /** The execution's fiber is being interrupted from outside: that is a forced stop by `shutdown`. */
  private registerShutdown(): void {
    if (this.controller.forced) return
    const request = makeRequest({
      source: "shutdown",
      mode: "force",
      at: new Date(this.now()),
      reason: "the fiber running the execution was interrupted (scope closed or process shutting down)"
    })
    const result = this.controller.request(request)
    this.logInterrupt(request, result.escalated)
  }

  // ---------------------------------------------------------------------------
  // items

  private makeContext(slot: ItemSlot, strategy: InterruptStrategy): CmdBlock.ItemContext {
    return new ItemContextImpl(this, slot, strategy)
  }

  private completeItem(
    slot: ItemSlot,
    exit: Exit.Exit<unknown, unknown>,
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown> | undefined
  ) {
    this.running.delete(slot)
    const now = this.now()
    slot.updatedAt = now
    let status: ItemState["status"]
    let value: unknown = undefined
    let error: CmdOutcome.ErrorInfo | undefined = undefined
    if (Exit.isSuccess(exit)) {
      slot.outcome = "succeeded"
      slot.value = exit.value
      status = "Success"
      this.setStatus(slot, "Success")
      try {
        value = plan?.encodeState(exit.value)
      } catch {
        value = undefined
      }
    } else if (Cause.isInterruptedOnly(exit.cause) && this.controller.effective !== undefined) {
      slot.outcome = "stopped"
      status = "Interrupted"
      this.setStatus(slot, "Interrupted")
    } else {
      const failure = failureOf(exit.cause)
      slot.outcome = "failed"
      slot.failure = failure
      error = CmdOutcome.errorInfo(failure)
      slot.error = error.message
      status = "Fail"
      this.setStatus(slot, "Fail")
    }
    this.emitItem(slot)
    const state: { -readonly [K in keyof ItemState]: ItemState[K] } = {
      executionId: this.id,
      block: slot.block,
      item: slot.id,
      status,
      finishedAt: this.dateAt(now)
    }
    if (slot.startedAt !== undefined) state.startedAt = this.dateAt(slot.startedAt)
    if (value !== undefined) state.value = value
    if (error !== undefined) state.error = error
    this.addPendingState(state)
  }

  private addPendingState(state: ItemState): void {
    if (this.pendingStates === noStates) this.pendingStates = [state]
    else this.pendingStates.push(state)
  }

  /** Writes the pending item states (one batch). */
  flushStates(): Effect.Effect<void> {
    if (this.pendingStates.length === 0) return Effect.void
    const batch = this.pendingStates
    this.pendingStates = noStates
    return this.shared.hooks.saveItemStates(this, batch)
  }

  private beginBlock(name: string, index: number): void {
    this.blockActive = true
    this.blockIndex = index
    this.blockName = name
    this.slots = []
    this.counts.total = 0
    this.counts.pending = 0
    this.counts.running = 0
    this.counts.stalled = 0
    this.counts.succeeded = 0
    this.counts.failed = 0
    this.counts.interrupted = 0
    this.counts.skipped = 0
    this.summaryDirty = true
  }

  private createSlots(
    block: CmdBlock.Any,
    index: number,
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>,
    byId: ReadonlyMap<string, number>
  ): Array<ItemSlot> {
    const now = this.now()
    const planned = plan.items
    const slots: Array<ItemSlot> = new Array(planned.length)
    for (let i = 0; i < planned.length; i++) {
      const item = planned[i] as CmdBlock.PlannedItem
      slots[i] = {
        index: i,
        id: item.id,
        block: block.name,
        status: "Pending",
        limit: unknownLimit,
        units: 0,
        message: undefined,
        startedAt: undefined,
        updatedAt: now,
        error: undefined,
        outcome: "notStarted",
        value: undefined,
        failure: undefined,
        abort: undefined,
        remainingDeps: item.dependsOn.length,
        dependents: noDependents
      }
    }
    for (let i = 0; i < planned.length; i++) {
      for (const dependency of (planned[i] as CmdBlock.PlannedItem).dependsOn) {
        const slot = slots[byId.get(dependency) as number] as ItemSlot
        if (slot.dependents === noDependents) slot.dependents = [i]
        else slot.dependents.push(i)
      }
    }
    this.slots = slots
    this.counts.total = slots.length
    this.counts.pending = slots.length
    this.log.push({
      _tag: "BlockStarted",
      seq: this.log.nextSeq(),
      at: now,
      block: block.name,
      index,
      items: planned.map((item) => item.id)
    })
    // Items done in an earlier run are skipped, with their recorded result.
    const resume = this.resumeStates
    if (resume !== undefined && resume.size > 0) {
      for (const slot of slots) {
        const previous = resume.get(itemStateKey(block.name, slot.id))
        if (previous === undefined || (previous.status !== "Success" && previous.status !== "Skipped")) continue
        const decoded = plan.decodeState(previous.value)
        if (!decoded.ok) continue
        slot.outcome = "skipped"
        slot.value = decoded.value
        this.setStatus(slot, "Skipped")
        this.emitItem(slot)
        const state: { -readonly [K in keyof ItemState]: ItemState[K] } = {
          executionId: this.id,
          block: block.name,
          item: slot.id,
          status: "Skipped",
          finishedAt: new Date(now)
        }
        if (previous.value !== undefined) state.value = previous.value
        this.addPendingState(state)
      }
    }
    return slots
  }

  private report(): CmdOutcome.ItemsReport {
    const processed: Array<string> = []
    const skipped: Array<string> = []
    const inFlightStopped: Array<string> = []
    const notStarted: Array<string> = []
    for (const slot of this.slots) {
      switch (slot.outcome) {
        case "succeeded":
        case "failed":
          processed.push(slot.id)
          break
        case "skipped":
          skipped.push(slot.id)
          break
        case "stopped":
        case "running":
          inFlightStopped.push(slot.id)
          break
        case "notStarted":
          notStarted.push(slot.id)
          break
      }
    }
    return { processed, skipped, inFlightStopped, notStarted }
  }

  private partial(): CmdOutcome.PartialOutput {
    const items: Record<string, unknown> = {}
    for (const slot of this.slots) {
      if (slot.outcome === "succeeded" || slot.outcome === "skipped") items[slot.id] = slot.value
    }
    return { output: this.lastOutput, items }
  }

  /**
   * Runs the block's items with `concurrency` workers that pull ready items (as
   * `Effect.forEach` does), so an item costs no fiber of its own; one worker runs in this
   * fiber, more in child fibers. A forced stop interrupts this fiber, and with it the
   * workers and the items in flight.
   */
  private schedule(
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>,
    strategy: InterruptStrategy
  ): Effect.Effect<void, never, unknown> {
    // Called from the continuation that runs the block (at run time), so no `suspend`: the
    // effect returned is kept by the frame waiting for it, and `run.start()` is small.
    const run = new BlockRun(this, plan, strategy)
    this.scheduling = true
    this.blockStrategy = strategy
    this.wakeIdleWorkers = run
    return run.start()
  }

  /** After the block's items ran (one continuation for the whole block: one frame less on the stack). */
  private afterSchedule(
    block: CmdBlock.Any,
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>
  ): Effect.Effect<BlockResult, never, unknown> {
    this.scheduling = false
    this.wakeIdleWorkers = undefined
    if (this.pendingStates.length === 0) return this.blockResult(block, plan)
    return Effect.flatMap(this.flushStates(), () => this.blockResult(block, plan))
  }

  /** @internal */
  startItem(slot: ItemSlot): void {
    slot.outcome = "running"
    slot.startedAt = this.now()
    slot.updatedAt = slot.startedAt
    this.setStatus(slot, "Running")
    this.emitItem(slot)
    this.running.add(slot)
  }

  /** @internal */
  finishItem(slot: ItemSlot, exit: Exit.Exit<unknown, unknown>, plan: CmdBlock.BlockPlan<unknown, unknown, unknown>) {
    this.completeItem(slot, exit, plan)
  }

  /** @internal */
  contextFor(slot: ItemSlot, strategy: InterruptStrategy): CmdBlock.ItemContext {
    return this.makeContext(slot, strategy)
  }

  // The per-execution flows below are written without generators: a suspended generator
  // keeps a prototype and hidden class of its own per call, which costs kilobytes per
  // execution in flight.
  private runBlock(block: CmdBlock.Any, index: number, input: unknown): Effect.Effect<BlockResult, never, unknown> {
    return Effect.suspend(() => {
      this.beginBlock(block.name, index)
      const strategy = block.strategy ?? this.controller.strategy
      const planning = block.plan(input) as Effect.Effect<
        CmdBlock.BlockPlan<unknown, unknown, unknown>,
        unknown,
        unknown
      >
      return Effect.matchCauseEffect(planning, {
        onFailure: (cause): Effect.Effect<BlockResult, never, unknown> =>
          Effect.succeed({ _tag: "Failed", error: failureOf(cause), items: emptyReport, partial: this.partial() }),
        onSuccess: (plan): Effect.Effect<BlockResult, never, unknown> => {
          const problem = validateGraph(plan.items)
          if (typeof problem === "string") {
            return Effect.succeed({
              _tag: "Failed",
              error: new CmdOutcome.CmdDefect({ message: `block ${block.name}: ${problem}` }),
              items: emptyReport,
              partial: this.partial()
            })
          }
          this.createSlots(block, index, plan, problem)
          return Effect.flatMap(this.schedule(plan, strategy), () => this.afterSchedule(block, plan))
        }
      })
    })
  }

  private blockResult(
    block: CmdBlock.Any,
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>
  ): Effect.Effect<BlockResult, never, unknown> {
    const items = this.report()
    const errors: Record<string, unknown> = {}
    let firstError: unknown = undefined
    let failed = 0
    for (const slot of this.slots) {
      if (slot.outcome === "failed") {
        if (failed === 0) firstError = slot.failure
        errors[slot.id] = slot.failure
        failed++
      }
    }
    if (failed > 0) {
      return Effect.succeed(
        block.kind === "step"
          ? { _tag: "Failed", error: firstError, items, partial: this.partial() }
          : { _tag: "ItemErrors", errors, items, partial: this.partial() }
      )
    }
    if (items.inFlightStopped.length > 0 || items.notStarted.length > 0) {
      return Effect.succeed({ _tag: "Interrupted", items, partial: this.partial() })
    }
    const values: Array<unknown> = new Array(this.slots.length)
    const skipped: Array<boolean> = new Array(this.slots.length)
    for (const slot of this.slots) {
      values[slot.index] = slot.value
      skipped[slot.index] = slot.outcome === "skipped"
    }
    return Effect.matchCause(plan.output(values, skipped), {
      onFailure: (cause): BlockResult => ({ _tag: "Failed", error: failureOf(cause), items, partial: this.partial() }),
      onSuccess: (output): BlockResult => ({ _tag: "Done", output })
    })
  }

  private blockFinished(block: string, index: number, status: "Complete" | "Interrupted" | "Failed"): void {
    this.log.push({ _tag: "BlockFinished", seq: this.log.nextSeq(), at: this.now(), block, index, status })
  }

  /** Runs blocks `index…` (a stopping point before each). */
  private runFrom(
    blocks: ReadonlyArray<CmdBlock.Any>,
    index: number,
    value: unknown
  ): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> {
    const names = this.blocks
    if (index >= blocks.length) {
      this.blockName = undefined
      return Effect.succeed(CmdOutcome.complete(value, [...this.blocksProcessed]))
    }
    const block = blocks[index] as CmdBlock.Any
    if (this.controller.stopAtBlockBoundary()) {
      return Effect.succeed(CmdOutcome.executionInterrupted({
        interrupt: this.controller.effective as InterruptRequest,
        blocksProcessed: [...this.blocksProcessed],
        blocksNotProcessed: names.slice(index),
        partial: { output: this.lastOutput, items: {} }
      }))
    }
    return Effect.flatMap(
      this.runBlock(block, index, value),
      (result): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> => {
        switch (result._tag) {
          case "Done": {
            this.lastOutput = Option.some(result.output)
            if (this.blocksProcessed === noNames) this.blocksProcessed = [block.name]
            else this.blocksProcessed.push(block.name)
            this.blocksDone = this.blocksProcessed.length
            this.blockActive = false
            this.blockFinished(block.name, index, "Complete")
            return this.runFrom(blocks, index + 1, result.output)
          }
          case "Interrupted": {
            this.blockFinished(block.name, index, "Interrupted")
            return Effect.succeed({
              _tag: "BlockInterrupted",
              block: block.name,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1),
              interrupt: this.controller.effective as InterruptRequest
            })
          }
          case "ItemErrors": {
            this.blockFinished(block.name, index, "Failed")
            return Effect.succeed({
              _tag: "ItemErrors",
              block: block.name,
              errors: result.errors,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1),
              interrupt: Option.fromNullable(this.controller.effective)
            })
          }
          case "Failed": {
            this.blockFinished(block.name, index, "Failed")
            return Effect.succeed({
              _tag: "BlockFailed",
              block: block.name,
              error: result.error,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1)
            })
          }
        }
      }
    )
  }

  /** The outcome when the execution's fiber ended without producing one (interrupted from outside, or a defect). */
  abortedOutcome(cause: Cause.Cause<unknown>): CmdOutcome.CmdOutcome<unknown, unknown> {
    const names = this.blocks
    const index = this.blockActive ? this.blockIndex : this.blocksProcessed.length
    this.scheduling = false
    if (Cause.isInterruptedOnly(cause)) {
      if (!this.forceRequested) this.registerShutdown()
      // Items interrupted together with the fiber (their finalizers have run): stopped in flight.
      for (const slot of this.running.toArray()) this.completeItem(slot, Exit.interrupt(FiberId.none), undefined)
      const interrupt = this.controller.effective as InterruptRequest
      if (this.blockActive && this.blockName !== undefined) {
        return {
          _tag: "BlockInterrupted",
          block: this.blockName,
          items: this.report(),
          partial: this.partial(),
          blocksProcessed: [...this.blocksProcessed],
          blocksNotProcessed: names.slice(index + 1),
          interrupt
        }
      }
      return CmdOutcome.executionInterrupted({
        interrupt,
        blocksProcessed: [...this.blocksProcessed],
        blocksNotProcessed: names.slice(index),
        partial: { output: this.lastOutput, items: {} }
      })
    }
    return {
      _tag: "BlockFailed",
      block: names[index] ?? this.blockName ?? "",
      error: CmdOutcome.CmdDefect.fromUnknown(Cause.squash(cause)),
      items: this.blockActive ? this.report() : emptyReport,
      partial: this.partial(),
      blocksProcessed: [...this.blocksProcessed],
      blocksNotProcessed: names.slice(index + 1)
    }
  }

  /**
   * Runs the blocks in the current fiber (which a forced stop interrupts). The caller
   * turns an interruption or a defect into an outcome with `abortedOutcome`, inside an
   * uninterruptible region of its own (see the map's lifecycle).
   */
  execute(
    blocks: ReadonlyArray<CmdBlock.Any>,
    input: unknown
  ): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> {
    return Effect.withFiberRuntime((fiber) => {
      this.fiber = fiber
      return this.runFrom(blocks, 0, input)
    })
  }

  /** The execution ended with `outcome`: stop reacting to interrupts by interrupting the fiber. */
  settle(outcome: CmdOutcome.CmdOutcome<unknown, unknown>): CmdOutcome.CmdOutcome<unknown, unknown> {
    this.fiber = undefined
    this.scheduling = false
    this.wakeIdleWorkers = undefined
    this.outcome = outcome
    this.stopTimers()
    return outcome
  }

  /** Cancels the deadline and the grace period. */
  stopTimers(): void {
    this.cancelTimeout?.()
    this.cancelGrace?.()
    this.cancelTimeout = undefined
    this.cancelGrace = undefined
  }

  /** Emits the final event; `seq` must have been reserved with `log.nextSeq()`. */
  finish(seq: number, state: ExecutionState, outcome: CmdOutcome.Encoded): void {
    this.controller.finished = true
    this.state = state
    this.log.push({ _tag: "Finished", seq, at: this.now(), state, outcome })
  }
}

/** Items are written in batches of at most this many (and on each progress tick). */
const flushBatch = 256

/**
 * One pass over a block's items: the ready queue (dependency order), the stopping
 * decisions before each item start, and the workers. A class rather than closures: it
 * lives as long as the block runs, and closures would cost memory per execution.
 *
 * @internal
 */
class BlockRun {
  /**
   * Items ready to start, in order. Without dependencies this is the block's slots
   * themselves (no copy per block); `next` skips those already settled (resumed).
   */
  private readonly ready: Array<ItemSlot>
  private readyIndex = 0
  private stopping = false
  private failures = 0
  private active = 0
  private toRun = 0
  private idle: Array<() => void> | undefined = undefined
  private waitIdle: Effect.Effect<void> | undefined = undefined
  /** One worker: pulls items until there is nothing more to start. */
  readonly worker: Effect.Effect<void, never, unknown> = Effect.suspend(() => this.step())

  constructor(
    private readonly runtime: ExecutionRuntime,
    private readonly plan: CmdBlock.BlockPlan<unknown, unknown, unknown>,
    private readonly strategy: InterruptStrategy
  ) {
    const slots = runtime.slots
    if (slots.every((slot) => slot.remainingDeps === 0)) {
      this.ready = slots
    } else {
      this.ready = []
      for (const slot of slots) {
        if (slot.outcome === "notStarted" && slot.remainingDeps === 0) this.ready.push(slot)
      }
    }
    for (const slot of slots) {
      // Skipped items count as done for their dependents.
      if (slot.outcome === "skipped") this.release(slot)
      else this.toRun++
    }
  }

  start(): Effect.Effect<void, never, unknown> {
    const count = Math.min(this.plan.concurrency, this.toRun)
    if (count <= 1) return this.worker
    return Effect.all(Array.from({ length: count }, () => this.worker), { concurrency: "unbounded", discard: true })
  }

  /** Wakes idle workers (a released item, or a graceful stop to notice). */
  wake(): void {
    const idle = this.idle
    if (idle === undefined || idle.length === 0) return
    this.idle = []
    for (const resume of idle) resume()
  }

  private release(slot: ItemSlot): void {
    const slots = this.runtime.slots
    for (const dependentIndex of slot.dependents) {
      const dependent = slots[dependentIndex] as ItemSlot
      if (--dependent.remainingDeps === 0 && dependent.outcome === "notStarted") this.ready.push(dependent)
    }
  }

  /** The next item to start, `"wait"` when running items may still release one, or `"done"`. */
  private next(): ItemSlot | "wait" | "done" {
    const controller = this.runtime.controller
    if (controller.effective !== undefined && controller.immediate(this.strategy)) return "done"
    if (this.stopping || (this.plan.onItemError === "stop" && this.failures > 0)) return "done"
    while (this.readyIndex < this.ready.length && (this.ready[this.readyIndex] as ItemSlot).outcome !== "notStarted") {
      this.readyIndex++
    }
    if (this.readyIndex < this.ready.length) {
      if (controller.effective !== undefined && controller.stopBeforeItemStart(this.strategy)) {
        this.stopping = true
        return "done"
      }
      return this.ready[this.readyIndex++] as ItemSlot
    }
    return this.active > 0 ? "wait" : "done"
  }

  private waitForWork(): Effect.Effect<void> {
    return this.waitIdle ??= Effect.async<void>((resume) => {
      const wake = () => resume(Effect.void)
      ;(this.idle ??= []).push(wake)
      return Effect.sync(() => {
        const index = this.idle?.indexOf(wake) ?? -1
        if (index >= 0) this.idle?.splice(index, 1)
      })
    })
  }

  private finish(slot: ItemSlot, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, never, unknown> {
    this.active--
    this.runtime.finishItem(slot, exit, this.plan)
    if (slot.outcome === "succeeded") this.release(slot)
    else if (slot.outcome === "failed") this.failures++
    this.wake()
    return this.runtime.pendingStates.length >= flushBatch
      ? Effect.zipRight(this.runtime.flushStates(), this.worker)
      : this.worker
  }

  // One item per iteration: start it, run it, account for it, go on. (Items interrupted
  // together with the fiber are accounted for by the runtime's `abortedOutcome`.)
  private step(): Effect.Effect<void, never, unknown> {
    const slot = this.next()
    if (slot === "done") return Effect.void
    if (slot === "wait") return Effect.zipRight(this.waitForWork(), this.worker)
    this.runtime.startItem(slot)
    this.active++
    let item: Effect.Effect<unknown, unknown, unknown>
    try {
      item = this.plan.apply(slot.index, this.runtime.contextFor(slot, this.strategy))
    } catch (defect) {
      item = Effect.die(defect)
    }
    return Effect.matchCauseEffect(item, {
      onFailure: (cause) => this.finish(slot, Exit.failCause(cause)),
      onSuccess: (value) => this.finish(slot, Exit.succeed(value))
    })
  }
}

/**
 * The context given to an item. Its parts are built on first use, so an item that never
 * reports progress or checks for interrupts costs no closures.
 *
 * @internal
 */
class ItemContextImpl implements CmdBlock.ItemContext {
  private progressHandle: ProgressHandle | undefined = undefined

  constructor(
    private readonly runtime: ExecutionRuntime,
    private readonly slot: ItemSlot,
    private readonly strategy: InterruptStrategy
  ) {}

  get executionId(): ExecutionId {
    return this.runtime.id
  }

  get block(): string {
    return this.slot.block
  }

  get itemId(): string {
    return this.slot.id
  }

  get progress(): ProgressHandle {
    if (this.progressHandle !== undefined) return this.progressHandle
    const runtime = this.runtime
    const slot = this.slot
    const update = (progressUpdate: ProgressUpdate) => Effect.sync(() => runtime.updateItem(slot, progressUpdate))
    this.progressHandle = {
      setLimit: (limit) => update({ limit }),
      inc: (units = 1) => update({ inc: units }),
      set: (units) => update({ units }),
      message: (text) => update({ message: text }),
      update,
      unsafeUpdate: (progressUpdate) => runtime.updateItem(slot, progressUpdate)
    }
    return this.progressHandle
  }

  get interrupted(): Effect.Effect<boolean> {
    return Effect.sync(() => this.runtime.controller.itemShouldStop(this.strategy))
  }

  get checkpoint(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const controller = this.runtime.controller
      if (!controller.itemShouldStop(this.strategy)) return Effect.void
      this.slot.abort?.abort(controller.effective)
      return Effect.interrupt
    })
  }

  get whenInterrupted(): Effect.Effect<InterruptRequest> {
    return Effect.async<InterruptRequest>((resume) => {
      const controller = this.runtime.controller
      const check = () => {
        if (controller.itemShouldStop(this.strategy) && controller.effective !== undefined) {
          resume(Effect.succeed(controller.effective))
          return true
        }
        return false
      }
      if (check()) return
      const remove = controller.onChange(() => {
        if (check()) remove()
      })
      return Effect.sync(remove)
    })
  }

  get signal(): AbortSignal {
    if (this.slot.abort === undefined) this.slot.abort = new AbortController()
    return this.slot.abort.signal
  }
}

/** Finds duplicate ids, unknown dependencies and cycles. @internal */
export const validateGraph = (
  items: ReadonlyArray<CmdBlock.PlannedItem>
): string | ReadonlyMap<string, number> => {
  const index = new Map<string, number>()
  for (let i = 0; i < items.length; i++) {
    const id = (items[i] as CmdBlock.PlannedItem).id
    if (index.has(id)) return `duplicate item id ${JSON.stringify(id)}`
    index.set(id, i)
  }
  let hasDependencies = false
  for (const item of items) {
    for (const dependency of item.dependsOn) {
      hasDependencies = true
      if (!index.has(dependency)) {
        return `item ${JSON.stringify(item.id)} depends on unknown item ${JSON.stringify(dependency)}`
      }
      if (dependency === item.id) return `item ${JSON.stringify(item.id)} depends on itself`
    }
  }
  if (!hasDependencies) return index
  // Kahn's algorithm: whatever is left has a cycle.
  const remaining = items.map((item) => item.dependsOn.length)
  const dependents: Array<Array<number>> = items.map(() => [])
  items.forEach((item, i) =>
    item.dependsOn.forEach((dependency) => dependents[index.get(dependency) as number]?.push(i))
  )
  const queue: Array<number> = []
  remaining.forEach((count, i) => count === 0 && queue.push(i))
  let visited = 0
  while (queue.length > 0) {
    const next = queue.pop() as number
    visited++
    for (const dependent of dependents[next] as Array<number>) {
      remaining[dependent] = (remaining[dependent] as number) - 1
      if (remaining[dependent] === 0) queue.push(dependent)
    }
  }
  if (visited === items.length) return index
  const cyclic = items.filter((_, i) => (remaining[i] as number) > 0).map((item) => item.id)
  return `dependency cycle among items ${cyclic.map((id) => JSON.stringify(id)).join(", ")}`
}
