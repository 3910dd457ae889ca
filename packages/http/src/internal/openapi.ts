/**
 * What the generated OpenAPI document needs besides what HttpApi derives from the
 * schemas: alternative media types, response headers, the callback of start operations,
 * the event stream, and the security schemes of the configured authenticators.
 *
 * @internal
 */
import type { Authenticator } from "../Auth.js"
import * as Callback from "../Callback.js"

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const recordRef = { $ref: "#/components/schemas/ExecutionRecord" }

/**
 * Adds YAML and XML beside the JSON content of every 2xx response; with `schema`, every
 * 2xx content refers to it instead of an inlined copy.
 */
export const negotiated = (operation: Json, schema?: Json): Json => {
  const responses = operation.responses
  if (!isObject(responses)) return operation
  for (const [status, response] of Object.entries(responses)) {
    if (!status.startsWith("2") || !isObject(response) || !isObject(response.content)) continue
    const json = response.content["application/json"]
    if (!isObject(json)) continue
    const content = { schema: schema ?? json.schema }
    response.content = {
      "application/json": content,
      "application/yaml": content,
      "text/yaml": content,
      "application/xml": content
    }
  }
  return operation
}

/** A response whose body is an execution record (`Retry-After` while it runs). */
export const negotiatedRecord = (operation: Json): Json => {
  negotiated(operation, recordRef)
  const ok = isObject(operation.responses) ? operation.responses["200"] : undefined
  if (isObject(ok)) {
    ok.headers = {
      "Retry-After": header("While the execution runs: seconds a poller should wait", { type: "integer" })
    }
  }
  return operation
}

/** A page of records (`Link: <…>; rel="next"` when more follow). */
export const negotiatedPage = (operation: Json): Json => {
  negotiated(operation)
  const ok = isObject(operation.responses) ? operation.responses["200"] : undefined
  if (isObject(ok)) ok.headers = { Link: header("`<url of the next page>; rel=\"next\"` when more records follow") }
  return operation
}

const header = (description: string, schema: Json = { type: "string" }) => ({ description, schema })

/** Response headers, alternative media types and the callback of a start operation. */
export const startOperation = (operation: Json, callbacks: boolean): Json => {
  negotiated(operation, recordRef)
  const responses = operation.responses
  if (isObject(responses)) {
    const accepted = responses["202"]
    if (isObject(accepted)) {
      accepted.description = "Started (or, for a repeated Idempotency-Key, the execution it started)"
      accepted.headers = {
        Location: header("The execution's URL, /executions/{id}"),
        "Operation-Location": header("The execution's absolute URL (poll, long-poll or watch it)"),
        "Retry-After": header("Seconds a poller should wait (prefer ?wait= or the event stream)", { type: "integer" }),
        "Preference-Applied": header("The Prefer preferences honoured (RFC 7240)")
      }
    }
    const finished = responses["200"]
    if (isObject(finished)) {
      finished.description = "Finished within the time asked for with `Prefer: wait=N`"
      finished.headers = {
        Location: header("The execution's URL, /executions/{id}"),
        "Preference-Applied": header("The Prefer preferences honoured (RFC 7240)")
      }
    }
  }
  if (callbacks) {
    operation.callbacks = {
      executionFinished: {
        "{$request.body#/callbackUrl}": {
          post: {
            summary: "The execution reached a terminal state",
            description: "Sent once per terminal state (Succeeded, Failed, Interrupted, TimedOut) with the record. " +
              `${Callback.SignatureHeader} is \`sha256=<hex>\`, the HMAC-SHA256 (keyed with the server's callback ` +
              `secret) of \`<${Callback.TimestampHeader}>.<raw body>\`. Reject timestamps far from now. Failed ` +
              "deliveries (network errors, 408, 429, 5xx) are retried with exponential backoff and jitter; the " +
              "attempts, state and last error are on the record's `callback` field.",
            parameters: [
              {
                name: Callback.SignatureHeader,
                in: "header",
                required: true,
                schema: { type: "string", pattern: "^sha256=[0-9a-f]{64}$" }
              },
              {
                name: Callback.TimestampHeader,
                in: "header",
                required: true,
                description: "seconds since the epoch; part of the signed content",
                schema: { type: "string" }
              },
              {
                name: Callback.DeliveryHeader,
                in: "header",
                required: true,
                description: "the same for every attempt of one delivery",
                schema: { type: "string" }
              },
              { name: Callback.AttemptHeader, in: "header", required: true, schema: { type: "string" } },
              { name: Callback.ExecutionHeader, in: "header", required: true, schema: { type: "string" } }
            ],
            requestBody: { required: true, content: { "application/json": { schema: recordRef } } },
            responses: {
              "2XX": { description: "Delivered" },
              default: { description: "Retried (408, 429, 5xx) or given up (other answers)" }
            }
          }
        }
      }
    }
  }
  return operation
}

