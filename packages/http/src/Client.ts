/**
 * The typed client of a Truce HTTP server, on `@effect/platform`'s `HttpClient`.
 *
 * - `start`, `get`, `interrupt` / `cancel`, `list`, `query`, `commands`;
 * - `watch(id)`: the execution's events as a `Stream`, read from the server's event
 *   stream — Server-Sent Events (parsed with `@effect/experimental`, the default) or, with
 *   `{ transport: "eventstream" }`, binary `application/vnd.amazon.eventstream` frames
 *   (decoded with `@truce/eventstream`); after a dropped connection it reconnects from the
 *   last sequence number it saw, with a bounded retry schedule;
 * - `await(id, { timeout })`: waits for the terminal record by long-polling (each request
 *   returns as soon as the execution finishes) or by watching — never by polling at a
 *   fixed interval. A bounded wait that ends first fails with {@link AwaitIncomplete}
 *   (never a silent partial result);
 * - `awaitAll(ids)`: many waits at once.
 *
 * Error answers are decoded into the typed errors of `ApiError` (404 `ExecutionNotFound`,
 * 409 `NotCancellable`, 410 `AlreadyFinished`, ...); network failures are
 * {@link TransportError}, anything unexpected {@link UnexpectedResponse}.
 *
 * @example
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { Client } from "@truce/http"
 *
 * const program = Effect.gen(function*() {
 *   const truce = yield* Client.TruceClient
 *   const started = yield* truce.start("backup-database", { database: "orders" })
 *   const finished = yield* truce.await(started.id, { timeout: "10 minutes" })
 *   console.log(finished.state)
 * }).pipe(
 *   Effect.provide(Client.layer({ baseUrl: "http://localhost:8080", apiKey: "k-alice" })),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 *
 * @since 0.1.0
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type * as Interrupt from "@truce/core/Interrupt"
import * as Event from "@truce/eventstream/Event"
import * as EventStream from "@truce/eventstream/EventStream"
import * as EventStreamError from "@truce/eventstream/EventStreamError"
import * as Message from "@truce/eventstream/Message"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Api from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as wire from "./internal/wire.js"

/**
 * The request did not reach the server, or the connection broke.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("@truce/http/Client/TransportError")(
  "TransportError",
  { message: Schema.String, cause: Schema.optional(Schema.Defect) }
) {}

/**
 * The server answered something this client does not understand (an unknown status or
 * error body, or a body that does not match the API's schema).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedResponse extends Schema.TaggedError<UnexpectedResponse>("@truce/http/Client/UnexpectedResponse")(
  "UnexpectedResponse",
  { status: Schema.Number, message: Schema.String, body: Schema.optional(Schema.String) }
) {}

/**
 * An event of the event stream could not be decoded.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedEvent extends Schema.TaggedError<MalformedEvent>("@truce/http/Client/MalformedEvent")(
  "MalformedEvent",
  { message: Schema.String, data: Schema.String }
) {}

/**
 * A bounded wait ended before the execution did. `state` is the last state seen.
 *
 * @since 0.1.0
 * @category errors
 */
export class AwaitIncomplete extends Schema.TaggedError<AwaitIncomplete>("@truce/http/Client/AwaitIncomplete")(
  "AwaitIncomplete",
  { id: Schema.String, state: Schema.String, waitedMs: Schema.Number }
) {
  override get message(): string {
    return `execution ${this.id} is still ${this.state} after waiting ${this.waitedMs} ms`
  }
}

/**
 * Any error of a request.
 *
 * @since 0.1.0
 * @category errors
 */
export type ClientError = ApiError.ApiError | TransportError | UnexpectedResponse

