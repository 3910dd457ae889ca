/**
 * Pluggable authentication: an {@link Authenticator} turns a request into a principal
 * `{ id, groups, roles, scopes }` (the `Access.Principal` of `@truce/core`). The server
 * tries its authenticators in order; the first that recognises credentials decides.
 * Credentials that are present but invalid answer 401 at once; a request without any
 * credentials is anonymous, which only a server configured with `allowAnonymous` accepts.
 *
 * Two authenticators ship: {@link apiKey} (a header, `X-API-Key` by default, mapped to a
 * principal table) and {@link bearerJwt} (`Authorization: Bearer <HS256 JWT>`, claims
 * mapped to groups, roles and scopes). Writing another is one object.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import * as Access from "@truce/core/Access"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { Unauthenticated } from "./ApiError.js"
import * as Jwt from "./Jwt.js"

/**
 * An authenticated caller (from `@truce/core`).
 *
 * @since 0.1.0
 * @category models
 */
export type Principal = Access.Principal

/**
 * The input of a principal: the lists default to empty.
 *
 * @since 0.1.0
 * @category models
 */
export type PrincipalInput = Parameters<typeof Access.principal>[0]

/**
 * An OpenAPI security scheme object (documented in `/openapi.json`).
 *
 * @since 0.1.0
 * @category models
 */
export type SecurityScheme = Readonly<Record<string, unknown>>

/**
 * What an authenticator sees of a request (an `HttpServerRequest` is one).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthRequest {
  readonly headers: Headers.Headers
  readonly method: string
  readonly url: string
  readonly remoteAddress: Option.Option<string>
}

/**
 * Recognises one kind of credentials. `authenticate` should answer synchronously when it
 * can (a table lookup, a signature check): the server then serves record reads on its
 * fast path.
 *
 * @since 0.1.0
 * @category models
 */
export interface Authenticator {
  /** The name of the OpenAPI security scheme. */
  readonly name: string
  /** How the scheme is described in the OpenAPI document. */
  readonly securityScheme: SecurityScheme
  /** The `WWW-Authenticate` challenge sent with 401 answers. */
  readonly challenge: string
  /**
   * `None` when the request carries no credentials of this kind; a principal when they
   * are valid; fails with `Unauthenticated` when they are present but invalid.
   */
  readonly authenticate: (request: AuthRequest) => Effect.Effect<Option.Option<Principal>, Unauthenticated>
}

/**
 * The caller of the current request (`principal` is undefined for an anonymous caller).
 *
 * @since 0.1.0
 * @category tags
 */
export class CurrentPrincipal extends Context.Tag("@truce/http/CurrentPrincipal")<
  CurrentPrincipal,
  { readonly principal: Principal | undefined }
>() {}

const sha256 = (value: string): string => createHash("sha256").update(value, "utf8").digest("hex")

/**
 * API keys in a header (default `X-API-Key`). `keys` maps each key to its principal;
 * keys are kept hashed (SHA-256) and looked up by hash, so no key is compared character
 * by character. `lookup` can resolve keys elsewhere (a database) instead.
 *
 * @example
 * import { Auth } from "@truce/http"
 *
 * const keys = Auth.apiKey({
 *   keys: {
 *     "k-alice-7f3a": { id: "alice", groups: ["ops"] },
 *     "k-ci-91bc": { id: "ci", roles: ["deployer"] }
 *   }
 * })
 *
 * @since 0.1.0
 * @category authenticators
 */
