/**
 * Reading requests: bodies under a size limit (JSON or YAML), `Prefer` (RFC 7240),
 * wait durations (`?wait=30s`), event ids.
 *
 * @internal
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import type { IncomingMessage } from "node:http"
import * as YAML from "yaml"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../ApiError.js"

const readRaw = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Effect.Effect<Buffer, InvalidRequest | PayloadTooLarge> =>
  Effect.suspend(() => {
    const tooLarge = new PayloadTooLarge({ limit, message: `the request body is larger than ${limit} bytes` })
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > limit) return Effect.fail(tooLarge)
    const source: IncomingMessage | undefined = NodeHttpServerRequest.toIncomingMessage(request)
    if (source === undefined || typeof source.on !== "function") {
      return Effect.mapError(request.arrayBuffer, () =>
        new InvalidRequest({ message: "the request body could not be read" }))
        .pipe(Effect.flatMap((buffer) =>
          buffer.byteLength > limit ? Effect.fail(tooLarge) : Effect.succeed(Buffer.from(buffer))
        ))
    }
    return Effect.async<Buffer, InvalidRequest | PayloadTooLarge>((resume) => {
      const chunks: Array<Buffer> = []
      let size = 0
      const cleanup = () => {
        source.off("data", onData)
        source.off("end", onEnd)
        source.off("error", onError)
      }
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size > limit) {
          cleanup()
          // Drop the rest of the body instead of destroying the socket, so the 413 reaches the client.
          source.resume()
          resume(Effect.fail(tooLarge))
          return
        }
        chunks.push(chunk)
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.succeed(Buffer.concat(chunks, size)))
      }
      const onError = () => {
        cleanup()
        resume(Effect.fail(new InvalidRequest({ message: "the request body could not be read" })))
      }
      source.on("data", onData)
      source.on("end", onEnd)
      source.on("error", onError)
      return Effect.sync(cleanup)
    })
  })

const yamlTypes = new Set(["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"])

/**
 * Reads a JSON (default) or YAML body of at most `limit` bytes. An empty body is
 * `undefined`.
 */
export const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Effect.Effect<unknown, InvalidRequest | PayloadTooLarge | UnsupportedMediaType> =>
  Effect.gen(function*() {
    const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
    const isJson = contentType === "" || contentType === "application/json" || contentType.endsWith("+json")
    const isYaml = yamlTypes.has(contentType)
    if (!isJson && !isYaml) {
      return yield* Effect.fail(
        new UnsupportedMediaType({
          contentType,
          message: `request bodies must be application/json or application/yaml, not ${contentType}`
        })
      )
    }
    const raw = yield* readRaw(request, limit)
    const text = raw.toString("utf8")
    if (text.trim() === "") return undefined
    if (isJson) {
      try {
        return JSON.parse(text) as unknown
      } catch (error) {
        return yield* Effect.fail(
          new InvalidRequest({ message: `malformed JSON: ${error instanceof Error ? error.message : String(error)}` })
        )
      }
    }
    try {
      return YAML.parse(text, { maxAliasCount: 50, prettyErrors: false }) as unknown
    } catch (error) {
      return yield* Effect.fail(
        new InvalidRequest({ message: `malformed YAML: ${error instanceof Error ? error.message : String(error)}` })
      )
    }
  })

/** Turns a Schema parse error into a 400 listing every issue. */
export const invalidFromParseError = (error: ParseResult.ParseError, prefix?: string): InvalidRequest => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map((segment) => typeof segment === "symbol" ? String(segment) : segment),
    message: issue.message
  }))
  const summary = issues.slice(0, 5).map((issue) =>
    `${issue.path.length > 0 ? issue.path.join(".") : "body"}: ${issue.message}`
  ).join("; ")
  return new InvalidRequest({
    message: `${prefix ?? "invalid request body"}: ${summary}${
      issues.length > 5 ? ` (and ${issues.length - 5} more)` : ""
    }`,
    issues
  })
}

/** The preferences of a `Prefer` header (RFC 7240) that the API understands. */
export interface Preferences {
  readonly respondAsync: boolean
  /** `wait=N`, in seconds. */
  readonly wait?: number | undefined
}

/** Parses `Prefer` headers; unknown or malformed preferences are ignored, as RFC 7240 says. */
export const parsePrefer = (header: string | undefined): Preferences => {
  if (header === undefined) return { respondAsync: false }
  let respondAsync = false
  let wait: number | undefined
  for (const part of header.split(",")) {
    const [token] = part.split(";")
    const [rawName, rawValue] = (token ?? "").split("=")
    const name = rawName?.trim().toLowerCase()
    const value = rawValue?.trim().replace(/^"(.*)"$/, "$1")
    if (name === "respond-async") respondAsync = true
    if (name === "wait" && value !== undefined && /^\d{1,9}$/.test(value)) wait = Number(value)
  }
  return { respondAsync, ...(wait !== undefined ? { wait } : {}) }
}

/**
 * Parses a wait duration: `30`, `30s`, `1500ms`, `2m` (a number alone is seconds).
 * Undefined input → undefined; malformed → InvalidRequest.
 */
export const parseWait = (
  value: string | undefined,
  name = "wait"
): Effect.Effect<number | undefined, InvalidRequest> => {
  if (value === undefined || value === "") return Effect.succeed(undefined)
  const match = /^(\d{1,9})(ms|s|m)?$/.exec(value.trim())
  if (match === null) {
    return Effect.fail(
      new InvalidRequest({
        message: `${name}: expected a duration such as 30s, 1500ms or 2m, got ${JSON.stringify(value)}`
      })
    )
  }
  const n = Number(match[1])
  const unit = match[2] ?? "s"
  return Effect.succeed(unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000)
}

/** Parses a sequence number (`Last-Event-ID`, `?after=`). */
export const parseSeq = (
  value: string | undefined,
  name: string
): Effect.Effect<number | undefined, InvalidRequest> => {
  if (value === undefined || value.trim() === "") return Effect.succeed(undefined)
  const trimmed = value.trim()
  if (!/^\d{1,15}$/.test(trimmed)) {
    return Effect.fail(
      new InvalidRequest({
        message: `${name}: expected a non-negative integer sequence number, got ${JSON.stringify(value)}`
      })
    )
  }
  return Effect.succeed(Number(trimmed))
}
