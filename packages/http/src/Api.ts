/**
 * The HTTP API as an `HttpApi` definition (from `@effect/platform`): the routes, their
 * request and response schemas, errors and authentication. The OpenAPI 3.1 document
 * served at `/openapi.json` is generated from it (plus what HttpApi cannot express on its
 * own — callbacks, response headers, alternative media types, security schemes — added by
 * an `OpenApi.Transform` annotation), so it describes exactly the routes the server runs.
 *
 * | route | operation |
 * |---|---|
 * | `GET /commands` | the commands the caller may start |
 * | `POST /commands/{name}/executions` | start (one operation per command, with its input schema) |
 * | `GET /executions` | list (query parameters) |
 * | `POST /executions/query` | query (JSON body) |
 * | `GET /executions/{id}` | the record; `?wait=30s` long-polls |
 * | `GET /executions/{id}/events` | Server-Sent Events, or `application/vnd.amazon.eventstream` frames |
 * | `POST /executions/{id}/interrupt` | interrupt |
 * | `DELETE /executions/{id}` | interrupt (cancel) |
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Access from "@truce/core/Access"
import * as ExecutionEvent from "@truce/core/ExecutionEvent"
import * as ExecutionQuery from "@truce/core/ExecutionQuery"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import * as Interrupt from "@truce/core/Interrupt"
import * as Schema from "effect/Schema"
import {
  AlreadyFinished,
  CallbackUrlRejected,
  CommandNotFound,
  ExecutionNotFound,
  Forbidden,
  IdempotencyConflict,
  InvalidQuery,
  InvalidRequest,
  NotCancellable,
  PayloadTooLarge,
  ServiceUnavailable,
  Unauthenticated,
  UnsupportedMediaType
} from "./ApiError.js"
import type { Authenticator } from "./Auth.js"
import { CurrentPrincipal } from "./Auth.js"
import * as openapi from "./internal/openapi.js"

/**
 * An execution record as the API sends it (dates as ISO-8601 strings).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Execution = ExecutionRecord.ExecutionRecord.annotations({ identifier: "ExecutionRecord" })

/**
 * One page of a list or query.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExecutionPage = Schema.Struct({
  records: Schema.Array(Execution),
  nextCursor: Schema.optional(Schema.String)
}).annotations({ identifier: "ExecutionPage" })

/**
 * @since 0.1.0
 * @category schemas
 */
export type ExecutionPage = typeof ExecutionPage.Type

/**
 * The body of an interrupt request (`POST /executions/{id}/interrupt`, or `DELETE
 * /executions/{id}`): `graceful` (default) follows the execution's strategy, `force`
 * stops in-flight items now.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InterruptBody = Schema.Struct({
  mode: Schema.optional(Interrupt.InterruptMode),
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
}).annotations({ identifier: "InterruptBody" })

/**
 * @since 0.1.0
 * @category schemas
 */
export type InterruptBody = typeof InterruptBody.Type

/**
 * The answer to an accepted interrupt (202).
 *
 * @since 0.1.0
 * @category schemas
 */
export const InterruptAccepted = Schema.Struct({
  id: Schema.String,
  status: Schema.Literal("accepted"),
  escalated: Schema.Boolean,
  interrupt: Interrupt.InterruptRequest,
  state: ExecutionRecord.ExecutionState
}).annotations({ identifier: "InterruptAccepted" })

/**
 * @since 0.1.0
 * @category schemas
 */
export type InterruptAccepted = typeof InterruptAccepted.Type

const Condition = Schema.Struct({ op: ExecutionQuery.Operator, value: Schema.Unknown })

