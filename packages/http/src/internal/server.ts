/**
 * The route handlers of the server.
 *
 * @internal
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Access from "@truce/core/Access"
import * as CmdExecutionMap from "@truce/core/CmdExecutionMap"
import * as ExecutionQuery from "@truce/core/ExecutionQuery"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type * as ExecutionStore from "@truce/core/ExecutionStore"
import * as Interrupt from "@truce/core/Interrupt"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"
import * as Api from "../Api.js"
import {
  AlreadyFinished,
  CommandNotFound,
  ExecutionNotFound,
  Forbidden,
  IdempotencyConflict,
  InvalidQuery,
  InvalidRequest,
  NotCancellable,
  ServiceUnavailable,
  Unauthenticated
} from "../ApiError.js"
import type { Principal } from "../Auth.js"
import { CurrentPrincipal } from "../Auth.js"
import type { CommandRoute, Config } from "../TruceHttp.js"
import * as callbacks from "./callbacks.js"
import * as eventstream from "./eventstream.js"
import * as fastpath from "./fastpath.js"
import { contentTypeOf, negotiate, renderBody, respond } from "./negotiate.js"
import * as push from "./push.js"
import { invalidFromParseError, parsePrefer, parseSeq, parseWait, readBody } from "./request.js"
import * as sse from "./sse.js"

/** @internal */
export type HttpDefaultServices = HttpRouter.HttpRouter.DefaultServices

/** State the handlers share with the server's lifetime. */
export class ServerContext extends Context.Tag("@truce/http/ServerContext")<ServerContext, {
  /** Completed when the server starts shutting down: streams and long polls end. */
  readonly shutdown: Deferred.Deferred<void>
  readonly deliverer: ReturnType<typeof callbacks.makeDeliverer> | undefined
  /** The open event streams (keep-alive, shutdown). */
  readonly watchers: push.Watchers
}>() {}

const storeUnavailable = (error: ExecutionStore.StoreError) =>
  new ServiceUnavailable({ message: `the execution store failed: ${error.message}` })

const notFound = (id: string) => new ExecutionNotFound({ id, message: `no execution ${id}` })

/**
 * A record as callers see it: without `idempotencyFingerprint`, a hash of the command and its
 * input that only the server compares. Shown, it would let any reader test guesses of an input
 * the command keeps redacted.
 */
const encodeRecord = (record: ExecutionRecord.ExecutionRecord) => {
  const { idempotencyFingerprint: _fingerprint, ...shown } = record
  return ExecutionRecord.encode(shown)
}

const stableStringify = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`
  const keys = Object.keys(value).sort()
  return `{${
    keys.map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`).join(",")
  }}`
}

/** Aliases of Pode's query fields. */
const podeFields: Record<string, string> = {
  name: "command",
  user: "owner",
  creationtime: "createdAt",
  startingtime: "startedAt",
  completedtime: "finishedAt",
  expiretime: "expiresAt"
}

const fieldNames = Object.keys(ExecutionQuery.fields)

const canonicalField = (field: string): string => {
  if (ExecutionQuery.kindOf(field) !== undefined) return field
  const lower = field.toLowerCase()
  return fieldNames.find((name) => name.toLowerCase() === lower) ?? podeFields[lower] ?? field
}

const queryKeys = new Set(["where", "sort", "limit", "cursor"])

/**
 * A query body: `{ where, sort, limit, cursor }`, or the conditions alone (Pode's shape,
 * `{ field: { op, value } }`, whose field names are matched without regard to case).
 */
export const queryInputOf = (body: unknown): Either.Either<ExecutionQuery.QueryInput, InvalidQuery> => {
  if (body === undefined || body === null) return Either.right({})
  if (typeof body !== "object" || Array.isArray(body)) {
    return Either.left(new InvalidQuery({ message: "the query body must be an object { where, sort, limit, cursor }" }))
  }
  const record = body as Record<string, unknown>
  const rename = (where: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(where).map(([field, condition]) => [canonicalField(field), condition]))
  if ("where" in record) {
    const unknownKey = Object.keys(record).find((key) => !queryKeys.has(key))
    if (unknownKey !== undefined) {
      return Either.left(
        new InvalidQuery({ message: `unknown key ${JSON.stringify(unknownKey)}; expected where, sort, limit, cursor` })
      )
    }
    const where = record.where
    return Either.right({
      where: typeof where === "object" && where !== null && !Array.isArray(where)
        ? rename(where as Record<string, unknown>)
        : where,
      sort: record.sort,
      limit: record.limit,
      cursor: record.cursor
    })
  }
  const where: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) {
    if (!queryKeys.has(key)) where[key] = value
  }
  return Either.right({ where: rename(where), sort: record.sort, limit: record.limit, cursor: record.cursor })
}

