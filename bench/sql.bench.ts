/**
 * SQLite store (@truce/sql), each goal with its baseline side by side in the same process.
 *
 * 1. Durable state transitions per second on one SQLite file — goal ≥ 20,000/s. Many
 *    concurrent writers (1000 fibers) each take executions through their life (inserted
 *    Queued → Running → Succeeded with an outcome: three transitions, each logged in the
 *    transition table) and await every write.
 *    Baselines: the same store with group commit disabled (`maxBatchSize: 1`), and the
 *    naive approach with raw better-sqlite3 (one transaction per write, same schema and
 *    SQL, no validation). Run with `synchronous: "normal"` (the default: survives a process
 *    crash) and `"full"` (every commit fsynced: survives power loss).
 * 2. Query by state + time range over 1,000,000 records — goal p99 ≤ 10 ms, through
 *    `store.query` (SQL, decoding and validating 100 records per page included).
 *    Baseline: the same SQL with its index disabled (`NOT INDEXED`), SQL time only.
 *
 * Run: `node --expose-gc --import tsx bench/sql.bench.ts` (or `pnpm bench sql`); `SQL_BENCH=transitions`
 * or `SQL_BENCH=query` runs one part.
 */
import { Effect, Either } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ExecutionRecord as Model } from "../packages/core/src/index.js"
import {
  Access,
  CmdOutcome,
  ExecutionQuery,
  ExecutionRecord,
  ExecutionStore,
  Interrupt,
  Progress
} from "../packages/core/src/index.js"
import { SqliteExecutionStore } from "../packages/sql/src/index.js"
import * as Codec from "../packages/sql/src/internal/codec.js"
import * as CompileQuery from "../packages/sql/src/internal/query.js"

// ---------------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------------

interface RawStatement {
  run(...params: ReadonlyArray<unknown>): unknown
  all(...params: ReadonlyArray<unknown>): Array<unknown>
}
interface RawDatabase {
  prepare(sql: string): RawStatement
  exec(sql: string): void
  pragma(pragma: string): unknown
  close(): void
}
type RawDatabaseConstructor = new(filename: string) => RawDatabase

/** better-sqlite3, the driver under @effect/sql-sqlite-node (not a direct dependency). */
const Database = createRequire(
  createRequire(import.meta.url).resolve("../packages/sql/node_modules/@effect/sql-sqlite-node/package.json")
)("better-sqlite3") as RawDatabaseConstructor

const gc: () => void = typeof globalThis.gc === "function" ? globalThis.gc : () => {}
const directory = mkdtempSync(join(tmpdir(), "truce-sql-bench-"))
let files = 0
const freshFile = (name: string) => join(directory, `${name}-${++files}.db`)
const format = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? 0

const base = Date.UTC(2026, 0, 1)

const newRecord = (i: number): Model.ExecutionRecord => {
  const createdAt = new Date(base + i)
  return {
    id: ExecutionRecord.makeId(),
    command: `cmd-${i % 20}`,
    state: "Queued",
    createdAt,
    updatedAt: createdAt,
    permissions: Access.ownerOnly,
    input: { files: ["a.txt", "b.txt"], target: "s3://bucket/path" },
    blocks: ["plan", "copy"],
    progress: Progress.emptySummary(2, createdAt.getTime()),
    interrupts: [],
    strategy: Interrupt.FinishCurrent,
    cancellable: true,
    labels: {},
    resumable: false,
    owner: "alice"
  }
}

const outcome = CmdOutcome.encodeUnknown(CmdOutcome.complete({ copied: 2, bytes: 123_456 }, ["plan", "copy"]))
const finalProgress = (record: Model.ExecutionRecord, at: number): Progress.ProgressSummary => ({
  ...record.progress,
  seq: 12,
  updatedAt: at,
  blockIndex: 1,
  blocksDone: 2,
  items: { total: 2, pending: 0, running: 0, stalled: 0, succeeded: 2, failed: 0, interrupted: 0, skipped: 0 }
})

// ---------------------------------------------------------------------------------------------------------------------
// 1. Durable state transitions
// ---------------------------------------------------------------------------------------------------------------------

interface Throughput {
  readonly transitions: number
  readonly perSecond: number
  readonly cpuMicros: number
}

