/**
 * What the SQLite store does beyond the shared conformance suite: opening and closing,
 * group commit and its failure isolation, corrupt data, the schema, and query safety.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord as Model } from "@truce/core"
import { Access, ExecutionQuery, ExecutionRecord, ExecutionStore, Interrupt } from "@truce/core"
import { makeRecord } from "@truce/core/testing/ExecutionStoreConformance"
import { SqliteExecutionStore } from "@truce/sql"
import { Context, Effect, Either, Exit, Layer, Option } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as CompileQuery from "../src/internal/query.js"
import { tempDb, tempDir } from "./support/tempDb.js"

/** The store and the raw SQL client on the same connection. */
const withSql = (filename: string, options: SqliteExecutionStore.MakeOptions = {}) =>
  Layer.scoped(ExecutionStore.ExecutionStore, SqliteExecutionStore.make(options)).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename }))
  )

const count = (table: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => Effect.map(sql.unsafe<{ readonly n: number }>(`SELECT COUNT(*) AS n FROM ${table}`), (rows) => rows[0]?.n)
  )

const query = (input: ExecutionQuery.QueryInput, principal?: Access.Principal) => {
  const parsed = ExecutionQuery.make(input, principal !== undefined ? { readableBy: { principal } } : undefined)
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
  return parsed.right
}

describe("opening and closing", () => {
  it.effect("a missing directory is a typed Unavailable error, not a defect", () =>
    Effect.gen(function*() {
      const filename = join(tempDir(), "no", "such", "dir", "x.db")
      const error = yield* Effect.flip(
        Effect.provide(ExecutionStore.ExecutionStore, SqliteExecutionStore.layer({ filename }))
      )
      expect(error._tag).toBe("StoreError")
      expect(error.reason).toBe("Unavailable")
      expect(error.message).toContain(filename)
    }))

  it.effect("a file that is not a database is a typed Corrupt error", () =>
    Effect.gen(function*() {
      const filename = tempDb("garbage")
      writeFileSync(filename, "this is not a database, just text ".repeat(200))
      const error = yield* Effect.flip(
        Effect.provide(ExecutionStore.ExecutionStore, SqliteExecutionStore.layer({ filename }))
      )
      expect(error.reason).toBe("Corrupt")
    }))

  it.effect("opening a file twice migrates once and keeps the data", () =>
    Effect.gen(function*() {
      const filename = tempDb("reopen")
      const record = makeRecord({ labels: { env: "prod" } })
      yield* Effect.flatMap(ExecutionStore.ExecutionStore, (store) => store.insert(record)).pipe(
        Effect.provide(SqliteExecutionStore.layer({ filename }))
      )
      const [got, migrations] = yield* Effect.gen(function*() {
        const store = yield* ExecutionStore.ExecutionStore
        return [yield* store.get(record.id), yield* count("truce_migrations")] as const
      }).pipe(Effect.provide(withSql(filename)))
      expect(Option.getOrThrow(got).labels).toEqual({ env: "prod" })
      expect(migrations).toBe(1)
    }))

  it.effect("WAL, synchronous and busy_timeout are set as asked", () =>
    Effect.gen(function*() {
      const pragma = (name: string) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.map(sql.unsafe<Record<string, unknown>>(`PRAGMA ${name}`), (rows) =>
            Object.values(rows[0] ?? {})[0]))
      const normal = yield* Effect.all([pragma("journal_mode"), pragma("synchronous"), pragma("busy_timeout")]).pipe(
        Effect.provide(withSql(tempDb("pragma")))
      )
      expect(normal).toEqual(["wal", 1, 5000])
      const full = yield* Effect.all([pragma("synchronous"), pragma("busy_timeout")]).pipe(
        Effect.provide(withSql(tempDb("pragma"), { synchronous: "full", busyTimeout: "250 millis" }))
      )
      expect(full).toEqual([2, 250])
    }))

  it.effect("closing the store commits the writes already queued; later writes fail with Unavailable", () =>
    Effect.gen(function*() {
      const filename = tempDb("close")
      const records = Array.from({ length: 50 }, () => makeRecord({ state: "Running" }))
      const closed = yield* Effect.gen(function*() {
        const store = yield* ExecutionStore.ExecutionStore
        yield* Effect.forEach(records, store.insert, { discard: true })
        // Queued, not awaited: the layer closes while they wait for their commit.
        for (const record of records) {
          yield* Effect.forkDaemon(store.update(record.id, { state: "Succeeded", finishedAt: new Date() }))
        }
        yield* Effect.yieldNow()
        return store
      }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename })))
      const error = yield* Effect.flip(closed.insert(makeRecord()))
      expect(error.reason).toBe("Unavailable")
      const states = yield* Effect.gen(function*() {
        const store = yield* ExecutionStore.ExecutionStore
        return yield* Effect.forEach(
          records,
          (record) => Effect.map(store.get(record.id), (r) => Option.getOrThrow(r).state)
        )
      }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename })))
      expect(new Set(states)).toEqual(new Set(["Succeeded"]))
    }))

  it.effect("layerMemory runs the same store in memory", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const record = makeRecord()
      yield* store.insert(record)
      expect(Option.isSome(yield* store.get(record.id))).toBe(true)
    }).pipe(Effect.provide(SqliteExecutionStore.layerMemory())))
})

