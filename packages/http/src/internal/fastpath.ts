/**
 * A synchronous fast path for the hottest route, `GET /executions/{id}` (clients poll it).
 *
 * The HttpApi pipeline costs a fiber, a scope, routing, middleware and schema decoding
 * per request. When the authenticators and the store answer synchronously (API keys, JWT,
 * the in-memory store), a record read can be answered directly from Node's request event
 * with exactly the same representation. Only the plain success is served here: anything
 * else — a long poll (`?wait=`), any query string, a missing or unreadable record,
 * failed authentication, a shutdown in progress — falls through to the HttpApi handler,
 * which owns every error answer. The first time an authenticator or the store turns out
 * to be asynchronous (e.g. SQLite), the fast path switches itself off.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type { IncomingMessage, Server, ServerResponse } from "node:http"

/** Answers a request and returns true, or returns false to let the app answer it. */
export type FastRoute = (request: IncomingMessage, response: ServerResponse) => boolean

/** The fast routes of a Node HTTP server. */
export class FastPaths extends Context.Tag("@truce/http/FastPaths")<FastPaths, {
  /** Adds a route for the lifetime of the scope. */
  readonly add: (route: FastRoute) => Effect.Effect<void, never, Scope.Scope>
}>() {}

/** Lets fast routes see each request before the app's listeners do. */
export const install = (server: Server): Context.Tag.Service<FastPaths> => {
  const routes = new Set<FastRoute>()
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean
  server.emit = ((event: string | symbol, ...args: Array<unknown>): boolean => {
    if (event === "request" && routes.size > 0) {
      const request = args[0] as IncomingMessage
      const response = args[1] as ServerResponse
      for (const route of routes) {
        if (route(request, response)) return true
      }
    }
    return emit(event, ...args)
  }) as typeof server.emit
  return {
    add: (route) =>
      Effect.acquireRelease(
        Effect.sync(() => routes.add(route)),
        () => Effect.sync(() => routes.delete(route))
      ).pipe(Effect.asVoid)
  }
}

/** The outcome of running an effect synchronously. */
export type SyncResult<A> =
  | { readonly _tag: "Value"; readonly value: A }
  | { readonly _tag: "Failed" }
  | { readonly _tag: "Async" }

/** Runs an effect synchronously; says when it needed to wait (an asynchronous store or authenticator). */
export const runSync = <A, E>(effect: Effect.Effect<A, E>): SyncResult<A> => {
  const exit = Effect.runSyncExit(effect)
  if (Exit.isSuccess(exit)) return { _tag: "Value", value: exit.value }
  const defect = Cause.dieOption(exit.cause)
  return Option.isSome(defect) && Runtime.isAsyncFiberException(defect.value) ? { _tag: "Async" } : { _tag: "Failed" }
}

/** The request as authenticators see it. */
export const authRequestOf = (request: IncomingMessage) => ({
  headers: Headers.fromInput(request.headers),
  method: request.method ?? "GET",
  url: request.url ?? "/",
  remoteAddress: Option.fromNullable(request.socket.remoteAddress)
})
