/**
 * The example from the README (kept here so the typecheck compiles it and a test runs it).
 *
 * Run: node --import tsx examples/readme/main.ts
 */
import { CmdBlock, CmdExecution, CmdExecutionMap, CmdOutcome, Progress } from "@truce/core"
import { Effect } from "effect"

const deploy = CmdExecution.make<ReadonlyArray<string>>("deploy").pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "roll-out",
    items: (hosts: ReadonlyArray<string>) => hosts,
    id: (host) => host,
    concurrency: 4,
    apply: (host, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit(Progress.Steps(3))
        for (const step of ["drain", "upgrade", "restore"]) {
          yield* ctx.checkpoint // a clean place to stop
          yield* Effect.log(`${step} ${host}`).pipe(Effect.zipRight(ctx.progress.inc(1)))
        }
      })
  }))
)

const program = Effect.gen(function*() {
  const map = yield* CmdExecutionMap.CmdExecutionMap
  const id = yield* map.start(deploy, ["web-1", "web-2", "web-3"])
  yield* map.interrupt(id, { source: "api", reason: "change freeze" })
  console.log(CmdOutcome.isInterrupted(yield* map.await(id))) // true: stopped cleanly, and says where
}).pipe(Effect.provide(CmdExecutionMap.layerMemory()))

Effect.runPromise(program)
