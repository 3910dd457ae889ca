/**
 * A block is one pass of an execution: a single step, or an item-wise pass over a list of
 * items with stable ids, run concurrently up to a limit, optionally in dependency order.
 * Its input is the previous block's output; its output feeds the next block.
 *
 * Each item's apply is an Effect and receives an {@link ItemContext}: a progress handle, a
 * cooperative interrupt check (`interrupted`, `checkpoint`) and an `AbortSignal` for
 * non-Effect code.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ExecutionId } from "./ExecutionRecord.js"
import type { InterruptRequest, InterruptStrategy } from "./Interrupt.js"
import type { ProgressHandle } from "./Progress.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@truce/core/CmdBlock")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What an item (or a step) gets while it runs.
 *
 * - `progress`: report limit, units and messages.
 * - `interrupted`: true once an interrupt asks this item to stop at its next stopping point
 *   (any graceful or forced interrupt, except under `IgnoreInterruptions`).
 * - `checkpoint`: a stopping point. When `interrupted` is true the item stops here: its
 *   fiber is interrupted (finalizers run) and the outcome lists it as stopped in flight.
 * - `whenInterrupted`: completes with the request when `interrupted` becomes true (to race
 *   long waits against).
 * - `signal`: aborted when the item is being stopped (forced stop, checkpoint, shutdown) —
 *   pass it to `fetch`, child processes and other non-Effect code.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock } from "@truce/core"
 *
 * const apply = (chunks: ReadonlyArray<string>, ctx: CmdBlock.ItemContext) =>
 *   Effect.gen(function*() {
 *     for (const chunk of chunks) {
 *       yield* ctx.checkpoint
 *       yield* Effect.log(`uploading ${chunk}`)
 *       yield* ctx.progress.inc(1)
 *     }
 *   })
 *
 * @since 0.1.0
 * @category models
 */
export interface ItemContext {
  readonly executionId: ExecutionId
  readonly block: string
  readonly itemId: string
  readonly progress: ProgressHandle
  readonly interrupted: Effect.Effect<boolean>
  readonly checkpoint: Effect.Effect<void>
  readonly whenInterrupted: Effect.Effect<InterruptRequest>
  readonly signal: AbortSignal
}

/**
 * One item as the engine schedules it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlannedItem {
  readonly id: string
  readonly dependsOn: ReadonlyArray<string>
}

/**
 * The result of one item, as given to a block's `output` function (in item order).
 * `skipped` is true for items done in an earlier run and not run again.
 *
 * @since 0.1.0
 * @category models
 */
export interface ItemResult<Item, A> {
  readonly id: string
  readonly item: Item
  readonly value: A
  readonly skipped: boolean
}

/**
 * What a block becomes once its input is known. Internal to the engine but public so
 * that custom block kinds can be written.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockPlan<Out, E, R> {
  readonly items: ReadonlyArray<PlannedItem>
  readonly concurrency: number
  readonly onItemError: "continue" | "stop"
  readonly apply: (index: number, ctx: ItemContext) => Effect.Effect<unknown, E, R>
  readonly output: (values: ReadonlyArray<unknown>, skipped: ReadonlyArray<boolean>) => Effect.Effect<Out, E, R>
  readonly encodeState: (value: unknown) => unknown
  readonly decodeState: (encoded: unknown) => { readonly ok: true; readonly value: unknown } | { readonly ok: false }
}

/**
 * A block taking `In`, producing `Out`, failing with `E`, requiring `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CmdBlock<in In, out Out, out E = never, out R = never> {
  readonly [TypeId]: {
    readonly _In: (_: In) => void
    readonly _Out: (_: never) => Out
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
  }
  readonly name: string
  /** `step` blocks fail as a whole (`BlockFailed`); `items` blocks collect item errors (`ItemErrors`). */
  readonly kind: "step" | "items"
  readonly strategy: InterruptStrategy | undefined
  readonly plan: (input: In) => Effect.Effect<BlockPlan<Out, E, R>, E, R>
}

