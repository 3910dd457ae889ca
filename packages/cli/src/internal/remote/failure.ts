/**
 * Every error the `truce` command can meet, as one line for people and an exit code.
 *
 * @internal
 */
import type * as ApiError from "@truce/http/ApiError"
import type * as Client from "@truce/http/Client"
import * as Data from "effect/Data"
import * as Format from "../../Format.js"
import { clean } from "./render.js"

/**
 * A failure already described for people: a flag's value is wrong (exit code 2), or an
 * answer the command explains in its own words.
 *
 * @internal
 */
export class Stop extends Data.TaggedError("Stop")<{ readonly message: string; readonly code: number }> {}

/** A wrong flag or argument (exit code 2). @internal */
export const usage = (message: string): Stop => new Stop({ message, code: codes.usage })

/** The errors of the `truce` subcommands. @internal */
export type RemoteError =
  | Client.ClientError
  | Client.MalformedEvent
  | Client.AwaitIncomplete
  | Stop

/** The exit codes of the `truce` command. @internal */
export const codes = {
  complete: 0,
  failed: 1,
  usage: 2,
  unavailable: 69,
  denied: 77,
  timeout: 124,
  interrupted: 130,
  terminated: 143
} as const

/** A line for people and the exit code. @internal */
export interface Failure {
  readonly message: string
  readonly code: number
}

const networkReasons: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out"
}

/** The most telling reason in a chain of causes: a known network error code, else the deepest message. */
const reasonOf = (error: unknown): string | undefined => {
  let current: unknown = error
  let deepest: string | undefined = undefined
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") {
      const known = networkReasons[code]
      return known === undefined ? code : `${known} (${code})`
    }
    const message = (current as { readonly message?: unknown }).message
    if (typeof message === "string" && message.length > 0) deepest = message
    current = (current as { readonly cause?: unknown }).cause
  }
  return deepest
}

/** The issues of a rejected request, unless its message already says them. */
const issuesText = (message: string, issues: ApiError.InvalidRequest["issues"]): string => {
  if (issues === undefined || issues.length === 0) return ""
  if (issues.every((issue) => message.includes(issue.message))) return ""
  const shown = issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(body)"}: ${clean(issue.message)}`)
  const more = issues.length > 5 ? `; … and ${issues.length - 5} more` : ""
  return ` (${shown.join("; ")}${more})`
}

/**
 * One line (no stack trace) and an exit code for an error, naming the server it came from.
 *
 * @internal
 */
export const describe = (error: RemoteError, server: string): Failure => {
  switch (error._tag) {
    case "Stop":
      return { message: error.message, code: error.code }
    case "TransportError": {
      const reason = reasonOf(error.cause) ?? error.message
      return { message: `cannot reach the Truce server at ${server}: ${clean(reason)}`, code: codes.unavailable }
    }
    case "UnexpectedResponse":
      return {
        message: `unexpected answer from ${server} (HTTP ${error.status}): ${
          clean(error.message)
        } — is it a Truce server?`,
        code: codes.unavailable
      }
    case "ServiceUnavailable":
      return {
        message: `the server at ${server} cannot answer right now: ${clean(error.message)}`,
        code: codes.unavailable
      }
    case "Unauthenticated":
      return {
        message: `the server at ${server} refused the credentials: ${
          clean(error.message)
        } (set --api-key or TRUCE_API_KEY, or --token or TRUCE_TOKEN)`,
        code: codes.denied
      }
    case "Forbidden":
      return { message: `not allowed: ${clean(error.message)}`, code: codes.denied }
    case "ExecutionNotFound":
      return {
        message: `no execution ${clean(error.id)} on ${server} (or none these credentials may read)`,
        code: codes.failed
      }
    case "CommandNotFound":
      return { message: `no command "${clean(error.command)}" on ${server}`, code: codes.failed }
    case "NotCancellable":
      return { message: `cannot interrupt ${clean(error.id)}: ${clean(error.message)}`, code: codes.failed }
    case "AlreadyFinished":
      return {
        message: `nothing to interrupt: ${clean(error.id)} already finished (${clean(error.state)})`,
        code: codes.complete
      }
    case "IdempotencyConflict":
      return {
        message: `the idempotency key "${clean(error.key)}" was used before with a different request`,
        code: codes.failed
      }
    case "InvalidRequest":
      return {
        message: `the server rejected the request: ${clean(error.message)}${issuesText(error.message, error.issues)}`,
        code: codes.usage
      }
    case "InvalidQuery":
      return { message: `the server rejected the query: ${clean(error.message)}`, code: codes.usage }
    case "CallbackUrlRejected":
      return { message: `the server refused the callback URL: ${clean(error.message)}`, code: codes.usage }
    case "PayloadTooLarge":
      return {
        message: `the request is too large for the server (at most ${Format.bytes(error.limit)})`,
        code: codes.usage
      }
    case "UnsupportedMediaType":
      return { message: `the server refused the request's format: ${clean(error.message)}`, code: codes.failed }
    case "MalformedEvent":
      return {
        message: `the event stream from ${server} carried something unreadable: ${clean(error.message)}`,
        code: codes.failed
      }
    case "AwaitIncomplete":
      return {
        message: `${clean(error.id)} is still ${clean(error.state)} after waiting ${Format.duration(error.waitedMs)}`,
        code: codes.timeout
      }
  }
}