/**
 * Client configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** The server's base URL, e.g. `http://localhost:8080`. */
  readonly baseUrl: string
  /** Sent in `X-API-Key` (or `apiKeyHeader`). */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly apiKeyHeader?: string | undefined
  /** Sent as `Authorization: Bearer <token>`. */
  readonly bearerToken?: string | Redacted.Redacted<string> | undefined
  /** More headers for every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The longest single long-poll of `await` (default 55 seconds; the server may answer earlier). */
  readonly longPollWait?: Duration.DurationInput | undefined
  /** Reconnections of `watch` (and retries of transient failures in `await`) in a row (default 5). */
  readonly retries?: number | undefined
  /** The first reconnection delay; it doubles each time (default 200 ms). */
  readonly retryDelay?: Duration.DurationInput | undefined
}

/**
 * Options of a start.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  /** POSTed the record when the execution ends. */
  readonly callbackUrl?: string | undefined
  /** Grants added to the command's defaults. */
  readonly permissions?: typeof Api.PermissionsInput.Type | undefined
  readonly labels?: Readonly<Record<string, string>> | undefined
  /** The same key and input return the same execution. */
  readonly idempotencyKey?: string | undefined
  /** `Prefer: wait=N`: the answer waits up to this long for the execution to finish. */
  readonly wait?: Duration.DurationInput | undefined
}

/**
 * The framing `watch` asks the server for: Server-Sent Events (`text/event-stream`, the
 * default) or binary event-stream frames (`application/vnd.amazon.eventstream`).
 *
 * @since 0.1.0
 * @category models
 */
export type WatchTransport = "sse" | "eventstream"

/**
 * Options of a watch.
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions {
  /** Start after this sequence number (default 0: from the first event). */
  readonly after?: number | undefined
  /** The framing (default `"sse"`). */
  readonly transport?: WatchTransport | undefined
}

/**
 * Options of a wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  /** Give up after this long with `AwaitIncomplete` (default: wait until the execution ends). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Long-poll `GET /executions/{id}?wait=` (default) or watch the event stream. */
  readonly via?: "long-poll" | "events" | undefined
  /** With `via: "events"`: the framing of the event stream (default `"sse"`). */
  readonly transport?: WatchTransport | undefined
}

/**
 * The client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  readonly start: (
    command: string,
    input: unknown,
    options?: StartOptions
  ) => Effect.Effect<ExecutionRecord.ExecutionRecord, ClientError>
  readonly get: (
    id: string,
    options?: { readonly wait?: Duration.DurationInput | undefined }
  ) => Effect.Effect<ExecutionRecord.ExecutionRecord, ClientError>
  readonly interrupt: (
    id: string,
    options?: { readonly mode?: Interrupt.InterruptMode | undefined; readonly reason?: string | undefined }
  ) => Effect.Effect<Api.InterruptAccepted, ClientError>
  /** `DELETE /executions/{id}`: the same as `interrupt`. */
  readonly cancel: (
    id: string,
    options?: { readonly mode?: Interrupt.InterruptMode | undefined; readonly reason?: string | undefined }
  ) => Effect.Effect<Api.InterruptAccepted, ClientError>
  /** `GET /executions` with filters as query parameters (`state[in]: "Running,Queued"`, `sort`, `limit`, `cursor`). */
  readonly list: (
    params?: Readonly<Record<string, string>> | URLSearchParams
  ) => Effect.Effect<Api.ExecutionPage, ClientError>
  /** `POST /executions/query`. */
  readonly query: (query: {
    readonly where?: unknown
    readonly sort?: string | undefined
    readonly limit?: number | undefined
    readonly cursor?: string | undefined
  }) => Effect.Effect<Api.ExecutionPage, ClientError>
  readonly commands: Effect.Effect<ReadonlyArray<Api.CommandInfo>, ClientError>
  /**
   * The execution's events, ending with `Finished`; reconnects after a dropped connection
   * from the last sequence number seen.
   */
  readonly watch: (
    id: string,
    options?: WatchOptions
  ) => Stream.Stream<ExecutionEvent.ExecutionEvent, ClientError | MalformedEvent>
  readonly await: (
    id: string,
    options?: AwaitOptions
  ) => Effect.Effect<ExecutionRecord.ExecutionRecord, ClientError | MalformedEvent | AwaitIncomplete>
  readonly awaitAll: (
    ids: Iterable<string>,
    options?: AwaitOptions & { readonly concurrency?: number | "unbounded" | undefined }
  ) => Effect.Effect<ReadonlyArray<ExecutionRecord.ExecutionRecord>, ClientError | MalformedEvent | AwaitIncomplete>
}