/** Everything the handlers need, resolved from the configuration. */
const settingsOf = <R>(config: Config<R>) => {
  const admins = config.auth?.admins === undefined ? undefined : Access.permissions({ read: config.auth.admins }).read
  const isAdmin = (principal: Principal | undefined) => admins !== undefined && Access.granted(admins, principal)
  return {
    maxBodySize: config.maxBodySize ?? 1024 * 1024,
    maxWaitMs: Duration.toMillis(config.maxWait ?? Duration.seconds(60)),
    keepAliveMs: Duration.toMillis(config.keepAliveInterval ?? Duration.seconds(15)),
    sseRetryMs: Duration.toMillis(config.sseRetry ?? Duration.seconds(2)),
    retryAfter: String(config.retryAfterSeconds ?? 1),
    defaultTimeout: config.defaultTimeout ?? Duration.hours(8),
    isAdmin,
    canRead: (record: ExecutionRecord.ExecutionRecord, principal: Principal | undefined) =>
      isAdmin(principal) || Access.canRead(record, principal),
    canWrite: (record: ExecutionRecord.ExecutionRecord, principal: Principal | undefined) =>
      isAdmin(principal) || Access.canWrite(record, principal),
    readableBy: (principal: Principal | undefined) => isAdmin(principal) ? undefined : { readableBy: { principal } }
  }
}

type Settings = ReturnType<typeof settingsOf>

const challengeOf = <R>(config: Config<R>): string =>
  (config.auth?.authenticators ?? []).map((authenticator) => authenticator.challenge).join(", ")

/** The authentication middleware: the first authenticator that recognises credentials decides. */
const authenticationLayer = <R>(config: Config<R>) => {
  const authenticators = config.auth?.authenticators ?? []
  const allowAnonymous = config.auth?.allowAnonymous ?? config.auth === undefined
  const challenge = challengeOf(config)
  const withChallenge = <A, E>(effect: Effect.Effect<A, E>) =>
    challenge === ""
      ? effect
      : Effect.zipRight(
        HttpApp.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeader(response, "www-authenticate", challenge))
        ),
        effect
      )
  const anonymous = { principal: undefined }
  const refused = withChallenge(
    Effect.fail(
      new Unauthenticated({
        message: authenticators.length === 0
          ? "this server accepts no credentials and no anonymous callers"
          : `authentication required (${authenticators.map((authenticator) => authenticator.name).join(" or ")})`
      })
    )
  )
  return Layer.succeed(
    Api.Authentication,
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const next = (index: number): Effect.Effect<{ readonly principal: Principal | undefined }, Unauthenticated> => {
        if (index >= authenticators.length) return allowAnonymous ? Effect.succeed(anonymous) : refused
        const authenticator = authenticators[index] as (typeof authenticators)[number]
        return authenticator.authenticate(request).pipe(
          Effect.catchAll((error) => withChallenge(Effect.fail(error))),
          Effect.flatMap((found) => Option.isSome(found) ? Effect.succeed({ principal: found.value }) : next(index + 1))
        )
      }
      return next(0)
    })
  )
}

const originOf = (request: HttpServerRequest.HttpServerRequest, publicUrl: string | undefined): string => {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, "")
  const host = request.headers.host
  return host === undefined || !/^[A-Za-z0-9.:[\]-]+$/.test(host) ? "" : `http://${host}`
}

