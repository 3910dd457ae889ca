/**
 * Callback URL checks and delivery (signed POST of the final record, retried with
 * exponential backoff and jitter, each attempt recorded on the record).
 *
 * @internal
 */
import type * as CmdOutcome from "@truce/core/CmdOutcome"
import type { OutcomeOutput } from "@truce/core/Endpoint"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type { ExecutionStore } from "@truce/core/ExecutionStore"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { lookup as dnsLookup } from "node:dns/promises"
import * as http from "node:http"
import * as https from "node:https"
import type { LookupFunction } from "node:net"
import { CallbackUrlRejected } from "../ApiError.js"
import type { Config, ResolvedAddress } from "../Callback.js"
import * as Callback from "../Callback.js"
import { classifyAddress } from "./address.js"

/** A callback URL that passed the checks, with the address it resolved to. */
export interface CheckedTarget {
  readonly url: URL
  readonly address: ResolvedAddress
}

const defaultLookup = async (hostname: string): Promise<ReadonlyArray<ResolvedAddress>> => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true })
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }))
}

/** Checks a callback URL: scheme, resolution, and the kind of every address it resolves to. */
export const checkUrl = (config: Config, raw: string): Effect.Effect<CheckedTarget, CallbackUrlRejected> =>
  Effect.gen(function*() {
    const reject = (message: string) => Effect.fail(new CallbackUrlRejected({ url: raw, message }))
    if (raw.length > 2048) return yield* reject("the callback URL is longer than 2048 characters")
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return yield* reject("the callback URL is not an absolute URL")
    }
    if (url.protocol !== "https:" && (url.protocol !== "http:" || config.requireHttps === true)) {
      return yield* reject(`callback URLs must use ${config.requireHttps === true ? "https" : "http or https"}`)
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
    const literal = classifyAddress(host)
    const addresses: ReadonlyArray<ResolvedAddress> = literal !== undefined
      ? [{ address: host, family: host.includes(":") ? 6 : 4 }]
      : yield* Effect.tryPromise(() => (config.lookup ?? defaultLookup)(host)).pipe(
        Effect.timeout("5 seconds"),
        Effect.catchAll(() => reject(`the callback host ${host} does not resolve`))
      )
    if (addresses.length === 0) return yield* reject(`the callback host ${host} does not resolve`)
    const allowed = new Set<string>(["public", ...(config.allowAddresses ?? [])])
    for (const entry of addresses) {
      const kind = classifyAddress(entry.address) ?? "reserved"
      if (!allowed.has(kind)) {
        return yield* reject(
          `the callback host ${host} resolves to ${entry.address}, a ${kind} address; the server does not allow ${kind} callback addresses`
        )
      }
    }
    return { url, address: addresses[0] as ResolvedAddress }
  })

class AttemptFailed extends Data.TaggedError("AttemptFailed")<{
  readonly message: string
  readonly retryable: boolean
}> {}

const pinnedLookup = (address: ResolvedAddress): LookupFunction => (_hostname, options, callback) => {
  if (options.all === true) {
    ;(callback as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{
      address: address.address,
      family: address.family
    }])
  } else {
    callback(null, address.address, address.family)
  }
}

/** One POST to the checked address; the status code, or a failure saying whether to retry. */
const post = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number
): Effect.Effect<void, AttemptFailed> =>
  Effect.async<void, AttemptFailed>((resume) => {
    const client = target.url.protocol === "https:" ? https : http
    const request = client.request(target.url, {
      method: "POST",
      headers: { ...headers, "content-length": String(body.length) },
      agent: false,
      lookup: pinnedLookup(target.address),
      timeout: timeoutMs
    })
    request.on("response", (response) => {
      response.resume()
      response.on("error", () => undefined)
      response.on("end", () => {
        const status = response.statusCode ?? 0
        if (status >= 200 && status < 300) resume(Effect.void)
        else {
          resume(Effect.fail(
            new AttemptFailed({
              message: `the receiver answered ${status}`,
              retryable: status === 408 || status === 429 || status >= 500
            })
          ))
        }
      })
    })
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    request.on("error", (error) => resume(Effect.fail(new AttemptFailed({ message: error.message, retryable: true }))))
    request.end(body)
    return Effect.sync(() => request.destroy())
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(timeoutMs + 1000),
      onTimeout: () => new AttemptFailed({ message: `no answer within ${timeoutMs} ms`, retryable: true })
    })
  )

