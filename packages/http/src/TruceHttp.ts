/**
 * The HTTP server: exposes commands as asynchronous executions that clients start, watch
 * (Server-Sent Events, or binary `application/vnd.amazon.eventstream` frames), wait for
 * (long-poll or `Prefer: wait`), interrupt and query, with authentication, per-command and
 * per-execution permissions, callbacks, idempotent starts, content negotiation (JSON, YAML, XML), an OpenAPI 3.1 document at
 * `/openapi.json` and interactive documentation at `/docs`.
 *
 * The server takes the `CmdExecutionMap` from its context, so executions live in
 * whatever store the application provides (in memory, or SQLite from `@truce/sql`).
 *
 * @example
 * import { Effect, Layer, Schema } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { Auth, TruceHttp } from "@truce/http"
 *
 * const backup = CmdExecution.make("backup-database", { input: Schema.Struct({ database: Schema.String }) }).pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "dump", run: (input: { readonly database: string }) => Effect.succeed(input.database) }))
 * )
 *
 * const server = TruceHttp.layerNode({
 *   port: 8080,
 *   commands: [TruceHttp.command(backup, { permissions: { read: { groups: ["ops"] } }, concurrency: 1 })],
 *   auth: { authenticators: [Auth.apiKey({ keys: { "k-alice": { id: "alice", groups: ["ops"] } } })] }
 * })
 *
 * Layer.launch(server).pipe(Effect.provide(CmdExecutionMap.layerMemory()), TruceHttp.runMain)
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as Access from "@truce/core/Access"
import * as CmdExecution from "@truce/core/CmdExecution"
import type * as CmdExecutionMap from "@truce/core/CmdExecutionMap"
import type * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type * as ExecutionStore from "@truce/core/ExecutionStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { createServer } from "node:http"
import type * as Auth from "./Auth.js"
import type * as Callback from "./Callback.js"
import * as fastpath from "./internal/fastpath.js"
import * as internal from "./internal/server.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const CommandRouteTypeId: unique symbol = Symbol.for("@truce/http/CommandRoute")

/**
 * How a command is exposed.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandOptions {
  /** A one-line summary for the OpenAPI document. */
  readonly summary?: string | undefined
  /** A longer description for the OpenAPI document. */
  readonly description?: string | undefined
  /**
   * Who may start it. Default: any authenticated caller. `{ users: ["*"] }` also admits
   * anonymous callers, where the server allows them.
   */
  readonly start?: Partial<Access.Grant> | undefined
  /**
   * Default read and write grants of its executions (a start request may add grants;
   * the caller who started it — the owner — always has both).
   */
  readonly permissions?: {
    readonly read?: Partial<Access.Grant> | undefined
    readonly write?: Partial<Access.Grant> | undefined
  } | undefined
  /** At most this many executions run at once; further starts wait in the `Queued` state. */
  readonly concurrency?: number | undefined
  /** Interrupt (source `timeout`) after this long; `"none"` disables. Default: the server's `defaultTimeout`. */
  readonly timeout?: Duration.DurationInput | "none" | undefined
  /** Count time spent `Queued` towards the timeout (default false). */
  readonly timeoutIncludesQueue?: boolean | undefined
  /** After a graceful interrupt, escalate to an immediate stop after this long. */
  readonly graceTimeout?: Duration.DurationInput | undefined
  /** `false` refuses interrupts (409). Default true. */
  readonly cancellable?: boolean | undefined
  /** Do not keep the input on the record. */
  readonly redactInput?: boolean | undefined
  /** A callback URL for every execution of this command (a request's `callbackUrl` replaces it). */
  readonly callbackUrl?: string | undefined
  /** Labels attached to every execution (a request's labels are added). */
  readonly labels?: Readonly<Record<string, string>> | undefined
}

