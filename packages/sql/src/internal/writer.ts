/**
 * Group commit: every write of the store is queued, and one writer fiber commits all the
 * writes queued at that moment in one SQLite transaction. The Effect of each write
 * completes only once its transaction has committed, so a write that has completed is
 * visible to every later read and survives the process.
 *
 * Inside a transaction, consecutive writes of the same shape run as one statement:
 * inserts become one multi-row insert, row updates with the same `SET` list (progress
 * snapshots, state changes) one `UPDATE … FROM (VALUES …)`, item states one multi-row
 * upsert. Order is kept: only consecutive writes merge, and two writes of the same row
 * never share a statement.
 *
 * A write either succeeds, fails on its own with a logical `StoreError` (`NotFound`,
 * `Conflict` — decided before it wrote anything), or fails with an `SqlError`. An SQL error
 * rolls the whole batch back; its writes are then retried one transaction each, so one bad
 * write never fails the others.
 *
 * @internal
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { StoreError } from "@truce/core/ExecutionStore"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { executionColumns, type SqlValue } from "./codec.js"
import { conflict, fromCause, notFound, unavailable } from "./errors.js"

/** What a write may run inside the batch's transaction. */
export interface Tx {
  readonly rows: <Row extends object>(
    sql: string,
    params: ReadonlyArray<SqlValue>
  ) => Effect.Effect<ReadonlyArray<Row>, SqlError>
}

/** A free-form write: statements run in the batch transaction, and the value its caller receives. */
export type Work<A> = (tx: Tx) => Effect.Effect<A, StoreError | SqlError>

/**
 * An update of one row of `executions`: `assignments` is the `SET` list with `?` for each
 * of `values`, in order. Fails with `NotFound` when the row does not exist.
 */
export interface RowUpdate {
  readonly id: string
  readonly assignments: string
  readonly values: ReadonlyArray<SqlValue>
}

/** Columns of one `item_states` row, in table order. */
export type ItemStateValues = ReadonlyArray<SqlValue>

/**
 * An insert into `executions` (`row` in the order of `executionColumns`), then the rows of
 * its side tables. Fails with `Conflict` when the id exists.
 */
export interface RowInsert {
  readonly id: string
  readonly row: ReadonlyArray<SqlValue>
  /** Writes the side-table rows, given the new row's `seq` (absent when there are none). */
  readonly afterInsert: ((tx: Tx, seq: number) => Effect.Effect<void, SqlError>) | undefined
}

type Payload =
  | { readonly _tag: "Work"; readonly work: Work<unknown> }
  | { readonly _tag: "Insert"; readonly insert: RowInsert }
  | { readonly _tag: "Update"; readonly update: RowUpdate }
  | { readonly _tag: "ItemStates"; readonly rows: ReadonlyArray<ItemStateValues> }

interface Pending<P extends Payload = Payload> {
  readonly payload: P
  /** The result of the last attempt (set while running; handed over after the commit). */
  result: Exit.Exit<unknown, StoreError> | undefined
  readonly resume: (exit: Exit.Exit<unknown, StoreError>) => void
}

type UpdatePending = Pending<Extract<Payload, { readonly _tag: "Update" }>>
type ItemStatesPending = Pending<Extract<Payload, { readonly _tag: "ItemStates" }>>
type WorkPending = Pending<Extract<Payload, { readonly _tag: "Work" }>>
type InsertPending = Pending<Extract<Payload, { readonly _tag: "Insert" }>>

export interface Writer {
  /** Queues a free-form write; succeeds once it is committed. */
  readonly submit: <A>(work: Work<A>) => Effect.Effect<A, StoreError>
  /** Queues an insert; succeeds once it is committed. */
  readonly insert: (insert: RowInsert) => Effect.Effect<void, StoreError>
  /** Queues a row update; succeeds once it is committed. */
  readonly update: (update: RowUpdate) => Effect.Effect<void, StoreError>
  /** Queues item-state upserts; succeeds once they are committed. */
  readonly saveItemStates: (rows: ReadonlyArray<ItemStateValues>) => Effect.Effect<void, StoreError>
}

export interface WriterOptions {
  /** Most writes per transaction (1 = one transaction per write). */
  readonly maxBatchSize: number
}

