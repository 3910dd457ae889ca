/**
 * Callbacks: when an execution reaches a terminal state (Succeeded, Failed, Interrupted,
 * TimedOut) the server POSTs its record to the execution's callback URL.
 *
 * **Signature scheme.** Each attempt carries
 * - `X-Truce-Timestamp`: the attempt's time, in seconds since the epoch;
 * - `X-Truce-Signature`: `sha256=<hex>`, the HMAC-SHA256, keyed with the server's callback
 *   secret, of `<timestamp>.<body>` (the timestamp header, a dot, the raw body bytes);
 * - `X-Truce-Delivery` (one id for all attempts of a delivery), `X-Truce-Attempt` (1, 2, …)
 *   and `X-Truce-Execution` (the execution id).
 *
 * A receiver recomputes the HMAC over the same bytes, compares in constant time, and
 * rejects timestamps outside a tolerance window (replays) — {@link verify} does all three.
 *
 * **Retries.** A delivery that fails (network error, timeout, 408, 429 or 5xx) is retried
 * with exponential backoff (with ±20% jitter), up to `attempts` times; other 4xx answers are
 * final. Attempts, state (`Pending`, `Delivering`, `Delivered`, `Failed`) and the last
 * error are recorded on the execution record (`callback`).
 *
 * **Address checks.** A callback URL whose host resolves to a loopback, private,
 * link-local, unique-local, unspecified, multicast or reserved address (IPv4 or IPv6,
 * including IPv4-mapped forms) is refused unless that kind is listed in
 * `allowAddresses`. The check runs when the execution starts (400) and again before each
 * attempt, and the connection goes to the very address that was checked (no DNS
 * rebinding between check and connect). Redirects are not followed.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Redacted from "effect/Redacted"
import { createHmac, timingSafeEqual } from "node:crypto"
import * as address from "./internal/address.js"

/**
 * @since 0.1.0
 * @category headers
 */
export const SignatureHeader = "X-Truce-Signature"

/**
 * @since 0.1.0
 * @category headers
 */
export const TimestampHeader = "X-Truce-Timestamp"

/**
 * @since 0.1.0
 * @category headers
 */
export const DeliveryHeader = "X-Truce-Delivery"

/**
 * @since 0.1.0
 * @category headers
 */
export const AttemptHeader = "X-Truce-Attempt"

/**
 * @since 0.1.0
 * @category headers
 */
export const ExecutionHeader = "X-Truce-Execution"

/**
 * A signing secret (a string, bytes, or a `Redacted` of either).
 *
 * @since 0.1.0
 * @category models
 */
export type Secret = string | Uint8Array | Redacted.Redacted<string> | Redacted.Redacted<Uint8Array>

const keyOf = (secret: Secret): Uint8Array => {
  const value = Redacted.isRedacted(secret) ? Redacted.value(secret as Redacted.Redacted<string | Uint8Array>) : secret
  return typeof value === "string" ? Buffer.from(value, "utf8") : value
}

const digest = (secret: Secret, timestamp: string, body: string | Uint8Array): Buffer =>
  createHmac("sha256", keyOf(secret)).update(`${timestamp}.`, "utf8").update(body).digest()

/**
 * The `X-Truce-Signature` value for a body sent at `timestamp` (seconds).
 *
 * @example
 * import { Callback } from "@truce/http"
 * const signature = Callback.sign("secret", 1_700_000_000, "{\"id\":\"x\"}") // "sha256=…"
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: Secret, timestamp: number | string, body: string | Uint8Array): string =>
  `sha256=${digest(secret, String(timestamp), body).toString("hex")}`

/**
 * Checks a received callback: the signature matches the body and timestamp (constant-time
 * comparison) and the timestamp lies within `toleranceSeconds` (default 300) of now.
 *
 * @example
 * import { Callback } from "@truce/http"
 *
 * const accept = (headers: Record<string, string | undefined>, rawBody: string) =>
 *   Callback.verify({
 *     secret: "secret",
 *     body: rawBody,
 *     signature: headers["x-truce-signature"],
 *     timestamp: headers["x-truce-timestamp"]
 *   })
 *
 * @since 0.1.0
 * @category signing
 */
export const verify = (options: {
  readonly secret: Secret
  readonly body: string | Uint8Array
  readonly signature: string | undefined
  readonly timestamp: string | undefined
  readonly toleranceSeconds?: number | undefined
  readonly now?: number | undefined
}): boolean => {
  const { signature, timestamp } = options
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false
  const match = /^sha256=([0-9a-f]{64})$/.exec(signature)
  if (match === null) return false
  const nowSeconds = (options.now ?? Date.now()) / 1000
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false
  const expected = digest(options.secret, timestamp, options.body)
  return timingSafeEqual(Buffer.from(match[1] as string, "hex"), expected)
}

/**
 * The kind of an IP address range.
 *
 * @since 0.1.0
 * @category addresses
 */
export type AddressKind = address.AddressKind

/**
 * The range an IP address belongs to (`undefined` when the text is not an IP address).
 *
 * @example
 * import { Callback } from "@truce/http"
 * Callback.classifyAddress("::ffff:10.0.0.1") // "private"
 * Callback.classifyAddress("169.254.169.254") // "link-local"
 *
 * @since 0.1.0
 * @category addresses
 */
export const classifyAddress: (ip: string) => AddressKind | undefined = address.classifyAddress

/**
 * A resolved address.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * Callback configuration of a server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  /** The HMAC-SHA256 key of `X-Truce-Signature`. */
  readonly secret: Secret
  /** Address kinds allowed besides public addresses (default none). Tests allow `["loopback"]`. */
  readonly allowAddresses?: ReadonlyArray<Exclude<AddressKind, "public">> | undefined
  /** Refuse `http:` URLs (default false). */
  readonly requireHttps?: boolean | undefined
  /** Attempts per delivery, the first included (default 5). */
  readonly attempts?: number | undefined
  /** Delay before the first retry (default 1 second); it grows by `factor` (default 2), with jitter. */
  readonly initialDelay?: Duration.DurationInput | undefined
  /** @see initialDelay */
  readonly factor?: number | undefined
  /** Longest delay between attempts (default 1 minute). */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Time limit of one attempt (default 10 seconds). */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Send the outcome with the record (default true). */
  readonly includeOutcome?: boolean | undefined
  /** Resolves a host name (default: the system resolver, every address). */
  readonly lookup?: ((hostname: string) => Promise<ReadonlyArray<ResolvedAddress>>) | undefined
}
