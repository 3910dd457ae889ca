/**
 * Where execution records live: the uniform record, the append-only transition log, and
 * the state each item reached. `CmdExecutionMap` writes through this interface; the
 * in-memory store here is the default, `@truce/sql` provides a durable SQLite store, and
 * every store runs the same conformance suite (`@truce/core/testing/ExecutionStoreConformance`).
 *
 * Contract for implementers:
 * - `insert` fails with `Conflict` when the id exists.
 * - `update` fails with `NotFound` for an unknown id; when the patch changes `state`, it
 *   appends a {@link Transition} (`from` = the previous state) in the same write.
 * - Writes are applied in the order they were submitted (the map relies on this to keep
 *   an execution's changes in order without locking).
 * - An `update` to a terminal state is durable when its Effect succeeds; other writes
 *   (progress, item states) may be batched.
 * - `itemStates` returns the latest state per (block, item).
 * - `query` follows the semantics of `ExecutionQuery` exactly.
 * - `purgeExpired` deletes at most `limit` terminal records whose `expiresAt` is at or
 *   before `now` (with their item states and transitions) and returns how many.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ExecutionQuery, QueryPage } from "./ExecutionQuery.js"
import * as Query from "./ExecutionQuery.js"
import type { ExecutionId, ExecutionRecord, ItemState, RecordPatch, Transition } from "./ExecutionRecord.js"
import { isTerminal } from "./ExecutionRecord.js"
import { ItemStateLog } from "./internal/itemStateLog.js"

/**
 * A store operation failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>("@truce/core/StoreError")("StoreError", {
  reason: Schema.Literal("NotFound", "Conflict", "Unavailable", "Corrupt"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Who or what made a change, recorded in the transition log.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChangeMeta {
  readonly actor?: string | undefined
  readonly reason?: string | undefined
}

/**
 * The store interface.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecutionStore {
  readonly insert: (record: ExecutionRecord) => Effect.Effect<void, StoreError>
  readonly update: (id: ExecutionId, patch: RecordPatch, meta?: ChangeMeta) => Effect.Effect<void, StoreError>
  readonly get: (id: ExecutionId) => Effect.Effect<Option.Option<ExecutionRecord>, StoreError>
  readonly query: (query: ExecutionQuery) => Effect.Effect<QueryPage, StoreError>
  readonly saveItemStates: (states: ReadonlyArray<ItemState>) => Effect.Effect<void, StoreError>
  readonly itemStates: (id: ExecutionId) => Effect.Effect<ReadonlyArray<ItemState>, StoreError>
  readonly transitions: (id: ExecutionId) => Effect.Effect<ReadonlyArray<Transition>, StoreError>
  /** Records in a non-terminal state (`Queued`, `Running`, `Interrupting`). */
  readonly unfinished: Effect.Effect<ReadonlyArray<ExecutionRecord>, StoreError>
  readonly purgeExpired: (now: Date, limit: number) => Effect.Effect<number, StoreError>
}

/**
 * The service tag.
 *
 * @example
 * import { Effect } from "effect"
 * import { ExecutionStore } from "@truce/core"
 *
 * const countRunning = Effect.gen(function*() {
 *   const store = yield* ExecutionStore.ExecutionStore
 *   return (yield* store.unfinished).length
 * }).pipe(Effect.provide(ExecutionStore.layerMemory))
 *
 * @since 0.1.0
 * @category tags
 */
export const ExecutionStore: Context.Tag<ExecutionStore, ExecutionStore> = Context.GenericTag<ExecutionStore>(
  "@truce/core/ExecutionStore"
)

/**
 * Creates an in-memory store. It takes ownership of inserted records (and updates them in
 * place, so a map and its store share one copy of a live record); reads return copies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<ExecutionStore> = Effect.sync(() => {
  const records = new Map<ExecutionId, ExecutionRecord>()
  const transitionLog = new Map<ExecutionId, Array<Transition>>()
  // execution → its item states, in columns (see internal/itemStateLog.ts)
  const items = new Map<ExecutionId, ItemStateLog>()
  const notFound = (id: ExecutionId) => new StoreError({ reason: "NotFound", message: `no execution ${id}` })

  const store: ExecutionStore = {
    insert: (record) =>
      Effect.suspend(() => {
        if (records.has(record.id)) {
          return Effect.fail(new StoreError({ reason: "Conflict", message: `execution ${record.id} exists` }))
        }
        records.set(record.id, record)
        transitionLog.set(record.id, [{
          executionId: record.id,
          at: record.createdAt,
          to: record.state,
          ...(record.owner !== undefined ? { actor: record.owner } : {})
        }])
        return Effect.void
      }),
    update: (id, patch, meta) =>
      Effect.suspend(() => {
        const current = records.get(id)
        if (current === undefined) return Effect.fail(notFound(id))
        const from = current.state
        Object.assign(current, patch)
        if (patch.state !== undefined && patch.state !== from) {
          const log = transitionLog.get(id)
          const transition: Transition = {
            executionId: id,
            at: patch.updatedAt ?? new Date(),
            from,
            to: patch.state,
            ...(meta?.actor !== undefined ? { actor: meta.actor } : {}),
            ...(meta?.reason !== undefined ? { reason: meta.reason } : {})
          }
          // A new array of exactly the right size while the log is short (a push onto a
          // small array reserves 17 slots, for every execution kept).
          if (log !== undefined && log.length < 8) transitionLog.set(id, [...log, transition])
          else log?.push(transition)
        }
        return Effect.void
      }),
    get: (id) =>
      Effect.sync(() => {
        const record = records.get(id)
        return record === undefined ? Option.none() : Option.some({ ...record })
      }),
    query: (query) =>
      Effect.sync(() => {
        const page = Query.run(records.values(), query)
        return { ...page, records: page.records.map((record) => ({ ...record })) }
      }),
    saveItemStates: (states) =>
      Effect.sync(() => {
        for (const state of states) {
          let log = items.get(state.executionId)
          if (log === undefined) {
            log = new ItemStateLog()
            items.set(state.executionId, log)
          }
          log.append(state)
        }
      }),
    itemStates: (id) => Effect.sync(() => items.get(id)?.read(id) ?? []),
    transitions: (id) => Effect.sync(() => [...(transitionLog.get(id) ?? [])]),
    unfinished: Effect.sync(() =>
      [...records.values()].filter((record) => !isTerminal(record.state)).map((record) => ({ ...record }))
    ),
    purgeExpired: (now, limit) =>
      Effect.sync(() => {
        let purged = 0
        for (const record of records.values()) {
          if (purged >= limit) break
          if (
            isTerminal(record.state) && record.expiresAt !== undefined &&
            record.expiresAt.getTime() <= now.getTime()
          ) {
            records.delete(record.id)
            transitionLog.delete(record.id)
            items.delete(record.id)
            purged++
          }
        }
        return purged
      })
  }
  return store
})

/**
 * A layer with a fresh in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ExecutionStore> = Layer.effect(ExecutionStore, makeMemory)
