/**
 * The SQLite `ExecutionStore`: reads run directly on the client; writes go through the
 * group-commit writer.
 *
 * @internal
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { ExecutionRecord as Model, ExecutionStore as Api } from "@truce/core"
import { cursorAfter } from "@truce/core/ExecutionQuery"
import { StoreError } from "@truce/core/ExecutionStore"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { EncodedInterrupt, ExecutionRow, ItemStateRow, SqlValue, TransitionRow } from "./codec.js"
import * as Codec from "./codec.js"
import { fromCause, fromError, notFound } from "./errors.js"
import * as CompileQuery from "./query.js"
import { migrations, migrationsTable, terminalStatesSql, unfinishedStatesSql } from "./schema.js"
import type { Tx } from "./writer.js"
import * as Writer from "./writer.js"

/** Options of `make`. */
export interface MakeOptions {
  readonly synchronous?: "normal" | "full" | undefined
  readonly busyTimeout?: Duration.DurationInput | undefined
  readonly maxBatchSize?: number | undefined
}

const insertLabelSql = "INSERT OR REPLACE INTO labels (execution_seq, name, value) VALUES (?, ?, ?)"

const insertGrantSql = "INSERT OR IGNORE INTO grants (execution_seq, access, kind, value) VALUES (?, ?, ?, ?)"

const insertInterruptSql = "INSERT OR IGNORE INTO interrupts " +
  "(execution_seq, position, at, source, mode, reason, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?)"

const expiredSql = `SELECT seq FROM executions WHERE state IN ${terminalStatesSql} AND expires_at <= ? ` +
  "ORDER BY expires_at LIMIT ?"

/** The tables holding rows of an execution, child tables first. */
const purgedTables = ["item_states", "transitions", "interrupts", "labels", "grants"] as const

/** The integer key of the row a write returned (`RETURNING seq`). */
const seqOf = (rows: ReadonlyArray<{ readonly seq?: unknown }>): number | undefined => {
  const seq = rows[0]?.seq
  return typeof seq === "number" ? seq : undefined
}

const fromEither = <A>(either: Either.Either<A, StoreError>): Effect.Effect<A, StoreError> =>
  Either.isRight(either) ? Effect.succeed(either.right) : Effect.fail(either.left)

const decodeAll = <Row, A>(
  rows: ReadonlyArray<Row>,
  decode: (row: Row) => Either.Either<A, StoreError>
): Effect.Effect<ReadonlyArray<A>, StoreError> => {
  const out: Array<A> = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const decoded = decode(rows[i] as Row)
    if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
    out[i] = decoded.right
  }
  return Effect.succeed(out)
}

const writeInterrupts = (tx: Tx, seq: number, interrupts: ReadonlyArray<EncodedInterrupt>) =>
  Effect.forEach(
    interrupts,
    (request, position) =>
      tx.rows(insertInterruptSql, [
        seq,
        position,
        request.at,
        request.source,
        request.mode,
        request.reason,
        request.requestedBy
      ]),
    { discard: true }
  )

const writeLabels = (tx: Tx, seq: number, labels: ReadonlyArray<readonly [string, string]>) =>
  Effect.forEach(labels, ([name, value]) => tx.rows(insertLabelSql, [seq, name, value]), { discard: true })

const writeGrants = (tx: Tx, seq: number, grants: Codec.EncodedRecord["grants"]) =>
  Effect.forEach(
    grants,
    ([access, kind, value]) => tx.rows(insertGrantSql, [seq, access, kind, value]),
    { discard: true }
  )

const pragmas = (sql: SqlClient.SqlClient, options: MakeOptions) => {
  const busyMs = Math.max(0, Math.round(Duration.toMillis(options.busyTimeout ?? Duration.seconds(5))))
  return Effect.forEach(
    [
      "PRAGMA journal_mode = WAL",
      `PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`,
      `PRAGMA busy_timeout = ${busyMs}`,
      "PRAGMA temp_store = MEMORY",
      "PRAGMA cache_size = -32000"
    ],
    (statement) => sql.unsafe(statement),
    { discard: true }
  )
}