/**
 * The client as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class TruceClient extends Context.Tag("@truce/http/Client")<TruceClient, Client>() {}

const decodeApiError = Schema.decodeUnknownOption(ApiError.ApiError)
const decodeHttpApiDecodeError = Schema.decodeUnknownOption(HttpApiError.HttpApiDecodeError)

const transport = (error: HttpClientError.HttpClientError) =>
  new TransportError({ message: error.message, cause: error })

/** Fails with the typed error a non-2xx answer carries. */
const failure = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<never, ClientError> =>
  Effect.flatMap(Effect.mapError(response.text, transport), (text): Effect.Effect<never, ClientError> => {
    let parsed: unknown = undefined
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    const typed = decodeApiError(parsed)
    if (Option.isSome(typed)) return Effect.fail(typed.value)
    // HttpApi's own 400 (a malformed path or query parameter) is an invalid request too.
    const decodeError = decodeHttpApiDecodeError(parsed)
    if (Option.isSome(decodeError)) {
      return Effect.fail(
        new ApiError.InvalidRequest({
          message: decodeError.value.message,
          issues: decodeError.value.issues.map((issue) => ({
            path: issue.path.map((segment) => typeof segment === "symbol" ? String(segment) : segment),
            message: issue.message
          }))
        })
      )
    }
    return Effect.fail(
      new UnexpectedResponse({ status: response.status, message: `the server answered ${response.status}`, body: text })
    )
  })

const decodeBody = <A, I>(schema: Schema.Schema<A, I>, ok: ReadonlyArray<number>) => {
  const decode = Schema.decodeUnknown(schema)
  return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, ClientError> => {
    if (!ok.includes(response.status)) return failure(response)
    return Effect.flatMap(
      Effect.mapError(response.json, transport),
      (body) =>
        Effect.mapError(decode(body), (error) =>
          new UnexpectedResponse({
            status: response.status,
            message: `the answer does not match the API: ${error.message}`
          }))
    )
  }
}

const decodeRecord = decodeBody(Api.Execution, [200, 202])
const decodePage = decodeBody(Api.ExecutionPage, [200])
const decodeAccepted = decodeBody(Api.InterruptAccepted, [202])
const decodeCommands = decodeBody(Api.CommandList, [200])

const isRetryable = (error: ClientError | MalformedEvent): boolean =>
  error._tag === "TransportError" || error._tag === "ServiceUnavailable" ||
  (error._tag === "UnexpectedResponse" && error.status >= 500)

const millisOf = (input: Duration.DurationInput) => Duration.toMillis(Duration.decode(input))

/** The typed error an error event carries (its data: the `ApiError` as JSON). */
const streamError = (data: string): ApiError.ApiError | MalformedEvent => {
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return new MalformedEvent({ message: "an error event's data is not JSON", data })
  }
  return Option.getOrElse(
    decodeApiError(parsed),
    () => new MalformedEvent({ message: "an error event's data is not an API error", data })
  )
}

/** Decodes an SSE byte stream into execution events. */
const sseEvents = <E>(
  bytes: Stream.Stream<Uint8Array, E>
): Stream.Stream<ExecutionEvent.ExecutionEvent, E | MalformedEvent | ApiError.ApiError> =>
  Stream.suspend(() => {
    let pending: Array<Sse.Event> = []
    const parser = Sse.makeParser((event) => {
      if (event._tag === "Event") pending.push(event)
    }, { maxEventSize: 16 * 1024 * 1024 })
    const decodeEvent = (event: Sse.Event) =>
      Effect.suspend(() => {
        if (event.event === wire.sseErrorEventType) return Effect.fail(streamError(event.data))
        let data: unknown
        try {
          data = JSON.parse(event.data)
        } catch {
          return Effect.fail(new MalformedEvent({ message: "an event's data is not JSON", data: event.data }))
        }
        return Effect.mapError(
          ExecutionEvent.decodeUnknown(data),
          (error) => new MalformedEvent({ message: `not an execution event: ${error.message}`, data: event.data })
        )
      })
    return bytes.pipe(
      Stream.decodeText(),
      Stream.mapConcatEffect((text) => {
        const error = parser.feed(text)
        const events = pending
        pending = []
        if (error !== undefined) return Effect.fail(new MalformedEvent({ message: error.message, data: "" }))
        return Effect.forEach(events, decodeEvent)
      })
    )
  })

