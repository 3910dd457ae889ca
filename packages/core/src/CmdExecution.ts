/**
 * An execution is an ordered list of blocks; the output of one block is the input of the
 * next, typed end to end: a block whose input does not match the previous output is a
 * compile error.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import { dual } from "effect/Function"
import type { ParseError } from "effect/ParseResult"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import type * as CmdBlock from "./CmdBlock.js"
import type { Options as MapOptions, StartOptions } from "./CmdExecutionMap.js"
import type { CmdDefect, CmdOutcome } from "./CmdOutcome.js"
import * as ExecutionStore from "./ExecutionStore.js"
import * as internalMap from "./internal/executionMap.js"
import type { InterruptStrategy } from "./Interrupt.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@truce/core/CmdExecution")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Defaults for every run of an execution (each can be overridden when starting one).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecutionOptions {
  /** How a graceful interrupt is applied (default `FinishCurrent`). */
  readonly strategy?: InterruptStrategy | undefined
  /** Interrupt with source `timeout` after this long (default: no timeout). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Count time spent `Queued` towards the timeout (default false). */
  readonly timeoutIncludesQueue?: boolean | undefined
  /** After a graceful interrupt, escalate to an immediate stop after this long. */
  readonly graceTimeout?: Duration.DurationInput | undefined
  /** `false` refuses interrupt requests (timeouts and shutdown still apply). Default true. */
  readonly cancellable?: boolean | undefined
  /** Resume automatically after the process running it was lost (default false). */
  readonly resumable?: boolean | undefined
  /** At most this many executions of this command run at once in a map; others are `Queued`. */
  readonly concurrency?: number | undefined
  /** Do not keep the input on the record. */
  readonly redactInput?: boolean | undefined
}

/**
 * An execution definition taking `In` and producing `Out`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CmdExecution<In, Out, E = never, R = never> extends Pipeable {
  readonly [TypeId]: {
    readonly _In: (_: In) => void
    readonly _Out: (_: never) => Out
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
  }
  /** The command name: records, queries, concurrency limits and resume use it. */
  readonly name: string
  readonly blocks: ReadonlyArray<CmdBlock.Any>
  readonly options: ExecutionOptions
  /** The input's Schema, when one was given (HTTP validates with it; records keep the encoded input). */
  readonly inputSchema: Schema.Schema.AnyNoContext | undefined
  readonly decodeInput: (input: unknown) => Either.Either<In, ParseError>
  readonly encodeInput: (input: In) => unknown
}

/**
 * An execution of any types.
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = CmdExecution<any, any, any, any>

/**
 * An execution that needs no services (what a map can resume on its own).
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNoContext = CmdExecution<any, any, any, never>

const Proto = {
  [Symbol.for("@truce/core/CmdExecution")]: {
    _In: (_: unknown) => {},
    _Out: (_: never) => _,
    _E: (_: never) => _,
    _R: (_: never) => _
  },
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

const build = <In, Out, E, R>(fields: {
  readonly name: string
  readonly blocks: ReadonlyArray<CmdBlock.Any>
  readonly options: ExecutionOptions
  readonly inputSchema: Schema.Schema.AnyNoContext | undefined
  readonly decodeInput: (input: unknown) => Either.Either<In, ParseError>
  readonly encodeInput: (input: In) => unknown
}): CmdExecution<In, Out, E, R> => Object.assign(Object.create(Proto), fields)

/**
 * Starts a definition with no blocks. Give `input` (a Schema) to validate untyped input
 * (HTTP) and to keep the encoded input on records for resume.
 *
 * @example
 * import { Effect, Schema } from "effect"
 * import { CmdBlock, CmdExecution } from "@truce/core"
 *
 * const deploy = CmdExecution.make("deploy", { input: Schema.Struct({ version: Schema.String }) }).pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "plan", run: (input: { readonly version: string }) => Effect.succeed([input.version]) })),
 *   CmdExecution.andThen(CmdBlock.items({
 *     name: "apply",
 *     items: (versions: ReadonlyArray<string>) => versions,
 *     id: (version) => version,
 *     apply: (version) => Effect.log(`deploying ${version}`)
 *   }))
 * )
 *
 * @since 0.1.0
 * @category constructors
 */
export function make<In = void>(name: string, options?: ExecutionOptions): CmdExecution<In, In>
export function make<A, I>(
  name: string,
  options: ExecutionOptions & { readonly input: Schema.Schema<A, I> }
): CmdExecution<A, A>
export function make<A, I>(
  name: string,
  options?: ExecutionOptions & { readonly input?: Schema.Schema<A, I> | undefined }
): CmdExecution<A, A> {
  if (name.length === 0) throw new RangeError("CmdExecution.make: the name must not be empty")
  const { input, ...rest } = options ?? {}
  if (rest.concurrency !== undefined && (!Number.isInteger(rest.concurrency) || rest.concurrency < 1)) {
    throw new RangeError(`CmdExecution.make(${name}): concurrency must be a positive integer`)
  }
  if (input === undefined) {
    return build<A, A, never, never>({
      name,
      blocks: [],
      options: rest,
      inputSchema: undefined,
      decodeInput: (value) => ({ _tag: "Right", right: value as A }) as Either.Either<A, ParseError>,
      encodeInput: (value) => value
    })
  }
  const decode = Schema.decodeUnknownEither(input)
  const encode = Schema.encodeSync(input)
  return build<A, A, never, never>({
    name,
    blocks: [],
    options: rest,
    inputSchema: input as Schema.Schema.AnyNoContext,
    decodeInput: (value) => decode(value),
    encodeInput: (value) => encode(value)
  })
}