describe("group commit", () => {
  it.effect("concurrent writes each get their own result: NotFound and Conflict fail alone", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const records = Array.from({ length: 200 }, () => makeRecord({ state: "Queued" }))
      yield* Effect.forEach(records, store.insert, { concurrency: "unbounded", discard: true })
      const unknown = ExecutionRecord.makeId()
      const results = yield* Effect.all([
        ...records.map((record) => store.update(record.id, { state: "Running", updatedAt: new Date() })),
        store.update(unknown, { state: "Running", updatedAt: new Date() }),
        store.insert(records[0] as Model.ExecutionRecord)
      ], { concurrency: "unbounded", mode: "either" })
      expect(results.slice(0, 200).every(Either.isRight)).toBe(true)
      expect(
        Either.getLeft(results[200] as Either.Either<void, ExecutionStore.StoreError>).pipe(Option.map((e) => e.reason))
      )
        .toEqual(Option.some("NotFound"))
      expect(
        Either.getLeft(results[201] as Either.Either<void, ExecutionStore.StoreError>).pipe(Option.map((e) => e.reason))
      )
        .toEqual(Option.some("Conflict"))
      const page = yield* store.query(query({ where: { state: { op: "eq", value: "Running" } }, limit: 1000 }))
      expect(page.records.length).toBe(200)
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("batch") }))))

  it.effect("a write the database rejects fails alone; the rest of its batch is committed", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* ExecutionStore.ExecutionStore
      const records = Array.from({ length: 100 }, () => makeRecord({ state: "Running" }))
      yield* Effect.forEach(records, store.insert, { discard: true })
      yield* sql.unsafe(
        "CREATE TRIGGER poison BEFORE UPDATE ON executions WHEN NEW.runner = 'poison' " +
          "BEGIN SELECT RAISE(ABORT, 'poisoned write'); END"
      )
      const results = yield* Effect.all(
        records.map((record, i) => store.update(record.id, { runner: i === 50 ? "poison" : `runner-${i}` })),
        { concurrency: "unbounded", mode: "either" }
      )
      const failed = results.flatMap((result, i) => Either.isLeft(result) ? [[i, result.left.reason]] : [])
      expect(failed).toEqual([[50, "Unavailable"]])
      const runners = yield* Effect.forEach(
        records,
        (record) => Effect.map(store.get(record.id), (r) => Option.getOrThrow(r).runner)
      )
      expect(runners.filter((runner, i) => runner === `runner-${i}`).length).toBe(99)
      expect(runners[50]).toBeUndefined()
    }).pipe(Effect.provide(withSql(tempDb("poison")))))

  it.live("while another process holds the write lock, writes fail with Unavailable after busyTimeout, then recover", () =>
    Effect.gen(function*() {
      const filename = tempDb("busy")
      const records = Array.from({ length: 20 }, () => makeRecord({ state: "Running" }))
      yield* Effect.gen(function*() {
        const store = yield* ExecutionStore.ExecutionStore
        yield* Effect.forEach(records, store.insert, { discard: true })
        // Another connection (as another process would) takes the write lock and keeps it.
        const other = Context.get(yield* Layer.build(SqliteClient.layer({ filename })), SqliteClient.SqliteClient)
        yield* other.unsafe("BEGIN IMMEDIATE")
        const results = yield* Effect.all(
          records.map((record) => store.update(record.id, { state: "Failed" })),
          { concurrency: "unbounded", mode: "either" }
        )
        for (const result of results) {
          expect(Either.isLeft(result) && result.left.reason).toBe("Unavailable")
          expect(Either.isLeft(result) && result.left.message).toContain("SQLITE_BUSY")
        }
        yield* other.unsafe("ROLLBACK")
        yield* store.update((records[0] as Model.ExecutionRecord).id, { state: "Failed" })
        const first = Option.getOrThrow(yield* store.get((records[0] as Model.ExecutionRecord).id))
        expect(first.state).toBe("Failed")
        const second = Option.getOrThrow(yield* store.get((records[1] as Model.ExecutionRecord).id))
        expect(second.state).toBe("Running")
      }).pipe(
        Effect.scoped,
        Effect.provide(SqliteExecutionStore.layer({ filename, busyTimeout: "100 millis" }))
      )
    }))

  it.effect("a terminal update is committed when its Effect succeeds, and readable at once", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* ExecutionStore.ExecutionStore
      const record = makeRecord({ state: "Running" })
      yield* store.insert(record)
      yield* store.update(record.id, { state: "Failed", finishedAt: new Date(), updatedAt: new Date() })
      const rows = yield* sql.unsafe<{ readonly state: string }>("SELECT state FROM executions WHERE id = ?", [
        record.id
      ])
      expect(rows).toEqual([{ state: "Failed" }])
    }).pipe(Effect.provide(withSql(tempDb("terminal")))))
})