/**
 * A command exposed over HTTP (made by {@link command}).
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandRoute<out R = never> {
  readonly [CommandRouteTypeId]: { readonly _R: (_: never) => R }
  readonly name: string
  readonly blocks: ReadonlyArray<string>
  readonly inputSchema: Schema.Schema.AnyNoContext | undefined
  readonly options: CommandOptions
  /** Default options of the execution (cancellable, timeout, concurrency, ...). */
  readonly executionOptions: CmdExecution.ExecutionOptions
  /** The execution this route starts, with the route's options (e.g. `concurrency`) applied. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any input, output and error
  readonly execution: CmdExecution.CmdExecution<any, any, any, R>
  /** Decodes raw input with the command's schema and returns a starter. */
  readonly prepare: (input: unknown) => Either.Either<
    (
      map: CmdExecutionMap.CmdExecutionMap,
      options: CmdExecutionMap.StartOptions
    ) => Effect.Effect<
      ExecutionRecord.ExecutionId,
      ExecutionStore.StoreError | CmdExecutionMap.IdempotencyConflict,
      R
    >,
    ParseResult.ParseError
  >
}

const commandName = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/

/**
 * Exposes an execution as a command: `POST /commands/{name}/executions` starts it, with
 * the body `{ input, callbackUrl?, permissions?, labels? }`; `input` is validated by the
 * execution's input schema (`CmdExecution.make(name, { input: Schema })`).
 *
 * @example
 * import { Effect, Schema } from "effect"
 * import { CmdBlock, CmdExecution } from "@truce/core"
 * import { TruceHttp } from "@truce/http"
 *
 * const deploy = CmdExecution.make("deploy-service", { input: Schema.Struct({ service: Schema.String }) }).pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "roll-out", run: () => Effect.void }))
 * )
 * const route = TruceHttp.command(deploy, {
 *   start: { roles: ["deployer"] },
 *   permissions: { read: { groups: ["ops"] }, write: { roles: ["sre"] } },
 *   concurrency: 2,
 *   timeout: "30 minutes"
 * })
 *
 * @since 0.1.0
 * @category constructors
 */
export const command = <In, Out, E, R>(
  execution: CmdExecution.CmdExecution<In, Out, E, R>,
  options: CommandOptions = {}
): CommandRoute<R> => {
  if (!commandName.test(execution.name)) {
    throw new RangeError(
      `TruceHttp.command: ${JSON.stringify(execution.name)} cannot be used in a URL path; ` +
        "use letters, digits, '.', '_', '~' and '-'"
    )
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new RangeError(`TruceHttp.command(${execution.name}): concurrency must be a positive integer`)
  }
  const exposed = options.concurrency === undefined
    ? execution
    : CmdExecution.withOptions(execution, { concurrency: options.concurrency })
  return {
    [CommandRouteTypeId]: { _R: (_: never) => _ },
    name: execution.name,
    blocks: execution.blocks.map((block) => block.name),
    inputSchema: execution.inputSchema,
    options,
    executionOptions: exposed.options,
    execution: exposed,
    prepare: (input) => {
      const decoded = execution.decodeInput(input)
      if (Either.isRight(decoded)) {
        return Either.right((map, startOptions) => map.start(exposed, decoded.right, startOptions))
      }
      // Report every issue, not only the first one.
      const all = execution.inputSchema === undefined
        ? decoded
        : Schema.decodeUnknownEither(execution.inputSchema, { errors: "all" })(input)
      return Either.left(Either.isLeft(all) ? all.left : decoded.left)
    }
  }
}

/**
 * The executions of some routes, as the routes start them (with their `concurrency` and other
 * options applied) — give them to the execution map as its `commands`, so that executions it
 * resumes after a restart run under the same limits as new ones.
 *
 * @example
 * import { Effect, Schema } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { TruceHttp } from "@truce/http"
 *
 * const backup = CmdExecution.make("backup", { input: Schema.String, resumable: true }).pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "dump", run: (database: string) => Effect.succeed(database) }))
 * )
 * const routes = [TruceHttp.command(backup, { concurrency: 1 })]
 * const MapLive = CmdExecutionMap.layerMemory({ commands: TruceHttp.executions(routes) })
 *
 * @since 0.1.0
 * @category utils
 */
