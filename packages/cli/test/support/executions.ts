/**
 * Small executions that end in each kind of outcome, for the summary, JSON-lines and
 * runner tests.
 */
import { CmdBlock, CmdExecution, CmdExecutionMap, type ExecutionEvent } from "@truce/core"
import { Data, Effect, Stream } from "effect"

export class DiskFull extends Data.TaggedError("DiskFull")<{ readonly message: string }> {}

const names = (n: number) => Array.from({ length: n }, (_, i) => `item-${i}`)

/** plan → work (items; ids listed in `failing` fail) → report. */
export const batch = (failing: ReadonlyArray<string> = []) =>
  CmdExecution.make<number>("batch").pipe(
    CmdExecution.andThen(CmdBlock.step({ name: "plan", run: (n: number) => Effect.succeed(names(n)) })),
    CmdExecution.andThen(CmdBlock.items({
      name: "work",
      items: (ids: ReadonlyArray<string>) => ids,
      id: (id) => id,
      concurrency: 2,
      apply: (id, ctx) =>
        Effect.gen(function*() {
          yield* ctx.progress.update({ limit: { _tag: "Steps", n: 2 }, inc: 1 })
          yield* Effect.log(`working on ${id}`)
          if (failing.includes(id)) return yield* Effect.fail(new DiskFull({ message: `no space left writing ${id}` }))
          yield* ctx.progress.inc(1)
          return id.length
        })
    })),
    CmdExecution.andThen(CmdBlock.step({
      name: "report",
      run: (lengths: ReadonlyArray<number>) => Effect.succeed(lengths.reduce((a, b) => a + b, 0))
    }))
  )

/** Items that run until interrupted, then stop at their checkpoint (`applied` counts runs). */
export const waiting = (applied: { count: number } = { count: 0 }) =>
  CmdExecution.make<number>("waiting").pipe(
    CmdExecution.andThen(CmdBlock.step({ name: "plan", run: (n: number) => Effect.succeed(names(n)) })),
    CmdExecution.andThen(CmdBlock.items({
      name: "work",
      items: (ids: ReadonlyArray<string>) => ids,
      id: (id) => id,
      concurrency: 2,
      apply: (id, ctx) =>
        Effect.gen(function*() {
          applied.count++
          yield* ctx.whenInterrupted
          yield* ctx.checkpoint
          return id
        })
    }))
  )

/** A first step that finishes when interrupted, so the stop happens at the block boundary. */
export const boundary = CmdExecution.make<void>("boundary").pipe(
  CmdExecution.andThen(CmdBlock.step({ name: "first", run: (_: void, ctx) => Effect.asVoid(ctx.whenInterrupted) })),
  CmdExecution.andThen(CmdBlock.step({ name: "second", run: () => Effect.void }))
)

/** A step that fails as a whole. */
export const failing = CmdExecution.make<void>("failing").pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "connect",
    run: () => Effect.fail(new DiskFull({ message: "the database is read-only" }))
  }))
)

/** Waits until `count` items of an execution are running. */
export const untilRunning = (id: string, count: number) =>
  Effect.gen(function*() {
    const map = yield* CmdExecutionMap.CmdExecutionMap
    const running = new Set<string>()
    yield* map.events(id).pipe(
      Stream.takeUntil((event: ExecutionEvent.ExecutionEvent) => {
        if (event._tag === "ItemProgressed" && event.progress.status === "Running") running.add(event.progress.item)
        return running.size >= count
      }),
      Stream.runDrain
    )
  })