describe("schema and data", () => {
  it.effect("a row that does not decode is a Corrupt error for it alone", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* ExecutionStore.ExecutionStore
      const good = makeRecord()
      const bad = makeRecord()
      yield* store.insert(good)
      yield* store.insert(bad)
      yield* sql.unsafe("UPDATE executions SET progress = '{not json' WHERE id = ?", [bad.id])
      expect((yield* Effect.flip(store.get(bad.id))).reason).toBe("Corrupt")
      yield* sql.unsafe("UPDATE executions SET progress = '{\"seq\":\"nope\"}' WHERE id = ?", [bad.id])
      const error = yield* Effect.flip(store.get(bad.id))
      expect(error.reason).toBe("Corrupt")
      expect(error.message).toContain(bad.id)
      expect(Option.isSome(yield* store.get(good.id))).toBe(true)
      expect((yield* Effect.flip(store.query(query({ limit: 10 })))).reason).toBe("Corrupt")
    }).pipe(Effect.provide(withSql(tempDb("corrupt")))))

  it.effect("every state change is logged by the database, even a manual UPDATE", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* ExecutionStore.ExecutionStore
      const record = makeRecord({ state: "Running", owner: "alice" })
      yield* store.insert(record)
      yield* store.update(record.id, { progress: { ...record.progress, seq: 5 } })
      yield* sql.unsafe("UPDATE executions SET state = 'Failed' WHERE id = ?", [record.id])
      const log = yield* store.transitions(record.id)
      expect(log.map((t) => [t.from, t.to])).toEqual([[undefined, "Running"], ["Running", "Failed"]])
      expect(log[0]?.actor).toBe("alice")
    }).pipe(Effect.provide(withSql(tempDb("trigger")))))

  it.effect("interrupts are appended, never rewritten; labels and grants follow the record", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* ExecutionStore.ExecutionStore
      const first = Interrupt.request({ source: "sigint", at: new Date(1_000) })
      const second = Interrupt.request({ source: "http", mode: "force", requestedBy: "bob", at: new Date(2_000) })
      const record = makeRecord({
        interrupts: [first],
        labels: { env: "prod" },
        permissions: Access.permissions({ read: { groups: ["ops", "ops"] }, write: { users: ["carol"] } })
      })
      yield* store.insert(record)
      yield* store.update(record.id, {
        interrupts: [first, second],
        interrupt: second,
        labels: { env: "dev", team: "a" }
      })
      const interrupts = yield* sql.unsafe<
        { readonly position: number; readonly source: string; readonly requested_by: string | null }
      >(
        "SELECT position, source, requested_by FROM interrupts ORDER BY position"
      )
      expect(interrupts).toEqual([
        { position: 0, source: "sigint", requested_by: null },
        { position: 1, source: "http", requested_by: "bob" }
      ])
      const labels = yield* sql.unsafe("SELECT name, value FROM labels ORDER BY name")
      expect(labels).toEqual([{ name: "env", value: "dev" }, { name: "team", value: "a" }])
      const grants = yield* sql.unsafe("SELECT access, kind, value FROM grants ORDER BY access, kind, value")
      expect(grants).toEqual([
        { access: "read", kind: "group", value: "ops" },
        { access: "write", kind: "user", value: "carol" }
      ])
      const got = Option.getOrThrow(yield* store.get(record.id))
      expect(got.interrupts.map((i) => i.source)).toEqual(["sigint", "http"])
      expect(got.interrupt?.requestedBy).toBe("bob")
    }).pipe(Effect.provide(withSql(tempDb("side-tables")))))

  it.effect("purging removes the record's rows from every table", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const now = new Date(2_000_000_000_000)
      const expired = makeRecord({
        state: "Succeeded",
        expiresAt: new Date(now.getTime() - 1),
        labels: { a: "1" },
        permissions: Access.permissions({ read: { users: ["*"] } }),
        interrupts: [Interrupt.request({ source: "api", at: new Date(5) })]
      })
      const kept = makeRecord({ state: "Succeeded", expiresAt: new Date(now.getTime() + 1), labels: { a: "2" } })
      yield* store.insert(expired)
      yield* store.insert(kept)
      for (const record of [expired, kept]) {
        yield* store.saveItemStates([{
          executionId: record.id,
          block: "b",
          item: "i",
          status: "Success",
          finishedAt: now
        }])
      }
      expect(yield* store.purgeExpired(now, 10)).toBe(1)
      const counts = yield* Effect.all(
        ["executions", "labels", "grants", "interrupts", "item_states", "transitions"].map(count)
      )
      expect(counts).toEqual([1, 1, 0, 0, 1, 1])
      expect(Option.isSome(yield* store.get(kept.id))).toBe(true)
      expect(yield* store.purgeExpired(now, 0)).toBe(0)
      expect(yield* store.purgeExpired(now, Number.NaN)).toBe(0)
    }).pipe(Effect.provide(withSql(tempDb("purge")))))

  it.effect("item states of an execution the store does not know are not kept", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const id = ExecutionRecord.makeId()
      yield* store.saveItemStates([{
        executionId: id,
        block: "b",
        item: "i",
        status: "Success",
        finishedAt: new Date()
      }])
      expect(yield* store.itemStates(id)).toEqual([])
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("orphans") }))))

  it.effect("values that JSON cannot hold are refused with a typed error, and nothing is written", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const record = makeRecord({ input: { big: 10n } })
      const error = yield* Effect.flip(store.insert(record))
      expect(error.reason).toBe("Corrupt")
      expect(Option.isNone(yield* store.get(record.id))).toBe(true)
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("bigint") }))))
})