/** Why a batch did not commit: one of its statements, or the transaction itself. */
class BatchFailure {
  readonly _tag = "BatchFailure"
  constructor(readonly phase: "statement" | "transaction", readonly cause: Cause.Cause<unknown>) {}
}

const isStoreError = (u: unknown): u is StoreError =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "StoreError"

/** Rows per merged statement: powers of two up to this, so few distinct statements are prepared. */
const maxRowsPerStatement = 64

const chunkSizes = (n: number): Array<number> => {
  const sizes: Array<number> = []
  let left = n
  while (left > 0) {
    let size = maxRowsPerStatement
    while (size > left) size >>= 1
    sizes.push(size)
    left -= size
  }
  return sizes
}

const placeholders = (columns: number) => `(${Array.from({ length: columns }, () => "?").join(", ")})`

/** Memoises the SQL text built for a key (a bounded cache: statements are keyed by shape and row count). */
const memoized = <K>(build: (key: K) => string): (key: K) => string => {
  const cache = new Map<K, string>()
  return (key) => {
    let sql = cache.get(key)
    if (sql === undefined) {
      sql = build(key)
      if (cache.size >= 500) cache.clear()
      cache.set(key, sql)
    }
    return sql
  }
}

const valuesList = (rows: number, columns: number) =>
  Array.from({ length: rows }, () => placeholders(columns)).join(", ")

/** `UPDATE executions … FROM (VALUES (id, v1, v2, …), …)`: the n-th `?` of the SET list reads column n + 1. */
const updateSql = memoized((key: string) => {
  const [rows, valueCount, assignments] = key.split("\u0000") as [string, string, string]
  let n = 1
  const set = assignments.replace(/\?/g, () => `v.column${++n}`)
  return `UPDATE executions SET ${set} FROM (VALUES ${valuesList(Number(rows), Number(valueCount) + 1)}) AS v ` +
    "WHERE executions.id = v.column1 RETURNING executions.id AS id"
})

/** Rows of unknown executions find no `seq` and are dropped by the join. */
const upsertItemStatesSql = memoized((rows: number) =>
  "INSERT INTO item_states (execution_seq, block, item, status, value, error, started_at, finished_at) " +
  "SELECT e.seq, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8 " +
  `FROM (VALUES ${valuesList(rows, 8)}) AS v JOIN executions e ON e.id = v.column1 WHERE true ` +
  "ON CONFLICT (execution_seq, block, item) DO UPDATE SET status = excluded.status, value = excluded.value, " +
  "error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at"
)

const insertRowsSql = memoized((rows: number) =>
  `INSERT INTO executions (${executionColumns.join(", ")}) VALUES ${valuesList(rows, executionColumns.length)} ` +
  "ON CONFLICT (id) DO NOTHING RETURNING id, seq"
)

/** Runs consecutive inserts (distinct ids) as multi-row inserts, then their side-table rows. */
const runInserts = (tx: Tx, group: ReadonlyArray<InsertPending>): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    let offset = 0
    for (const size of chunkSizes(group.length)) {
      const params: Array<SqlValue> = []
      for (let i = offset; i < offset + size; i++) params.push(...(group[i] as InsertPending).payload.insert.row)
      const inserted = yield* tx.rows<{ readonly id: string; readonly seq: number }>(insertRowsSql(size), params)
      const seqs = new Map(inserted.map((row) => [row.id, row.seq]))
      for (let i = offset; i < offset + size; i++) {
        const pending = group[i] as InsertPending
        const { afterInsert, id } = pending.payload.insert
        const seq = seqs.get(id)
        if (seq === undefined) {
          pending.result = Exit.fail(conflict(id))
          continue
        }
        if (afterInsert !== undefined) yield* afterInsert(tx, seq)
        pending.result = succeeded
      }
      offset += size
    }
  })

const succeeded: Exit.Exit<unknown, StoreError> = Exit.void