/** Builds the API layer and the server context layer. */
export const make = <R>(config: Config<R>) => {
  const routes = config.commands
  const byName = new Map<string, CommandRoute<R>>()
  for (const route of routes) {
    if (byName.has(route.name)) throw new RangeError(`TruceHttp: the command ${route.name} is exposed twice`)
    byName.set(route.name, route)
  }
  const settings = settingsOf(config)
  const api = Api.make(
    routes.map((route) => ({
      name: route.name,
      inputSchema: route.inputSchema,
      summary: route.options.summary,
      description: route.options.description
    })),
    {
      title: config.openApi?.title,
      version: config.openApi?.version,
      description: config.openApi?.description,
      authenticators: config.auth?.authenticators ?? [],
      allowAnonymous: config.auth?.allowAnonymous ?? config.auth === undefined,
      callbacks: config.callbacks !== undefined
    }
  )

  const context = Layer.scoped(
    ServerContext,
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const fibers = yield* FiberSet.make<void, never>()
      const watchers = yield* push.makeWatchers(settings.keepAliveMs)
      const shutdown = yield* Deferred.make<void>()
      // Also completed by `shutdownTrigger`, earlier; here in case the server is used without it.
      yield* Effect.addFinalizer(() => Deferred.succeed(shutdown, undefined))
      return {
        shutdown,
        watchers,
        deliverer: config.callbacks === undefined
          ? undefined
          : callbacks.makeDeliverer(config.callbacks, map.store, fibers)
      }
    })
  )

  const sseTransport = sse.transport({ retryMs: settings.sseRetryMs })

  const executions = HttpApiBuilder.group(api, "executions", (handlers) =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const server = yield* ServerContext
      const loadReadable = (id: string, principal: Principal | undefined) =>
        map.get(id).pipe(
          Effect.mapError(storeUnavailable),
          Effect.flatMap((found) =>
            Option.isSome(found) && settings.canRead(found.value, principal)
              ? Effect.succeed(found.value)
              : Effect.fail(notFound(id))
          )
        )
      /** Both interrupt routes: the body, or (without one) the parameters given. */
      const interruptRoute = (id: string, request: HttpServerRequest.HttpServerRequest, withoutBody: unknown) =>
        Effect.gen(function*() {
          const { principal } = yield* CurrentPrincipal
          const record = yield* loadReadable(id, principal)
          const body = yield* readBody(request, settings.maxBodySize)
          const decoded = yield* Schema.decodeUnknown(Api.InterruptBody, { onExcessProperty: "error", errors: "all" })(
            body ?? withoutBody
          ).pipe(Effect.mapError((error) => invalidFromParseError(error, "invalid interrupt request")))
          return yield* interrupt(map, settings, record, principal, decoded, request)
        })
      return handlers
        .handleRaw("list", ({ request }) =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            const search = request.url.indexOf("?")
            const params = new URLSearchParams(search >= 0 ? request.url.slice(search + 1) : "")
            const query = ExecutionQuery.fromSearchParams(params, settings.readableBy(principal))
            if (Either.isLeft(query)) return yield* Effect.fail(invalidQuery(query.left))
            const page = yield* map.list(query.right).pipe(Effect.mapError(listError))
            const headers: Record<string, string> = {}
            if (page.nextCursor !== undefined) {
              params.set("cursor", page.nextCursor)
              headers.link = `</executions?${params.toString()}>; rel="next"`
            }
            return respond(negotiate(request.headers.accept), "executions", pageBody(page), { headers })
          }))
        .handleRaw("query", ({ request }) =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            const body = yield* readBody(request, settings.maxBodySize)
            const input = queryInputOf(body)
            if (Either.isLeft(input)) return yield* Effect.fail(input.left)
            const query = ExecutionQuery.make(input.right, settings.readableBy(principal))
            if (Either.isLeft(query)) return yield* Effect.fail(invalidQuery(query.left))
            const page = yield* map.list(query.right).pipe(Effect.mapError(listError))
            return respond(negotiate(request.headers.accept), "executions", pageBody(page))
          }))
        .handleRaw("get", ({ path, request, urlParams }) =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            const waitMs = yield* parseWait(urlParams.wait)
            let record = yield* loadReadable(path.id, principal)
            if (waitMs !== undefined && waitMs > 0 && !ExecutionRecord.isTerminal(record.state)) {
              record = yield* waitForRecord(map, server.shutdown, record, Math.min(waitMs, settings.maxWaitMs))
            }
            const headers: Record<string, string> = yield* closingHeaders(server.shutdown)
            if (!ExecutionRecord.isTerminal(record.state)) headers["retry-after"] = settings.retryAfter
            return respond(negotiate(request.headers.accept), "execution", encodeRecord(record), { headers })
          }))
        .handleRaw("events", ({ headers, path, request, urlParams }) =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            const record = yield* loadReadable(path.id, principal)
            if (yield* Deferred.isDone(server.shutdown)) {
              return yield* Effect.fail(new ServiceUnavailable({ message: "the server is shutting down" }))
            }
            const after = (yield* parseSeq(headers["last-event-id"], "Last-Event-ID")) ??
              (yield* parseSeq(urlParams.after, "after")) ?? 0
            if (ExecutionRecord.isTerminal(record.state) && after >= record.progress.seq) {
              // Nothing more will come: 204 tells EventSource to stop reconnecting.
              return HttpServerResponse.empty({ status: 204 })
            }
            if (!ExecutionRecord.isTerminal(record.state) && !map.isLive(record.id)) {
              return yield* Effect.fail(
                new ServiceUnavailable({
                  message: `execution ${record.id} runs in another process (${record.runner ?? "unknown"}); ` +
                    "its events are not available here"
                })
              )
            }
            const events = map.events(record.id, { after }).pipe(
              Stream.mapError((error) =>
                error._tag === "StoreError"
                  ? storeUnavailable(error)
                  : new ExecutionNotFound({ id: record.id, message: `the events of execution ${record.id} are gone` })
              )
            )
            const transport = push.choose(request.headers.accept) === "eventstream"
              ? eventstream.transport
              : sseTransport
            const response: ServerResponse | undefined = NodeHttpServerRequest.toServerResponse(request)
            if (response === undefined || typeof response.once !== "function") {
              return push.standaloneStream(transport, events, {
                keepAliveMs: settings.keepAliveMs,
                shutdown: server.shutdown
              })
            }
            return yield* Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse>((fiber) =>
              Effect.succeed(
                push.registeredStream(transport, events, server.watchers.add(fiber, response, transport.keepAlive))
              )
            )
          }))
        .handleRaw("interrupt", ({ path, request }) => interruptRoute(path.id, request, {}))
        .handleRaw("cancel", ({ path, request, urlParams }) =>
          interruptRoute(path.id, request, {
            ...(urlParams.mode !== undefined ? { mode: urlParams.mode } : {}),
            ...(urlParams.reason !== undefined ? { reason: urlParams.reason } : {})
          }))
    }))

  const commands = HttpApiBuilder.group(api, "commands", (handlers) =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const server = yield* ServerContext
      const services = yield* Effect.context<R>()
      const canStart = (route: CommandRoute<R>, principal: Principal | undefined) =>
        settings.isAdmin(principal) ||
        (route.options.start === undefined
          ? principal !== undefined
          : Access.granted(Access.permissions({ read: route.options.start }).read, principal))
      const infos = routes.map((route) => ({ route, info: commandInfo(route) }))
      const base = handlers
        .handleRaw("listCommands", () =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            const commands = infos.filter(({ route }) => canStart(route, principal)).map(({ info }) => info)
            return HttpServerResponse.unsafeJson({ commands })
          }))
        .handleRaw("startUnknown", ({ path }) =>
          Effect.fail(
            new CommandNotFound({
              command: path.name,
              message: `no command ${path.name}; GET /commands lists the commands you may start`
            })
          ))
      let all: typeof base = base
      for (const route of routes) {
        all = all.handleRaw(Api.startEndpointName(route.name), ({ headers, request }) =>
          Effect.gen(function*() {
            const { principal } = yield* CurrentPrincipal
            if (!canStart(route, principal)) {
              return yield* Effect.fail(
                new Forbidden({
                  message: principal === undefined
                    ? `anonymous callers may not start ${route.name}`
                    : `${principal.id} may not start ${route.name}`
                })
              )
            }
            const body = yield* readBody(request, settings.maxBodySize)
            const envelope = yield* Schema.decodeUnknown(Api.StartEnvelope, {
              onExcessProperty: "error",
              errors: "all"
            })(
              body ?? {}
            ).pipe(Effect.mapError((error) => invalidFromParseError(error)))
            const prepared = route.prepare(envelope.input)
            if (Either.isLeft(prepared)) {
              const issues = invalidFromParseError(prepared.left, "invalid input")
              return yield* Effect.fail(
                new InvalidRequest({
                  message: issues.message,
                  issues: (issues.issues ?? []).map((issue) => ({ ...issue, path: ["input", ...issue.path] }))
                })
              )
            }
            const callbackUrl = envelope.callbackUrl ?? route.options.callbackUrl
            if (callbackUrl !== undefined) {
              if (config.callbacks === undefined || server.deliverer === undefined) {
                return yield* Effect.fail(new InvalidRequest({ message: "this server does not send callbacks" }))
              }
              yield* callbacks.checkUrl(config.callbacks, callbackUrl)
            }
            const key = headers["idempotency-key"]
            if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) {
              return yield* Effect.fail(
                new InvalidRequest({ message: "Idempotency-Key: 1 to 255 visible ASCII characters" })
              )
            }
            const owner = principal?.id
            const permissions = Access.union(
              Access.permissions(route.options.permissions ?? {}),
              Access.permissions({
                read: envelope.permissions?.read,
                write: envelope.permissions?.write
              })
            )
            const startOptions: CmdExecutionMap.StartOptions = {
              owner,
              permissions,
              labels: { ...route.options.labels, ...envelope.labels },
              timeout: route.options.timeout ?? route.executionOptions.timeout ?? settings.defaultTimeout,
              timeoutIncludesQueue: route.options.timeoutIncludesQueue,
              graceTimeout: route.options.graceTimeout,
              cancellable: route.options.cancellable,
              redactInput: route.options.redactInput,
              callbackUrl,
              outcomeOutputs: callbackUrl !== undefined && server.deliverer !== undefined
                ? [server.deliverer.output(callbackUrl)]
                : [],
              ...(key !== undefined
                ? {
                  idempotencyKey: `${owner ?? "~anonymous"}:${key}`,
                  idempotencyFingerprint: createHash("sha256")
                    .update(stableStringify({ command: route.name, owner: owner ?? null, body: body ?? null }))
                    .digest("base64url")
                }
                : {})
            }
            const id = yield* prepared.right(map, startOptions).pipe(
              Effect.provide(services),
              Effect.catchTags({
                StoreError: (error) => Effect.fail(storeUnavailable(error)),
                IdempotencyConflict: () =>
                  Effect.fail(
                    new IdempotencyConflict({
                      key: key ?? "",
                      message: `the Idempotency-Key ${JSON.stringify(key)} was used for a different request`
                    })
                  )
              })
            )
            const prefer = parsePrefer(headers.prefer)
            const applied: Array<string> = []
            let record: ExecutionRecord.ExecutionRecord | undefined
            if (prefer.wait !== undefined) {
              const waitMs = Math.min(prefer.wait * 1000, settings.maxWaitMs)
              applied.push(`wait=${Math.floor(waitMs / 1000)}`)
              const current = yield* map.get(id).pipe(Effect.mapError(storeUnavailable))
              if (Option.isSome(current)) record = yield* waitForRecord(map, server.shutdown, current.value, waitMs)
            }
            if (record === undefined || !ExecutionRecord.isTerminal(record.state)) {
              const current = yield* map.get(id).pipe(Effect.mapError(storeUnavailable))
              if (Option.isSome(current)) record = current.value
            }
            if (record === undefined) {
              return yield* Effect.fail(new ServiceUnavailable({ message: `execution ${id} vanished from the store` }))
            }
            const location = `/executions/${id}`
            const finished = ExecutionRecord.isTerminal(record.state)
            if (prefer.respondAsync && !finished) applied.push("respond-async")
            const responseHeaders: Record<string, string> = {
              ...(yield* closingHeaders(server.shutdown)),
              location,
              vary: "Accept, Prefer"
            }
            if (applied.length > 0) responseHeaders["preference-applied"] = applied.join(", ")
            if (!finished) {
              responseHeaders["operation-location"] = `${originOf(request, config.publicUrl)}${location}`
              responseHeaders["retry-after"] = settings.retryAfter
            }
            return respond(negotiate(request.headers.accept), "execution", encodeRecord(record), {
              status: finished ? 200 : 202,
              headers: responseHeaders
            })
          }))
      }
      return all as unknown as typeof base extends HttpApiBuilder.Handlers<infer E, infer P, infer RR, infer _>
        ? HttpApiBuilder.Handlers<E, P, RR, never>
        : never
    }))

  return {
    api: HttpApiBuilder.api(api).pipe(
      Layer.provide(executions),
      Layer.provide(commands),
      Layer.provide(authenticationLayer(config))
    ),
    context
  }
}