describe("queries in SQL", () => {
  const plan = (input: ExecutionQuery.QueryInput, principal?: Access.Principal) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const compiled = Either.getOrThrow(CompileQuery.compile(query(input, principal)))
      const rows = yield* sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${compiled.sql}`, compiled.params)
      return rows.map((row) => row.detail).join("\n")
    })

  it.effect("the usual filters and sorts use an index and need no sort step", () =>
    Effect.gen(function*() {
      const byStateAndTime = yield* plan({
        where: { state: { op: "eq", value: "Running" }, createdAt: { op: "ge", value: 0 } },
        sort: "-createdAt"
      })
      expect(byStateAndTime).toContain("executions_state_created")
      expect(byStateAndTime).not.toContain("TEMP B-TREE")
      const byCommand = yield* plan({ where: { command: { op: "eq", value: "deploy" } }, sort: "-createdAt" })
      expect(byCommand).toContain("executions_command_created")
      expect(byCommand).not.toContain("TEMP B-TREE")
      for (const sort of ["createdAt", "-updatedAt", "startedAt", "-finishedAt", "id"]) {
        const sorted = yield* plan({ sort })
        expect(`${sort}: ${sorted}`).not.toContain("TEMP B-TREE")
        expect(`${sort}: ${sorted}`).toMatch(/USING (COVERING )?INDEX|PRIMARY KEY/)
      }
      // By state or command: in index order, each group's rows sorted by id.
      for (const sort of ["command", "-state"]) {
        const sorted = yield* plan({ sort })
        expect(`${sort}: ${sorted}`).toContain("USING INDEX")
        expect(`${sort}: ${sorted}`).toContain("LAST TERM OF ORDER BY")
      }
      expect(yield* plan({ where: { idempotencyKey: { op: "eq", value: "k" } } })).toContain("executions_idempotency")
      const withAccess = yield* plan({ sort: "-createdAt" }, Access.principal({ id: "alice", groups: ["ops"] }))
      expect(withAccess).not.toContain("TEMP B-TREE")
    }).pipe(Effect.provide(withSql(tempDb("plans")))))

  it.effect("values are bound, never spliced into SQL", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const sneaky = makeRecord({ command: "x' OR '1'='1", labels: { "team": "a'); DROP TABLE executions; --" } })
      const plain = makeRecord({ command: "deploy" })
      yield* store.insert(sneaky)
      yield* store.insert(plain)
      const injected = yield* store.query(query({ where: { command: { op: "eq", value: "nothing' OR '1'='1" } } }))
      expect(injected.records).toEqual([])
      const exact = yield* store.query(query({ where: { command: { op: "eq", value: "x' OR '1'='1" } } }))
      expect(exact.records.map((r) => r.id)).toEqual([sneaky.id])
      const byLabel = yield* store.query(query({
        where: { "labels.team": { op: "eq", value: "a'); DROP TABLE executions; --" } }
      }))
      expect(byLabel.records.map((r) => r.id)).toEqual([sneaky.id])
      expect(yield* count("executions")).toBe(2)
    }).pipe(Effect.provide(withSql(tempDb("injection")))))

  it.effect("a query ExecutionQuery.make could not produce is a typed error, never a throw", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      yield* store.insert(makeRecord())
      const valid = query({})
      const malformed: ReadonlyArray<unknown> = [
        { ...valid, where: [{ field: "password", kind: "string", op: "eq", value: "x" }] },
        { ...valid, where: [{ field: "state", kind: "date", op: "eq", value: 1 }] },
        { ...valid, where: [{ field: "createdAt", kind: "date", op: "like", value: "1%" }] },
        { ...valid, where: [{ field: "cancellable", kind: "boolean", op: "gt", value: true }] },
        { ...valid, where: [{ field: "command", kind: "string", op: "eq", value: 42 }] },
        { ...valid, where: [{ field: "command", kind: "string", op: "in", value: [] }] },
        { ...valid, where: [{ field: "command", kind: "string", op: "drop", value: "x" }] },
        { ...valid, where: [{ field: "labels.a;b", kind: "string", op: "eq", value: "x" }] },
        { ...valid, where: [{ field: "createdAt", kind: "date", op: "eq", value: Number.NaN }] },
        { ...valid, where: [null] },
        { ...valid, where: "state = 'Running'" },
        { ...valid, sort: { field: "input", direction: "asc" } },
        { ...valid, sort: { field: "id", direction: "sideways" } },
        { ...valid, limit: 0 },
        { ...valid, limit: 1.5 },
        { ...valid, cursor: { field: "id", direction: "asc", value: "a", id: "b" } },
        { ...valid, readableBy: { principal: { id: "x", groups: "ops", roles: [], scopes: [] } } },
        null
      ]
      for (const candidate of malformed) {
        const exit = yield* Effect.exit(store.query(candidate as ExecutionQuery.ExecutionQuery))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.reason : exit).toBe("Corrupt")
      }
      // ExecutionQuery.make refuses patterns SQLite would refuse (over maxPatternLength)...
      expect(Either.isLeft(ExecutionQuery.make({ where: { command: { op: "like", value: "%a".repeat(40_000) } } })))
        .toBe(true)
      // ...and one built by hand is still a typed error, never a throw.
      const long = yield* Effect.flip(
        store.query({
          ...valid,
          where: [{ field: "command", kind: "string", op: "like", value: "%a".repeat(40_000) }]
        } as ExecutionQuery.ExecutionQuery)
      )
      expect(long._tag).toBe("StoreError")
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("malformed") }))))
})