/**
 * The body of `POST /executions/query`: conditions AND-ed together, a sort, a limit
 * (default 100; larger limits are served as 1000) and the cursor of the previous page. The body may also be
 * the conditions alone (`{ "state": { "op": "eq", "value": "Running" } }`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const QueryBody = Schema.Struct({
  where: Schema.optional(
    Schema.Union(
      Schema.Record({ key: Schema.String, value: Condition }),
      Schema.Array(Schema.Struct({ field: Schema.String, op: ExecutionQuery.Operator, value: Schema.Unknown }))
    )
  ),
  sort: Schema.optional(Schema.String).annotations({ description: "a field, \"-field\" for descending" }),
  limit: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))).annotations({
    description: `records per page: default ${ExecutionQuery.defaultLimit}; more than ${ExecutionQuery.maxLimit} ` +
      `is served as ${ExecutionQuery.maxLimit} (follow nextCursor for the rest)`
  }),
  cursor: Schema.optional(Schema.String)
}).annotations({ identifier: "QueryBody" })

const GrantInput = Schema.Struct({
  users: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  groups: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  roles: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})

/**
 * Grants a start request adds to its execution (the command's own grants and the owner
 * always apply too).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PermissionsInput = Schema.Struct({
  read: Schema.optionalWith(GrantInput, { exact: true }),
  write: Schema.optionalWith(GrantInput, { exact: true })
}).annotations({ identifier: "PermissionsInput" })

/**
 * Labels a start request attaches (queryable as `labels.<name>`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Labels = Schema.Record({
  key: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.:/-]{1,128}$/)),
  value: Schema.String.pipe(Schema.maxLength(1024))
}).pipe(Schema.filter((labels) => Object.keys(labels).length <= 64 || "at most 64 labels"))

/**
 * The body of a start request, for a command whose input has the schema `input`.
 *
 * @example
 * import { Schema } from "effect"
 * import { Api } from "@truce/http"
 * const body = Api.StartBody(Schema.Struct({ database: Schema.String }))
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartBody = <A, I>(input: Schema.Schema<A, I>) =>
  Schema.Struct({
    input,
    callbackUrl: Schema.optional(Schema.String).annotations({
      description: "POSTed the record when the execution ends (see the callback of this operation)"
    }),
    permissions: Schema.optional(PermissionsInput),
    labels: Schema.optional(Labels)
  })

/**
 * The envelope of a start request with the input left undecoded (the command's schema
 * decodes it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartEnvelope = Schema.Struct({
  input: Schema.optional(Schema.Unknown),
  callbackUrl: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))),
  permissions: Schema.optional(PermissionsInput),
  labels: Schema.optional(Labels)
})

/**
 * What a client learns about a command.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandInfo = Schema.Struct({
  name: Schema.String,
  summary: Schema.optional(Schema.String),
  blocks: Schema.Array(Schema.String),
  cancellable: Schema.Boolean,
  concurrency: Schema.optional(Schema.Number),
  timeoutMs: Schema.optional(Schema.Number),
  path: Schema.String,
  inputSchema: Schema.optional(Schema.Unknown).annotations({ description: "the JSON Schema of the input" })
}).annotations({ identifier: "CommandInfo" })

/**
 * @since 0.1.0
 * @category schemas
 */
export type CommandInfo = typeof CommandInfo.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const CommandList = Schema.Struct({ commands: Schema.Array(CommandInfo) }).annotations({
  identifier: "CommandList"
})

const Id = Schema.Struct({ id: Schema.String })

const ExecutionEvents = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({
  description: "Server-Sent Events or event-stream frames: one `ExecutionEvent` per event (see the description)"
})

/**
 * Authenticates every API request and provides the caller as `CurrentPrincipal`.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("@truce/http/Authentication", {
  provides: CurrentPrincipal,
  failure: Unauthenticated
}) {}

/**
 * The management routes (everything but starting commands).
 *
 * @since 0.1.0
 * @category groups
 */