/** The execution events by `:event-type`, for the binary framing. */
const executionEventFrames = EventStream.schema({
  StateChanged: ExecutionEvent.StateChanged,
  BlockStarted: ExecutionEvent.BlockStarted,
  BlockFinished: ExecutionEvent.BlockFinished,
  ItemProgressed: ExecutionEvent.ItemProgressed,
  InterruptRequested: ExecutionEvent.InterruptRequested,
  Snapshot: ExecutionEvent.Snapshot,
  Finished: ExecutionEvent.Finished
})

/** What a failure of the binary framing means to a client. */
const fromEventStreamError = (
  error: EventStreamError.DecodeError | EventStream.EventDecodeError
): MalformedEvent | ApiError.ApiError | UnexpectedResponse => {
  switch (error._tag) {
    case "ExceptionReceived":
      return streamError(error.text)
    case "ErrorReceived":
      return new UnexpectedResponse({ status: 200, message: `the event stream reported ${error.message}` })
    default:
      return new MalformedEvent({ message: `malformed event-stream frame: ${error.message}`, data: "" })
  }
}

/** Decodes an `application/vnd.amazon.eventstream` byte stream into execution events. */
const eventStreamEvents = <E>(
  bytes: Stream.Stream<Uint8Array, E>
): Stream.Stream<ExecutionEvent.ExecutionEvent, E | MalformedEvent | ApiError.ApiError | UnexpectedResponse> =>
  bytes.pipe(
    EventStream.decode({ maxPayloadBytes: 24 * 1024 * 1024 }),
    Stream.filter((message) => Message.getString(message, Event.HeaderName.eventType) !== wire.keepAliveEventType),
    EventStream.decodeEvents(executionEventFrames),
    Stream.mapError((error) =>
      EventStreamError.isEventStreamError(error)
        ? fromEventStreamError(error as EventStreamError.DecodeError | EventStream.EventDecodeError)
        : error as E
    ),
    Stream.map((event): ExecutionEvent.ExecutionEvent => event.value)
  )