/** The event stream's two media types (SSE, binary event stream) and the schema of each event. */
export const eventStream = (operation: Json): Json => {
  const responses = operation.responses
  if (!isObject(responses)) return operation
  const ok = responses["200"]
  if (isObject(ok)) {
    ok.description = "The events, as Server-Sent Events or as binary event-stream frames (by `Accept`)"
    const item = { $ref: "#/components/schemas/ExecutionEvent" }
    ok.content = {
      "text/event-stream": {
        schema: { type: "string", description: "`id:` the sequence number, `event:` the type, `data:` the event" },
        "x-item-schema": item
      },
      "application/vnd.amazon.eventstream": {
        schema: {
          type: "string",
          format: "binary",
          description: "one frame per event: `:event-type` the type, `seq` (long) the sequence number, " +
            "payload the event as JSON"
        },
        "x-item-schema": item
      }
    }
    ok.headers = { Vary: header("`Accept`: the framing depends on it") }
  }
  return operation
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

const componentName = /^[a-zA-Z0-9._-]+$/

/**
 * Component names must match `^[a-zA-Z0-9._-]+$`; schema identifiers such as
 * `@truce/core/InterruptRequest` do not. Renames them (`truce.core.InterruptRequest`) and
 * rewrites every `$ref` to them.
 */
const sanitizeSchemaNames = (spec: Json): Json => {
  const components = isObject(spec.components) ? spec.components : undefined
  const schemas = components !== undefined && isObject(components.schemas) ? components.schemas : undefined
  if (components === undefined || schemas === undefined) return spec
  const renamed = new Map<string, string>()
  const taken = new Set(Object.keys(schemas))
  for (const name of Object.keys(schemas)) {
    if (componentName.test(name)) continue
    let candidate = name.replace(/^@/, "").replace(/[^a-zA-Z0-9._-]+/g, ".").replace(/^\.+|\.+$/g, "")
    while (candidate === "" || taken.has(candidate)) candidate = `${candidate}_`
    taken.add(candidate)
    renamed.set(name, candidate)
  }
  if (renamed.size === 0) return spec
  const pointer = (name: string) => `#/components/schemas/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`
  const refs = new Map([...renamed].map(([from, to]) => [pointer(from), pointer(to)]))
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite)
    if (!isObject(value)) return value
    const out: Json = {}
    for (const [key, child] of Object.entries(value)) {
      out[key] = key === "$ref" && typeof child === "string" ? (refs.get(child) ?? child) : rewrite(child)
    }
    return out
  }
  const nextSchemas: Json = {}
  for (const [name, schema] of Object.entries(schemas)) nextSchemas[renamed.get(name) ?? name] = schema
  return rewrite({ ...spec, components: { ...components, schemas: nextSchemas } }) as Json
}

/** Security schemes and requirements of the whole document. */
export const document = (
  spec: Json,
  options: {
    readonly authenticators: ReadonlyArray<Authenticator>
    readonly allowAnonymous: boolean
    readonly callbacks: boolean
  }
): Json => {
  const components = isObject(spec.components) ? spec.components : {}
  const schemes: Json = isObject(components.securitySchemes) ? { ...components.securitySchemes } : {}
  for (const authenticator of options.authenticators) schemes[authenticator.name] = authenticator.securityScheme
  const requirements: Array<Json> = options.authenticators.map((authenticator) => ({ [authenticator.name]: [] }))
  if (options.allowAnonymous) requirements.push({})
  const paths = isObject(spec.paths) ? spec.paths : {}
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue
    for (const method of methods) {
      const operation = item[method]
      if (isObject(operation)) operation.security = requirements
    }
  }
  return sanitizeSchemaNames({
    ...spec,
    components: { ...components, securitySchemes: schemes },
    security: requirements
  })
}
