/**
 * Errors of the execution map.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/**
 * No execution has this id (or the caller may not see it).
 *
 * @internal
 */
export class ExecutionNotFound extends Schema.TaggedError<ExecutionNotFound>("@truce/core/ExecutionNotFound")(
  "ExecutionNotFound",
  { id: Schema.String }
) {
  override get message(): string {
    return `no execution with id ${this.id}`
  }
}

/**
 * A bounded wait ended before the execution did. The wait says so; it never returns a
 * partial result as if it were final.
 *
 * @internal
 */
export class AwaitTimeout extends Schema.TaggedError<AwaitTimeout>("@truce/core/AwaitTimeout")("AwaitTimeout", {
  id: Schema.String,
  waitedMs: Schema.Number,
  state: Schema.String
}) {
  override get message(): string {
    return `execution ${this.id} is still ${this.state} after waiting ${this.waitedMs} ms`
  }
}

/**
 * An execution cannot be resumed (still running, already succeeded, unknown command, or
 * its input was not kept).
 *
 * @internal
 */
export class NotResumable extends Schema.TaggedError<NotResumable>("@truce/core/NotResumable")("NotResumable", {
  id: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `execution ${this.id} cannot be resumed: ${this.reason}`
  }
}

/**
 * A start reused an idempotency key with a different request.
 *
 * @internal
 */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>(
  "@truce/core/IdempotencyConflict"
)("IdempotencyConflict", { key: Schema.String, existing: Schema.String }) {
  override get message(): string {
    return `idempotency key ${JSON.stringify(this.key)} was used for a different request (execution ${this.existing})`
  }
}