const measure = (transitions: number, started: number, cpu: NodeJS.CpuUsage): Throughput => {
  const used = process.cpuUsage(cpu)
  return {
    transitions,
    perSecond: transitions / ((performance.now() - started) / 1000),
    cpuMicros: (used.user + used.system) / transitions
  }
}

const WRITERS = 1000

/**
 * One execution's life as the map writes it: inserted `Queued`, then `Running`, then
 * `Succeeded` with its outcome — three state transitions, each logged.
 */
const running = (at: Date): Model.RecordPatch => ({ state: "Running", updatedAt: at, startedAt: at, runner: "1:bench" })
const succeeded = (record: Model.ExecutionRecord, at: Date): Model.RecordPatch => ({
  state: "Succeeded",
  updatedAt: at,
  finishedAt: at,
  expiresAt: new Date(at.getTime() + 86_400_000),
  progress: finalProgress(record, at.getTime()),
  outcome,
  interrupts: []
})

const storeTransitions = (options: SqliteExecutionStore.MakeOptions, maxMs: number) =>
  Effect.gen(function*() {
    gc()
    const store = yield* ExecutionStore.ExecutionStore
    let next = 0
    let transitions = 0
    const started = performance.now()
    const cpu = process.cpuUsage()
    const deadline = started + maxMs
    yield* Effect.forEach(Array.from({ length: WRITERS }), () =>
      Effect.gen(function*() {
        while (performance.now() < deadline) {
          const record = newRecord(next++)
          yield* store.insert(record)
          yield* store.update(record.id, running(new Date()))
          yield* store.update(record.id, succeeded(record, new Date()), { reason: "Complete" })
          transitions += 3
        }
      }), { concurrency: "unbounded", discard: true })
    return measure(transitions, started, cpu)
  }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: freshFile("transitions"), ...options })))