/**
 * A block of any types (for collections of blocks).
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = CmdBlock<any, any, any, any>

const noDependencies: ReadonlyArray<string> = Object.freeze([])

const variance = {
  _In: (_: unknown) => {},
  _Out: (_: never) => _,
  _E: (_: never) => _,
  _R: (_: never) => _
}

const identityState = {
  encodeState: (value: unknown) => value,
  decodeState: (encoded: unknown) => ({ ok: true as const, value: encoded })
}

const stateCodec = <A, I>(schema: Schema.Schema<A, I> | undefined) => {
  if (schema === undefined) return identityState
  return {
    encodeState: (value: unknown) => encodeWith(schema, value),
    decodeState: (encoded: unknown) => decodeWith(schema, encoded)
  }
}

const encodeWith = <A, I>(schema: Schema.Schema<A, I>, value: unknown): unknown => Schema.encodeSync(schema)(value as A)

const decodeWith = <A, I>(
  schema: Schema.Schema<A, I>,
  encoded: unknown
): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  const result = Schema.decodeUnknownEither(schema)(encoded)
  return result._tag === "Right" ? { ok: true, value: result.right } : { ok: false }
}

/**
 * A single step. Its failure is a `BlockFailed` outcome. Give `state` (a Schema of the
 * output) to let a resumed execution reuse the output of a step that completed, when the
 * output is not plain JSON.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock } from "@truce/core"
 *
 * const discover = CmdBlock.step({
 *   name: "discover",
 *   run: (root: string) => Effect.succeed([`${root}/a.txt`, `${root}/b.txt`])
 * })
 *
 * @since 0.1.0
 * @category constructors
 */
export const step = <In, Out, E = never, R = never, I = unknown>(options: {
  readonly name: string
  readonly run: (input: In, ctx: ItemContext) => Effect.Effect<Out, E, R>
  readonly state?: Schema.Schema<Out, I> | undefined
  readonly strategy?: InterruptStrategy | undefined
}): CmdBlock<In, Out, E, R> => ({
  [TypeId]: variance,
  name: options.name,
  kind: "step",
  strategy: options.strategy,
  plan: (input) =>
    Effect.succeed({
      items: [{ id: options.name, dependsOn: [] }],
      concurrency: 1,
      onItemError: "stop",
      apply: (_index, ctx) => options.run(input, ctx),
      output: (values) => Effect.succeed(values[0] as Out),
      ...stateCodec(options.state)
    })
})

/**
 * Options of an item-wise block.
 *
 * @since 0.1.0
 * @category models
 */
export interface ItemsOptions<In, Item, A, E, R, I = unknown> {
  readonly name: string
  /** The items of this pass, from the block's input. */
  readonly items: (input: In) => Iterable<Item> | Effect.Effect<Iterable<Item>, E, R>
  /** A stable, unique id per item (used for progress, errors and resume). */
  readonly id: (item: Item) => string
  readonly apply: (item: Item, ctx: ItemContext) => Effect.Effect<A, E, R>
  /** Items running at once (default 16). */
  readonly concurrency?: number | undefined
  /** Ids of items that must succeed before this one starts. */
  readonly dependsOn?: ((item: Item) => Iterable<string>) | undefined
  /** `reverse` runs dependents first (for clean-up). Default `forward`. */
  readonly order?: "forward" | "reverse" | undefined
  /** On an item error, keep running other items (`continue`, default) or start no more (`stop`). */
  readonly onItemError?: "continue" | "stop" | undefined
  /** A Schema of item results, used to record and restore them across processes. */
  readonly state?: Schema.Schema<A, I> | undefined
  /** Overrides the execution's interrupt strategy for this block. */
  readonly strategy?: InterruptStrategy | undefined
}

/**
 * An item-wise block. Its output is the array of item results in item order, or what
 * `output` builds from them.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock } from "@truce/core"
 *
 * const upload = CmdBlock.items({
 *   name: "upload",
 *   items: (files: ReadonlyArray<string>) => files,
 *   id: (file) => file,
 *   concurrency: 4,
 *   apply: (file, ctx) => ctx.progress.message(`uploading ${file}`).pipe(Effect.as(file.length))
 * })
 * // CmdBlock<ReadonlyArray<string>, ReadonlyArray<number>>
 *
 * @since 0.1.0
 * @category constructors
 */
