/**
 * Where the `truce` command connects, and the client it uses (documented in `Remote`).
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Client from "@truce/http/Client"
import * as Layer from "effect/Layer"
import type { Connection } from "../../Remote.js"

/** @internal */
export const defaultServer = "http://localhost:8080"

/** @internal */
export const clientLayer = (connection: Connection): Layer.Layer<Client.TruceClient> =>
  Client.layer({
    baseUrl: connection.server,
    ...(connection.apiKey !== undefined ? { apiKey: connection.apiKey } : {}),
    ...(connection.token !== undefined ? { bearerToken: connection.token } : {})
  }).pipe(Layer.provide(FetchHttpClient.layer))
