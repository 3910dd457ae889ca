/**
 * @truce/http — asynchronous executions over HTTP: start returns an id at once (202);
 * clients watch (Server-Sent Events or binary event-stream frames), wait (long-poll,
 * `Prefer: wait`), interrupt and query by id, with authentication, permissions, signed
 * callbacks, an OpenAPI document and a typed client.
 *
 * @since 0.1.0
 */

/**
 * The HttpApi definition: routes, schemas, the OpenAPI document.
 *
 * @since 0.1.0
 */
export * as Api from "./Api.js"

/**
 * The errors the API answers with (shared by server and client).
 *
 * @since 0.1.0
 */
export * as ApiError from "./ApiError.js"

/**
 * Pluggable authentication: API keys, bearer JWTs, or your own.
 *
 * @since 0.1.0
 */
export * as Auth from "./Auth.js"

/**
 * Callbacks: the signature scheme and the address checks.
 *
 * @since 0.1.0
 */
export * as Callback from "./Callback.js"

/**
 * The typed client (also at `@truce/http/client`).
 *
 * @since 0.1.0
 */
export * as Client from "./Client.js"

/**
 * HS256 JSON Web Tokens.
 *
 * @since 0.1.0
 */
export * as Jwt from "./Jwt.js"

/**
 * The server: expose commands, configure, serve.
 *
 * @since 0.1.0
 */
export * as TruceHttp from "./TruceHttp.js"
