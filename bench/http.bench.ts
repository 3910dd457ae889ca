/**
 * HTTP (@truce/http): the server measured on loopback, side by side with a bare `node:http`
 * handler where there is a baseline.
 *
 * 1. `GET /executions/{id}` throughput vs a bare `node:http` handler doing the same map
 *    lookup, permission check and JSON — goal ≥ 0.8×. Load comes from a separate process
 *    (this file, started with `--load`) over 64 keep-alive connections; rounds alternate
 *    between the servers, and the ratio is the median of the per-round ratios. Also shown:
 *    the same route through the HttpApi pipeline alone (`fastPath: false`).
 * 2. HTTP interrupt → a client waiting (long poll) sees the outcome, p99 over 1,000
 *    samples — goal ≤ 5 ms. The client is a separate process (`--interrupt-client`), as a
 *    real caller is: the time includes both requests and the answer, not the client's GC.
 * 3. Completion → a long-polling client / an SSE client is notified, p99 — goal ≤ 5 ms.
 * 4. 1,000 concurrent executions with 1,000 SSE watchers: no errors; memory reported.
 *
 * Run: `node --expose-gc --import tsx bench/http.bench.ts` (or `pnpm bench http`).
 */
import { Access, CmdBlock, CmdExecution, CmdExecutionMap, ExecutionRecord } from "@truce/core"
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { loadavg } from "node:os"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { Auth, TruceHttp } from "../packages/http/src/index.js"

const self = fileURLToPath(import.meta.url)
const API_KEY = "bench-key"

// ---------------------------------------------------------------------------------------------------------------------
// Load generator (a separate process): `--load <url> <seconds> <connections>`
// ---------------------------------------------------------------------------------------------------------------------

if (process.argv[2] === "--load") {
  const [url, seconds, connections] = [process.argv[3] as string, Number(process.argv[4]), Number(process.argv[5])]
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  let ok = 0
  let failed = 0
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get(url, { agent, headers: { "x-api-key": API_KEY } }, (response) => {
        response.resume()
        response.on("end", () => {
          if (response.statusCode === 200) ok++
          else failed++
          resolve()
        })
      })
      request.on("error", () => {
        failed++
        resolve()
      })
    })
  const warmupEnd = Date.now() + 500
  const worker = async (until: number) => {
    while (Date.now() < until) await one()
  }
  await Promise.all(Array.from({ length: connections }, () => worker(warmupEnd)))
  ok = 0
  failed = 0
  const start = process.hrtime.bigint()
  const end = Date.now() + seconds * 1000
  await Promise.all(Array.from({ length: connections }, () => worker(end)))
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  console.log(JSON.stringify({ rps: ok / elapsed, failed }))
  agent.destroy()
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------------------------------
// Commands and servers
// ---------------------------------------------------------------------------------------------------------------------

const gates = new Map<string, () => void>()
const gatePromises = new Map<string, Promise<void>>()
const gate = (name: string): Promise<void> => {
  let promise = gatePromises.get(name)
  if (promise === undefined) {
    promise = new Promise<void>((resolve) => gates.set(name, resolve))
    gatePromises.set(name, promise)
  }
  return promise
}
const open = (name: string) => {
  void gate(name)
  gates.get(name)?.()
}

const gated = CmdExecution.make("gated", { input: Schema.Struct({ gate: Schema.String }) }).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "wait",
    run: (input: { readonly gate: string }) => Effect.promise(() => gate(input.gate))
  }))
)
const endless = CmdExecution.make("endless", { input: Schema.Struct({ items: Schema.Number }) }).pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "work",
    items: (input: { readonly items: number }) => Array.from({ length: input.items }, (_, i) => i),
    id: (i) => `item-${i}`,
    concurrency: 4,
    apply: () => Effect.sleep("1 hour")
  }))
)
const echo = CmdExecution.make("echo", { input: Schema.Struct({ message: Schema.String }) }).pipe(
  CmdExecution.andThen(
    CmdBlock.step({ name: "say", run: (input: { readonly message: string }) => Effect.succeed(input.message) })
  )
)

const principal = Access.principal({ id: "bench", groups: ["ops"] })

interface Running {
  readonly url: string
  readonly map: CmdExecutionMap.CmdExecutionMap
  readonly close: () => Promise<void>
}

