/**
 * Deadlines of many executions (timeouts, grace periods) served by one fiber that sleeps
 * until the earliest one, instead of one sleeping fiber per execution. Uses the Effect
 * clock, so `TestClock` drives it in tests.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

interface Entry {
  readonly at: number
  readonly seq: number
  task: (() => void) | undefined
}

const noop = () => {}

/** @internal */
export class Timers {
  private readonly heap: Array<Entry> = []
  private cancelled = 0
  private counter = 0
  private wake: (() => void) | undefined = undefined
  private woken = false

  constructor(private readonly now: () => number) {}

  /** Runs `task` once `delayMs` have passed; returns a function that cancels it. */
  schedule(delayMs: number, task: () => void): () => void {
    const entry: Entry = { at: this.now() + Math.max(0, delayMs), seq: this.counter++, task }
    this.push(entry)
    if (this.heap[0] === entry) this.signal()
    return () => {
      if (entry.task === undefined) return
      // Drop the task (and what it holds) at once; the entry leaves the heap when due or on compaction.
      entry.task = undefined
      this.cancelled++
      if (this.cancelled > 1024 && this.cancelled > this.heap.length / 2) this.compact()
    }
  }

  get size(): number {
    return this.heap.length - this.cancelled
  }

  private signal(): void {
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      wake()
    } else {
      this.woken = true
    }
  }

  private readonly waitForChange: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.woken) {
      this.woken = false
      resume(Effect.void)
      return
    }
    this.wake = () => resume(Effect.void)
    return Effect.sync(() => {
      this.wake = undefined
    })
  })

  /** The fiber body: fires due tasks, then sleeps until the next deadline or a new earlier one. */
  readonly run: Effect.Effect<never> = Effect.suspend(() => {
    const now = this.now()
    while (this.heap.length > 0 && (this.heap[0] as Entry).at <= now) {
      const entry = this.pop()
      const task = entry.task
      if (task === undefined) {
        this.cancelled--
        continue
      }
      entry.task = noop
      try {
        task()
      } catch {
        // A task must not stop the timer fiber.
      }
    }
    while (this.heap.length > 0 && (this.heap[0] as Entry).task === undefined) {
      this.pop()
      this.cancelled--
    }
    const next = this.heap[0]
    const wait = next === undefined
      ? this.waitForChange
      : Effect.raceFirst(Effect.sleep(Math.max(0, next.at - now)), this.waitForChange)
    return Effect.zipRight(wait, this.run)
  })

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(entry: Entry): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(heap[i] as Entry, heap[parent] as Entry)) break
      ;[heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry]
      i = parent
    }
  }

  private pop(): Entry {
    const heap = this.heap
    const top = heap[0] as Entry
    const last = heap.pop() as Entry
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      while (true) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && this.less(heap[left] as Entry, heap[smallest] as Entry)) smallest = left
        if (right < heap.length && this.less(heap[right] as Entry, heap[smallest] as Entry)) smallest = right
        if (smallest === i) break
        ;[heap[i], heap[smallest]] = [heap[smallest] as Entry, heap[i] as Entry]
        i = smallest
      }
    }
    return top
  }

  private compact(): void {
    const live = this.heap.filter((entry) => entry.task !== undefined)
    this.heap.length = 0
    this.cancelled = 0
    for (const entry of live) this.push(entry)
    this.signal()
  }
}
