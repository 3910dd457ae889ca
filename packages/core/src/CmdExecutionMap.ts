/**
 * The registry of executions in a process: start in the background and get an id at
 * once, interrupt by id, await one or many outcomes, read and query records, and watch
 * events replayable from a sequence number.
 *
 * Records live in an `ExecutionStore`; `layerMemory` uses the in-memory store, `layer`
 * takes any store (e.g. SQLite from `@truce/sql`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Permissions } from "./Access.js"
import type * as CmdExecution from "./CmdExecution.js"
import type { CmdDefect, CmdOutcome } from "./CmdOutcome.js"
import type { InputEndpoint, OutcomeOutput, ProgressOutput } from "./Endpoint.js"
import type { ExecutionEvent } from "./ExecutionEvent.js"
import type { InvalidQuery, QueryInput, QueryPage } from "./ExecutionQuery.js"
import type * as ExecutionQuery from "./ExecutionQuery.js"
import type { ExecutionId, ExecutionRecord, ItemState, Transition } from "./ExecutionRecord.js"
import * as ExecutionStore from "./ExecutionStore.js"
import * as errors from "./internal/errors.js"
import * as internal from "./internal/executionMap.js"
import type { InterruptRequestInput, InterruptResult, InterruptStrategy } from "./Interrupt.js"

/**
 * No execution has this id (or the caller may not see it).
 *
 * @since 0.1.0
 * @category errors
 */
export const ExecutionNotFound = errors.ExecutionNotFound

/**
 * @since 0.1.0
 * @category errors
 */
export type ExecutionNotFound = errors.ExecutionNotFound

/**
 * A bounded wait ended before the execution did. The wait says so; it never returns a
 * partial result as if it were final.
 *
 * @since 0.1.0
 * @category errors
 */
export const AwaitTimeout = errors.AwaitTimeout

/**
 * @since 0.1.0
 * @category errors
 */
export type AwaitTimeout = errors.AwaitTimeout

/**
 * An execution cannot be resumed (still running, already succeeded, unknown command, or
 * its input was not kept).
 *
 * @since 0.1.0
 * @category errors
 */
export const NotResumable = errors.NotResumable

/**
 * @since 0.1.0
 * @category errors
 */
export type NotResumable = errors.NotResumable

/**
 * A start reused an idempotency key with a different request.
 *
 * @since 0.1.0
 * @category errors
 */
export const IdempotencyConflict = errors.IdempotencyConflict

/**
 * @since 0.1.0
 * @category errors
 */
export type IdempotencyConflict = errors.IdempotencyConflict

/**
 * Options of one start. They override the execution's defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  readonly owner?: string | undefined
  readonly permissions?: Permissions | undefined
  readonly labels?: Readonly<Record<string, string>> | undefined
  readonly strategy?: InterruptStrategy | undefined
  /** `"none"` disables a timeout set on the execution or the map. */
  readonly timeout?: Duration.DurationInput | "none" | undefined
  readonly timeoutIncludesQueue?: boolean | undefined
  readonly graceTimeout?: Duration.DurationInput | undefined
  readonly cancellable?: boolean | undefined
  readonly redactInput?: boolean | undefined
  readonly outputs?: ReadonlyArray<ProgressOutput> | undefined
  readonly outcomeOutputs?: ReadonlyArray<OutcomeOutput> | undefined
  readonly inputs?: ReadonlyArray<InputEndpoint> | undefined
  readonly callbackUrl?: string | undefined
  /** Same key and same request → the same execution; same key, other request → `IdempotencyConflict`. */
  readonly idempotencyKey?: string | undefined
  /** What "same request" means (default: a hash of the command and the encoded input). */
  readonly idempotencyFingerprint?: string | undefined
}

/**
 * Options of a wait. Without `timeout` the wait lasts until the execution ends.
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category models
 */
