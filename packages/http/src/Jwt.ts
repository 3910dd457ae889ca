/**
 * JSON Web Tokens signed with HMAC-SHA256 (`HS256`, RFC 7519): verification for bearer
 * authentication, and signing for tools and tests.
 *
 * Verification accepts only `HS256` (never `none`, never an algorithm chosen by the
 * token), compares signatures in constant time, and checks `exp` and `nbf` (with a small
 * clock tolerance) and, when configured, `iss` and `aud`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { createHmac, timingSafeEqual } from "node:crypto"

/**
 * A decoded claims set.
 *
 * @since 0.1.0
 * @category models
 */
export type Claims = Readonly<Record<string, unknown>>

/**
 * Why a token was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class JwtError extends Data.TaggedError("JwtError")<{
  readonly reason: "Malformed" | "Algorithm" | "Signature" | "Expired" | "NotYetValid" | "Issuer" | "Audience"
  readonly message: string
}> {}

/**
 * A secret: a string (UTF-8), bytes, or a `Redacted` of either.
 *
 * @since 0.1.0
 * @category models
 */
export type Secret = string | Uint8Array | Redacted.Redacted<string> | Redacted.Redacted<Uint8Array>

const secretBytes = (secret: Secret): Uint8Array => {
  const value = Redacted.isRedacted(secret) ? Redacted.value(secret as Redacted.Redacted<string | Uint8Array>) : secret
  return typeof value === "string" ? Buffer.from(value, "utf8") : value
}

const base64url = (input: string | Uint8Array): string => Buffer.from(input).toString("base64url")

const hmac = (secret: Secret, content: string): Buffer =>
  createHmac("sha256", secretBytes(secret)).update(content).digest()

/**
 * Signs a claims set as an HS256 token. Numeric dates (`exp`, `nbf`, `iat`) are seconds
 * since the epoch, as RFC 7519 says.
 *
 * @example
 * import { Jwt } from "@truce/http"
 * const token = Jwt.sign({ sub: "alice", groups: ["ops"], exp: Math.floor(Date.now() / 1000) + 3600 }, "secret")
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (claims: Claims, secret: Secret): string => {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))
  const payload = base64url(JSON.stringify(claims))
  const content = `${header}.${payload}`
  return `${content}.${hmac(secret, content).toString("base64url")}`
}

/**
 * Options of {@link verify}.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  /** Required issuer (`iss`). */
  readonly issuer?: string | undefined
  /** Required audience (`aud`, a string or one element of an array). */
  readonly audience?: string | undefined
  /** Tolerated clock difference for `exp` and `nbf`, in seconds (default 30). */
  readonly clockToleranceSeconds?: number | undefined
  /** The current time in milliseconds (default `Date.now()`). */
  readonly now?: number | undefined
}

const decodeJson = (part: string): unknown => {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const fail = (reason: JwtError["reason"], message: string) => Either.left(new JwtError({ reason, message }))

/**
 * Verifies an HS256 token and returns its claims.
 *
 * @example
 * import { Either } from "effect"
 * import { Jwt } from "@truce/http"
 *
 * const token = Jwt.sign({ sub: "alice" }, "secret")
 * const claims = Jwt.verify(token, "secret")
 * if (Either.isRight(claims)) console.log(claims.right.sub)
 *
 * @since 0.1.0
 * @category verifying
 */
export const verify = (token: string, secret: Secret, options?: VerifyOptions): Either.Either<Claims, JwtError> => {
  if (token.length > 16_384) return fail("Malformed", "the token is too long")
  const parts = token.split(".")
  if (parts.length !== 3) return fail("Malformed", "a token has three dot-separated parts")
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const header = decodeJson(headerPart)
  if (!isObject(header)) return fail("Malformed", "the token header is not base64url JSON")
  if (header.alg !== "HS256") {
    return fail("Algorithm", `only HS256 tokens are accepted, got ${JSON.stringify(header.alg)}`)
  }
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) return fail("Malformed", "the signature is not base64url")
  const expected = hmac(secret, `${headerPart}.${payloadPart}`)
  const actual = Buffer.from(signaturePart, "base64url")
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return fail("Signature", "the signature does not match")
  }
  const claims = decodeJson(payloadPart)
  if (!isObject(claims)) return fail("Malformed", "the token payload is not base64url JSON")
  const now = (options?.now ?? Date.now()) / 1000
  const tolerance = options?.clockToleranceSeconds ?? 30
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== "number") return fail("Malformed", "exp must be a number of seconds")
    if (now > claims.exp + tolerance) return fail("Expired", "the token has expired")
  }
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== "number") return fail("Malformed", "nbf must be a number of seconds")
    if (now < claims.nbf - tolerance) return fail("NotYetValid", "the token is not valid yet")
  }
  if (options?.issuer !== undefined && claims.iss !== options.issuer) {
    return fail("Issuer", "the token was issued by someone else")
  }
  if (options?.audience !== undefined) {
    const aud = claims.aud
    const matches = typeof aud === "string"
      ? aud === options.audience
      : Array.isArray(aud) && aud.includes(options.audience)
    if (!matches) return fail("Audience", "the token is meant for another audience")
  }
  return Either.right(claims)
}
