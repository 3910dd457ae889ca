/**
 * Crash tests: a child process runs executions on a SQLite file and is killed with SIGKILL;
 * a new process (this one) opens the same file.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord as Model } from "@truce/core"
import { CmdExecutionMap, ExecutionRecord, ExecutionStore } from "@truce/core"
import { SqliteExecutionStore } from "@truce/sql"
import { Effect, Layer, Option } from "effect"
import { join } from "node:path"
import { lineCounts, resumableCopy } from "./fixtures/commands.js"
import { spawnFixture } from "./support/child.js"
import { tempDb, tempDir } from "./support/tempDb.js"

const integrityCheck = (filename: string) =>
  Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    const rows = yield* sql.unsafe<{ readonly integrity_check: string }>("PRAGMA integrity_check")
    return rows.map((row) => row.integrity_check)
  }).pipe(Effect.provide(SqliteClient.layer({ filename })))

/** Runs the child until it prints `READY`, kills it with SIGKILL, and returns the ids it started. */
const runAndKill = (scenario: string, db: string, log: string) =>
  Effect.gen(function*() {
    const child = spawnFixture("crashChild.ts", [scenario, db, log])
    const started = yield* Effect.promise(() => child.waitForLine("STARTED "))
    yield* Effect.promise(() => child.waitForLine("READY"))
    child.kill("SIGKILL")
    const exit = yield* Effect.promise(() => child.exited)
    expect(exit.signal).toBe("SIGKILL")
    return started.slice("STARTED ".length).split(",")
  })

interface Snapshot {
  readonly records: ReadonlyMap<string, Model.ExecutionRecord>
  readonly items: ReadonlyMap<string, ReadonlyArray<Model.ItemState>>
}

/** What the file holds, read through the store alone (no map, so no recovery yet). */
const snapshot = (db: string, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* ExecutionStore.ExecutionStore
    const records = new Map<string, Model.ExecutionRecord>()
    const items = new Map<string, ReadonlyArray<Model.ItemState>>()
    for (const id of ids) {
      const record = yield* store.get(id as Model.ExecutionId)
      if (Option.isSome(record)) records.set(id, record.value)
      items.set(id, yield* store.itemStates(id as Model.ExecutionId))
    }
    return { records, items } satisfies Snapshot
  }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: db })))

const mapOn = (db: string, options: CmdExecutionMap.Options = {}) =>
  CmdExecutionMap.layer(options).pipe(Layer.provide(SqliteExecutionStore.layer({ filename: db })))

const byItem = (states: ReadonlyArray<Model.ItemState>) => new Map(states.map((state) => [state.item, state]))

const json = (record: Model.ExecutionRecord) => JSON.parse(JSON.stringify(ExecutionRecord.encode(record)))