/**
 * Built after the served app, so released before it: signals shutdown while the request
 * listener is still in place, so event streams end and long polls are answered (with
 * `Connection: close`) before the server stops taking requests and closes. Also installs
 * the fast path of record reads when the HTTP server offers one (see `fastpath.ts`).
 */
export const afterServe = <R>(
  config: Config<R>
): Layer.Layer<never, never, ServerContext | CmdExecutionMap.CmdExecutionMap> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const server = yield* ServerContext
    const map = yield* CmdExecutionMap.CmdExecutionMap
    let shuttingDown = false
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        shuttingDown = true
        return Effect.zipRight(Deferred.succeed(server.shutdown, undefined), server.watchers.interruptAll)
      })
    )
    const paths = yield* Effect.serviceOption(fastpath.FastPaths)
    if (Option.isNone(paths) || config.tracing === true || config.fastPath === false) return
    const settings = settingsOf(config)
    const authenticators = config.auth?.authenticators ?? []
    const allowAnonymous = config.auth?.allowAnonymous ?? config.auth === undefined
    const pattern = /^\/executions\/([^/?#]+)$/
    let disabled = false
    yield* paths.value.add((request, response) => {
      if (disabled || shuttingDown || request.method !== "GET" || request.url === undefined) return false
      const match = pattern.exec(request.url)
      if (match === null) return false
      let id: string
      try {
        id = decodeURIComponent(match[1] as string)
      } catch {
        return false
      }
      const authRequest = fastpath.authRequestOf(request)
      let authenticated = false
      let principal: Principal | undefined = undefined
      for (const authenticator of authenticators) {
        const result = fastpath.runSync(authenticator.authenticate(authRequest))
        if (result._tag === "Async") disabled = true
        if (result._tag !== "Value") return false
        if (Option.isSome(result.value)) {
          authenticated = true
          principal = result.value.value
          break
        }
      }
      if (!authenticated && !allowAnonymous) return false
      const found = fastpath.runSync(map.get(id))
      if (found._tag === "Async") disabled = true
      if (found._tag !== "Value" || Option.isNone(found.value)) return false
      const record = found.value.value
      if (!settings.canRead(record, principal)) return false
      const representation = negotiate(request.headers.accept)
      let body: string
      try {
        body = renderBody(representation, "execution", encodeRecord(record))
      } catch {
        return false
      }
      const headers: Record<string, string | number> = {
        "content-type": contentTypeOf(representation),
        "content-length": Buffer.byteLength(body),
        vary: "Accept"
      }
      if (!ExecutionRecord.isTerminal(record.state)) headers["retry-after"] = settings.retryAfter
      response.writeHead(200, headers)
      response.end(body)
      return true
    })
  }))

