/**
 * The errors the HTTP API answers with. Each one is a `Schema.TaggedError` with its HTTP
 * status, so the server encodes it as a JSON body `{ "_tag": ..., "message": ..., ... }`
 * and the client decodes the same body back into the same typed error.
 *
 * | status | error |
 * |---|---|
 * | 400 | {@link InvalidRequest} (malformed JSON, wrong types: with the Schema issues), {@link InvalidQuery}, {@link CallbackUrlRejected} |
 * | 401 | {@link Unauthenticated} |
 * | 403 | {@link Forbidden} |
 * | 404 | {@link ExecutionNotFound} (also for executions the caller may not read), {@link CommandNotFound} |
 * | 409 | {@link NotCancellable}, {@link IdempotencyConflict} |
 * | 410 | {@link AlreadyFinished} ("nothing to interrupt") |
 * | 413 | {@link PayloadTooLarge} |
 * | 415 | {@link UnsupportedMediaType} |
 * | 503 | {@link ServiceUnavailable} |
 *
 * @since 0.1.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

/**
 * One problem found in a request body: where (`path`, e.g. `["input", "retries"]`) and what.
 *
 * @since 0.1.0
 * @category models
 */
export const Issue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type Issue = typeof Issue.Type

/**
 * The request could not be used: malformed JSON or YAML, a body that does not match the
 * command's input schema (`issues` lists every problem), a malformed header or parameter.
 *
 * @example
 * import { ApiError } from "@truce/http"
 * const error = new ApiError.InvalidRequest({ message: "input.retries: Expected number, actual \"3\"" })
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("@truce/http/InvalidRequest")(
  "InvalidRequest",
  { message: Schema.String, issues: Schema.optional(Schema.Array(Issue)) },
  HttpApiSchema.annotations({ status: 400, description: "The request is malformed or does not match the schema" })
) {}

/**
 * A query names an unknown field or operator, or a value of the wrong type.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidQuery extends Schema.TaggedError<InvalidQuery>("@truce/http/InvalidQuery")(
  "InvalidQuery",
  { message: Schema.String, field: Schema.optional(Schema.String), op: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 400, description: "The query cannot be run" })
) {}

/**
 * A callback URL was refused: not http(s), unresolvable, or resolving to an address range
 * (loopback, private, link-local, unique-local, ...) the server does not allow.
 *
 * @since 0.1.0
 * @category errors
 */
export class CallbackUrlRejected extends Schema.TaggedError<CallbackUrlRejected>("@truce/http/CallbackUrlRejected")(
  "CallbackUrlRejected",
  { url: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 400, description: "The callback URL is not allowed" })
) {}

/**
 * No valid credentials (and anonymous access is not configured), or credentials that
 * failed verification.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>("@truce/http/Unauthenticated")(
  "Unauthenticated",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401, description: "Authentication is required or failed" })
) {}

/**
 * The caller is known but may not do this (start this command, interrupt an execution
 * it may only read).
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Schema.TaggedError<Forbidden>("@truce/http/Forbidden")(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403, description: "The caller may not do this" })
) {}

/**
 * No execution with this id — or one the caller may not read (the answer is the same,
 * so the API does not reveal that it exists).
 *
 * @since 0.1.0
 * @category errors
 */
export class ExecutionNotFound extends Schema.TaggedError<ExecutionNotFound>("@truce/http/ExecutionNotFound")(
  "ExecutionNotFound",
  { id: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No such execution (or not readable by the caller)" })
) {}

/**
 * No command with this name is exposed.
 *
 * @since 0.1.0
 * @category errors
 */
export class CommandNotFound extends Schema.TaggedError<CommandNotFound>("@truce/http/CommandNotFound")(
  "CommandNotFound",
  { command: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No such command" })
) {}

/**
 * The execution refuses interrupts (its command is not cancellable), or it runs in
 * another process and cannot be interrupted from this one.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotCancellable extends Schema.TaggedError<NotCancellable>("@truce/http/NotCancellable")(
  "NotCancellable",
  { id: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 409, description: "The execution cannot be interrupted" })
) {}

/**
 * An `Idempotency-Key` was reused with a different request body.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>("@truce/http/IdempotencyConflict")(
  "IdempotencyConflict",
  { key: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 409, description: "The idempotency key was used for a different request" })
) {}

/**
 * The execution has already finished: there is nothing to interrupt.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyFinished extends Schema.TaggedError<AlreadyFinished>("@truce/http/AlreadyFinished")(
  "AlreadyFinished",
  { id: Schema.String, state: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 410, description: "Nothing to interrupt: the execution already finished" })
) {}

/**
 * The request body is larger than the server accepts.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>("@truce/http/PayloadTooLarge")(
  "PayloadTooLarge",
  { limit: Schema.Number, message: Schema.String },
  HttpApiSchema.annotations({ status: 413, description: "The request body is too large" })
) {}

/**
 * The request body is neither JSON nor YAML.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>(
  "@truce/http/UnsupportedMediaType"
)(
  "UnsupportedMediaType",
  { contentType: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 415, description: "The request body must be JSON or YAML" })
) {}

/**
 * The execution store failed, or the execution runs in another process and this one
 * cannot stream its events.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>("@truce/http/ServiceUnavailable")(
  "ServiceUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: "The server cannot answer right now" })
) {}

/**
 * Every error the API answers with.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiError =
  | InvalidRequest
  | InvalidQuery
  | CallbackUrlRejected
  | Unauthenticated
  | Forbidden
  | ExecutionNotFound
  | CommandNotFound
  | NotCancellable
  | IdempotencyConflict
  | AlreadyFinished
  | PayloadTooLarge
  | UnsupportedMediaType
  | ServiceUnavailable

/**
 * The schema of every API error (decodes an error body by its `_tag`).
 *
 * @example
 * import { Schema } from "effect"
 * import { ApiError } from "@truce/http"
 * const decode = Schema.decodeUnknownOption(ApiError.ApiError)
 * decode({ _tag: "Forbidden", message: "no" })
 *
 * @since 0.1.0
 * @category schemas
 */
export const ApiError = Schema.Union(
  InvalidRequest,
  InvalidQuery,
  CallbackUrlRejected,
  Unauthenticated,
  Forbidden,
  ExecutionNotFound,
  CommandNotFound,
  NotCancellable,
  IdempotencyConflict,
  AlreadyFinished,
  PayloadTooLarge,
  UnsupportedMediaType,
  ServiceUnavailable
)

/**
 * The HTTP status of an API error.
 *
 * @since 0.1.0
 * @category utils
 */
export const statusOf = (error: ApiError): number => HttpApiSchema.getStatusError(classes[error._tag])

const classes: Record<ApiError["_tag"], Schema.Schema.All> = {
  InvalidRequest,
  InvalidQuery,
  CallbackUrlRejected,
  Unauthenticated,
  Forbidden,
  ExecutionNotFound,
  CommandNotFound,
  NotCancellable,
  IdempotencyConflict,
  AlreadyFinished,
  PayloadTooLarge,
  UnsupportedMediaType,
  ServiceUnavailable
}