/**
 * Appends a block. Its input type must accept the execution's current output type.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution } from "@truce/core"
 *
 * const count = CmdBlock.step({ name: "count", run: (text: string) => Effect.succeed(text.length) })
 * const double = CmdBlock.step({ name: "double", run: (n: number) => Effect.succeed(n * 2) })
 * const program = CmdExecution.make<string>("measure").pipe(CmdExecution.andThen(count), CmdExecution.andThen(double))
 *
 * @since 0.1.0
 * @category combinators
 */
export const andThen: {
  <Mid, Out2, E2, R2>(
    block: CmdBlock.CmdBlock<Mid, Out2, E2, R2>
  ): <In, E, R>(self: CmdExecution<In, Mid, E, R>) => CmdExecution<In, Out2, E | E2, R | R2>
  <In, Mid, E, R, Out2, E2, R2>(
    self: CmdExecution<In, Mid, E, R>,
    block: CmdBlock.CmdBlock<Mid, Out2, E2, R2>
  ): CmdExecution<In, Out2, E | E2, R | R2>
} = dual(2, <In, Mid, E, R, Out2, E2, R2>(
  self: CmdExecution<In, Mid, E, R>,
  block: CmdBlock.CmdBlock<Mid, Out2, E2, R2>
): CmdExecution<In, Out2, E | E2, R | R2> => {
  if (self.blocks.some((existing) => existing.name === block.name)) {
    throw new RangeError(`CmdExecution ${self.name}: a block named ${JSON.stringify(block.name)} exists already`)
  }
  return build({
    name: self.name,
    blocks: [...self.blocks, block],
    options: self.options,
    inputSchema: self.inputSchema,
    decodeInput: self.decodeInput,
    encodeInput: self.encodeInput
  })
})

/**
 * Replaces some of the default options.
 *
 * @example
 * import { CmdExecution, Interrupt } from "@truce/core"
 * const patient = CmdExecution.make("backup").pipe(CmdExecution.withOptions({ strategy: Interrupt.PollNextN({ n: 2 }) }))
 *
 * @since 0.1.0
 * @category combinators
 */
export const withOptions: {
  (options: ExecutionOptions): <In, Out, E, R>(self: CmdExecution<In, Out, E, R>) => CmdExecution<In, Out, E, R>
  <In, Out, E, R>(self: CmdExecution<In, Out, E, R>, options: ExecutionOptions): CmdExecution<In, Out, E, R>
} = dual(2, <In, Out, E, R>(self: CmdExecution<In, Out, E, R>, options: ExecutionOptions) =>
  build<In, Out, E, R>({
    name: self.name,
    blocks: self.blocks,
    options: { ...self.options, ...options },
    inputSchema: self.inputSchema,
    decodeInput: self.decodeInput,
    encodeInput: self.encodeInput
  }))

/**
 * The outcome type of an execution.
 *
 * @since 0.1.0
 * @category models
 */
export type OutcomeOf<X> = X extends CmdExecution<infer _In, infer Out, infer E, infer _R> ?
  CmdOutcome<Out, E | CmdDefect>
  : never

/**
 * The effect type of running an execution (used by `CmdExecutionMap.run`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunEffect<Out, E, R, Err> = Effect.Effect<CmdOutcome<Out, E | CmdDefect>, Err, R>

/**
 * Runs an execution to its outcome without a long-lived map (an in-memory map is made
 * for the run and closed afterwards). Interrupting the returned effect interrupts the
 * execution, which still produces its outcome (source `shutdown`) before the effect ends.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution, CmdOutcome } from "@truce/core"
 *
 * const hello = CmdExecution.make<string>("hello").pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "greet", run: (name: string) => Effect.succeed(`hello ${name}`) }))
 * )
 * const program = CmdExecution.run(hello, "world").pipe(
 *   Effect.map(CmdOutcome.match({
 *     Complete: (outcome) => outcome.value,
 *     BlockInterrupted: () => "interrupted",
 *     ExecutionInterrupted: () => "interrupted",
 *     ItemErrors: () => "failed",
 *     BlockFailed: () => "failed"
 *   }))
 * )
 *
 * @since 0.1.0
 * @category running
 */
export const run = <In, Out, E, R>(
  execution: CmdExecution<In, Out, E, R>,
  input: In,
  options?: RunOptions
): Effect.Effect<CmdOutcome<Out, E | CmdDefect>, never, R> =>
  Effect.scoped(
    Effect.flatMap(
      internalMap.make({ recover: false, ...options?.map }),
      (map) =>
        map.start(execution, input, options).pipe(
          Effect.flatMap((id) => map.await(id)),
          Effect.map((outcome) => outcome as CmdOutcome<Out, E | CmdDefect>)
        )
    ).pipe(Effect.provide(ExecutionStore.layerMemory))
  ).pipe(Effect.orDie)

/**
 * Options of {@link run}: those of a start, plus options for the temporary map.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends StartOptions {
  readonly map?: MapOptions | undefined
}