const commandInfo = <R>(route: CommandRoute<R>): Api.CommandInfo => {
  let inputSchema: unknown = undefined
  if (route.inputSchema !== undefined) {
    try {
      inputSchema = JSONSchema.make(route.inputSchema)
    } catch {
      inputSchema = undefined
    }
  }
  const timeout = route.options.timeout ?? route.executionOptions.timeout
  return {
    name: route.name,
    ...(route.options.summary !== undefined ? { summary: route.options.summary } : {}),
    blocks: route.blocks,
    cancellable: route.options.cancellable ?? route.executionOptions.cancellable ?? true,
    ...(route.executionOptions.concurrency !== undefined ? { concurrency: route.executionOptions.concurrency } : {}),
    ...(timeout !== undefined && timeout !== "none" ? { timeoutMs: Duration.toMillis(Duration.decode(timeout)) } : {}),
    path: Api.startPath(route.name),
    ...(inputSchema !== undefined ? { inputSchema } : {})
  }
}

const invalidQuery = (error: ExecutionQuery.InvalidQuery) =>
  new InvalidQuery({
    message: error.message,
    ...(error.field !== undefined ? { field: error.field } : {}),
    ...(error.op !== undefined ? { op: error.op } : {})
  })

const listError = (error: ExecutionQuery.InvalidQuery | ExecutionStore.StoreError) =>
  error._tag === "InvalidQuery" ? invalidQuery(error) : storeUnavailable(error)