/** Runs consecutive row updates of one shape (distinct rows) in as few statements as possible. */
const runUpdates = (tx: Tx, group: ReadonlyArray<UpdatePending>): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    const first = group[0]
    if (first === undefined) return
    const { assignments, values } = first.payload.update
    let offset = 0
    for (const size of chunkSizes(group.length)) {
      const params: Array<SqlValue> = []
      for (let i = offset; i < offset + size; i++) {
        const update = (group[i] as UpdatePending).payload.update
        params.push(update.id, ...update.values)
      }
      const statement = updateSql(`${size}\u0000${values.length}\u0000${assignments}`)
      const found = yield* tx.rows<{ readonly id: string }>(statement, params)
      const updated = new Set(found.map((row) => row.id))
      for (let i = offset; i < offset + size; i++) {
        const pending = group[i] as UpdatePending
        const id = pending.payload.update.id
        pending.result = updated.has(id) ? succeeded : Exit.fail(notFound(id))
      }
      offset += size
    }
  })

/** Runs consecutive item-state writes as multi-row upserts; for one item, the latest write wins. */
const runItemStates = (tx: Tx, group: ReadonlyArray<ItemStatesPending>): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    const latest = new Map<string, ItemStateValues>()
    for (const pending of group) {
      for (const row of pending.payload.rows) {
        const key = `${row[0]}\u0000${row[1]}\u0000${row[2]}`
        latest.delete(key)
        latest.set(key, row)
      }
    }
    const rows = [...latest.values()]
    let offset = 0
    for (const size of chunkSizes(rows.length)) {
      const params: Array<SqlValue> = []
      for (let i = offset; i < offset + size; i++) params.push(...(rows[i] as ItemStateValues))
      yield* tx.rows(upsertItemStatesSql(size), params)
      offset += size
    }
    for (const pending of group) pending.result = succeeded
  })

const runWork = (tx: Tx, pending: WorkPending): Effect.Effect<void, SqlError> =>
  Effect.matchEffect(pending.payload.work(tx), {
    onFailure: (error) => {
      if (isStoreError(error)) {
        pending.result = Exit.fail(error)
        return Effect.void
      }
      return Effect.fail(error)
    },
    onSuccess: (value) => {
      pending.result = Exit.succeed(value)
      return Effect.void
    }
  })

const isPending = <Tag extends Payload["_tag"]>(
  pending: Pending,
  tag: Tag
): pending is Pending<Extract<Payload, { readonly _tag: Tag }>> => pending.payload._tag === tag

/** Runs a batch's writes in order, merging consecutive writes of the same shape. */
const runAll = (tx: Tx, batch: ReadonlyArray<Pending>): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    let i = 0
    while (i < batch.length) {
      const pending = batch[i] as Pending
      let end = i + 1
      if (isPending(pending, "Insert")) {
        const ids = new Set([pending.payload.insert.id])
        const group: Array<InsertPending> = [pending]
        for (; end < batch.length; end++) {
          const next = batch[end] as Pending
          if (!isPending(next, "Insert") || ids.has(next.payload.insert.id)) break
          ids.add(next.payload.insert.id)
          group.push(next)
        }
        yield* runInserts(tx, group)
      } else if (isPending(pending, "Update")) {
        const update = pending.payload.update
        const rows = new Set([update.id])
        const group: Array<UpdatePending> = [pending]
        for (; end < batch.length; end++) {
          const next = batch[end] as Pending
          if (!isPending(next, "Update")) break
          const nextUpdate = next.payload.update
          if (nextUpdate.assignments !== update.assignments || rows.has(nextUpdate.id)) break
          rows.add(nextUpdate.id)
          group.push(next)
        }
        yield* runUpdates(tx, group)
      } else if (isPending(pending, "ItemStates")) {
        const group: Array<ItemStatesPending> = [pending]
        for (; end < batch.length; end++) {
          const next = batch[end] as Pending
          if (!isPending(next, "ItemStates")) break
          group.push(next)
        }
        yield* runItemStates(tx, group)
      } else if (isPending(pending, "Work")) {
        yield* runWork(tx, pending)
      }
      i = end
    }
  })

/** Resumes after the event loop has run once (timers and I/O included). */
const nextMacrotask: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Starts the writer in the current scope. Closing the scope stops new writes (they fail
 * with `Unavailable`), commits the writes already queued, then stops the writer.
 */
