/**
 * The interrupt state of one execution: the requests it received and the decisions taken
 * at each stopping point. Never shared between executions (interrupts are never sticky).
 *
 * @internal
 */
import type { InterruptRequest, InterruptStrategy } from "../Interrupt.js"
import { request as makeRequest } from "../Interrupt.js"

/** Shared by controllers that received no request (never pushed to). */
const noRequests: Array<InterruptRequest> = []

/** @internal */
export class InterruptController {
  /** Every request received, in order (a shared empty array until the first). */
  requests: Array<InterruptRequest> = noRequests
  /** The request in effect: the first one, or the one that forced the stop. */
  effective: InterruptRequest | undefined = undefined
  /** A forced (immediate) stop is in effect. */
  forced = false
  /** The execution has ended; requests are refused. */
  finished = false
  private pollsLeft: number | undefined = undefined
  /** Few listeners, most of the time one: an array, made on first use. */
  private listeners: Array<() => void> | undefined = undefined

  /**
   * @param owner told first of every change (the execution's runtime): a reference rather
   *   than a listener closure, one less object per execution in flight.
   */
  constructor(
    readonly strategy: InterruptStrategy,
    private readonly owner?: { onInterruptChange(): void }
  ) {}

  onChange(listener: () => void): () => void {
    // `[listener]` rather than a push onto `[]`: an array literal is sized exactly.
    if (this.listeners === undefined) this.listeners = [listener]
    else this.listeners.push(listener)
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1
      if (index >= 0) this.listeners?.splice(index, 1)
    }
  }

  private record(request: InterruptRequest): void {
    if (this.requests === noRequests) this.requests = [request]
    else this.requests.push(request)
  }

  private notify(): void {
    this.owner?.onInterruptChange()
    if (this.listeners === undefined) return
    for (const listener of [...this.listeners]) listener()
  }

  /**
   * Records a request. The first graceful request starts a graceful stop; a forced request,
   * or any request after the first, makes the stop immediate (escalation).
   */
  request(request: InterruptRequest): { readonly escalated: boolean; readonly effective: InterruptRequest } {
    this.record(request)
    let escalated = false
    if (this.effective === undefined) {
      this.effective = request
      if (request.mode === "force") this.forced = true
    } else if (!this.forced) {
      this.forced = true
      escalated = true
      this.effective = request.mode === "force" ? request : makeRequest({
        source: request.source,
        mode: "force",
        at: request.at,
        reason: request.reason ?? "second interrupt request",
        requestedBy: request.requestedBy
      })
    }
    this.notify()
    return { escalated, effective: this.effective }
  }

  /** The grace period ran out: make the stop immediate. */
  escalate(reason: string, now: Date): InterruptRequest | undefined {
    if (this.forced || this.effective === undefined || this.finished) return undefined
    const escalation = makeRequest({
      source: this.effective.source,
      mode: "force",
      at: now,
      reason,
      requestedBy: this.effective.requestedBy
    })
    this.record(escalation)
    this.effective = escalation
    this.forced = true
    this.notify()
    return escalation
  }

  private poll(n: number): boolean {
    if (this.pollsLeft === undefined) this.pollsLeft = n
    if (this.pollsLeft > 0) {
      this.pollsLeft--
      return false
    }
    return true
  }

  /** Stopping point before a block. True = stop here. */
  stopAtBlockBoundary(): boolean {
    if (this.effective === undefined) return false
    if (this.forced) return true
    return this.strategy._tag === "PollNextN" ? this.poll(this.strategy.n) : true
  }

  /** Stopping point before an item starts. True = start no more items. */
  stopBeforeItemStart(strategy: InterruptStrategy): boolean {
    if (this.effective === undefined) return false
    if (this.forced) return true
    switch (strategy._tag) {
      case "IgnoreInterruptions":
        return false
      case "PollNextN":
        return this.poll(strategy.n)
      default:
        return true
    }
  }

  /** Whether an item's cooperative check reports an interrupt. */
  itemShouldStop(strategy: InterruptStrategy): boolean {
    if (this.effective === undefined) return false
    return this.forced || strategy._tag !== "IgnoreInterruptions"
  }

  /** Whether in-flight items must be interrupted now. */
  immediate(strategy: InterruptStrategy): boolean {
    if (this.effective === undefined) return false
    return this.forced || strategy._tag === "Immediate"
  }
}