const pageBody = (page: ExecutionQuery.QueryPage) => ({
  records: page.records.map(encodeRecord),
  ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {})
})

/** While the server shuts down, answers close their connection (so `server.close()` need not wait for it). */
const closingHeaders = (shutdown: Deferred.Deferred<void>): Effect.Effect<Record<string, string>> =>
  Effect.map(Deferred.isDone(shutdown), (closing): Record<string, string> => closing ? { connection: "close" } : {})

/**
 * Waits until the execution finishes, the wait ends or the server shuts down; answers the
 * record as it is then. Completion is pushed by the map (no polling).
 */
const waitForRecord = (
  map: CmdExecutionMap.CmdExecutionMap,
  shutdown: Deferred.Deferred<void>,
  current: ExecutionRecord.ExecutionRecord,
  waitMs: number
): Effect.Effect<ExecutionRecord.ExecutionRecord, ServiceUnavailable> =>
  map.awaitRecord(current.id, { timeout: Duration.millis(waitMs) }).pipe(
    Effect.map(Option.some),
    Effect.catchTags({
      AwaitTimeout: () => Effect.succeed(Option.none()),
      ExecutionNotFound: () => Effect.succeed(Option.none())
    }),
    Effect.raceFirst(Effect.as(Deferred.await(shutdown), Option.none())),
    Effect.flatMap((finished) =>
      Option.isSome(finished)
        ? Effect.succeed(finished.value)
        : Effect.map(map.get(current.id), (found) => Option.getOrElse(found, () => current))
    ),
    Effect.mapError(storeUnavailable)
  )