export function items<In, Item, A, Out, E = never, R = never, I = unknown>(
  options: ItemsOptions<In, Item, A, E, R, I> & {
    readonly output: (
      results: ReadonlyArray<ItemResult<Item, A>>,
      input: In
    ) => Out | Effect.Effect<Out, E, R>
  }
): CmdBlock<In, Out, E, R>
export function items<In, Item, A, E = never, R = never, I = unknown>(
  options: ItemsOptions<In, Item, A, E, R, I>
): CmdBlock<In, ReadonlyArray<A>, E, R>
export function items<In, Item, A, Out, E, R, I>(
  options: ItemsOptions<In, Item, A, E, R, I> & {
    readonly output?: (
      results: ReadonlyArray<ItemResult<Item, A>>,
      input: In
    ) => Out | Effect.Effect<Out, E, R>
  }
): CmdBlock<In, Out, E, R> {
  const concurrency = options.concurrency ?? 16
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`CmdBlock.items(${options.name}): concurrency must be a positive integer`)
  }
  const codec = stateCodec(options.state)
  return {
    [TypeId]: variance,
    name: options.name,
    kind: "items",
    strategy: options.strategy,
    plan: (input) => {
      const listed = options.items(input)
      const listEffect: Effect.Effect<Iterable<Item>, E, R> = Effect.isEffect(listed)
        ? listed
        : Effect.succeed(listed)
      return Effect.map(listEffect, (iterable) => {
        const list = Array.isArray(iterable) ? iterable as ReadonlyArray<Item> : Array.from(iterable)
        const planned: Array<PlannedItem> = new Array(list.length)
        for (let i = 0; i < list.length; i++) {
          const item = list[i] as Item
          planned[i] = {
            id: options.id(item),
            dependsOn: options.dependsOn === undefined ? noDependencies : Array.from(options.dependsOn(item))
          }
        }
        const reversed = options.order === "reverse"
        return new ItemsPlan(
          list,
          reversed ? reverseDependencies(planned) : planned,
          input,
          concurrency,
          options.onItemError ?? "continue",
          options.apply,
          options.output,
          codec
        )
      })
    }
  }
}

/**
 * The plan of an items block. A class rather than an object of closures: one lives per
 * block of every execution in flight.
 */
class ItemsPlan<In, Item, A, E, R, Out> implements BlockPlan<Out, E, R> {
  readonly encodeState: (value: unknown) => unknown
  readonly decodeState: (encoded: unknown) => { readonly ok: true; readonly value: unknown } | { readonly ok: false }

  constructor(
    readonly list: ReadonlyArray<Item>,
    readonly items: ReadonlyArray<PlannedItem>,
    readonly input: In,
    readonly concurrency: number,
    readonly onItemError: "continue" | "stop",
    readonly applyItem: (item: Item, ctx: ItemContext) => Effect.Effect<A, E, R>,
    readonly outputOf:
      | ((results: ReadonlyArray<ItemResult<Item, A>>, input: In) => Out | Effect.Effect<Out, E, R>)
      | undefined,
    codec: Pick<BlockPlan<Out, E, R>, "encodeState" | "decodeState">
  ) {
    this.encodeState = codec.encodeState
    this.decodeState = codec.decodeState
  }

  apply(index: number, ctx: ItemContext): Effect.Effect<unknown, E, R> {
    return this.applyItem(this.list[index] as Item, ctx)
  }

  output(values: ReadonlyArray<unknown>, skipped: ReadonlyArray<boolean>): Effect.Effect<Out, E, R> {
    if (this.outputOf === undefined) return Effect.succeed(values as unknown as Out)
    const results: Array<ItemResult<Item, A>> = new Array(this.list.length)
    for (let i = 0; i < this.list.length; i++) {
      results[i] = {
        id: this.items[i]?.id as string,
        item: this.list[i] as Item,
        value: values[i] as A,
        skipped: skipped[i] === true
      }
    }
    const out = this.outputOf(results, this.input)
    return Effect.isEffect(out) ? out : Effect.succeed(out)
  }
}

/**
 * Inverts the dependency edges: an item that others depend on now waits for them.
 */
const reverseDependencies = (planned: ReadonlyArray<PlannedItem>): ReadonlyArray<PlannedItem> => {
  const dependents = new Map<string, Array<string>>()
  for (const item of planned) {
    for (const dependency of item.dependsOn) {
      const list = dependents.get(dependency)
      if (list === undefined) dependents.set(dependency, [item.id])
      else list.push(item.id)
    }
  }
  const known = new Set(planned.map((item) => item.id))
  return planned.map((item) => ({
    id: item.id,
    // An unknown dependency stays visible so the engine reports it.
    dependsOn: [
      ...(dependents.get(item.id) ?? []),
      ...item.dependsOn.filter((dependency) => !known.has(dependency))
    ]
  }))
}
