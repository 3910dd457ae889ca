import { CmdBlock, CmdExecution } from "@truce/core"
import type { Interrupt } from "@truce/core"
import { Deferred, Effect } from "effect"

/**
 * Items whose progress the test controls: each item waits on its own gate, so a test
 * decides exactly which items are done, in flight, or not started when it interrupts.
 */
export class Gates {
  readonly started = new Set<number>()
  readonly finished = new Set<number>()
  readonly finalized = new Set<number>()
  readonly applyCalls: Array<number> = []
  private readonly gates = new Map<number, Deferred.Deferred<void>>()

  gate(i: number): Deferred.Deferred<void> {
    let gate = this.gates.get(i)
    if (gate === undefined) {
      gate = Deferred.unsafeMake<void>(undefined as never)
      this.gates.set(i, gate)
    }
    return gate
  }

  open(...items: Array<number>) {
    return Effect.forEach(items, (i) => Deferred.succeed(this.gate(i), undefined), { discard: true })
  }

  /** An item that records it started, waits for its gate, and records it finished. */
  apply = (i: number, ctx: CmdBlock.ItemContext) =>
    Effect.gen(this, function*() {
      this.applyCalls.push(i)
      this.started.add(i)
      yield* ctx.progress.setLimit({ _tag: "Steps", n: 1 })
      yield* Deferred.await(this.gate(i))
      yield* ctx.progress.inc(1)
      this.finished.add(i)
      return i * 10
    }).pipe(Effect.ensuring(Effect.sync(() => this.finalized.add(i))))
}

/** Polls a condition (real time), failing with `label` if it does not hold within 10 s. */
export const waitFor = (predicate: () => boolean, label: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 10_000
    while (!predicate()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for: ${label}`)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1)))
    }
  })

/** Yields to other fibers until a condition holds (works under the TestClock). */
export const settle = (predicate: () => boolean, label: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 20_000; i++) {
      if (predicate()) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`never settled: ${label}`)
  })

export const range = (n: number) => Array.from({ length: n }, (_, i) => i)

export const ids = (...items: Array<number>) => items.map((i) => `item-${i}`)

/**
 * `first` (a step) → `work` (gated items) → `third` (a step).
 */
export const threeBlocks = (gates: Gates, options: {
  readonly items?: number
  readonly concurrency?: number
  readonly strategy?: Interrupt.InterruptStrategy
  readonly blockStrategy?: Interrupt.InterruptStrategy
  readonly name?: string
}) =>
  CmdExecution.make<number>(options.name ?? "three-blocks", {
    ...(options.strategy !== undefined ? { strategy: options.strategy } : {})
  }).pipe(
    CmdExecution.andThen(CmdBlock.step({ name: "first", run: (n: number) => Effect.succeed(range(n)) })),
    CmdExecution.andThen(CmdBlock.items({
      name: "work",
      items: (list: ReadonlyArray<number>) => list,
      id: (i) => `item-${i}`,
      concurrency: options.concurrency ?? 1,
      apply: gates.apply,
      ...(options.blockStrategy !== undefined ? { strategy: options.blockStrategy } : {})
    })),
    CmdExecution.andThen(CmdBlock.step({
      name: "third",
      run: (values: ReadonlyArray<number>) => Effect.succeed(values.reduce((a, b) => a + b, 0))
    }))
  )
