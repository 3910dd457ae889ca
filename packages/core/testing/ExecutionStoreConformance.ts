/**
 * The conformance suite every `ExecutionStore` must pass. Run it from a store's tests:
 *
 * ```ts
 * import { conformance } from "@truce/core/testing/ExecutionStoreConformance"
 * conformance("SqliteExecutionStore", () => SqliteExecutionStore.layer({ filename: tempFile() }))
 * ```
 *
 * `makeLayer` is called once per test, so each test gets a fresh, empty store.
 *
 * @since 0.1.0
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Access from "../src/Access.js"
import * as CmdOutcome from "../src/CmdOutcome.js"
import * as Query from "../src/ExecutionQuery.js"
import type { ExecutionRecord, ItemState } from "../src/ExecutionRecord.js"
import * as Record from "../src/ExecutionRecord.js"
import { ExecutionStore } from "../src/ExecutionStore.js"
import * as Interrupt from "../src/Interrupt.js"
import { emptySummary } from "../src/Progress.js"

const base = Date.UTC(2026, 0, 1)

let counter = 0

/**
 * Builds a valid record with deterministic, sortable defaults.
 *
 * @since 0.1.0
 */
export const makeRecord = (overrides: Partial<ExecutionRecord> = {}): ExecutionRecord => {
  counter++
  const createdAt = new Date(base + counter * 1000)
  return {
    id: Record.makeId(),
    command: "deploy",
    state: "Running",
    createdAt,
    updatedAt: createdAt,
    startedAt: createdAt,
    permissions: Access.ownerOnly,
    blocks: ["plan", "apply"],
    progress: emptySummary(2, createdAt.getTime()),
    interrupts: [],
    strategy: Interrupt.FinishCurrent,
    cancellable: true,
    labels: {},
    resumable: false,
    ...overrides
  }
}

const query = (input: Query.QueryInput, readableBy?: { readonly principal: Access.Principal | undefined }) => {
  const parsed = Query.make(input, readableBy !== undefined ? { readableBy } : undefined)
  if (parsed._tag === "Left") throw new Error(parsed.left.message)
  return parsed.right
}

const ids = (records: ReadonlyArray<ExecutionRecord>) => records.map((record) => record.id)

const insertAll = (records: ReadonlyArray<ExecutionRecord>) =>
  Effect.flatMap(ExecutionStore, (store) => Effect.forEach(records, store.insert, { discard: true }))

const all = (input: Query.QueryInput, readableBy?: { readonly principal: Access.Principal | undefined }) =>
  Effect.flatMap(ExecutionStore, (store) =>
    Effect.gen(function*() {
      const out: Array<ExecutionRecord> = []
      let cursor: string | undefined = undefined
      do {
        const page: Query.QueryPage = yield* store.query(query({ ...input, cursor }, readableBy))
        out.push(...page.records)
        cursor = page.nextCursor
      } while (cursor !== undefined)
      return out
    }))

const encoded = (record: ExecutionRecord) => JSON.parse(JSON.stringify(Record.encode(record)))

/**
 * Registers the conformance tests for a store.
 *
 * @since 0.1.0
 */