const startTruce = async (map: Layer.Layer<CmdExecutionMap.CmdExecutionMap>, fastPath: boolean): Promise<Running> => {
  const scope = Effect.runSync(Scope.make())
  const layer = TruceHttp.layer({
    commands: [TruceHttp.command(gated), TruceHttp.command(endless), TruceHttp.command(echo)],
    auth: { authenticators: [Auth.apiKey({ keys: { [API_KEY]: { id: "bench", groups: ["ops"] } } })] },
    fastPath
  }).pipe(
    Layer.provideMerge(TruceHttp.nodeServer({ port: 0, host: "127.0.0.1", shutdownGrace: "1 second" })),
    Layer.provideMerge(map)
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const found = await Effect.runPromise(Effect.provide(CmdExecutionMap.CmdExecutionMap, context))
  const address = await Effect.runPromise(Effect.provide(TruceHttp.address, context))
  if (address._tag !== "TcpAddress") throw new Error("expected TCP")
  return {
    url: `http://127.0.0.1:${address.port}`,
    map: found,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** The baseline: the same lookup, permission check and JSON in a bare node:http handler. */
const startBare = async (
  map: CmdExecutionMap.CmdExecutionMap
): Promise<{ url: string; close: () => Promise<void> }> => {
  const pattern = /^\/executions\/([^/?#]+)$/
  const server = http.createServer((request, response) => {
    const match = pattern.exec(request.url ?? "")
    if (match === null || request.headers["x-api-key"] !== API_KEY) {
      response.writeHead(404).end()
      return
    }
    const found = Effect.runSync(map.get(match[1] as string))
    if (Option.isNone(found) || !Access.canRead(found.value, principal)) {
      response.writeHead(404).end()
      return
    }
    const body = JSON.stringify(ExecutionRecord.encode(found.value))
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const load = (url: string, seconds: number, connections: number) =>
  new Promise<{ rps: number; failed: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      self,
      "--load",
      url,
      String(seconds),
      String(connections)
    ], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("exit", (code) => code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`load exited ${code}`)))
  })

// ---------------------------------------------------------------------------------------------------------------------
// Client helpers (same process, keep-alive)
// ---------------------------------------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })

const request = (method: string, url: string, body?: unknown) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(url, {
      method,
      agent,
      headers: {
        "x-api-key": API_KEY,
        ...(payload !== undefined
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
          : {})
      }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    req.end(payload)
  })

const startCommand = async (base: string, command: string, input: unknown): Promise<string> => {
  const answer = await request("POST", `${base}/commands/${command}/executions`, { input })
  if (answer.status !== 202 && answer.status !== 200) throw new Error(`start: ${answer.status} ${answer.body}`)
  return (JSON.parse(answer.body) as { id: string }).id
}

/** Opens an event stream; resolves `finished` when the Finished event arrives. */
const watch = (url: string) =>
  new Promise<{ finished: Promise<number>; close: () => void }>((resolve, reject) => {
    const req = http.get(url, { agent, headers: { "x-api-key": API_KEY, accept: "text/event-stream" } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`events: ${response.statusCode}`))
        return
      }
      response.setEncoding("utf8")
      let buffer = ""
      let onFinished: (at: number) => void = () => undefined
      const finished = new Promise<number>((done, fail) => {
        onFinished = done
        response.on("error", fail)
        response.on("end", () => fail(new Error("stream ended before Finished")))
      })
      finished.catch(() => undefined)
      response.on("data", (chunk: string) => {
        buffer += chunk
        if (buffer.includes("event: Finished\n")) onFinished(performance.now())
        else if (buffer.length > 4096) buffer = buffer.slice(-64)
      })
      resolve({ finished, close: () => req.destroy() })
    })
    req.on("error", reject)
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

const summary: Array<string> = []
const verdict = (pass: boolean) => (pass ? "goal met" : "goal MISSED")

/** Context for latency tails: how late the event loop ran, and the GC pauses, while measuring. */
const observeHost = () => {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  const pauses: Array<number> = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration)
  })
  observer.observe({ entryTypes: ["gc"] })
  delay.enable()
  return () => {
    delay.disable()
    observer.disconnect()
    return {
      loopP99: delay.percentile(99) / 1e6,
      loopMax: delay.max / 1e6,
      gcOver5: pauses.filter((pause) => pause > 5).length,
      gcMax: pauses.length === 0 ? 0 : Math.max(...pauses)
    }
  }
}

