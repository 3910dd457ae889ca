/**
 * Commands used by the tests: controllable (gates), slow item-wise work with progress,
 * failures, and a command that refuses interrupts.
 */
import { CmdBlock, CmdExecution } from "@truce/core"
import { Effect, Schema } from "effect"

interface Gate {
  readonly promise: Promise<void>
  readonly open: () => void
}

const gates = new Map<string, Gate>()

const gate = (name: string): Gate => {
  let found = gates.get(name)
  if (found === undefined) {
    let open: () => void = () => undefined
    const promise = new Promise<void>((resolve) => {
      open = resolve
    })
    found = { promise, open }
    gates.set(name, found)
  }
  return found
}

/** Lets executions waiting on this gate go on. */
export const openGate = (name: string): void => gate(name).open()

/** Resolves once the gate is opened (also used by the `truce` command's tests in @truce/cli). */
export const gateOpened = (name: string): Promise<void> => gate(name).promise

/** A fresh, unique gate name. */
export const newGate = (): string => `gate-${globalThis.crypto.randomUUID()}`

/** Waits for its gate, then answers `{ gate, value }`. */
export const gated = CmdExecution.make("gated", {
  input: Schema.Struct({ gate: Schema.String, value: Schema.optional(Schema.Number) })
}).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "wait",
    run: (input: { readonly gate: string; readonly value?: number | undefined }) =>
      Effect.promise(() => gate(input.gate).promise).pipe(Effect.as({ gate: input.gate, value: input.value ?? 0 }))
  }))
)

/** `items` items, each taking `delayMs`, reporting progress; interruptible between items. */
export const slow = CmdExecution.make("slow", {
  input: Schema.Struct({ items: Schema.Int.pipe(Schema.between(1, 10_000)), delayMs: Schema.Int })
}).pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (input: { readonly items: number; readonly delayMs: number }) =>
      Array.from({ length: input.items }, (_, i) => ({ i, delayMs: input.delayMs })),
    id: (item) => `item-${item.i}`,
    apply: (item, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit({ _tag: "Steps", n: 2 })
        yield* ctx.progress.inc(1)
        yield* Effect.sleep(`${item.delayMs} millis`)
        yield* ctx.progress.inc(1)
        return item.i
      })
  }))
)

/** Finishes at once with its message. */
export const echo = CmdExecution.make("echo", { input: Schema.Struct({ message: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "say",
    run: (input: { readonly message: string }) => Effect.succeed(input.message)
  }))
)

/** Always fails. */
export const broken = CmdExecution.make("broken", { input: Schema.Struct({ reason: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "explode",
    run: (input: { readonly reason: string }) => Effect.fail(new Error(input.reason))
  }))
)

/** Waits for its gate and refuses interrupts. */
export const pinned = CmdExecution.make("pinned", { input: Schema.Struct({ gate: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "hold",
    run: (input: { readonly gate: string }) => Effect.promise(() => gate(input.gate).promise)
  })),
  CmdExecution.withOptions({ cancellable: false })
)

/** Like echo, but only callers with the role "deployer" may start it. */
export const restricted = CmdExecution.make("restricted", { input: Schema.Struct({ message: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "say",
    run: (input: { readonly message: string }) => Effect.succeed(input.message)
  }))
)

/** Gated, under other names: for concurrency limits and timeouts. */
export const gatedAs = (name: string) =>
  CmdExecution.make(name, { input: Schema.Struct({ gate: Schema.String }) }).pipe(
    CmdExecution.andThen(CmdBlock.step({
      name: "wait",
      run: (input: { readonly gate: string }) => Effect.promise(() => gate(input.gate).promise)
    }))
  )

/**
 * Waits for its gate, then reports `updates` progress updates (each with a 400-character
 * message), letting I/O run after each one, so that a reader that reads keeps up.
 */
export const chatty = CmdExecution.make("chatty", {
  input: Schema.Struct({ gate: Schema.String, updates: Schema.Int.pipe(Schema.between(1, 1_000_000)) })
}).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "burst",
    run: (input: { readonly gate: string; readonly updates: number }, ctx) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => gate(input.gate).promise)
        const padding = ".".repeat(400)
        for (let i = 1; i <= input.updates; i++) {
          ctx.progress.unsafeUpdate({ units: i, message: `update ${i} ${padding}` })
          // A macrotask: the server's I/O runs between two updates.
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }
        return input.updates
      })
  }))
)