export const ExecutionsGroup = HttpApiGroup.make("executions")
  .add(
    HttpApiEndpoint.get("list", "/executions")
      .setUrlParams(Schema.Struct({
        sort: Schema.optional(Schema.String).annotations({ description: "a field, \"-field\" for descending" }),
        limit: Schema.optional(Schema.String).annotations({
          description: "records per page (default 100); more than 1000 is served as 1000 (follow the Link header)"
        }),
        cursor: Schema.optional(Schema.String).annotations({ description: "the nextCursor of the previous page" })
      }))
      .addSuccess(ExecutionPage)
      .addError(InvalidQuery)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "List executions",
        description:
          "Only executions the caller may read. Filters are further query parameters: `field=value` (eq) or `field[op]=value` " +
          "with op one of eq ne gt ge lt le like notlike in (`in` values comma-separated), all AND-ed; fields: " +
          `${Object.keys(ExecutionQuery.fields).join(", ")}, labels.<name>. JSON, YAML or XML by Accept.`,
        transform: openapi.negotiatedPage
      }))
  )
  .add(
    HttpApiEndpoint.post("query", "/executions/query")
      .setPayload(QueryBody)
      .addSuccess(ExecutionPage)
      .addError(InvalidQuery)
      .addError(InvalidRequest)
      .addError(PayloadTooLarge)
      .addError(UnsupportedMediaType)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "Query executions",
        description:
          "Only executions the caller may read. Conditions are AND-ed; unknown fields or operators answer 400. " +
          "The body may also be the conditions alone, `{ field: { op, value } }`.",
        transform: openapi.negotiated
      }))
  )
  .add(
    HttpApiEndpoint.get("get", "/executions/:id")
      .setPath(Id)
      .setUrlParams(Schema.Struct({
        wait: Schema.optional(Schema.String).annotations({
          description: "long-poll: answer as soon as the execution has finished, or after this long (30s, 1500ms, 2m)"
        })
      }))
      .addSuccess(Execution)
      .addError(ExecutionNotFound)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "Get an execution",
        description: "The record (JSON, YAML or XML by Accept). With `wait`, the answer comes when the execution " +
          "finishes (within milliseconds) or when the wait ends, whichever is first; check `state`.",
        transform: openapi.negotiatedRecord
      }))
  )
  .add(
    HttpApiEndpoint.get("events", "/executions/:id/events")
      .setPath(Id)
      .setUrlParams(Schema.Struct({
        after: Schema.optional(Schema.String).annotations({ description: "replay events after this sequence number" })
      }))
      .setHeaders(Schema.Struct({
        "last-event-id": Schema.optional(Schema.String).annotations({
          description: "set by EventSource when it reconnects: replay events after this sequence number"
        })
      }))
      .addSuccess(ExecutionEvents)
      .addSuccess(HttpApiSchema.NoContent.annotations({
        description: "Nothing after the given sequence number: the execution has finished (stop reconnecting)"
      }))
      .addError(ExecutionNotFound)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "Watch an execution (Server-Sent Events or binary event stream)",
        description: "The framing follows `Accept`: `application/vnd.amazon.eventstream` (preferred over " +
          "`text/event-stream`, or listed without it) gets AWS event-stream frames; anything else — no `Accept`, " +
          "`*/*`, `text/event-stream` — gets Server-Sent Events.\n\n" +
          "**SSE**: each event has `id:` = its sequence number, `event:` = its type (StateChanged, BlockStarted, " +
          "BlockFinished, ItemProgressed, InterruptRequested, Snapshot, Finished) and `data:` = the ExecutionEvent as " +
          "JSON; comment lines keep the connection alive; an error after the head is a last `event: StreamError` " +
          "whose data is the error as JSON.\n\n" +
          "**Event stream**: one frame per event with `:message-type` event, `:event-type` = its type, " +
          "`:content-type` application/json, `seq` (long) = its sequence number, payload = the ExecutionEvent as " +
          "JSON; `:event-type` ping frames (no payload) keep the connection alive; an error after the head is a " +
          "last `:message-type` exception frame, `:exception-type` = the error's tag, payload = the error as JSON." +
          "\n\nBoth end after `Finished` and replay after `Last-Event-ID` or `after`. A reader that falls behind " +
          "receives a `Snapshot` standing for the events it missed.",
        transform: openapi.eventStream
      }))
  )
  .add(
    HttpApiEndpoint.post("interrupt", "/executions/:id/interrupt")
      .setPath(Id)
      .setPayload(InterruptBody)
      .addSuccess(InterruptAccepted, { status: 202 })
      .addError(ExecutionNotFound)
      .addError(Forbidden)
      .addError(NotCancellable)
      .addError(AlreadyFinished)
      .addError(InvalidRequest)
      .addError(PayloadTooLarge)
      .addError(UnsupportedMediaType)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "Interrupt an execution",
        description: "202: accepted (a second request with mode force escalates); 409: not cancellable; " +
          "410: already finished, nothing to interrupt; 404: unknown (or not readable). Needs write access."
      }))
  )
  .add(
    HttpApiEndpoint.del("cancel", "/executions/:id")
      .setPath(Id)
      .setUrlParams(Schema.Struct({
        mode: Schema.optional(
          Schema.String.annotations({ jsonSchema: { type: "string", enum: ["graceful", "force"] } })
        ),
        reason: Schema.optional(Schema.String)
      }))
      .addSuccess(InterruptAccepted, { status: 202 })
      .addError(ExecutionNotFound)
      .addError(Forbidden)
      .addError(NotCancellable)
      .addError(AlreadyFinished)
      .addError(InvalidRequest)
      .addError(PayloadTooLarge)
      .addError(UnsupportedMediaType)
      .addError(ServiceUnavailable)
      .annotateContext(OpenApi.annotations({
        summary: "Cancel an execution",
        description: "The same as POST /executions/{id}/interrupt; mode and reason as query parameters (or the body)."
      }))
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Read, watch, interrupt and query executions")

/**
 * What the API needs to know about a command to describe it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommandDescription {
  readonly name: string
  readonly inputSchema: Schema.Schema.AnyNoContext | undefined
  readonly summary?: string | undefined
  readonly description?: string | undefined
}

/**
 * The path of a command's start operation.
 *
 * @since 0.1.0
 * @category utils
 */
export const startPath = (command: string): `/${string}` => `/commands/${encodeURIComponent(command)}/executions`

/**
 * The endpoint name of a command's start operation.
 *
 * @since 0.1.0
 * @category utils
 */
export const startEndpointName = (command: string): string => `start:${command}`

const StartHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String).annotations({
    description: "the same key and body return the same execution (202); the same key with another body answers 409"
  }),
  prefer: Schema.optional(Schema.String).annotations({
    description: "RFC 7240: `wait=N` answers 200 with the finished record if it finishes within N seconds; " +
      "`respond-async` answers 202 at once"
  })
})