/** Runs the store's migrations (idempotent). */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  StoreError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable }).pipe(
  Effect.catchAllCause((cause) => Effect.fail(fromCause(cause, "could not migrate the SQLite store")))
)

/** Creates the store over the `SqlClient` in context (an SQLite database). */
export const make = (
  options: MakeOptions = {}
): Effect.Effect<Api.ExecutionStore, StoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    yield* pragmas(sql, options).pipe(
      Effect.catchAllCause((cause) => Effect.fail(fromCause(cause, "could not configure the SQLite database")))
    )
    yield* Effect.provideService(migrate, SqlClient.SqlClient, sql)
    const writer = yield* Writer.make(sql, { maxBatchSize: options.maxBatchSize ?? 1000 })

    const read = <Row extends object>(statement: string, params: ReadonlyArray<SqlValue>) =>
      sql.unsafe<Row>(statement, params).withoutTransform.pipe(
        Effect.catchAllCause((cause) => Effect.fail(fromCause(cause, "could not read the SQLite store")))
      )

    const insert = (record: Model.ExecutionRecord): Effect.Effect<void, StoreError> =>
      Effect.flatMap(fromEither(Codec.encodeForInsert(record)), (encoded) => {
        const sideRows = encoded.labels.length + encoded.grants.length + encoded.interrupts.length
        return writer.insert({
          id: record.id,
          row: encoded.row,
          afterInsert: sideRows === 0 ? undefined : (tx, seq) =>
            Effect.all([
              writeLabels(tx, seq, encoded.labels),
              writeGrants(tx, seq, encoded.grants),
              writeInterrupts(tx, seq, encoded.interrupts)
            ], { discard: true })
        })
      })

    const update = (
      id: Model.ExecutionId,
      patch: Model.RecordPatch,
      meta?: Api.ChangeMeta
    ): Effect.Effect<void, StoreError> =>
      Effect.gen(function*() {
        const encoded = yield* fromEither(Codec.encodePatch(patch))
        const assignments = [...encoded.assignments]
        const updateParams = [...encoded.values]
        if (patch.state !== undefined) {
          // Read by the trigger that logs the transition (when the state really changes).
          assignments.push("transition_at = ?", "transition_actor = ?", "transition_reason = ?")
          updateParams.push(
            patch.updatedAt?.getTime() ?? (yield* Clock.currentTimeMillis),
            meta?.actor ?? null,
            meta?.reason ?? null
          )
        }
        const sideTables = encoded.labels !== undefined || encoded.grants !== undefined ||
          (encoded.interrupts !== undefined && encoded.interrupts.length > 0)
        if (!sideTables && assignments.length > 0) {
          // The common case (progress, state changes): merged with other updates of the same shape.
          return yield* writer.update({ id, assignments: assignments.join(", "), values: updateParams })
        }
        const updateSql = assignments.length === 0
          ? "SELECT seq FROM executions WHERE id = ?"
          : `UPDATE executions SET ${assignments.join(", ")} WHERE id = ? RETURNING seq`
        updateParams.push(id)
        yield* writer.submit((tx): Effect.Effect<void, StoreError | SqlError> =>
          Effect.gen(function*() {
            const seq = seqOf(yield* tx.rows(updateSql, updateParams))
            if (seq === undefined) {
              return yield* notFound(id)
            }
            if (encoded.labels !== undefined) {
              yield* tx.rows("DELETE FROM labels WHERE execution_seq = ?", [seq])
              yield* writeLabels(tx, seq, encoded.labels)
            }
            if (encoded.interrupts !== undefined) {
              yield* writeInterrupts(tx, seq, encoded.interrupts)
            }
            if (encoded.grants !== undefined) {
              yield* tx.rows("DELETE FROM grants WHERE execution_seq = ?", [seq])
              yield* writeGrants(tx, seq, encoded.grants)
            }
          })
        )
      })

    const saveItemStates = (states: ReadonlyArray<Model.ItemState>): Effect.Effect<void, StoreError> =>
      Effect.suspend(() => {
        if (states.length === 0) {
          return Effect.void
        }
        const rows: Array<ReadonlyArray<SqlValue>> = []
        for (const state of states) {
          const encoded = Codec.encodeItemStateRow(state)
          if (Either.isLeft(encoded)) {
            return Effect.fail(encoded.left)
          }
          rows.push(encoded.right)
        }
        return writer.saveItemStates(rows)
      })

    const purgeExpired = (now: Date, limit: number): Effect.Effect<number, StoreError> =>
      Effect.suspend(() => {
        const bound = Math.floor(limit)
        if (!(bound >= 1)) {
          return Effect.succeed(0)
        }
        const cutoff = now instanceof Date ? now.getTime() : Number.NaN
        if (!Number.isFinite(cutoff)) {
          return Effect.fail(new StoreError({ reason: "Corrupt", message: "purgeExpired: invalid date" }))
        }
        return writer.submit((tx) =>
          Effect.gen(function*() {
            const expired = yield* tx.rows<{ readonly seq: number }>(expiredSql, [cutoff, bound])
            if (expired.length === 0) {
              return 0
            }
            const seqs = JSON.stringify(expired.map((row) => row.seq))
            for (const table of purgedTables) {
              yield* tx.rows(`DELETE FROM ${table} WHERE execution_seq IN (SELECT value FROM json_each(?))`, [seqs])
            }
            yield* tx.rows("DELETE FROM executions WHERE seq IN (SELECT value FROM json_each(?))", [seqs])
            return expired.length
          })
        )
      })

    const store: Api.ExecutionStore = {
      insert,
      update,
      get: (id) =>
        read<ExecutionRow>("SELECT * FROM executions WHERE id = ?", [id]).pipe(
          Effect.flatMap((rows) =>
            rows.length === 0
              ? Effect.succeed(Option.none())
              : Effect.map(fromEither(Codec.decodeExecution(rows[0] as ExecutionRow)), Option.some)
          )
        ),
      query: (query) =>
        Effect.suspend(() => {
          let compiled: Either.Either<CompileQuery.CompiledQuery, StoreError>
          try {
            compiled = CompileQuery.compile(query)
          } catch (cause) {
            return Effect.fail(fromError(cause, "malformed query"))
          }
          if (Either.isLeft(compiled)) return Effect.fail(compiled.left)
          const { params, sql: statement } = compiled.right
          return read<ExecutionRow>(statement, params).pipe(
            Effect.flatMap((rows) => decodeAll(rows, Codec.decodeExecution)),
            Effect.map((records) => {
              if (records.length <= query.limit) return { records }
              const page = records.slice(0, query.limit)
              const last = page[page.length - 1] as Model.ExecutionRecord
              return { records: page, nextCursor: cursorAfter(last, query.sort) }
            })
          )
        }),
      saveItemStates,
      itemStates: (id) =>
        read<ItemStateRow>(
          "SELECT e.id AS execution_id, s.block, s.item, s.status, s.value, s.error, s.started_at, s.finished_at " +
            "FROM item_states s JOIN executions e ON e.seq = s.execution_seq WHERE e.id = ? ORDER BY s.rowid",
          [id]
        ).pipe(
          Effect.flatMap((rows) => decodeAll(rows, Codec.decodeItemStateRow))
        ),
      transitions: (id) =>
        read<TransitionRow>(
          "SELECT execution_id, at, from_state, to_state, actor, reason FROM transitions " +
            "WHERE execution_seq = (SELECT seq FROM executions WHERE id = ?) ORDER BY seq",
          [id]
        ).pipe(Effect.flatMap((rows) => decodeAll(rows, Codec.decodeTransitionRow))),
      unfinished: read<ExecutionRow>(
        `SELECT * FROM executions WHERE state IN ${unfinishedStatesSql} ORDER BY created_at, id`,
        []
      ).pipe(Effect.flatMap((rows) => decodeAll(rows, Codec.decodeExecution))),
      purgeExpired
    }
    return store
  })
