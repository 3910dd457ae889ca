import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { CmdBlock, CmdExecution, CmdExecutionMap, Endpoint } from "@truce/core"

describe("smoke", () => {
  it.live("runs", () =>
    Effect.gen(function*() {
      const exec = CmdExecution.make<number>("smoke").pipe(
        CmdExecution.andThen(CmdBlock.step({ name: "list", run: (n: number) => Effect.succeed(Array.from({ length: n }, (_, i) => i)) })),
        CmdExecution.andThen(CmdBlock.items({
          name: "square",
          items: (xs: ReadonlyArray<number>) => xs,
          id: (x) => `n${x}`,
          apply: (x, ctx) => ctx.progress.inc(1).pipe(Effect.as(x * x))
        }))
      )
      const collected = Endpoint.collect()
      const outcome = yield* CmdExecution.run(exec, 5, { outputs: [collected.output] })
      console.log(JSON.stringify(outcome))
      console.log(collected.events.map((e) => `${e.seq}:${e._tag}`).join(" "))
      expect(outcome._tag).toBe("Complete")
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const id = yield* map.start(exec, 3)
      const out2 = yield* map.await(id)
      const rec = yield* map.get(id)
      console.log(JSON.stringify(out2), JSON.stringify(rec))
    }).pipe(Effect.provide(CmdExecutionMap.layerMemory())))
})