/**
 * Creates a client over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const base = config.baseUrl.replace(/\/+$/, "")
    const authHeaders: Record<string, string> = { ...config.headers }
    if (config.apiKey !== undefined) {
      authHeaders[config.apiKeyHeader ?? "x-api-key"] = Redacted.isRedacted(config.apiKey)
        ? Redacted.value(config.apiKey)
        : config.apiKey
    }
    if (config.bearerToken !== undefined) {
      authHeaders.authorization = `Bearer ${
        Redacted.isRedacted(config.bearerToken) ? Redacted.value(config.bearerToken) : config.bearerToken
      }`
    }
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        HttpClientRequest.setHeaders(HttpClientRequest.prependUrl(request, base), authHeaders)
      )
    )
    const send = (request: HttpClientRequest.HttpClientRequest) => Effect.mapError(http.execute(request), transport)
    const path = (id: string) => `/executions/${encodeURIComponent(id)}`
    const longPollMs = millisOf(config.longPollWait ?? Duration.seconds(55))
    const retries = config.retries ?? 5
    const retrySchedule = Schedule.exponential(config.retryDelay ?? Duration.millis(200)).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(retries))
    )
    const retryTransient = <A, E extends ClientError | MalformedEvent>(effect: Effect.Effect<A, E>) =>
      Effect.retry(effect, { schedule: retrySchedule, while: isRetryable })

    const start: Client["start"] = (command, input, options) => {
      const headers: Record<string, string> = { accept: "application/json" }
      if (options?.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey
      if (options?.wait !== undefined) headers.prefer = `wait=${Math.ceil(millisOf(options.wait) / 1000)}`
      const body = {
        input,
        ...(options?.callbackUrl !== undefined ? { callbackUrl: options.callbackUrl } : {}),
        ...(options?.permissions !== undefined ? { permissions: options.permissions } : {}),
        ...(options?.labels !== undefined ? { labels: options.labels } : {})
      }
      return HttpClientRequest.post(Api.startPath(command)).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyJson(body),
        Effect.mapError((error) =>
          new UnexpectedResponse({ status: 0, message: `the input cannot be sent as JSON (${error.reason._tag})` })
        ),
        Effect.flatMap(send),
        Effect.flatMap(decodeRecord)
      )
    }

    const get: Client["get"] = (id, options) => {
      const request = HttpClientRequest.get(path(id)).pipe(
        HttpClientRequest.setHeader("accept", "application/json"),
        options?.wait === undefined
          ? (self) => self
          : HttpClientRequest.setUrlParam("wait", `${Math.max(0, Math.round(millisOf(options.wait)))}ms`)
      )
      return Effect.flatMap(send(request), decodeRecord)
    }

    const interruptWith = (method: "POST" | "DELETE") =>
    (
      id: string,
      options?: { readonly mode?: Interrupt.InterruptMode | undefined; readonly reason?: string | undefined }
    ) => {
      const body = {
        ...(options?.mode !== undefined ? { mode: options.mode } : {}),
        ...(options?.reason !== undefined ? { reason: options.reason } : {})
      }
      const request = method === "POST"
        ? HttpClientRequest.post(`${path(id)}/interrupt`).pipe(HttpClientRequest.bodyUnsafeJson(body))
        : HttpClientRequest.del(path(id)).pipe(HttpClientRequest.bodyUnsafeJson(body))
      return Effect.flatMap(send(HttpClientRequest.setHeader(request, "accept", "application/json")), decodeAccepted)
    }

    const list: Client["list"] = (params) => {
      const search = params === undefined
        ? ""
        : (params instanceof URLSearchParams ? params : new URLSearchParams(params as Record<string, string>))
          .toString()
      const request = HttpClientRequest.get(`/executions${search === "" ? "" : `?${search}`}`).pipe(
        HttpClientRequest.setHeader("accept", "application/json")
      )
      return Effect.flatMap(send(request), decodePage)
    }

    const query: Client["query"] = (body) =>
      HttpClientRequest.post("/executions/query").pipe(
        HttpClientRequest.setHeader("accept", "application/json"),
        HttpClientRequest.bodyUnsafeJson(body),
        send,
        Effect.flatMap(decodePage)
      )

    const commands: Client["commands"] = Effect.map(
      Effect.flatMap(send(HttpClientRequest.get("/commands")), decodeCommands),
      (list) => list.commands
    )

    const watch: Client["watch"] = (id, options) =>
      Stream.suspend(() => {
        let last = options?.after ?? 0
        let finished = false
        const binary = options?.transport === "eventstream"
        const mediaType = binary ? wire.eventStreamMediaType : wire.sseMediaType
        const connect = Stream.unwrap(Effect.gen(function*() {
          const request = HttpClientRequest.get(`${path(id)}/events`).pipe(
            HttpClientRequest.setHeader("accept", mediaType),
            last === 0
              ? (self) => self
              : binary
              ? HttpClientRequest.setUrlParam("after", String(last))
              : HttpClientRequest.setHeader("last-event-id", String(last))
          )
          const response = yield* send(request)
          if (response.status === 204) {
            finished = true
            return Stream.empty
          }
          if (response.status !== 200) return yield* failure(response)
          const contentType = response.headers["content-type"] ?? ""
          if (!contentType.toLowerCase().startsWith(mediaType)) {
            return yield* Effect.fail(
              new UnexpectedResponse({
                status: response.status,
                message: `the server answered ${JSON.stringify(contentType)} instead of ${mediaType}`
              })
            )
          }
          const bytes = Stream.mapError(response.stream, transport)
          return binary ? eventStreamEvents(bytes) : sseEvents(bytes)
        }))
        const once = connect.pipe(
          Stream.takeUntil((event) => event._tag === "Finished"),
          Stream.tap((event) =>
            Effect.sync(() => {
              last = event.seq
              if (event._tag === "Finished") finished = true
            })
          ),
          Stream.concat(Stream.suspend(() =>
            finished
              ? Stream.empty
              : Stream.fail(new TransportError({ message: "the event stream ended before the execution finished" }))
          ))
        )
        return Stream.retry(once, Schedule.intersect(retrySchedule, Schedule.recurWhile(isRetryable)))
      })

    const awaitUntil = (
      id: string,
      startedAt: number,
      deadline: number | undefined,
      via: "long-poll" | "events",
      transport: WatchTransport
    ): Effect.Effect<ExecutionRecord.ExecutionRecord, ClientError | MalformedEvent | AwaitIncomplete> =>
      Effect.gen(function*() {
        const incomplete = (state: string) =>
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Effect.fail(new AwaitIncomplete({ id, state, waitedMs: now - startedAt }))
          )
        if (via === "events") {
          const finishedEvent = Stream.runHead(Stream.filter(watch(id, { transport }), ExecutionEvent.isFinished))
          const waited = deadline === undefined
            ? yield* finishedEvent
            : yield* Effect.flatMap(Clock.currentTimeMillis, (now) =>
              finishedEvent.pipe(
                Effect.timeoutOption(Duration.millis(Math.max(0, deadline - now))),
                Effect.map(Option.flatten)
              ))
          const record = yield* retryTransient(get(id))
          if (ExecutionRecord.isTerminal(record.state)) return record
          if (Option.isNone(waited)) return yield* incomplete(record.state)
          return record
        }
        let earlyReturns = 0
        while (true) {
          const now = yield* Clock.currentTimeMillis
          const remaining = deadline === undefined ? longPollMs : Math.min(longPollMs, deadline - now)
          const record = yield* retryTransient(get(id, { wait: Duration.millis(Math.max(0, remaining)) }))
          if (ExecutionRecord.isTerminal(record.state)) return record
          const after = yield* Clock.currentTimeMillis
          if (deadline !== undefined && after >= deadline) return yield* incomplete(record.state)
          // A long poll that came back early without an outcome (e.g. the execution runs in
          // another process, which cannot push its completion here): back off, growing.
          if (after - now < remaining / 2) {
            earlyReturns++
            const pause = Math.min(5000, 100 * 2 ** Math.min(earlyReturns, 6))
            yield* Effect.sleep(Duration.millis(deadline === undefined ? pause : Math.min(pause, deadline - after)))
          } else {
            earlyReturns = 0
          }
        }
      })

    const awaitOne: Client["await"] = (id, options) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        awaitUntil(
          id,
          now,
          options?.timeout === undefined ? undefined : now + millisOf(options.timeout),
          options?.via ?? "long-poll",
          options?.transport ?? "sse"
        ))

    const awaitAll: Client["awaitAll"] = (ids, options) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const deadline = options?.timeout === undefined ? undefined : now + millisOf(options.timeout)
        return Effect.forEach(
          ids,
          (id) => awaitUntil(id, now, deadline, options?.via ?? "long-poll", options?.transport ?? "sse"),
          {
            concurrency: options?.concurrency ?? "unbounded"
          }
        )
      })

    return {
      start,
      get,
      interrupt: interruptWith("POST"),
      cancel: interruptWith("DELETE"),
      list,
      query,
      commands,
      watch,
      await: awaitOne,
      awaitAll
    }
  })

/**
 * The client as a layer (needs an `HttpClient`, e.g. `FetchHttpClient.layer`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config): Layer.Layer<TruceClient, never, HttpClient.HttpClient> =>
  Layer.effect(TruceClient, make(config))