export const conformance = <E>(name: string, makeLayer: () => Layer.Layer<ExecutionStore, E>): void => {
  const test = (title: string, body: () => Effect.Effect<void, unknown, ExecutionStore>) =>
    it.effect(title, () => Effect.provide(body(), makeLayer()))

  describe(`${name} conforms to ExecutionStore`, () => {
    test("insert then get returns the same record, every field intact", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const interrupt = Interrupt.request({
          source: "http",
          mode: "force",
          reason: "weird \"quotes\" and ünïcode",
          requestedBy: "alice",
          at: new Date(base + 5)
        })
        const outcome = CmdOutcome.encodeUnknown(CmdOutcome.executionInterrupted({
          interrupt,
          blocksProcessed: ["plan"],
          blocksNotProcessed: ["apply"]
        }))
        const full = makeRecord({
          state: "Interrupted",
          finishedAt: new Date(base + 10),
          expiresAt: new Date(base + 20),
          owner: "alice",
          permissions: Access.permissions({ read: { groups: ["ops"], users: ["*"] }, write: { roles: ["admin"] } }),
          input: { files: ["a", "b"], nested: { n: 1, ok: true, none: null } },
          inputRedacted: false,
          outcome,
          error: { _tag: "Boom", message: "it broke", code: 7 },
          interrupt,
          interrupts: [interrupt],
          strategy: Interrupt.PollNextN({ n: 3 }),
          cancellable: false,
          timeoutMs: 5000,
          callback: { url: "https://example.com/hook", state: "Failed", attempts: 4, lastError: "503" },
          labels: { env: "prod", "team/name": "core" },
          resumable: true,
          idempotencyKey: "key-1",
          idempotencyFingerprint: "fp",
          runner: "1:abc",
          progress: {
            ...emptySummary(2, base),
            seq: 42,
            block: "apply",
            blockIndex: 1,
            blocksDone: 1,
            message: "copying",
            items: { total: 3, pending: 1, running: 1, stalled: 0, succeeded: 1, failed: 0, interrupted: 0, skipped: 0 }
          }
        })
        yield* store.insert(full)
        const minimal = makeRecord({ state: "Queued" })
        const { startedAt: _startedAt, ...withoutStart } = minimal
        yield* store.insert(withoutStart)
        const got = yield* store.get(full.id)
        expect(Option.isSome(got)).toBe(true)
        expect(encoded(Option.getOrThrow(got))).toEqual(encoded(full))
        const gotMinimal = yield* store.get(minimal.id)
        expect(encoded(Option.getOrThrow(gotMinimal))).toEqual(encoded(withoutStart))
        expect(Option.isNone(yield* store.get(Record.makeId()))).toBe(true)
      }))

    test("insert of an existing id fails with Conflict", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const record = makeRecord()
        yield* store.insert(record)
        const error = yield* Effect.flip(store.insert(record))
        expect(error.reason).toBe("Conflict")
      }))

    test("update of an unknown id fails with NotFound", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const error = yield* Effect.flip(store.update(Record.makeId(), { state: "Failed" }))
        expect(error.reason).toBe("NotFound")
      }))

    test("update applies the patch and logs state transitions with who and why", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const record = makeRecord({ state: "Queued", owner: "bob" })
        yield* store.insert(record)
        yield* store.update(record.id, { state: "Running", updatedAt: new Date(base + 100_000) })
        yield* store.update(record.id, { labels: { stage: "two" } })
        yield* store.update(record.id, { state: "Interrupting", updatedAt: new Date(base + 200_000) }, {
          actor: "alice",
          reason: "deploy window closed"
        })
        yield* store.update(record.id, {
          state: "Interrupted",
          finishedAt: new Date(base + 300_000),
          updatedAt: new Date(base + 300_000)
        })
        const got = Option.getOrThrow(yield* store.get(record.id))
        expect(got.state).toBe("Interrupted")
        expect(got.labels).toEqual({ stage: "two" })
        expect(got.finishedAt?.getTime()).toBe(base + 300_000)
        const log = yield* store.transitions(record.id)
        expect(log.map((t) => [t.from, t.to])).toEqual([
          [undefined, "Queued"],
          ["Queued", "Running"],
          ["Running", "Interrupting"],
          ["Interrupting", "Interrupted"]
        ])
        expect(log[2]?.actor).toBe("alice")
        expect(log[2]?.reason).toBe("deploy window closed")
        expect(log[2]?.at.getTime()).toBe(base + 200_000)
        expect(yield* store.transitions(Record.makeId())).toEqual([])
      }))

    test("item states: the latest per (block, item) is kept, values and errors intact", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const record = makeRecord()
        yield* store.insert(record)
        const state = (item: string, status: ItemState["status"], extra: Partial<ItemState> = {}): ItemState => ({
          executionId: record.id,
          block: "apply",
          item,
          status,
          finishedAt: new Date(base + 1),
          ...extra
        })
        yield* store.saveItemStates([
          state("a", "Fail", { error: { message: "disk full" } }),
          state("b", "Success", { value: { bytes: 10, hash: "abc" }, startedAt: new Date(base) })
        ])
        yield* store.saveItemStates([state("a", "Success", { value: [1, 2, 3] })])
        yield* store.saveItemStates([{ ...state("a", "Interrupted"), block: "plan" }])
        const states = yield* store.itemStates(record.id)
        const byKey = new Map(states.map((s) => [`${s.block}/${s.item}`, s]))
        expect(byKey.size).toBe(3)
        expect(byKey.get("apply/a")?.status).toBe("Success")
        expect(byKey.get("apply/a")?.value).toEqual([1, 2, 3])
        expect(byKey.get("apply/b")?.value).toEqual({ bytes: 10, hash: "abc" })
        expect(byKey.get("apply/b")?.startedAt?.getTime()).toBe(base)
        expect(byKey.get("plan/a")?.status).toBe("Interrupted")
        // The latest state replaces the earlier one entirely: its error is gone.
        expect(byKey.get("apply/a")?.error).toBeUndefined()
        expect(byKey.get("apply/a")?.startedAt).toBeUndefined()
        expect(yield* store.itemStates(Record.makeId())).toEqual([])
      }))

    test("item states: thousands of items over several writes, each read back exactly", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const record = makeRecord()
        yield* store.insert(record)
        const written: Array<ItemState> = Array.from({ length: 2500 }, (_, i) => ({
          executionId: record.id,
          block: i % 2 === 0 ? "even" : "odd",
          item: `item-${i}`,
          status: i % 7 === 0 ? "Fail" : "Success",
          startedAt: new Date(base + i),
          finishedAt: new Date(base + i + 1),
          ...(i % 7 === 0 ? { error: { message: `failed ${i}` } } : { value: i })
        }))
        for (let from = 0; from < written.length; from += 600) {
          yield* store.saveItemStates(written.slice(from, from + 600))
        }
        const read = yield* store.itemStates(record.id)
        const key = (state: ItemState) => `${state.block}/${state.item}`
        expect(new Map(read.map((state) => [key(state), state]))).toEqual(
          new Map(written.map((state) => [key(state), state]))
        )
      }))

    test("unfinished lists exactly the Queued, Running and Interrupting records", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const states = ["Queued", "Running", "Interrupting", "Succeeded", "Failed", "Interrupted", "TimedOut"] as const
        const records = states.map((state) => makeRecord({ state }))
        yield* insertAll(records)
        const unfinished = yield* store.unfinished
        expect(new Set(unfinished.map((record) => record.state))).toEqual(
          new Set(["Queued", "Running", "Interrupting"])
        )
        expect(unfinished.length).toBe(3)
      }))

    test("query: eq ne in on strings, and state values", () =>
      Effect.gen(function*() {
        const a = makeRecord({ command: "deploy", state: "Running", owner: "alice" })
        const b = makeRecord({ command: "backup", state: "Failed", owner: "bob" })
        const c = makeRecord({ command: "deploy", state: "Succeeded" })
        yield* insertAll([a, b, c])
        const sorted = { sort: "createdAt" }
        expect(ids(yield* all({ ...sorted, where: { command: { op: "eq", value: "deploy" } } }))).toEqual([a.id, c.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "ne", value: "deploy" } } }))).toEqual([b.id])
        expect(ids(yield* all({ ...sorted, where: { state: { op: "in", value: ["Failed", "Succeeded"] } } })))
          .toEqual([b.id, c.id])
        // A missing owner matches only ne / notlike.
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "ne", value: "alice" } } }))).toEqual([b.id, c.id])
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "eq", value: "alice" } } }))).toEqual([a.id])
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "in", value: ["alice", "bob"] } } })))
          .toEqual([a.id, b.id])
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "gt", value: "alice" } } }))).toEqual([b.id])
      }))

    test("query: like / notlike with %, _, escapes and ASCII case-insensitivity", () =>
      Effect.gen(function*() {
        const r1 = makeRecord({ command: "Deploy-Web" })
        const r2 = makeRecord({ command: "deploy_api" })
        const r3 = makeRecord({ command: "backup%daily" })
        const r4 = makeRecord({ command: "ÉTÉ" })
        yield* insertAll([r1, r2, r3, r4])
        const sorted = { sort: "createdAt" }
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "deploy%" } } })))
          .toEqual([r1.id, r2.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "deploy_api" } } })))
          .toEqual([r2.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "deploy\\_api" } } })))
          .toEqual([r2.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "%\\%%" } } }))).toEqual([r3.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "été" } } }))).toEqual([])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "like", value: "ÉTÉ" } } }))).toEqual([r4.id])
        expect(ids(yield* all({ ...sorted, where: { command: { op: "notlike", value: "%deploy%" } } })))
          .toEqual([r3.id, r4.id])
        // Missing values match notlike.
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "notlike", value: "%" } } })).length).toBe(4)
      }))

    test("query: dates compare by instant (ISO strings or epoch ms), missing dates match only ne", () =>
      Effect.gen(function*() {
        const early = makeRecord({ finishedAt: new Date(base + 1_000), state: "Succeeded" })
        const late = makeRecord({ finishedAt: new Date(base + 9_000), state: "Failed" })
        const running = makeRecord({ state: "Running" })
        yield* insertAll([early, late, running])
        const sorted = { sort: "createdAt" }
        const at = new Date(base + 5_000).toISOString()
        expect(ids(yield* all({ ...sorted, where: { finishedAt: { op: "lt", value: at } } }))).toEqual([early.id])
        expect(ids(yield* all({ ...sorted, where: { finishedAt: { op: "ge", value: base + 9_000 } } }))).toEqual([
          late.id
        ])
        expect(ids(yield* all({ ...sorted, where: { finishedAt: { op: "le", value: base + 9_000 } } }))).toEqual([
          early.id,
          late.id
        ])
        expect(ids(yield* all({ ...sorted, where: { finishedAt: { op: "eq", value: base + 1_000 } } }))).toEqual([
          early.id
        ])
        expect(ids(yield* all({ ...sorted, where: { finishedAt: { op: "ne", value: base + 1_000 } } }))).toEqual([
          late.id,
          running.id
        ])
        expect(
          ids(
            yield* all({
              ...sorted,
              where: {
                createdAt: { op: "ge", value: early.createdAt.toISOString() },
                finishedAt: { op: "gt", value: at }
              }
            })
          )
        ).toEqual([late.id])
      }))

    test("query: booleans and labels", () =>
      Effect.gen(function*() {
        const a = makeRecord({ cancellable: false, labels: { env: "prod", region: "eu" } })
        const b = makeRecord({ cancellable: true, labels: { env: "dev" } })
        const c = makeRecord({ cancellable: true, labels: {} })
        yield* insertAll([a, b, c])
        const sorted = { sort: "createdAt" }
        expect(ids(yield* all({ ...sorted, where: { cancellable: { op: "eq", value: false } } }))).toEqual([a.id])
        expect(ids(yield* all({ ...sorted, where: { cancellable: { op: "ne", value: false } } }))).toEqual([b.id, c.id])
        expect(ids(yield* all({ ...sorted, where: { "labels.env": { op: "eq", value: "prod" } } }))).toEqual([a.id])
        expect(ids(yield* all({ ...sorted, where: { "labels.env": { op: "ne", value: "prod" } } }))).toEqual([
          b.id,
          c.id
        ])
        expect(ids(yield* all({ ...sorted, where: { "labels.region": { op: "like", value: "e%" } } }))).toEqual([a.id])
      }))

    test("query: sort on every sortable field, both directions, ties broken by id", () =>
      Effect.gen(function*() {
        const sameTime = new Date(base + 500)
        const records = [
          makeRecord({ command: "b", state: "Failed", createdAt: sameTime, updatedAt: new Date(base + 3) }),
          makeRecord({ command: "a", state: "Running", createdAt: sameTime, updatedAt: new Date(base + 1) }),
          makeRecord({ command: "c", state: "Queued", updatedAt: new Date(base + 2), finishedAt: new Date(base + 7) }),
          makeRecord({
            command: "a",
            state: "Succeeded",
            updatedAt: new Date(base + 2),
            finishedAt: new Date(base + 5)
          })
        ]
        yield* insertAll(records)
        for (const field of Query.sortFields) {
          for (const direction of ["asc", "desc"] as const) {
            const expected = [...records].sort(Query.compare({ field, direction })).map((record) => record.id)
            const got = ids(yield* all({ sort: { field, direction } }))
            expect({ field, direction, got }).toEqual({ field, direction, got: expected })
          }
        }
      }))

    test("query: cursor pagination returns every record exactly once, in order", () =>
      Effect.gen(function*() {
        const records = Array.from({ length: 57 }, (_, i) =>
          makeRecord({
            command: `cmd-${i % 5}`,
            createdAt: new Date(base + Math.floor(i / 3) * 1000),
            state: i % 2 === 0 ? "Running" : "Failed"
          }))
        yield* insertAll(records)
        const store = yield* ExecutionStore
        for (const sort of ["createdAt", "-createdAt", "command", "-state", "id"]) {
          const seen: Array<string> = []
          let cursor: string | undefined = undefined
          let pages = 0
          do {
            const page: Query.QueryPage = yield* store.query(query({ sort, limit: 10, cursor }))
            expect(page.records.length).toBeLessThanOrEqual(10)
            seen.push(...ids(page.records))
            cursor = page.nextCursor
            pages++
          } while (cursor !== undefined)
          expect(pages).toBe(6)
          expect(seen.length).toBe(57)
          expect(new Set(seen).size).toBe(57)
          const parsed = query({ sort })
          expect(seen).toEqual([...records].sort(Query.compare(parsed.sort)).map((record) => record.id))
        }
        const filtered = yield* all({ sort: "createdAt", limit: 4, where: { state: { op: "eq", value: "Running" } } })
        expect(filtered.length).toBe(29)
      }))

    test("query: pagination under concurrent inserts returns each earlier record exactly once", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const before = Array.from({ length: 40 }, () => makeRecord())
        yield* insertAll(before)
        const seen: Array<string> = []
        let cursor: string | undefined = undefined
        let round = 0
        do {
          const page: Query.QueryPage = yield* store.query(query({ sort: "createdAt", limit: 7, cursor }))
          seen.push(...ids(page.records))
          cursor = page.nextCursor
          // Records inserted between pages, both before and after the cursor position.
          yield* store.insert(makeRecord({ createdAt: new Date(base - 1_000_000 - round) }))
          yield* store.insert(makeRecord())
          round++
        } while (cursor !== undefined && round < 100)
        for (const record of before) {
          expect(seen.filter((id) => id === record.id).length).toBe(1)
        }
        expect(new Set(seen).size).toBe(seen.length)
      }))

    test("query: readableBy returns only what the principal may read", () =>
      Effect.gen(function*() {
        const alice = Access.principal({ id: "alice", groups: ["ops"] })
        const bob = Access.principal({ id: "bob", roles: ["auditor"] })
        const own = makeRecord({ owner: "alice" })
        const shared = makeRecord({ owner: "carol", permissions: Access.permissions({ read: { groups: ["ops"] } }) })
        const writable = makeRecord({
          owner: "carol",
          permissions: Access.permissions({ write: { roles: ["auditor"] } })
        })
        const publicRecord = makeRecord({ owner: "carol", permissions: Access.permissions({ read: { users: ["*"] } }) })
        const hidden = makeRecord({ owner: "carol" })
        yield* insertAll([own, shared, writable, publicRecord, hidden])
        const sorted = { sort: "createdAt" }
        expect(ids(yield* all(sorted, { principal: alice }))).toEqual([own.id, shared.id, publicRecord.id])
        expect(ids(yield* all(sorted, { principal: bob }))).toEqual([writable.id, publicRecord.id])
        expect(ids(yield* all(sorted, { principal: undefined }))).toEqual([publicRecord.id])
        expect(ids(yield* all({ ...sorted, where: { owner: { op: "eq", value: "carol" } } }, { principal: alice })))
          .toEqual([shared.id, publicRecord.id])
        // Pages stay full when unreadable records sit between readable ones.
        const store = yield* ExecutionStore
        const page = yield* store.query(query({ sort: "createdAt", limit: 2 }, { principal: alice }))
        expect(ids(page.records)).toEqual([own.id, shared.id])
        expect(page.nextCursor).toBeDefined()
      }))

    test("purgeExpired deletes only expired terminal records, at most `limit`, with their items and log", () =>
      Effect.gen(function*() {
        const store = yield* ExecutionStore
        const now = new Date(base + 1_000_000)
        const expired = Array.from(
          { length: 5 },
          () => makeRecord({ state: "Succeeded", expiresAt: new Date(now.getTime() - 1) })
        )
        const atLimit = makeRecord({ state: "Failed", expiresAt: now })
        const fresh = makeRecord({ state: "Succeeded", expiresAt: new Date(now.getTime() + 1) })
        const running = makeRecord({ state: "Running", expiresAt: new Date(now.getTime() - 1) })
        const noExpiry = makeRecord({ state: "Interrupted" })
        yield* insertAll([...expired, atLimit, fresh, running, noExpiry])
        yield* store.saveItemStates([{
          executionId: atLimit.id,
          block: "apply",
          item: "x",
          status: "Success",
          finishedAt: now
        }])
        expect(yield* store.purgeExpired(now, 4)).toBe(4)
        expect(yield* store.purgeExpired(now, 4)).toBe(2)
        expect(yield* store.purgeExpired(now, 4)).toBe(0)
        for (const record of [...expired, atLimit]) {
          expect(Option.isNone(yield* store.get(record.id))).toBe(true)
          expect(yield* store.transitions(record.id)).toEqual([])
        }
        expect(yield* store.itemStates(atLimit.id)).toEqual([])
        for (const record of [fresh, running, noExpiry]) {
          expect(Option.isSome(yield* store.get(record.id))).toBe(true)
        }
      }))

    test("records of 1,000 executions round-trip through query", () =>
      Effect.gen(function*() {
        const records = Array.from({ length: 1000 }, (_, i) => makeRecord({ command: `c${i % 7}` }))
        yield* insertAll(records)
        const got = yield* all({ sort: "createdAt", limit: 1000 })
        expect(got.length).toBe(1000)
        expect(ids(got)).toEqual(ids(records))
      }))
  })
}