export const executions = <R>(
  routes: ReadonlyArray<CommandRoute<R>>
): ReadonlyArray<CommandRoute<R>["execution"]> => routes.map((route) => route.execution)

/**
 * Authentication of a server.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthConfig {
  /** Tried in order; the first that recognises credentials decides. */
  readonly authenticators: ReadonlyArray<Auth.Authenticator>
  /** Accept requests without credentials (as an anonymous caller). Default false. */
  readonly allowAnonymous?: boolean | undefined
  /** Principals matching this grant may read and write every execution. */
  readonly admins?: Partial<Access.Grant> | undefined
}

/**
 * Configuration of a server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<R> {
  readonly commands: ReadonlyArray<CommandRoute<R>>
  /** Authentication; without it every caller is anonymous and only `users: ["*"]` grants apply. */
  readonly auth?: AuthConfig | undefined
  /** Callbacks (signing secret, retries, allowed address ranges). Without it, `callbackUrl` answers 400. */
  readonly callbacks?: Callback.Config | undefined
  /** The timeout of commands that set none (default 8 hours; `"none"` disables). */
  readonly defaultTimeout?: Duration.DurationInput | "none" | undefined
  /** The largest request body accepted, in bytes (default 1 MiB); larger ones answer 413. */
  readonly maxBodySize?: number | undefined
  /** The longest `?wait=` or `Prefer: wait` honoured (default 60 seconds). */
  readonly maxWait?: Duration.DurationInput | undefined
  /**
   * How often an idle event stream sends a keep-alive (an SSE comment, or an event-stream
   * `ping` frame) (default 15 seconds).
   */
  readonly keepAliveInterval?: Duration.DurationInput | undefined
  /** The reconnection delay an event stream suggests to EventSource clients (default 2 seconds). */
  readonly sseRetry?: Duration.DurationInput | undefined
  /** The `Retry-After` of 202 answers, in seconds (default 1). */
  readonly retryAfterSeconds?: number | undefined
  /** The server's public base URL for `Operation-Location` (default: from the `Host` header). */
  readonly publicUrl?: string | undefined
  /** Where the interactive documentation is served (default `/docs`; `false` disables it). */
  readonly docsPath?: `/${string}` | false | undefined
  /** Title, version and description of the OpenAPI document. */
  readonly openApi?: {
    readonly title?: string | undefined
    readonly version?: string | undefined
    readonly description?: string | undefined
  } | undefined
  /** Trace every request as a span (default false: spans cost time on every request). */
  readonly tracing?: boolean | undefined
  /**
   * Serve plain record reads (`GET /executions/{id}`) straight from Node's request event
   * when the authenticators and the store answer synchronously (default true; only with
   * {@link nodeServer}, and never with `tracing`). The answer is the same; everything
   * else, errors included, goes through the HttpApi handlers.
   */
  readonly fastPath?: boolean | undefined
}

/**
 * The server as a layer over an `HttpServer` (provide {@link nodeServer}, or use
 * {@link layerNode}) and a `CmdExecutionMap`.
 *
 * Closing the layer ends event streams and long polls at once (so the server does not
 * wait for clients that are still connected), stops callback deliveries (recorded as
 * failed), then closes the HTTP server.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <R>(
  config: Config<R>
): Layer.Layer<
  never,
  never,
  HttpServer.HttpServer | internal.HttpDefaultServices | CmdExecutionMap.CmdExecutionMap | R
> => {
  const parts = internal.make(config)
  const serve = HttpApiBuilder.serve().pipe(
    config.tracing === true ? (self) => self : HttpMiddleware.withTracerDisabledWhen(() => true)
  )
  const docs = config.docsPath === false ? Layer.empty : HttpApiSwagger.layer({ path: config.docsPath ?? "/docs" })
  const app = serve.pipe(
    Layer.provide(docs),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(parts.api)
  )
  return Layer.flatMap(app, () => internal.afterServe(config)).pipe(Layer.provide(parts.context))
}

/**
 * Node's HTTP server listening on a port (default 8080; 0 picks a free one) of a host
 * (default all interfaces). When it closes, requests still arriving on open connections
 * are answered 503 (`Connection: close`), and connections still open after
 * `shutdownGrace` (default 3 seconds) are destroyed, so a client that keeps a connection
 * open cannot hold up the shutdown.
 *
 * @since 0.1.0
 * @category layers
 */