export const make = (
  sql: SqlClient.SqlClient,
  options: WriterOptions
): Effect.Effect<Writer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending>()
    let closed = false

    const enqueue = <A>(payload: Payload): Effect.Effect<A, StoreError> =>
      Effect.async<A, StoreError>((resume) => {
        let resumed = false
        queue.unsafeOffer({
          payload,
          result: undefined,
          resume: (exit) => {
            if (resumed) return
            resumed = true
            // The result was produced by this caller's own write, whose value type is A.
            resume(exit as Exit.Exit<A, StoreError>)
          }
        })
      })

    const closedError = unavailable("the SQLite store is closed")

    const write = <A>(payload: Payload): Effect.Effect<A, StoreError> =>
      Effect.suspend(() => closed ? Effect.fail(closedError) : enqueue<A>(payload))

    const writer: Writer = {
      submit: <A>(work: Work<A>) => write<A>({ _tag: "Work", work }),
      insert: (insert) => write<void>({ _tag: "Insert", insert }),
      update: (update) => write<void>({ _tag: "Update", update }),
      saveItemStates: (rows) => write<void>({ _tag: "ItemStates", rows })
    }

    /**
     * Runs a batch in one transaction. On failure (after rolling back) it says whether a
     * statement of the batch failed (some write is to blame) or the transaction itself
     * (BEGIN / COMMIT: busy, I/O — no write is to blame).
     */
    const commit = (batch: ReadonlyArray<Pending>): Effect.Effect<void, BatchFailure> =>
      Effect.scoped(Effect.gen(function*() {
        const connection = yield* Effect.catchAllCause(
          sql.reserve,
          (cause) => Effect.fail(new BatchFailure("transaction", cause))
        )
        const tx: Tx = {
          rows: <Row extends object>(statement: string, params: ReadonlyArray<SqlValue>) =>
            connection.execute(statement, params, undefined) as Effect.Effect<ReadonlyArray<Row>, SqlError>
        }
        const control = (statement: string) =>
          Effect.catchAllCause(
            connection.executeUnprepared(statement, [], undefined),
            (cause) => Effect.fail(new BatchFailure("transaction", cause))
          )
        yield* control("BEGIN IMMEDIATE")
        const exit = yield* Effect.exit(
          Effect.catchAllCause(runAll(tx, batch), (cause) => Effect.fail(new BatchFailure("statement", cause))).pipe(
            Effect.zipRight(control("COMMIT"))
          )
        )
        if (Exit.isFailure(exit)) {
          yield* connection.executeUnprepared("ROLLBACK", [], undefined).pipe(Effect.ignore)
          return yield* Effect.failCause(exit.cause)
        }
      }))

    const process = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
      Effect.matchCauseEffect(commit(batch), {
        onSuccess: () =>
          Effect.sync(() => {
            for (const pending of batch) pending.resume(pending.result ?? succeeded)
          }),
        onFailure: (cause) => {
          const failure = Cause.failureOption(cause)
          const blame = Option.isSome(failure) ? failure.value : undefined
          if (batch.length > 1 && blame?.phase === "statement") {
            // Find the culprit: each write in its own transaction.
            return Effect.forEach(batch, (pending) => process([pending]), { discard: true })
          }
          const error = Exit.fail(
            fromCause(blame !== undefined ? blame.cause : cause, "could not commit a write")
          )
          return Effect.sync(() => {
            for (const pending of batch) pending.resume(error)
          })
        }
      })

    const maxBatchSize = Math.max(1, Math.floor(options.maxBatchSize))
    yield* Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      // One turn of the event loop before committing: writes from I/O callbacks and other
      // fibers join this batch, and timers and I/O run between commits (SQLite calls are
      // synchronous, so without it a busy writer would starve the event loop).
      yield* nextMacrotask
      const rest = maxBatchSize > 1 ? yield* Queue.takeUpTo(queue, maxBatchSize - 1) : Chunk.empty<Pending>()
      yield* Effect.uninterruptible(process([first, ...Chunk.toReadonlyArray(rest)]))
    }).pipe(Effect.forever, Effect.forkScoped)

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closed = true
        // Every write queued before `closed` commits before the writer stops.
        yield* enqueue<unknown>({ _tag: "Work", work: () => Effect.void }).pipe(Effect.ignore)
        const left = yield* Queue.takeAll(queue)
        const error = Exit.fail(unavailable("the SQLite store closed before this write committed"))
        Chunk.forEach(left, (pending) => pending.resume(error))
      })
    )

    return writer
  })