export const apiKey = (options: {
  readonly header?: string | undefined
  readonly keys?: Readonly<Record<string, PrincipalInput>> | undefined
  readonly lookup?: ((key: Redacted.Redacted<string>) => Effect.Effect<Option.Option<Principal>>) | undefined
}): Authenticator => {
  const header = options.header ?? "X-API-Key"
  const headerKey = header.toLowerCase()
  const table = new Map<string, Principal>()
  for (const [key, principal] of Object.entries(options.keys ?? {})) table.set(sha256(key), Access.principal(principal))
  const invalid = Effect.fail(new Unauthenticated({ message: `the ${header} header does not name a known key` }))
  return {
    name: "apiKey",
    securityScheme: { type: "apiKey", in: "header", name: header, description: `An API key in the ${header} header` },
    challenge: `ApiKey header="${header}"`,
    authenticate: (request) => {
      const value = request.headers[headerKey]
      if (value === undefined) return Effect.succeed(Option.none())
      if (value.length === 0 || value.length > 4096) return invalid
      const known = table.get(sha256(value))
      if (known !== undefined) return Effect.succeed(Option.some(known))
      if (options.lookup === undefined) return invalid
      return Effect.flatMap(
        options.lookup(Redacted.make(value)),
        (found) => Option.isSome(found) ? Effect.succeed(found) : invalid
      )
    }
  }
}

/**
 * Which claims hold the principal's fields. A claim may hold an array of strings or one
 * space- or comma-separated string (as OAuth's `scope` does).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClaimNames {
  /** Default `sub`. */
  readonly id?: string | undefined
  /** Default `groups`. */
  readonly groups?: string | undefined
  /** Default `roles`. */
  readonly roles?: string | undefined
  /** Default `scope` (then `scp`). */
  readonly scopes?: string | undefined
}

const stringList = (value: unknown): ReadonlyArray<string> => {
  if (typeof value === "string") return value.split(/[\s,]+/).filter((part) => part.length > 0)
  if (Array.isArray(value)) return value.filter((part): part is string => typeof part === "string")
  return []
}

/**
 * Bearer tokens: `Authorization: Bearer <JWT>` signed with HS256. The signature is
 * verified with `node:crypto` (constant-time comparison), `exp` and `nbf` are checked,
 * and the claims are mapped to a principal (`sub` → id, `groups`, `roles`, `scope`).
 *
 * @example
 * import { Auth } from "@truce/http"
 * const bearer = Auth.bearerJwt({ secret: process.env.TRUCE_JWT_SECRET ?? "dev-secret", issuer: "https://id.example.com" })
 *
 * @since 0.1.0
 * @category authenticators
 */
export const bearerJwt = (options: {
  readonly secret: Jwt.Secret
  readonly issuer?: string | undefined
  readonly audience?: string | undefined
  readonly clockToleranceSeconds?: number | undefined
  readonly claims?: ClaimNames | undefined
}): Authenticator => {
  const names = options.claims ?? {}
  const toPrincipal = (claims: Jwt.Claims): Principal | undefined => {
    const id = claims[names.id ?? "sub"]
    if (typeof id !== "string" || id.length === 0) return undefined
    return Access.principal({
      id,
      groups: stringList(claims[names.groups ?? "groups"]),
      roles: stringList(claims[names.roles ?? "roles"]),
      scopes: stringList(names.scopes !== undefined ? claims[names.scopes] : (claims.scope ?? claims.scp))
    })
  }
  return {
    name: "bearer",
    securityScheme: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An HS256-signed JWT" },
    challenge: `Bearer realm="truce"`,
    authenticate: (request) =>
      Effect.suspend(() => {
        const authorization = request.headers.authorization
        if (authorization === undefined) return Effect.succeed(Option.none())
        const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
        if (match === null) {
          // Another scheme (Basic, ...) is not ours to judge.
          return /^Bearer\b/i.test(authorization)
            ? Effect.fail(new Unauthenticated({ message: "malformed bearer token" }))
            : Effect.succeed(Option.none())
        }
        const verified = Jwt.verify(match[1] as string, options.secret, {
          issuer: options.issuer,
          audience: options.audience,
          clockToleranceSeconds: options.clockToleranceSeconds
        })
        if (Either.isLeft(verified)) {
          return Effect.fail(new Unauthenticated({ message: `bearer token refused: ${verified.left.message}` }))
        }
        const principal = toPrincipal(verified.right)
        return principal === undefined
          ? Effect.fail(new Unauthenticated({ message: "the bearer token names no subject" }))
          : Effect.succeed(Option.some(principal))
      })
  }
}
