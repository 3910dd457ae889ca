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
import * as Fiber from "effect/Fiber"
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
  ProgressLimit,
  ProgressSummary,
  ProgressUpdate
} from "../Progress.js"
import { estimateRemaining } from "../Progress.js"
import { InterruptController } from "./controller.js"
import { EventLog } from "./eventLog.js"

/** @internal */
export interface RuntimeHooks {
  readonly saveItemStates: (states: ReadonlyArray<ItemState>) => Effect.Effect<void>
  readonly interruptAccepted: (request: InterruptRequest, escalated: boolean) => Effect.Effect<void>
}

/** @internal */
export interface RuntimeOptions {
  readonly id: ExecutionId
  readonly command: string
  readonly blocks: ReadonlyArray<string>
  readonly strategy: InterruptStrategy
  readonly graceMs: number | undefined
  readonly timeoutGraceMs: number
  readonly eventCapacity: number
  readonly now: () => number
  readonly resumeStates: ReadonlyMap<string, ItemState> | undefined
  readonly hooks: RuntimeHooks
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
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  abort: AbortController | undefined
  remainingDeps: number
  dependents: Array<number>
}

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
  readonly running = new Set<ItemSlot>()
  lastOutput: Option.Option<unknown> = Option.none()
  readonly blocksProcessed: Array<string> = []
  pendingStates: Array<ItemState> = []

  // timers
  timeoutFiber: Fiber.RuntimeFiber<void> | undefined = undefined
  graceFiber: Fiber.RuntimeFiber<void> | undefined = undefined

  private wakeup: (() => void) | undefined = undefined
  private woken = false

  constructor(readonly options: RuntimeOptions) {
    this.log = new EventLog(options.eventCapacity)
    this.controller = new InterruptController(options.strategy)
    this.controller.onChange(() => this.notify())
  }

  get id(): ExecutionId {
    return this.options.id
  }

  now(): number {
    return this.options.now()
  }

  /** Wakes the scheduler. */
  notify(): void {
    const wake = this.wakeup
    if (wake !== undefined) {
      this.wakeup = undefined
      wake()
    } else {
      this.woken = true
    }
  }

  /** Waits until `notify` is called (returns at once if it was called since the last wait). */
  readonly waitForSignal: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.woken) {
      this.woken = false
      resume(Effect.void)
      return
    }
    this.wakeup = () => resume(Effect.void)
    return Effect.sync(() => {
      this.wakeup = undefined
    })
  })

  // ---------------------------------------------------------------------------
  // events and progress

  setState(state: ExecutionState): void {
    this.state = state
    this.summaryDirty = true
    this.log.push({
      _tag: "StateChanged",
      seq: this.log.nextSeq(),
      at: this.now(),
      executionId: this.options.id,
      command: this.options.command,
      state
    })
  }

  summary(): ProgressSummary {
    const summary: {
      -readonly [K in keyof ProgressSummary]: ProgressSummary[K]
    } = {
      seq: this.log.lastSeq,
      updatedAt: this.now(),
      blockIndex: this.blockIndex,
      blocksTotal: this.options.blocks.length,
      blocksDone: this.blocksDone,
      items: { ...this.counts }
    }
    if (this.blockName !== undefined) summary.block = this.blockName
    if (this.lastMessage !== undefined) summary.message = this.lastMessage
    return summary
  }

  progressOf(slot: ItemSlot): ItemProgress {
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
    for (const slot of this.running) {
      if (slot.status === "Running" && now - slot.updatedAt >= stallAfterMs) {
        this.setStatus(slot, "Stalled")
        this.emitItem(slot)
        changed++
      }
    }
    return changed
  }

  snapshotEvent(seq: number, coalesced: number): ExecutionEvent {
    return {
      _tag: "Snapshot",
      seq,
      at: this.now(),
      coalesced,
      executionId: this.options.id,
      command: this.options.command,
      state: this.state,
      blocks: this.options.blocks,
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

  /** Records an interrupt request and tells the store and watchers. */
  requestInterrupt(
    request: InterruptRequest
  ): Effect.Effect<{ readonly escalated: boolean; readonly effective: InterruptRequest } | undefined> {
    return Effect.suspend(() => {
      if (this.controller.finished) return Effect.succeed(undefined)
      const result = this.controller.request(request)
      this.log.push({
        _tag: "InterruptRequested",
        seq: this.log.nextSeq(),
        at: this.now(),
        interrupt: request,
        escalated: result.escalated,
        inFlight: this.running.size
      })
      return Effect.as(this.options.hooks.interruptAccepted(request, result.escalated), result)
    })
  }

  private escalate(reason: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const escalation = this.controller.escalate(reason, new Date(this.now()))
      if (escalation === undefined) return Effect.void
      this.log.push({
        _tag: "InterruptRequested",
        seq: this.log.nextSeq(),
        at: this.now(),
        interrupt: escalation,
        escalated: true,
        inFlight: this.running.size
      })
      return this.options.hooks.interruptAccepted(escalation, true)
    })
  }

  /** Starts the execution's deadline: when it passes, a graceful interrupt with source `timeout`. */
  startTimeout(timeoutMs: number): Effect.Effect<void> {
    return Effect.map(
      Effect.forkDaemon(
        Effect.zipRight(
          Effect.sleep(Math.max(0, timeoutMs)),
          Effect.suspend(() =>
            this.requestInterrupt(makeRequest({
              source: "timeout",
              at: new Date(this.now()),
              reason: `timed out after ${timeoutMs} ms`
            }))
          )
        ).pipe(Effect.asVoid)
      ),
      (fiber) => {
        this.timeoutFiber = fiber
      }
    )
  }

  /** Starts the grace timer once a graceful stop is in effect (if a grace period applies). */
  ensureGraceTimer(): Effect.Effect<void> {
    const effective = this.controller.effective
    if (effective === undefined || this.controller.forced || this.graceFiber !== undefined) return Effect.void
    const graceMs = this.options.graceMs ?? (effective.source === "timeout" ? this.options.timeoutGraceMs : undefined)
    if (graceMs === undefined) return Effect.void
    return Effect.map(
      Effect.forkDaemon(
        Effect.zipRight(Effect.sleep(graceMs), this.escalate(`grace period of ${graceMs} ms elapsed`))
      ),
      (fiber) => {
        this.graceFiber = fiber
      }
    )
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
    this.log.push({
      _tag: "InterruptRequested",
      seq: this.log.nextSeq(),
      at: this.now(),
      interrupt: request,
      escalated: result.escalated,
      inFlight: this.running.size
    })
  }

  // ---------------------------------------------------------------------------
  // items

  private makeContext(slot: ItemSlot, strategy: InterruptStrategy): CmdBlock.ItemContext {
    const controller = this.controller
    const update = (progressUpdate: ProgressUpdate) => Effect.sync(() => this.updateItem(slot, progressUpdate))
    return {
      executionId: this.options.id,
      block: slot.block,
      itemId: slot.id,
      progress: {
        setLimit: (limit) => update({ limit }),
        inc: (units = 1) => update({ inc: units }),
        set: (units) => update({ units }),
        message: (text) => update({ message: text }),
        update,
        unsafeUpdate: (progressUpdate) => this.updateItem(slot, progressUpdate)
      },
      interrupted: Effect.sync(() => controller.itemShouldStop(strategy)),
      checkpoint: Effect.suspend(() => {
        if (!controller.itemShouldStop(strategy)) return Effect.void
        slot.abort?.abort(controller.effective)
        return Effect.interrupt
      }),
      whenInterrupted: Effect.async<InterruptRequest>((resume) => {
        const check = () => {
          if (controller.itemShouldStop(strategy) && controller.effective !== undefined) {
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
      }),
      get signal() {
        if (slot.abort === undefined) slot.abort = new AbortController()
        return slot.abort.signal
      }
    }
  }

  private completeItem(
    slot: ItemSlot,
    exit: Exit.Exit<unknown, unknown>,
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>
  ) {
    this.running.delete(slot)
    slot.fiber = undefined
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
        value = plan.encodeState(exit.value)
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
      executionId: this.options.id,
      block: slot.block,
      item: slot.id,
      status,
      finishedAt: new Date(now)
    }
    if (slot.startedAt !== undefined) state.startedAt = new Date(slot.startedAt)
    if (value !== undefined) state.value = value
    if (error !== undefined) state.error = error
    this.pendingStates.push(state)
    this.notify()
  }

  readonly flushStates: Effect.Effect<void> = Effect.suspend(() => {
    if (this.pendingStates.length === 0) return Effect.void
    const batch = this.pendingStates
    this.pendingStates = []
    return this.options.hooks.saveItemStates(batch)
  })

  /** Forces in-flight items to stop and waits until they have (finalizers included). */
  private readonly stopInFlight: Effect.Effect<void> = Effect.suspend(() => {
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const slot of this.running) {
      if (slot.fiber === undefined) continue
      slot.abort?.abort(this.controller.effective)
      if (slot.status !== "Interrupting") {
        this.setStatus(slot, "Interrupting")
        slot.updatedAt = this.now()
        this.emitItem(slot)
      }
      fibers.push(slot.fiber)
    }
    return fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers)
  })

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
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>
  ): Array<ItemSlot> {
    const now = this.now()
    const planned = plan.items
    const byId = new Map<string, number>()
    const slots: Array<ItemSlot> = new Array(planned.length)
    for (let i = 0; i < planned.length; i++) {
      const item = planned[i] as CmdBlock.PlannedItem
      byId.set(item.id, i)
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
        fiber: undefined,
        abort: undefined,
        remainingDeps: item.dependsOn.length,
        dependents: []
      }
    }
    for (let i = 0; i < planned.length; i++) {
      for (const dependency of (planned[i] as CmdBlock.PlannedItem).dependsOn) {
        ;(slots[byId.get(dependency) as number] as ItemSlot).dependents.push(i)
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
    const resume = this.options.resumeStates
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
          executionId: this.options.id,
          block: block.name,
          item: slot.id,
          status: "Skipped",
          finishedAt: new Date(now)
        }
        if (previous.value !== undefined) state.value = previous.value
        this.pendingStates.push(state)
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

  private schedule(
    plan: CmdBlock.BlockPlan<unknown, unknown, unknown>,
    strategy: InterruptStrategy
  ): Effect.Effect<void, never, unknown> {
    const slots = this.slots
    const ready: Array<ItemSlot> = []
    for (const slot of slots) {
      if (slot.outcome === "notStarted" && slot.remainingDeps === 0) ready.push(slot)
    }
    // Skipped items count as done for their dependents.
    const release = (slot: ItemSlot) => {
      for (const dependentIndex of slot.dependents) {
        const dependent = slots[dependentIndex] as ItemSlot
        if (--dependent.remainingDeps === 0 && dependent.outcome === "notStarted") ready.push(dependent)
      }
    }
    for (const slot of slots) if (slot.outcome === "skipped") release(slot)
    let readyIndex = 0
    let stopping = false
    let failures = 0
    const runItem = (slot: ItemSlot) => {
      const ctx = this.makeContext(slot, strategy)
      return Effect.suspend(() => plan.apply(slot.index, ctx)).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            this.completeItem(slot, exit, plan)
            if (slot.outcome === "succeeded") release(slot)
            else if (slot.outcome === "failed") failures++
          })
        )
      )
    }
    const loop: Effect.Effect<void, never, unknown> = Effect.gen(this, function*() {
      while (true) {
        yield* this.flushStates
        if (this.controller.effective !== undefined) {
          if (this.controller.immediate(strategy)) {
            yield* this.stopInFlight
            return
          }
          yield* this.ensureGraceTimer()
        }
        const stopOnError = plan.onItemError === "stop" && failures > 0
        while (!stopping && !stopOnError && this.running.size < plan.concurrency && readyIndex < ready.length) {
          if (this.controller.effective !== undefined && this.controller.stopBeforeItemStart(strategy)) {
            stopping = true
            break
          }
          const slot = ready[readyIndex++] as ItemSlot
          slot.outcome = "running"
          slot.startedAt = this.now()
          slot.updatedAt = slot.startedAt
          this.setStatus(slot, "Running")
          this.emitItem(slot)
          this.running.add(slot)
          slot.fiber = yield* Effect.fork(runItem(slot))
        }
        if (this.running.size === 0) return
        yield* this.waitForSignal
      }
    })
    return loop.pipe(
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          this.registerShutdown()
          return this.stopInFlight
        })
      ),
      Effect.ensuring(this.flushStates)
    )
  }

  private runBlock(block: CmdBlock.Any, index: number, input: unknown): Effect.Effect<BlockResult, never, unknown> {
    return Effect.gen(this, function*() {
      this.beginBlock(block.name, index)
      const strategy = block.strategy ?? this.controller.strategy
      const planned = yield* Effect.exit(
        block.plan(input) as Effect.Effect<CmdBlock.BlockPlan<unknown, unknown, unknown>, unknown, unknown>
      )
      if (Exit.isFailure(planned)) {
        return {
          _tag: "Failed",
          error: failureOf(planned.cause),
          items: emptyReport,
          partial: this.partial()
        } as const
      }
      const plan = planned.value
      const problem = validateGraph(plan.items)
      if (problem !== undefined) {
        return {
          _tag: "Failed",
          error: new CmdOutcome.CmdDefect({ message: `block ${block.name}: ${problem}` }),
          items: emptyReport,
          partial: this.partial()
        } as const
      }
      this.createSlots(block, index, plan)
      yield* this.schedule(plan, strategy)
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
        return block.kind === "step"
          ? { _tag: "Failed", error: firstError, items, partial: this.partial() } as const
          : { _tag: "ItemErrors", errors, items, partial: this.partial() } as const
      }
      if (items.inFlightStopped.length > 0 || items.notStarted.length > 0) {
        return { _tag: "Interrupted", items, partial: this.partial() } as const
      }
      const values: Array<unknown> = new Array(this.slots.length)
      const skipped: Array<boolean> = new Array(this.slots.length)
      for (const slot of this.slots) {
        values[slot.index] = slot.value
        skipped[slot.index] = slot.outcome === "skipped"
      }
      const output = yield* Effect.exit(plan.output(values, skipped))
      if (Exit.isFailure(output)) {
        return { _tag: "Failed", error: failureOf(output.cause), items, partial: this.partial() } as const
      }
      return { _tag: "Done", output: output.value } as const
    })
  }

  private blockFinished(block: string, index: number, status: "Complete" | "Interrupted" | "Failed"): void {
    this.log.push({ _tag: "BlockFinished", seq: this.log.nextSeq(), at: this.now(), block, index, status })
  }

  private runBlocks(
    blocks: ReadonlyArray<CmdBlock.Any>,
    input: unknown
  ): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> {
    const names = this.options.blocks
    return Effect.gen(this, function*() {
      let value = input
      for (let index = 0; index < blocks.length; index++) {
        const block = blocks[index] as CmdBlock.Any
        if (this.controller.stopAtBlockBoundary()) {
          return CmdOutcome.executionInterrupted({
            interrupt: this.controller.effective as InterruptRequest,
            blocksProcessed: [...this.blocksProcessed],
            blocksNotProcessed: names.slice(index),
            partial: { output: this.lastOutput, items: {} }
          })
        }
        const result = yield* this.runBlock(block, index, value)
        switch (result._tag) {
          case "Done": {
            value = result.output
            this.lastOutput = Option.some(value)
            this.blocksProcessed.push(block.name)
            this.blocksDone = this.blocksProcessed.length
            this.blockActive = false
            this.blockFinished(block.name, index, "Complete")
            break
          }
          case "Interrupted": {
            this.blockFinished(block.name, index, "Interrupted")
            return {
              _tag: "BlockInterrupted",
              block: block.name,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1),
              interrupt: this.controller.effective as InterruptRequest
            } satisfies CmdOutcome.BlockInterrupted
          }
          case "ItemErrors": {
            this.blockFinished(block.name, index, "Failed")
            return {
              _tag: "ItemErrors",
              block: block.name,
              errors: result.errors,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1),
              interrupt: Option.fromNullable(this.controller.effective)
            } satisfies CmdOutcome.ItemErrors<unknown>
          }
          case "Failed": {
            this.blockFinished(block.name, index, "Failed")
            return {
              _tag: "BlockFailed",
              block: block.name,
              error: result.error,
              items: result.items,
              partial: result.partial,
              blocksProcessed: [...this.blocksProcessed],
              blocksNotProcessed: names.slice(index + 1)
            } satisfies CmdOutcome.BlockFailed<unknown>
          }
        }
      }
      this.blockName = undefined
      return CmdOutcome.complete(value, [...this.blocksProcessed])
    })
  }

  /** The outcome when the execution's fiber ended without producing one (interrupted from outside, or a defect). */
  abortedOutcome(cause: Cause.Cause<unknown>): CmdOutcome.CmdOutcome<unknown, unknown> {
    const names = this.options.blocks
    const index = this.blockActive ? this.blockIndex : this.blocksProcessed.length
    if (Cause.isInterruptedOnly(cause)) {
      this.registerShutdown()
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
   * Runs the blocks. Never fails: interruption from outside becomes an interrupted outcome
   * (source `shutdown`) after in-flight items were stopped; a defect becomes `BlockFailed`.
   */
  execute(
    blocks: ReadonlyArray<CmdBlock.Any>,
    input: unknown
  ): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> {
    return Effect.uninterruptibleMask((restore) =>
      restore(this.runBlocks(blocks, input)).pipe(
        Effect.exit,
        Effect.map((exit) => {
          const outcome = Exit.isSuccess(exit) ? exit.value : this.abortedOutcome(exit.cause)
          this.outcome = outcome
          return outcome
        }),
        Effect.ensuring(this.stopTimers)
      )
    )
  }

  readonly stopTimers: Effect.Effect<void> = Effect.suspend(() => {
    const fibers = [this.timeoutFiber, this.graceFiber].filter((fiber) => fiber !== undefined)
    this.timeoutFiber = undefined
    return fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers)
  })

  /** Emits the final event; `seq` must have been reserved with `log.nextSeq()`. */
  finish(seq: number, state: ExecutionState, outcome: CmdOutcome.Encoded): void {
    this.controller.finished = true
    this.state = state
    this.log.push({ _tag: "Finished", seq, at: this.now(), state, outcome })
  }
}

/** Finds duplicate ids, unknown dependencies and cycles. @internal */
export const validateGraph = (items: ReadonlyArray<CmdBlock.PlannedItem>): string | undefined => {
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
  if (!hasDependencies) return undefined
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
  if (visited === items.length) return undefined
  const cyclic = items.filter((_, i) => (remaining[i] as number) > 0).map((item) => item.id)
  return `dependency cycle among items ${cyclic.map((id) => JSON.stringify(id)).join(", ")}`
}