/** The naive approach: raw better-sqlite3, one transaction per write, the same rows and statements. */
const rawTransitions = (synchronous: "normal" | "full", maxMs: number) =>
  Effect.gen(function*() {
    const filename = freshFile("raw")
    // The schema, through the store.
    yield* Effect.provide(Effect.void, SqliteExecutionStore.layer({ filename }))
    gc()
    const db = new Database(filename)
    db.pragma(`synchronous = ${synchronous}`)
    const insert = db.prepare(
      `INSERT INTO executions (${Codec.executionColumns.join(", ")}) ` +
        `VALUES (${Codec.executionColumns.map(() => "?").join(", ")}) RETURNING seq`
    )
    const update = (patch: Model.RecordPatch) => {
      const encoded = Either.getOrThrow(Codec.encodePatch(patch))
      return {
        sql: `UPDATE executions SET ${encoded.assignments.join(", ")}, transition_at = ?, transition_actor = ?, ` +
          "transition_reason = ? WHERE id = ? RETURNING seq",
        values: encoded.values
      }
    }
    const statements = new Map<string, RawStatement>()
    const prepared = (sql: string) => {
      let statement = statements.get(sql)
      if (statement === undefined) {
        statement = db.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    }
    let transitions = 0
    let next = 0
    const started = performance.now()
    const cpu = process.cpuUsage()
    const deadline = started + maxMs
    while (performance.now() < deadline) {
      const record = newRecord(next++)
      db.exec("BEGIN IMMEDIATE")
      insert.all(...Either.getOrThrow(Codec.encodeForInsert(record)).row)
      db.exec("COMMIT")
      for (const patch of [running(new Date()), succeeded(record, new Date())]) {
        const { sql, values } = update(patch)
        db.exec("BEGIN IMMEDIATE")
        prepared(sql).all(...values, patch.updatedAt?.getTime() ?? null, null, null, record.id)
        db.exec("COMMIT")
      }
      transitions += 3
    }
    const result = measure(transitions, started, cpu)
    db.close()
    return result
  })

const line = (label: string, result: Throughput) =>
  console.log(
    `  ${label.padEnd(52)} ${format(result.perSecond).padStart(9)} transitions/s  ` +
      `(${result.cpuMicros.toFixed(1)} µs CPU each, ${format(result.transitions)} measured)`
  )

const transitionsSection = Effect.gen(function*() {
  console.log(
    "\n1. Durable state transitions on one SQLite file: 1000 concurrent writers, each taking executions through " +
      "insert (Queued) → Running → Succeeded and awaiting every write"
  )
  const results: Record<string, number> = {}
  for (const synchronous of ["normal", "full"] as const) {
    console.log(`\n  synchronous: "${synchronous}"`)
    const rounds: Array<Throughput> = []
    for (let round = 0; round < 3; round++) {
      const result = yield* storeTransitions({ synchronous }, 5_000)
      rounds.push(result)
      line(`@truce/sql, group commit (round ${round + 1})`, result)
    }
    const batched = median(rounds.map((r) => r.perSecond))
    const unbatched = yield* storeTransitions({ synchronous, maxBatchSize: 1 }, 3_000)
    line("baseline: @truce/sql, maxBatchSize 1 (no group commit)", unbatched)
    const raw = yield* rawTransitions(synchronous, 3_000)
    line("baseline: raw better-sqlite3, 1 transaction per write", raw)
    console.log(`  median @truce/sql: ${format(batched)} transitions/s`)
    console.log(
      `  ratio vs no group commit ${(batched / unbatched.perSecond).toFixed(1)}×, ` +
        `vs raw per-write ${(batched / raw.perSecond).toFixed(1)}×`
    )
    results[synchronous] = batched
  }
  const normal = results.normal ?? 0
  console.log(`\n  goal ≥ 20,000/s (default synchronous "normal"): ${normal >= 20_000 ? "PASS" : "FAIL"}`)
})

// ---------------------------------------------------------------------------------------------------------------------
// 2. Query by state + time range over 1M records
// ---------------------------------------------------------------------------------------------------------------------

const ROWS = 1_000_000
const SPAN_MS = 30 * 86_400_000

/** Fills a store file with ROWS records quickly: one INSERT … SELECT from a recursive CTE, indexes built after. */
const buildLargeFile = Effect.gen(function*() {
  const filename = freshFile("large")
  const template = newRecord(0)
  yield* Effect.flatMap(ExecutionStore.ExecutionStore, (store) => store.insert(template)).pipe(
    Effect.provide(SqliteExecutionStore.layer({ filename }))
  )
  const started = performance.now()
  const db = new Database(filename)
  db.pragma("synchronous = OFF")
  const schema = db.prepare(
    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'executions' AND type IN ('index', 'trigger') " +
      "AND sql IS NOT NULL"
  ).all() as Array<{ type: string; name: string; sql: string }>
  for (const entry of schema) db.exec(`DROP ${entry.type.toUpperCase()} ${entry.name}`)
  db.exec("BEGIN")
  // Deterministic spread from i (random() would be evaluated once per use of a column).
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS - 1}),
    r AS (SELECT i, ${base} + i * ${SPAN_MS / ROWS} + (i * 104729) % 1000 AS at,
      CASE (i * 7919) % 10 WHEN 0 THEN 'Running' WHEN 1 THEN 'Failed' WHEN 2 THEN 'Queued'
        WHEN 3 THEN 'Interrupted' ELSE 'Succeeded' END AS state FROM n)
    INSERT INTO executions (id, command, state, owner, created_at, updated_at, started_at, finished_at, expires_at,
      cancellable, resumable, resumed_from, idempotency_key, runner, labels, progress, outcome, error, interrupt,
      interrupts, callback, details)
    SELECT lower(hex(randomblob(16))), 'cmd-' || (r.i % 20), r.state, t.owner, r.at, r.at + 500,
      CASE WHEN r.state = 'Queued' THEN NULL ELSE r.at + 100 END,
      CASE WHEN r.state IN ('Queued', 'Running') THEN NULL ELSE r.at + 400 END,
      CASE WHEN r.state IN ('Queued', 'Running') THEN NULL ELSE r.at + 86400000 END,
      1, 0, NULL, NULL, '1:bench', t.labels, t.progress,
      CASE WHEN r.state = 'Succeeded' THEN ? ELSE NULL END, NULL, NULL, t.interrupts, NULL, t.details
    FROM r, (SELECT * FROM executions LIMIT 1) t`
  ).run(JSON.stringify(outcome))
  db.exec("COMMIT")
  const loaded = performance.now()
  for (const entry of schema) db.exec(entry.sql)
  db.close()
  console.log(
    `  built ${format(ROWS)} records in ${((loaded - started) / 1000).toFixed(1)} s, ` +
      `indexes in ${((performance.now() - loaded) / 1000).toFixed(1)} s`
  )
  return filename
})

const states = ["Running", "Failed", "Succeeded", "Queued"] as const

const randomQuery = (random: () => number): ExecutionQuery.ExecutionQuery => {
  const from = base + Math.floor(random() * SPAN_MS)
  const length = 3_600_000 + Math.floor(random() * 7 * 86_400_000)
  const parsed = ExecutionQuery.make({
    where: [
      { field: "state", op: "eq", value: states[Math.floor(random() * states.length)] },
      { field: "createdAt", op: "ge", value: from },
      { field: "createdAt", op: "lt", value: from + length }
    ],
    sort: "-createdAt",
    limit: 100
  })
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
  return parsed.right
}

const querySection = Effect.gen(function*() {
  console.log(`\n2. Query by state + time range over ${format(ROWS)} records (100 per page, newest first)`)
  const filename = yield* buildLargeFile
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const latencies: Array<number> = []
  let returned = 0
  yield* Effect.gen(function*() {
    const store = yield* ExecutionStore.ExecutionStore
    for (let i = 0; i < 300; i++) yield* store.query(randomQuery(random))
    for (let i = 0; i < 2000; i++) {
      const query = randomQuery(random)
      const started = performance.now()
      const page = yield* store.query(query)
      latencies.push(performance.now() - started)
      returned += page.records.length
    }
  }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename })))
  latencies.sort((a, b) => a - b)
  const p50 = percentile(latencies, 0.5)
  const p99 = percentile(latencies, 0.99)
  console.log(
    `  @truce/sql store.query, ${latencies.length} random queries: p50 ${p50.toFixed(2)} ms, ` +
      `p90 ${percentile(latencies, 0.9).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
      `max ${(latencies[latencies.length - 1] ?? 0).toFixed(2)} ms ` +
      `(${(returned / latencies.length).toFixed(0)} records per page on average)`
  )
  const db = new Database(filename)
  // The SQL alone (same queries, same index), to tell the database's share from decoding.
  const sqlOnly: Array<number> = []
  for (let i = 0; i < 2000; i++) {
    const compiled = CompileQuery.compile(randomQuery(random))
    if (Either.isLeft(compiled)) throw new Error(compiled.left.message)
    const statement = db.prepare(compiled.right.sql)
    const started = performance.now()
    statement.all(...compiled.right.params)
    sqlOnly.push(performance.now() - started)
  }
  sqlOnly.sort((a, b) => a - b)
  console.log(
    `  of which SQL (better-sqlite3 alone, same queries): p50 ${percentile(sqlOnly, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(sqlOnly, 0.99).toFixed(2)} ms`
  )
  // Baseline: the same SQL, the table scanned without its indexes.
  const baseline: Array<number> = []
  for (let i = 0; i < 15; i++) {
    const compiled = CompileQuery.compile(randomQuery(random))
    if (Either.isLeft(compiled)) throw new Error(compiled.left.message)
    const statement = db.prepare(compiled.right.sql.replace("FROM executions e", "FROM executions e NOT INDEXED"))
    const started = performance.now()
    statement.all(...compiled.right.params)
    baseline.push(performance.now() - started)
  }
  db.close()
  baseline.sort((a, b) => a - b)
  const baseP50 = percentile(baseline, 0.5)
  console.log(
    `  baseline: same SQL without its index (NOT INDEXED), SQL only, ${baseline.length} queries: ` +
      `p50 ${baseP50.toFixed(1)} ms, max ${(baseline[baseline.length - 1] ?? 0).toFixed(1)} ms`
  )
  console.log(`  ratio (baseline p50 / @truce/sql p50) ${(baseP50 / p50).toFixed(0)}×`)
  console.log(`  goal p99 ≤ 10 ms: ${p99 <= 10 ? "PASS" : "FAIL"} (p99 ${p99.toFixed(2)} ms)`)
})

console.log(`@truce/sql — Node ${process.version}, ${process.platform}/${process.arch}; files in ${directory}`)
try {
  // `SQL_BENCH=transitions` or `SQL_BENCH=query` runs one part only.
  const only = process.env.SQL_BENCH
  await Effect.runPromise(Effect.gen(function*() {
    if (only === undefined || only === "transitions") yield* transitionsSection
    if (only === undefined || only === "query") yield* querySection
  }))
} finally {
  rmSync(directory, { recursive: true, force: true })
}