const latencyReport = (
  title: string,
  samples: ReadonlyArray<number>,
  goalMs: number,
  host: ReturnType<ReturnType<typeof observeHost>>
) => {
  const p50 = percentile(samples, 50)
  const p99 = percentile(samples, 99)
  const max = Math.max(...samples)
  const pass = p99 <= goalMs
  console.log(`\n${title} (${samples.length} samples)`)
  console.log(
    `  p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${max.toFixed(2)} ms   goal p99 ≤ ${goalMs} ms: ${
      verdict(pass)
    }`
  )
  console.log(
    `  meanwhile: event-loop delay p99 ${host.loopP99.toFixed(1)} ms (max ${host.loopMax.toFixed(1)} ms); ` +
      `GC pauses over 5 ms: ${host.gcOver5} (longest ${host.gcMax.toFixed(1)} ms); load average ${
        (loadavg()[0] ?? 0).toFixed(2)
      }`
  )
  summary.push(`  p99 ${p99.toFixed(2).padStart(6)} ms  ${verdict(pass).padEnd(12)}  ${title}`)
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

// ---------------------------------------------------------------------------------------------------------------------
// The waiting client of the interrupt measurement (a separate process):
// `--interrupt-client <base url> <samples>` prints the samples as JSON.
// ---------------------------------------------------------------------------------------------------------------------

if (process.argv[2] === "--interrupt-client") {
  const [base, count] = [process.argv[3] as string, Number(process.argv[4])]
  const samples: Array<number> = []
  for (let i = 0; i < count + 50; i++) {
    const id = await startCommand(base, "endless", { items: 4 })
    const polled = request("GET", `${base}/executions/${id}?wait=30s`).then(() => performance.now())
    await settle()
    const t0 = performance.now()
    await request("POST", `${base}/executions/${id}/interrupt`, { mode: "force" })
    const t1 = await polled
    if (i >= 50) samples.push(t1 - t0)
  }
  console.log(JSON.stringify(samples))
  agent.destroy()
  process.exit(0)
}

/** Runs the interrupt measurement's client in its own process: the client is another program. */
const interruptClient = (base: string, count: number) =>
  new Promise<Array<number>>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", self, "--interrupt-client", base, String(count)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(output) as Array<number>) : reject(new Error(`client exited ${code}`)))
  })

// ---------------------------------------------------------------------------------------------------------------------
// 1. Throughput
// ---------------------------------------------------------------------------------------------------------------------

const throughput = async () => {
  const shared = CmdExecutionMap.layerMemory()
  const fast = await startTruce(shared, true)
  const map = fast.map
  const pipeline = await startTruce(Layer.succeed(CmdExecutionMap.CmdExecutionMap, map), false)
  const bare = await startBare(map)
  const id = await startCommand(fast.url, "echo", { message: "throughput" })
  await request("GET", `${fast.url}/executions/${id}?wait=10s`)
  const targets = [
    { name: "bare node:http", url: `${bare.url}/executions/${id}`, rps: [] as Array<number>, failed: 0 },
    { name: "@truce/http", url: `${fast.url}/executions/${id}`, rps: [] as Array<number>, failed: 0 },
    {
      name: "@truce/http (fastPath: false)",
      url: `${pipeline.url}/executions/${id}`,
      rps: [] as Array<number>,
      failed: 0
    }
  ]
  const ROUNDS = 5
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const result = await load(target.url, 3, 64)
      target.rps.push(result.rps)
      target.failed += result.failed
    }
  }
  const median = (values: ReadonlyArray<number>) => percentile(values, 50)
  console.log(
    "\nGET /executions/{id} throughput (load from a separate process, 64 keep-alive connections, 5 × 3 s rounds, servers alternating)"
  )
  for (const target of targets) {
    console.log(
      `  ${target.name.padEnd(30)} ${median(target.rps).toFixed(0).padStart(8)} req/s   rounds ${
        target.rps.map((r) => r.toFixed(0)).join(" / ")
      }   failed ${target.failed}`
    )
  }
  const [bareTarget, truceTarget, pipelineTarget] = targets as [typeof targets[0], typeof targets[0], typeof targets[0]]
  // Each round runs the servers back to back: the median of the per-round ratios cancels
  // the drift of a shared machine better than a ratio of medians.
  const ratioOf = (target: typeof targets[0]) =>
    median(target.rps.map((rps, round) => rps / (bareTarget.rps[round] as number)))
  const ratio = ratioOf(truceTarget)
  const pipelineRatio = ratioOf(pipelineTarget)
  console.log(
    `  ratio ${ratio.toFixed(2)}×  goal ≥ 0.8×: ${verdict(ratio >= 0.8)}   (HttpApi pipeline alone: ${
      pipelineRatio.toFixed(2)
    }×)`
  )
  summary.push(
    `  ${ratio.toFixed(2)}×      ${verdict(ratio >= 0.8).padEnd(12)}  GET /executions/{id} throughput vs bare node:http`
  )
  await bare.close()
  await pipeline.close()
  await fast.close()
}