const startEndpoint = (command: CommandDescription, callbacks: boolean) =>
  HttpApiEndpoint.post(startEndpointName(command.name), startPath(command.name))
    .setPayload(StartBody(command.inputSchema ?? Schema.Unknown))
    .setHeaders(StartHeaders)
    .addSuccess(Execution, { status: 202 })
    .addSuccess(Execution, { status: 200 })
    .addError(InvalidRequest)
    .addError(CallbackUrlRejected)
    .addError(Forbidden)
    .addError(IdempotencyConflict)
    .addError(PayloadTooLarge)
    .addError(UnsupportedMediaType)
    .addError(ServiceUnavailable)
    .annotateContext(OpenApi.annotations({
      identifier: `start_${command.name.replace(/[^A-Za-z0-9_]/g, "_")}`,
      summary: command.summary ?? `Start ${command.name}`,
      description: (command.description !== undefined ? `${command.description}\n\n` : "") +
        "Validates `input`, starts the execution and answers 202 Accepted at once with `Location` / " +
        "`Operation-Location` (the record's URL), `Retry-After` and the record. Watch it with " +
        "GET /executions/{id}/events, wait with GET /executions/{id}?wait=30s, cancel with DELETE /executions/{id}.",
      transform: (operation) => openapi.startOperation(operation, callbacks)
    }))

/**
 * The command routes: one start operation per command, the list of commands, and a
 * catch-all answering 404 for unknown names.
 *
 * @since 0.1.0
 * @category groups
 */
export const commandsGroup = (
  commands: ReadonlyArray<CommandDescription>,
  options: { readonly callbacks: boolean }
) => {
  const base = HttpApiGroup.make("commands")
    .add(
      HttpApiEndpoint.get("listCommands", "/commands")
        .addSuccess(CommandList)
        .annotateContext(OpenApi.annotations({ summary: "The commands the caller may start" }))
    )
    .add(
      HttpApiEndpoint.post("startUnknown", "/commands/:name/executions")
        .setPath(Schema.Struct({ name: Schema.String }))
        .addError(CommandNotFound)
        .annotateContext(OpenApi.annotations({
          summary: "Any other command name",
          description: "Every exposed command has its own start operation; other names answer 404."
        }))
    )
  let group: HttpApiGroup.HttpApiGroup<
    "commands",
    HttpApiGroup.HttpApiGroup.Endpoints<typeof base> | ReturnType<typeof startEndpoint>,
    never,
    never,
    false
  > = base
  for (const command of commands) group = group.add(startEndpoint(command, options.callbacks))
  return group.middleware(Authentication).annotate(OpenApi.Description, "Start commands")
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly title?: string | undefined
  readonly version?: string | undefined
  readonly description?: string | undefined
  readonly authenticators: ReadonlyArray<Authenticator>
  readonly allowAnonymous: boolean
  readonly callbacks: boolean
}

/**
 * The HttpApi of a server exposing these commands.
 *
 * @example
 * import { OpenApi } from "@effect/platform"
 * import { Schema } from "effect"
 * import { Api, Auth } from "@truce/http"
 *
 * const api = Api.make([{ name: "backup", inputSchema: Schema.Struct({ database: Schema.String }) }], {
 *   authenticators: [Auth.apiKey({ keys: { secret: { id: "alice" } } })],
 *   allowAnonymous: false,
 *   callbacks: true
 * })
 * const document = OpenApi.fromApi(api)
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (commands: ReadonlyArray<CommandDescription>, options: Options) =>
  HttpApi.make("truce")
    .add(ExecutionsGroup)
    .add(commandsGroup(commands, { callbacks: options.callbacks }))
    .annotateContext(OpenApi.annotations({
      title: options.title ?? "Truce",
      version: options.version ?? "0.1.0",
      description: options.description ??
        "Start commands, then watch, interrupt, await and query their executions.",
      transform: (spec) =>
        openapi.document(spec, {
          authenticators: options.authenticators,
          allowAnonymous: options.allowAnonymous,
          callbacks: options.callbacks
        })
    }))
    .annotate(HttpApi.AdditionalSchemas, [
      ExecutionEvent.ExecutionEvent.annotations({ identifier: "ExecutionEvent" }),
      Access.Principal.annotations({ identifier: "Principal" })
    ])