describe("crash recovery on a SQLite file", () => {
  it.live(
    "after SIGKILL mid-flight every execution is present, none is left unfinished, item states are intact",
    () =>
      Effect.gen(function*() {
        const db = tempDb("crash")
        const log = join(tempDir(), "crash.log")
        const ids = yield* runAndKill("many", db, log)
        expect(ids.length).toBe(200)

        expect(yield* integrityCheck(db)).toEqual(["ok"])
        const before = yield* snapshot(db, ids)
        expect(before.records.size).toBe(200)
        const statesBefore = new Set([...before.records.values()].map((record) => record.state))
        // The kill really happened mid-flight: some finished, some running, some still queued.
        expect(statesBefore.has("Succeeded")).toBe(true)
        expect(statesBefore.has("Running")).toBe(true)
        expect(statesBefore.has("Queued")).toBe(true)
        const unfinished = [...before.records.values()].filter((record) => !ExecutionRecord.isTerminal(record.state))
        const doneItems = [...before.items.values()].flat().filter((state) => state.block === "copy")
        expect(doneItems.length).toBeGreaterThan(0)

        // Every item recorded as done really ran (its side effect is in the log).
        const written = lineCounts(log)
        for (const state of doneItems) {
          const record = before.records.get(state.executionId) as Model.ExecutionRecord
          const tag = (record.input as { readonly tag: string }).tag
          expect(written.get(`${tag}/${state.item}`) ?? 0).toBeGreaterThanOrEqual(1)
          expect(state.status).toBe("Success")
        }

        yield* Effect.gen(function*() {
          const map = yield* CmdExecutionMap.CmdExecutionMap
          expect((yield* map.store.unfinished).length).toBe(0)
          for (const id of ids) {
            const prior = before.records.get(id) as Model.ExecutionRecord
            const after = Option.getOrThrow(yield* map.get(id))
            expect(ExecutionRecord.isTerminal(after.state)).toBe(true)
            if (ExecutionRecord.isTerminal(prior.state)) {
              expect(json(after)).toEqual(json(prior))
            } else {
              expect(after.state).toBe("Interrupted")
              expect(after.interrupt?.source).toBe("process-lost")
              expect(after.outcome?._tag).toBe("ExecutionInterrupted")
              const log = yield* map.transitions(id)
              const last = log[log.length - 1]
              expect([last?.from, last?.to, last?.actor]).toEqual([prior.state, "Interrupted", "truce"])
            }
            // Item states of finished items are exactly what the crashed process recorded.
            expect(yield* map.itemStates(id)).toEqual(before.items.get(id))
          }
          // A finished copy execution kept all of its items.
          const finishedCopy = [...before.records.values()].find((record) =>
            record.command === "copy" && record.state === "Succeeded"
          )
          if (finishedCopy !== undefined) {
            const states = byItem(yield* map.itemStates(finishedCopy.id))
            expect([...Array(12).keys()].every((i) => states.get(`file-${i}`)?.status === "Success")).toBe(true)
          }
        }).pipe(Effect.provide(mapOn(db)))

        expect(unfinished.length).toBeGreaterThan(0)
        expect(yield* integrityCheck(db)).toEqual(["ok"])
      }),
    180_000
  )

  it.live(
    "a resumable command is resumed after the crash and skips the items already done",
    () =>
      Effect.gen(function*() {
        const db = tempDb("resume")
        const log = join(tempDir(), "resume.log")
        const ids = yield* runAndKill("resumable", db, log)
        expect(ids.length).toBe(30)
        const before = yield* snapshot(db, ids)
        const writtenBefore = lineCounts(log)
        const doneBefore = new Map<string, Set<string>>()
        for (const id of ids) {
          const done = (before.items.get(id) ?? []).filter((state) =>
            state.block === "copy" && state.status === "Success"
          )
          doneBefore.set(id, new Set(done.map((state) => state.item)))
        }
        const totalDone = [...doneBefore.values()].reduce((n, done) => n + done.size, 0)
        expect(totalDone).toBeGreaterThan(0)
        const lost = ids.filter((id) =>
          !ExecutionRecord.isTerminal((before.records.get(id) as Model.ExecutionRecord).state)
        )
        expect(lost.length).toBeGreaterThan(0)

        yield* Effect.gen(function*() {
          const map = yield* CmdExecutionMap.CmdExecutionMap
          const page = yield* map.list({ where: { resumedFrom: { op: "in", value: lost } }, limit: 1000 })
          expect(page.records.length).toBe(lost.length)
          const resumedOf = new Map(page.records.map((record) => [record.resumedFrom as string, record.id]))
          const outcomes = yield* map.awaitAll(lost.map((id) => resumedOf.get(id) as string))
          expect(outcomes.every((outcome) => outcome._tag === "Complete")).toBe(true)
          const written = lineCounts(log)
          for (const id of lost) {
            const original = Option.getOrThrow(yield* map.get(id))
            expect(original.state).toBe("Interrupted")
            expect(original.interrupt?.source).toBe("process-lost")
            const tag = (original.input as { readonly tag: string }).tag
            const states = byItem(yield* map.itemStates(resumedOf.get(id) as string))
            expect(states.get("plan")?.status).toBe("Skipped")
            const done = doneBefore.get(id) as Set<string>
            for (let i = 0; i < 20; i++) {
              const line = `${tag}/file-${i}`
              const count = written.get(line) ?? 0
              if (done.has(`file-${i}`)) {
                // Recorded as done before the crash: skipped, its side effect not repeated.
                expect(states.get(`file-${i}`)?.status).toBe("Skipped")
                expect(count).toBe(1)
              } else {
                // Not recorded (not started, in flight, or done after the last write of item
                // states): run once more by the resumed execution.
                expect(states.get(`file-${i}`)?.status).toBe("Success")
                expect(count).toBe((writtenBefore.get(line) ?? 0) + 1)
              }
            }
          }
        }).pipe(Effect.provide(mapOn(db, { commands: [resumableCopy] })))
        expect(yield* integrityCheck(db)).toEqual(["ok"])
      }),
    180_000
  )

  it.live(
    "the terminal state is in the file as soon as await returns (killed right after)",
    () =>
      Effect.gen(function*() {
        const db = tempDb("await")
        const log = join(tempDir(), "await.log")
        const child = spawnFixture("crashChild.ts", ["await", db, log])
        const line = yield* Effect.promise(() => child.waitForLine("AWAITED "))
        const exit = yield* Effect.promise(() => child.exited)
        expect(exit.signal).toBe("SIGKILL")
        const ids = line.slice("AWAITED ".length).split(",")
        expect(ids.length).toBe(50)
        const after = yield* snapshot(db, ids)
        for (const id of ids) {
          const record = after.records.get(id)
          expect(record?.state).toBe("Succeeded")
          expect(record?.outcome?._tag).toBe("Complete")
          expect(record?.finishedAt).toBeInstanceOf(Date)
        }
        expect(yield* integrityCheck(db)).toEqual(["ok"])
      }),
    120_000
  )
})