const interrupt = (
  map: CmdExecutionMap.CmdExecutionMap,
  settings: Settings,
  record: ExecutionRecord.ExecutionRecord,
  principal: Principal | undefined,
  body: Api.InterruptBody,
  request: HttpServerRequest.HttpServerRequest
) =>
  Effect.gen(function*() {
    const id = record.id
    if (!settings.canWrite(record, principal)) {
      return yield* Effect.fail(
        new Forbidden({ message: `you may read execution ${id} but not interrupt it (no write permission)` })
      )
    }
    const result = yield* map.interrupt(id, {
      source: "http",
      mode: body.mode ?? "graceful",
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      ...(principal !== undefined ? { requestedBy: principal.id } : {})
    }).pipe(Effect.mapError(storeUnavailable))
    const alreadyFinished = (state: string) =>
      Effect.fail(
        new AlreadyFinished({
          id,
          state,
          message: `nothing to interrupt: execution ${id} already finished (${state})`
        })
      )
    return yield* Interrupt.InterruptResult.$match(result, {
      Accepted: ({ escalated, interrupt }) =>
        Effect.map(map.get(id).pipe(Effect.mapError(storeUnavailable)), (current) =>
          respond(negotiate(request.headers.accept), "interrupt", {
            id,
            status: "accepted",
            escalated,
            interrupt: Schema.encodeSync(Interrupt.InterruptRequest)(interrupt),
            state: Option.match(current, {
              onNone: () =>
                "Interrupting",
              onSome: (found) => found.state
            })
          }, { status: 202, headers: { location: `/executions/${id}` } })),
      NotCancellable: () =>
        Effect.fail(new NotCancellable({ id, message: `execution ${id} is not cancellable` })),
      AlreadyFinished: ({ state }) => alreadyFinished(state),
      UnknownId: () =>
        ExecutionRecord.isTerminal(record.state)
          ? alreadyFinished(record.state)
          : Effect.fail(
            new NotCancellable({
              id,
              message: `execution ${id} runs in another process (${record.runner ?? "unknown"}); interrupt it there`
            })
          )
    })
  })
