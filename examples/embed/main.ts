/**
 * Embedding Truce in a program: start several executions in the background, interrupt one
 * by id, await them all concurrently, and print what each one did.
 *
 * Run: node --import tsx examples/embed/main.ts
 */
import { CmdBlock, CmdExecution, CmdExecutionMap, CmdOutcome, Progress } from "@truce/core"
import { Console, Data, Effect, Schema } from "effect"

class ProvisionFailed extends Data.TaggedError("ProvisionFailed")<{ readonly host: string; readonly reason: string }> {}

interface Host {
  readonly name: string
  readonly packages: number
}

/** Provisioning a fleet: plan which hosts need work, then configure them, four at a time. */
const provision = CmdExecution.make("provision-fleet", {
  input: Schema.Struct({ fleet: Schema.String, hosts: Schema.Number })
}).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "plan",
    run: (input: { readonly fleet: string; readonly hosts: number }) =>
      Effect.succeed(
        Array.from(
          { length: input.hosts },
          (_, i): Host => ({ name: `${input.fleet}-${i + 1}`, packages: 3 + (i % 4) })
        )
      )
  })),
  CmdExecution.andThen(CmdBlock.items({
    name: "configure",
    items: (hosts: ReadonlyArray<Host>) => hosts,
    id: (host) => host.name,
    concurrency: 4,
    apply: (host, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit(Progress.Steps(host.packages))
        for (let i = 0; i < host.packages; i++) {
          yield* ctx.checkpoint
          yield* Effect.sleep("40 millis") // installing a package
          yield* ctx.progress.inc(1)
        }
        if (host.name === "db-7") {
          return yield* Effect.fail(new ProvisionFailed({ host: host.name, reason: "disk full" }))
        }
        return `${host.name}: ${host.packages} packages`
      })
  }))
)

const describe = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>): string =>
  CmdOutcome.match(outcome, {
    Complete: (o) => `complete: ${(o.value as ReadonlyArray<string>).length} hosts configured`,
    BlockInterrupted: (o) =>
      `interrupted in ${o.block} (${o.interrupt.source}: ${o.interrupt.reason ?? "no reason"}): ` +
      `${o.items.processed.length} done, ${o.items.inFlightStopped.length} stopped in flight, ` +
      `${o.items.notStarted.length} not started`,
    ExecutionInterrupted: (o) => `interrupted before ${o.blocksNotProcessed[0]}`,
    ItemErrors: (o) =>
      `failed in ${o.block}: ` +
      Object.entries(o.errors).map(([id, error]) => `${id} → ${CmdOutcome.errorInfo(error).message}`).join("; "),
    BlockFailed: (o) => `block ${o.block} failed: ${CmdOutcome.errorInfo(o.error).message}`
  })

const program = Effect.gen(function*() {
  const map = yield* CmdExecutionMap.CmdExecutionMap
  const web = yield* map.start(provision, { fleet: "web", hosts: 6 }, { owner: "ops" })
  const db = yield* map.start(provision, { fleet: "db", hosts: 8 }, { owner: "ops" })
  const cache = yield* map.start(provision, { fleet: "cache", hosts: 12 }, { owner: "ops" })
  yield* Console.log(`started web=${web}\n        db=${db}\n        cache=${cache}`)

  // A change of plan: stop the cache fleet gracefully (hosts in flight finish).
  yield* Effect.sleep("150 millis")
  const answer = yield* map.interrupt(cache, { source: "api", reason: "cache fleet postponed", requestedBy: "ops" })
  yield* Console.log(`interrupt cache: ${answer._tag}`)

  const outcomes = yield* map.awaitAll([web, db, cache])
  for (const [name, outcome] of [["web", outcomes[0]], ["db", outcomes[1]], ["cache", outcomes[2]]] as const) {
    yield* Console.log(`${name.padEnd(6)} ${describe(outcome as CmdOutcome.CmdOutcome<unknown, unknown>)}`)
  }
  const record = yield* map.awaitRecord(cache)
  yield* Console.log(`cache record: state=${record.state}, interrupt by ${record.interrupt?.requestedBy}`)
}).pipe(Effect.provide(CmdExecutionMap.layerMemory()))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
