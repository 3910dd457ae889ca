/**
 * A real Truce HTTP server in the test process (loopback, port 0) with commands the
 * `truce` tests can steer: gates that hold an execution until the test opens them, items
 * with step progress, a failure, a command that refuses interrupts. And a runner for the
 * real `truce` program as a child process.
 */
import { afterAll, afterEach, beforeAll } from "@effect/vitest"
import { CmdBlock, CmdExecution, CmdExecutionMap, Progress } from "@truce/core"
import { Auth, TruceHttp } from "@truce/http"
import { Context, Effect, Exit, Layer, Schema, Scope } from "effect"
import { build } from "esbuild"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gateOpened } from "../../../http/test/support/commands.js"
import { Child, killAll, repoRoot } from "./child.js"

export const truceBin = join(repoRoot, "packages", "cli", "src", "bin.ts")

export const apiKey = "k-tester"
export const otherKey = "k-other"

// The gates of @truce/http's test commands: one implementation for both packages' tests.
export { newGate, openGate } from "../../../http/test/support/commands.js"

/** Waits for its gate, then answers its value. */
const gated = CmdExecution.make("gated", { input: Schema.Struct({ gate: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "wait",
    run: (input: { readonly gate: string }) => Effect.promise(() => gateOpened(input.gate)).pipe(Effect.as("opened"))
  }))
)

/**
 * `items` items (two at a time), each `steps` steps of `stepMs` with a checkpoint after each
 * step (a graceful interrupt stops them there). With a gate, each item first waits for it
 * without a checkpoint (only a forced interrupt stops it); `stubborn` makes that wait
 * uninterruptible (not even a forced interrupt stops it before the gate opens).
 */
const StepsInput = Schema.Struct({
  items: Schema.Int,
  steps: Schema.Int,
  stepMs: Schema.Int,
  gate: Schema.optional(Schema.String),
  stubborn: Schema.optional(Schema.Boolean)
})

const steps = CmdExecution.make("steps", { input: StepsInput }).pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (input: typeof StepsInput.Type) => Array.from({ length: input.items }, (_, i) => ({ ...input, i })),
    id: (item) => `item-${item.i}`,
    concurrency: 2,
    apply: (item, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit(Progress.Steps(item.steps))
        const held = item.gate
        if (held !== undefined) {
          yield* ctx.progress.message("waiting for the gate")
          const opened = Effect.promise(() => gateOpened(held))
          yield* item.stubborn === true ? Effect.uninterruptible(opened) : opened
        }
        for (let step = 0; step < item.steps; step++) {
          yield* Effect.sleep(`${item.stepMs} millis`)
          yield* ctx.progress.update({ inc: 1, message: `step ${step + 1}` })
          yield* ctx.checkpoint
        }
        return item.i
      })
  }))
)

/** Finishes at once with its message. */
const echo = CmdExecution.make("echo", { input: Schema.Struct({ message: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "say",
    run: (input: { readonly message: string }) => Effect.succeed(input.message)
  }))
)

/** Always fails. */
const broken = CmdExecution.make("broken", { input: Schema.Struct({ reason: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "explode",
    run: (input: { readonly reason: string }) => Effect.fail(new Error(input.reason))
  }))
)

/** Waits for its gate and refuses interrupts. */
const pinned = CmdExecution.make("pinned", { input: Schema.Struct({ gate: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "hold",
    run: (input: { readonly gate: string }) => Effect.promise(() => gateOpened(input.gate))
  })),
  CmdExecution.withOptions({ cancellable: false })
)

export interface TestServer {
  readonly url: string
  readonly map: CmdExecutionMap.CmdExecutionMap
  readonly close: () => Promise<void>
}