export interface CmdExecutionMap {
  /** Starts an execution in the background and returns its id at once. */
  readonly start: <In, Out, E, R>(
    execution: CmdExecution.CmdExecution<In, Out, E, R>,
    input: In,
    options?: StartOptions
  ) => Effect.Effect<ExecutionId, ExecutionStore.StoreError | IdempotencyConflict, R>
  /** Starts an execution and waits for its outcome, typed. */
  readonly run: <In, Out, E, R>(
    execution: CmdExecution.CmdExecution<In, Out, E, R>,
    input: In,
    options?: StartOptions
  ) => Effect.Effect<CmdOutcome<Out, E | CmdDefect>, ExecutionStore.StoreError | IdempotencyConflict, R>
  /** Delivers an interrupt request (source, reason, requester are recorded). */
  readonly interrupt: (
    id: string,
    request: InterruptRequestInput
  ) => Effect.Effect<InterruptResult, ExecutionStore.StoreError>
  /** Waits for the outcome. */
  readonly await: (
    id: string,
    options?: AwaitOptions
  ) => Effect.Effect<CmdOutcome<unknown, unknown>, ExecutionNotFound | AwaitTimeout | ExecutionStore.StoreError>
  /** Waits for the finished record. */
  readonly awaitRecord: (
    id: string,
    options?: AwaitOptions
  ) => Effect.Effect<ExecutionRecord, ExecutionNotFound | AwaitTimeout | ExecutionStore.StoreError>
  /** Waits for many outcomes concurrently (in the order of `ids`). */
  readonly awaitAll: (
    ids: Iterable<string>,
    options?: AwaitOptions
  ) => Effect.Effect<
    ReadonlyArray<CmdOutcome<unknown, unknown>>,
    ExecutionNotFound | AwaitTimeout | ExecutionStore.StoreError
  >
  /** The current record (live progress included). */
  readonly get: (id: string) => Effect.Effect<Option.Option<ExecutionRecord>, ExecutionStore.StoreError>
  /** Queries records. */
  readonly list: (
    query: ExecutionQuery.ExecutionQuery | QueryInput
  ) => Effect.Effect<QueryPage, InvalidQuery | ExecutionStore.StoreError>
  /** The events after sequence number `after` (default 0), ending with `Finished`. */
  readonly events: (
    id: string,
    options?: { readonly after?: number | undefined }
  ) => Stream.Stream<ExecutionEvent, ExecutionNotFound | ExecutionStore.StoreError>
  /** The recorded item states. */
  readonly itemStates: (id: string) => Effect.Effect<ReadonlyArray<ItemState>, ExecutionStore.StoreError>
  /** The transition log. */
  readonly transitions: (id: string) => Effect.Effect<ReadonlyArray<Transition>, ExecutionStore.StoreError>
  /** Re-runs an interrupted or failed execution as a new one, skipping items already done. */
  readonly resume: (
    id: string,
    options?: StartOptions
  ) => Effect.Effect<ExecutionId, ExecutionNotFound | NotResumable | ExecutionStore.StoreError | IdempotencyConflict>
  /** Makes a command resumable by name (after a restart) and known to `commands`. */
  readonly register: (execution: CmdExecution.AnyNoContext) => Effect.Effect<void>
  /** The command registered under a name. */
  readonly command: (name: string) => Option.Option<CmdExecution.Any>
  /** Whether the execution runs in this map right now. */
  readonly isLive: (id: string) => boolean
  /** The store behind the map. */
  readonly store: ExecutionStore.ExecutionStore
}

/**
 * The service tag.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 *
 * const hello = CmdExecution.make("hello").pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "greet", run: () => Effect.succeed("hi") }))
 * )
 * const program = Effect.gen(function*() {
 *   const map = yield* CmdExecutionMap.CmdExecutionMap
 *   const id = yield* map.start(hello, undefined)
 *   return yield* map.await(id)
 * }).pipe(Effect.provide(CmdExecutionMap.layerMemory()))
 *
 * @since 0.1.0
 * @category tags
 */
export const CmdExecutionMap: Context.Tag<CmdExecutionMap, CmdExecutionMap> = Context.GenericTag<CmdExecutionMap>(
  "@truce/core/CmdExecutionMap"
)

/**
 * Options of a map.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Finished records are kept this long, then purged (default 24 hours). */
  readonly retention?: Duration.DurationInput | undefined
  /** How often the housekeeper purges (default 30 seconds). */
  readonly housekeepingInterval?: Duration.DurationInput | undefined
  /** At most this many records purged per housekeeping run (default 1000). */
  readonly purgeBatch?: number | undefined
  /** Progress summaries are written to the store at most this often per execution (default 250 ms). */
  readonly progressInterval?: Duration.DurationInput | undefined
  /** A running item silent this long is `Stalled` (default 30 seconds). */
  readonly stallAfter?: Duration.DurationInput | undefined
  /** Events kept per execution for replay (default 4096); older ones are coalesced into snapshots. */
  readonly eventBufferSize?: number | undefined
  /** A finished execution's events stay replayable this long (default 5 minutes). */
  readonly eventLinger?: Duration.DurationInput | undefined
  /** At the end, outputs get this long to render the final events (default 2 seconds). */
  readonly outputDrainTimeout?: Duration.DurationInput | undefined
  /** The grace period of a timeout before it becomes an immediate stop (default 30 seconds). */
  readonly timeoutGrace?: Duration.DurationInput | undefined
  /** A timeout for executions that set none (default: none). */
  readonly defaultTimeout?: Duration.DurationInput | undefined
  /** Per-command concurrency limits (override the executions' own). */
  readonly commandConcurrency?: Readonly<Record<string, number>> | undefined
  /** Commands known at start (for resume and crash recovery). */
  readonly commands?: ReadonlyArray<CmdExecution.AnyNoContext> | undefined
  /** On start, mark executions left unfinished by a lost process (default true). */
  readonly recover?: boolean | undefined
}

/**
 * Creates a map in the current scope (its executions are interrupted — and their
 * outcomes recorded — when the scope closes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<CmdExecutionMap, ExecutionStore.StoreError, ExecutionStore.ExecutionStore | Scope.Scope> =
  internal.make

/**
 * A map over the store in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CmdExecutionMap, ExecutionStore.StoreError, ExecutionStore.ExecutionStore> =>
  Layer.scoped(CmdExecutionMap, internal.make(options))

/**
 * A map over a fresh in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: Options): Layer.Layer<CmdExecutionMap> =>
  layer(options).pipe(Layer.provide(ExecutionStore.layerMemory), Layer.orDie)
