/**
 * Starts the real server on a loopback port (port 0) for a test file, with test
 * identities (API keys and a JWT secret) and the test commands.
 */
import { CmdExecutionMap } from "@truce/core"
import type { Duration } from "effect"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Auth, TruceHttp } from "../../src/index.js"
import { broken, chatty, echo, gated, pinned, restricted, slow } from "./commands.js"

export const jwtSecret = "test-jwt-secret"
export const callbackSecret = "test-callback-secret"

export const keys = {
  alice: "k-alice",
  bob: "k-bob",
  carol: "k-carol",
  admin: "k-admin"
} as const

export const authenticators = [
  Auth.apiKey({
    keys: {
      [keys.alice]: { id: "alice", groups: ["ops"] },
      [keys.bob]: { id: "bob", groups: ["dev"] },
      [keys.carol]: { id: "carol", groups: ["ops"] },
      [keys.admin]: { id: "root", roles: ["admin"] }
    }
  }),
  Auth.bearerJwt({ secret: jwtSecret })
]

/** The commands of the default test server. */
export const defaultCommands = [
  TruceHttp.command(gated, { permissions: { read: { groups: ["ops"] }, write: { groups: ["ops"] } } }),
  TruceHttp.command(slow, { permissions: { read: { groups: ["ops"] }, write: { groups: ["ops"] } } }),
  TruceHttp.command(echo, { permissions: { read: { groups: ["ops"] } } }),
  TruceHttp.command(broken),
  TruceHttp.command(pinned, { permissions: { read: { groups: ["ops"] }, write: { groups: ["ops"] } } }),
  TruceHttp.command(restricted, { start: { roles: ["deployer"] } }),
  TruceHttp.command(chatty, { permissions: { read: { groups: ["ops"] } } })
]

export interface TestServer {
  readonly url: string
  readonly port: number
  readonly map: CmdExecutionMap.CmdExecutionMap
  readonly close: () => Promise<void>
}

export const startServer = async (
  config: Partial<TruceHttp.Config<never>> = {},
  mapOptions: CmdExecutionMap.Options = {},
  serverOptions: { readonly shutdownGrace?: Duration.DurationInput | undefined } = {}
): Promise<TestServer> => {
  const scope = Effect.runSync(Scope.make())
  const layer = TruceHttp.layer({
    commands: defaultCommands,
    auth: { authenticators, admins: { roles: ["admin"] } },
    keepAliveInterval: "200 millis",
    sseRetry: "100 millis",
    ...config
  }).pipe(
    Layer.provideMerge(
      TruceHttp.nodeServer({ port: 0, host: "127.0.0.1", shutdownGrace: serverOptions.shutdownGrace ?? "1 second" })
    ),
    Layer.provideMerge(CmdExecutionMap.layerMemory({ eventLinger: "1 minute", ...mapOptions }))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = await Effect.runPromise(Effect.provide(TruceHttp.address, context))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    map: Context.get(context, CmdExecutionMap.CmdExecutionMap),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** fetch with the API key of a test identity. */
export const as = (key: string | undefined) => (url: string, init: RequestInit = {}): Promise<Response> =>
  fetch(url, { ...init, headers: { ...(key !== undefined ? { "x-api-key": key } : {}), ...init.headers } })

/** POST JSON. */
export const postJson = (
  key: string | undefined,
  url: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Response> =>
  as(key)(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

/** Polls a condition until it holds (for states the API does not push), with a generous bound. */
export const eventually = async <A>(
  check: () => Promise<A | undefined>,
  description: string,
  timeoutMs = 20_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${description}`)
}

/** Starts a command as a test identity and returns the answer's JSON body. */
export const start = async (
  server: TestServer,
  key: string | undefined,
  command: string,
  input: unknown,
  extra: Record<string, unknown> = {}
): Promise<{ readonly id: string; readonly state: string; readonly [key: string]: unknown }> => {
  const response = await postJson(key, `${server.url}/commands/${command}/executions`, { input, ...extra })
  if (response.status !== 202 && response.status !== 200) {
    throw new Error(`start ${command}: ${response.status} ${await response.text()}`)
  }
  return await response.json() as { readonly id: string; readonly state: string }
}

/** Waits (long-poll) until an execution has finished and returns its record. */
export const finished = async (server: TestServer, key: string, id: string) =>
  eventually(async () => {
    const response = await as(key)(`${server.url}/executions/${id}?wait=10s`)
    const record = await response.json() as { readonly state: string; readonly [key: string]: unknown }
    return ["Succeeded", "Failed", "Interrupted", "TimedOut"].includes(record.state) ? record : undefined
  }, `execution ${id} to finish`)