export const startServer = async (): Promise<TestServer> => {
  const scope = Effect.runSync(Scope.make())
  const layer = TruceHttp.layer({
    commands: [
      TruceHttp.command(gated),
      TruceHttp.command(steps),
      TruceHttp.command(echo),
      TruceHttp.command(broken),
      TruceHttp.command(pinned)
    ],
    auth: {
      authenticators: [
        Auth.apiKey({ keys: { [apiKey]: { id: "tester", groups: ["ops"] }, [otherKey]: { id: "other" } } })
      ]
    },
    keepAliveInterval: "200 millis",
    sseRetry: "100 millis"
  }).pipe(
    Layer.provideMerge(TruceHttp.nodeServer({ port: 0, host: "127.0.0.1", shutdownGrace: "1 second" })),
    Layer.provideMerge(CmdExecutionMap.layerMemory({ eventLinger: "1 minute" }))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = await Effect.runPromise(Effect.provide(TruceHttp.address, context))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    map: Context.get(context, CmdExecutionMap.CmdExecutionMap),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** A loopback port nothing listens on (bound, then released). */
export const closedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

let bundled: string | undefined = undefined

/**
 * Builds the `truce` program (`src/bin.ts` and everything it imports) into one file with
 * esbuild — the transform tsx applies on the fly — so that each run starts in about a
 * quarter of a second instead of one (most of a tsx start is spent in its module hooks).
 * Until the returned function removes it, {@link truce} runs the bundle; {@link truceWithTsx}
 * always runs `src/bin.ts` through tsx, as the documentation says to.
 */
export const bundleTruce = async (): Promise<() => void> => {
  const dir = mkdtempSync(join(tmpdir(), "truce-bin-"))
  const outfile = join(dir, "truce.mjs")
  await build({
    entryPoints: [truceBin],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    // Dependencies written as CommonJS call `require`.
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
    },
    logLevel: "error"
  })
  bundled = outfile
  return () => {
    bundled = undefined
    rmSync(dir, { recursive: true, force: true })
  }
}

const environment = (server: { readonly url: string }, env: Record<string, string>) => ({
  TRUCE_SERVER: server.url,
  TRUCE_API_KEY: apiKey,
  ...env
})

/** Runs `truce` against a server with the test key (both from the environment, as a user would set them). */
export const truce = (
  server: { readonly url: string },
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Child =>
  bundled === undefined
    ? truceWithTsx(server, args, env)
    : new Child(bundled, args, environment(server, env), { tsx: false })

/** Runs `node --import tsx packages/cli/src/bin.ts …` against a server. */
export const truceWithTsx = (
  server: { readonly url: string },
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Child => new Child(truceBin, args, environment(server, env))

/** Starts an execution over HTTP as the test identity. */
export const startOver = async (
  server: TestServer,
  command: string,
  input: unknown,
  extra: Record<string, unknown> = {}
): Promise<{ readonly id: string; readonly state: string }> => {
  const response = await fetch(`${server.url}/commands/${command}/executions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": apiKey },
    body: JSON.stringify({ input, ...extra })
  })
  if (response.status !== 202 && response.status !== 200) {
    throw new Error(`start ${command}: ${response.status} ${await response.text()}`)
  }
  return await response.json() as { readonly id: string; readonly state: string }
}

/** The record as the server has it (long-polls until it is terminal with `wait`). */
export const recordOf = async (
  server: TestServer,
  id: string,
  wait?: string
): Promise<{ readonly state: string; readonly [key: string]: unknown }> => {
  const response = await fetch(`${server.url}/executions/${id}${wait === undefined ? "" : `?wait=${wait}`}`, {
    headers: { "x-api-key": apiKey }
  })
  return await response.json() as { readonly state: string }
}

/** Waits until the execution's record is terminal. */
export const finished = async (server: TestServer, id: string) => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const record = await recordOf(server, id, "5s")
    if (["Succeeded", "Failed", "Interrupted", "TimedOut"].includes(record.state)) return record
  }
  throw new Error(`execution ${id} did not finish`)
}

/** Waits until the execution has reached a state (polls the record, which the API does not push). */
export const reaches = async (server: TestServer, id: string, state: string) => {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const record = await recordOf(server, id)
    if (record.state === state) return record
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`execution ${id} did not reach ${state}`)
}

/**
 * The hooks of a `truce` test file: before its tests, a server and the bundled program;
 * after each test, no child left running; at the end, both gone. The server it returns is
 * usable inside the tests.
 */
export const remoteSuite = (): TestServer => {
  let current: TestServer | undefined = undefined
  let removeBundle: () => void = () => undefined
  beforeAll(async () => {
    current = await startServer()
    removeBundle = await bundleTruce()
  })
  afterEach(() => killAll())
  afterAll(async () => {
    removeBundle()
    await current?.close()
  })
  const started = (): TestServer => {
    if (current === undefined) throw new Error("the server starts before the tests (beforeAll)")
    return current
  }
  return {
    get url() {
      return started().url
    },
    get map() {
      return started().map
    },
    close: () => started().close()
  }
}