export const nodeServer = (options: {
  readonly port?: number | undefined
  readonly host?: string | undefined
  readonly shutdownGrace?: Duration.DurationInput | undefined
} = {}): Layer.Layer<HttpServer.HttpServer | internal.HttpDefaultServices, HttpServerError.ServeError> => {
  const server = createServer()
  const fastPaths = fastpath.install(server)
  // While the app serves, its own listener answers. Once it is removed (shutdown), requests
  // still arriving on open connections get 503 and the connection is closed.
  server.on("request", (_request, response) => {
    if (server.listenerCount("request") > 1) return
    response.writeHead(503, { "content-type": "application/json", connection: "close", "retry-after": "1" })
    response.end(JSON.stringify({ _tag: "ServiceUnavailable", message: "the server is shutting down" }))
  })
  const graceMs = Duration.toMillis(Duration.decode(options.shutdownGrace ?? Duration.seconds(3)))
  const forceClose = Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.sync(() => {
      server.closeIdleConnections()
      const timer = setTimeout(() => server.closeAllConnections(), graceMs)
      timer.unref()
      server.once("close", () => clearTimeout(timer))
    })
  ))
  // Built after the server, so released before it: the timer is set when the server starts closing.
  return forceClose.pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(() => server, {
        port: options.port ?? 8080,
        ...(options.host !== undefined ? { host: options.host } : {})
      })
    ),
    Layer.merge(Layer.succeed(fastpath.FastPaths, fastPaths))
  )
}

/**
 * The server on Node's HTTP server ({@link nodeServer}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode = <R>(
  config: Config<R> & {
    readonly port?: number | undefined
    readonly host?: string | undefined
    readonly shutdownGrace?: Duration.DurationInput | undefined
    /** Log "Listening on http://…" once the server listens (default false). */
    readonly logAddress?: boolean | undefined
  }
): Layer.Layer<never, HttpServerError.ServeError, CmdExecutionMap.CmdExecutionMap | R> =>
  layer(config).pipe(
    config.logAddress === true ? HttpServer.withLogAddress : (self) => self,
    Layer.provide(nodeServer({ port: config.port, host: config.host, shutdownGrace: config.shutdownGrace }))
  )

/**
 * The address the HTTP server listens on (useful with port 0).
 *
 * @example
 * import { Effect } from "effect"
 * import { TruceHttp } from "@truce/http"
 * const url = Effect.map(TruceHttp.address, (address) =>
 *   address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : address.path)
 *
 * @since 0.1.0
 * @category utils
 */
export const address: Effect.Effect<HttpServer.Address, never, HttpServer.HttpServer> = Effect.map(
  HttpServer.HttpServer,
  (server) => server.address
)

/**
 * Runs a server program with Node's runtime (`NodeRuntime.runMain`): SIGINT and SIGTERM
 * interrupt it, so event streams end, the server closes and running executions record
 * their outcome (source `shutdown`) before the process exits.
 *
 * @example
 * import { Effect, Layer, Schema } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { TruceHttp } from "@truce/http"
 *
 * const greet = CmdExecution.make("greet", { input: Schema.Struct({ name: Schema.String }) }).pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "say", run: ({ name }) => Effect.log(`hello ${name}`) }))
 * )
 * Layer.launch(TruceHttp.layerNode({ port: 8080, commands: [TruceHttp.command(greet)] })).pipe(
 *   Effect.provide(CmdExecutionMap.layerMemory()),
 *   TruceHttp.runMain
 * )
 *
 * @since 0.1.0
 * @category running
 */
export const runMain: <E, A>(effect: Effect.Effect<A, E>) => void = (effect) => NodeRuntime.runMain(effect)