// ---------------------------------------------------------------------------------------------------------------------
// 2 and 3. Latencies
// ---------------------------------------------------------------------------------------------------------------------

const latencies = async () => {
  const server = await startTruce(CmdExecutionMap.layerMemory({ eventLinger: "10 seconds" }), true)
  const SAMPLES = 1000

  // Warm up every route used below.
  for (let i = 0; i < 100; i++) {
    const name = `warm-${i}`
    const id = await startCommand(server.url, "gated", { gate: name })
    const polled = request("GET", `${server.url}/executions/${id}?wait=10s`)
    open(name)
    await polled
  }

  let host = observeHost()
  const interruptSamples = await interruptClient(server.url, SAMPLES)
  latencyReport(
    "HTTP interrupt (force) → the long-polling client (another process) has the outcome",
    interruptSamples,
    5,
    host()
  )

  host = observeHost()
  const pollSamples: Array<number> = []
  for (let i = 0; i < SAMPLES; i++) {
    const name = `poll-${i}`
    const id = await startCommand(server.url, "gated", { gate: name })
    const polled = request("GET", `${server.url}/executions/${id}?wait=30s`).then(() => performance.now())
    await settle()
    const t0 = performance.now()
    open(name)
    pollSamples.push((await polled) - t0)
  }
  latencyReport("completion → long-polling client notified", pollSamples, 5, host())

  host = observeHost()
  const sseSamples: Array<number> = []
  for (let i = 0; i < SAMPLES; i++) {
    const name = `sse-${i}`
    const id = await startCommand(server.url, "gated", { gate: name })
    const stream = await watch(`${server.url}/executions/${id}/events`)
    await settle()
    const t0 = performance.now()
    open(name)
    sseSamples.push((await stream.finished) - t0)
    stream.close()
  }
  latencyReport("completion → SSE client receives Finished", sseSamples, 5, host())
  await server.close()
}

// ---------------------------------------------------------------------------------------------------------------------
// 4. 1,000 executions × 1,000 SSE watchers
// ---------------------------------------------------------------------------------------------------------------------

const manyWatchers = async () => {
  const N = 1000
  const server = await startTruce(CmdExecutionMap.layerMemory({ eventLinger: "1 minute" }), true)
  const gc = typeof globalThis.gc === "function" ? globalThis.gc : () => undefined
  gc()
  const before = process.memoryUsage()
  const ids = await Promise.all(Array.from({ length: N }, () => startCommand(server.url, "gated", { gate: "crowd" })))
  const streams = await Promise.all(ids.map((id) => watch(`${server.url}/executions/${id}/events`)))
  gc()
  const attached = process.memoryUsage()
  const t0 = performance.now()
  open("crowd")
  const results = await Promise.allSettled(streams.map((stream) => stream.finished))
  const elapsed = performance.now() - t0
  const errors = results.filter((result) => result.status === "rejected").length
  for (const stream of streams) stream.close()
  const records = await Promise.all(ids.map((id) => request("GET", `${server.url}/executions/${id}`)))
  const succeeded =
    records.filter((record) => (JSON.parse(record.body) as { state: string }).state === "Succeeded").length
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  console.log(`\n${N} executions × ${N} SSE watchers (server and clients in one process)`)
  console.log(
    `  all Finished events delivered in ${elapsed.toFixed(0)} ms; errors ${errors}; records Succeeded ${succeeded}/${N}`
  )
  console.log(
    `  memory: rss ${mb(before.rss)} → ${mb(attached.rss)} with all attached (+${mb(attached.rss - before.rss)}), ` +
      `heap ${mb(before.heapUsed)} → ${mb(attached.heapUsed)} (+${mb(attached.heapUsed - before.heapUsed)}, ` +
      `${((attached.heapUsed - before.heapUsed) / N / 1024).toFixed(1)} KiB per execution + watcher)`
  )
  const pass = errors === 0 && succeeded === N
  summary.push(`  ${String(errors).padStart(4)} err   ${verdict(pass).padEnd(12)}  ${N} executions × ${N} SSE watchers`)
  await server.close()
}

await throughput()
await latencies()
await manyWatchers()
agent.destroy()
console.log("\nsummary")
for (const line of summary) console.log(line)