/** The body of a callback: the encoded record, with or without its outcome. */
export const payloadOf = (record: ExecutionRecord.ExecutionRecord, includeOutcome: boolean): string => {
  const encoded: Record<string, unknown> = { ...ExecutionRecord.encode(record) }
  if (!includeOutcome) delete encoded.outcome
  return JSON.stringify(encoded)
}

/** Delivers callbacks in the background (in a FiberSet owned by the server). */
export const makeDeliverer = (
  config: Config,
  store: ExecutionStore,
  fibers: FiberSet.FiberSet<void, never>
) => {
  const attempts = Math.max(1, config.attempts ?? 5)
  const timeoutMs = Duration.toMillis(config.requestTimeout ?? Duration.seconds(10))
  const maxDelay = Duration.decode(config.maxDelay ?? Duration.minutes(1))
  const includeOutcome = config.includeOutcome ?? true
  const schedule = Schedule.exponential(config.initialDelay ?? Duration.seconds(1), config.factor ?? 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, maxDelay)),
    Schedule.intersect(Schedule.recurs(attempts - 1)),
    Schedule.whileInput((error: AttemptFailed) => error.retryable)
  )

  const deliver = (record: ExecutionRecord.ExecutionRecord, rawUrl: string) =>
    Effect.gen(function*() {
      const id = record.id
      const deliveryId = globalThis.crypto.randomUUID()
      const body = Buffer.from(payloadOf(record, includeOutcome), "utf8")
      const count = yield* Ref.make(0)
      const lastError = yield* Ref.make<string | undefined>(undefined)
      const write = (status: NonNullable<ExecutionRecord.ExecutionRecord["callback"]>) =>
        store.update(id, { callback: status }).pipe(
          Effect.catchAll((error) => Effect.logWarning(`truce: could not record the callback state of ${id}`, error))
        )
      const attempt = Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(count, (k) => k + 1)
        const previousError = yield* Ref.get(lastError)
        yield* write({
          url: rawUrl,
          state: "Delivering",
          attempts: n,
          lastAttemptAt: new Date(),
          ...(previousError !== undefined ? { lastError: previousError } : {})
        })
        // Re-check at delivery time: the name may resolve elsewhere now (DNS rebinding).
        const target = yield* checkUrl(config, rawUrl).pipe(
          Effect.mapError((rejected) => new AttemptFailed({ message: rejected.message, retryable: false }))
        )
        const timestamp = String(Math.floor(Date.now() / 1000))
        yield* post(
          target,
          {
            "content-type": "application/json",
            "user-agent": "truce-callbacks/0.1",
            [Callback.SignatureHeader]: Callback.sign(config.secret, timestamp, body),
            [Callback.TimestampHeader]: timestamp,
            [Callback.DeliveryHeader]: deliveryId,
            [Callback.AttemptHeader]: String(n),
            [Callback.ExecutionHeader]: id
          },
          body,
          timeoutMs
        ).pipe(Effect.tapError((error) => Ref.set(lastError, error.message)))
      })
      yield* attempt.pipe(
        Effect.retry(schedule),
        Effect.matchEffect({
          onSuccess: () =>
            Effect.flatMap(Effect.zip(Ref.get(count), Ref.get(lastError)), ([n, previousError]) => {
              const now = new Date()
              // The error of an earlier failed attempt stays on the record: it says why it took n attempts.
              return write({
                url: rawUrl,
                state: "Delivered",
                attempts: n,
                lastAttemptAt: now,
                deliveredAt: now,
                ...(previousError !== undefined ? { lastError: previousError } : {})
              })
            }),
          onFailure: (error) =>
            Effect.flatMap(Ref.get(count), (n) =>
              write({ url: rawUrl, state: "Failed", attempts: n, lastAttemptAt: new Date(), lastError: error.message }))
        }),
        Effect.onInterrupt(() =>
          Effect.flatMap(Ref.get(count), (n) =>
            write({
              url: rawUrl,
              state: "Failed",
              attempts: n,
              lastError: "delivery stopped: the server shut down"
            }))
        )
      )
    })

  /** An outcome output that starts the delivery and returns at once. */
  const output = (url: string): OutcomeOutput => ({
    name: "http-callback",
    present: (_outcome: CmdOutcome.CmdOutcome<unknown, unknown>, record) =>
      // Interruptible even when the engine presents the outcome in an uninterruptible region: a
      // delivery (retries included) must not hold up the server's shutdown.
      FiberSet.run(fibers, Effect.interruptible(deliver(record, url))).pipe(Effect.asVoid)
  })

  return { output, deliver }
}
