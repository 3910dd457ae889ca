/**
 * The SQLite store under a real `CmdExecutionMap`: paging while another fiber inserts,
 * retention by the map's housekeeper, and throttled progress snapshots.
 */
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord as Model } from "@truce/core"
import { CmdBlock, CmdExecution, CmdExecutionMap, ExecutionQuery, ExecutionStore } from "@truce/core"
import { makeRecord } from "@truce/core/testing/ExecutionStoreConformance"
import { SqliteExecutionStore } from "@truce/sql"
import { Chunk, Effect, Either, Fiber, Layer, Option, Stream } from "effect"
import { tempDb } from "./support/tempDb.js"

/** Polls a condition in real time; fails after 20 s. */
const waitUntil = (label: string, condition: Effect.Effect<boolean, unknown>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 20_000
    while (!(yield* condition)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${label}`)
      yield* Effect.sleep("5 millis")
    }
  })

const page = (store: ExecutionStore.ExecutionStore, input: ExecutionQuery.QueryInput) => {
  const parsed = ExecutionQuery.make(input)
  if (Either.isLeft(parsed)) return Effect.die(parsed.left)
  return store.query(parsed.right)
}

describe("paging under concurrent inserts", () => {
  for (const sort of ["createdAt", "-createdAt"]) {
    it.live(
      `every record present before paging is returned exactly once (${sort}) while another fiber inserts`,
      () =>
        Effect.gen(function*() {
          const store = yield* ExecutionStore.ExecutionStore
          const base = Date.UTC(2026, 5, 1)
          const times = Array.from({ length: 60 }, (_, i) => base + i * 1000)
          const before = Array.from(
            { length: 300 },
            (_, i) => makeRecord({ createdAt: new Date(times[i % times.length] as number) })
          )
          yield* Effect.forEach(before, store.insert, { concurrency: 50, discard: true })
          let inserted = 0
          const inserter = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
            // Before, inside (ties with existing keys) and after the range being paged.
            const at = inserted % 3 === 0 ? base - 10_000 : inserted % 3 === 1 ? times[inserted % 60] : base + 999_000
            yield* store.insert(makeRecord({ createdAt: new Date(at as number) }))
            inserted++
          })))
          const seen: Array<string> = []
          let cursor: string | undefined = undefined
          let pages = 0
          do {
            const result: ExecutionQuery.QueryPage = yield* page(store, { sort, limit: 17, cursor })
            seen.push(...result.records.map((record) => record.id))
            cursor = result.nextCursor
            pages++
            // Let the inserter add a few records between every two pages.
            const target = inserted + 3
            yield* waitUntil("inserts between pages", Effect.sync(() => inserted >= target))
          } while (cursor !== undefined)
          yield* Fiber.interrupt(inserter)
          expect(pages).toBeGreaterThan(300 / 17)
          expect(inserted).toBeGreaterThanOrEqual(pages * 3)
          const counts = new Map<string, number>()
          for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1)
          for (const record of before) expect(counts.get(record.id)).toBe(1)
          expect(new Set(seen).size).toBe(seen.length)
          // Records inserted ahead of the cursor were picked up too.
          expect(seen.length).toBeGreaterThan(before.length)
        }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("paging") }))),
      60_000
    )
  }
})

const steps = (name: string) =>
  CmdExecution.make<number>(name).pipe(
    CmdExecution.andThen(CmdBlock.items({
      name: "work",
      items: (n: number) => Array.from({ length: n }, (_, i) => i),
      id: (i) => `item-${i}`,
      apply: (i) => Effect.succeed(i)
    }))
  )

describe("retention", () => {
  it.live("the housekeeper purges finished records after the retention, and only those", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      const store = map.store
      const now = Date.now()
      // Written directly: a running record whose expiry passed, a finished one kept for a day, one without expiry.
      const running = makeRecord({ state: "Running", expiresAt: new Date(now - 60_000) })
      const keptForADay = makeRecord({ state: "Succeeded", expiresAt: new Date(now + 86_400_000) })
      const noExpiry = makeRecord({ state: "Failed" })
      yield* Effect.forEach([running, keptForADay, noExpiry], store.insert, { discard: true })
      const execution = steps("short-lived")
      const ids = yield* Effect.forEach([3, 4, 5], (n) => map.start(execution, n))
      yield* map.awaitAll(ids)
      for (const id of ids) {
        expect((yield* map.itemStates(id)).length).toBeGreaterThan(0)
        expect(Option.getOrThrow(yield* map.get(id)).expiresAt).toBeInstanceOf(Date)
      }
      yield* waitUntil(
        "the finished executions to be purged",
        Effect.map(
          Effect.forEach(ids, (id) => store.get(id as Model.ExecutionId)),
          (records) => records.every(Option.isNone)
        )
      )
      for (const id of ids) {
        expect(yield* map.itemStates(id)).toEqual([])
        expect(yield* map.transitions(id)).toEqual([])
      }
      for (const record of [running, keptForADay, noExpiry]) {
        expect(Option.isSome(yield* store.get(record.id))).toBe(true)
      }
    }).pipe(
      Effect.provide(
        CmdExecutionMap.layer({
          retention: "300 millis",
          housekeepingInterval: "20 millis",
          purgeBatch: 1,
          recover: false
        }).pipe(Layer.provide(SqliteExecutionStore.layer({ filename: tempDb("retention") })))
      )
    ), 60_000)
})

const progressWrites = { count: 0 }

/** The store, counting the writes that carry a progress snapshot. */
const countingProgressWrites = <E>(layer: Layer.Layer<ExecutionStore.ExecutionStore, E>) =>
  Layer.effect(
    ExecutionStore.ExecutionStore,
    Effect.map(ExecutionStore.ExecutionStore, (store): ExecutionStore.ExecutionStore => ({
      ...store,
      update: (id, patch, meta) => {
        if (patch.progress !== undefined) progressWrites.count++
        return store.update(id, patch, meta)
      }
    }))
  ).pipe(Layer.provide(layer))

describe("progress snapshots", () => {
  it.live("are written while the execution runs, throttled, and the final one always", () =>
    Effect.gen(function*() {
      const map = yield* CmdExecutionMap.CmdExecutionMap
      let released = false
      let updates = 0
      const execution = CmdExecution.make("progress").pipe(
        CmdExecution.andThen(CmdBlock.step({
          name: "count",
          run: (_: void, ctx) =>
            Effect.gen(function*() {
              yield* ctx.progress.setLimit({ _tag: "Steps", n: 1_000_000 })
              while (!released) {
                yield* ctx.progress.inc(1)
                updates++
                if (updates % 100 === 0) yield* Effect.sleep("1 millis")
              }
              return updates
            })
        }))
      )
      const startedAt = Date.now()
      const id = yield* map.start(execution, undefined)
      // The stored snapshot moves while the execution runs…
      yield* waitUntil(
        "a stored progress snapshot",
        Effect.map(map.store.get(id), (record) => Option.isSome(record) && record.value.progress.seq > 10)
      )
      const firstSeen = Option.getOrThrow(yield* map.store.get(id)).progress.seq
      yield* waitUntil(
        "a newer stored snapshot",
        Effect.map(map.store.get(id), (record) => Option.isSome(record) && record.value.progress.seq > firstSeen)
      )
      const transitionsBefore = (yield* map.transitions(id)).length
      released = true
      yield* map.await(id)
      const final = Option.getOrThrow(yield* map.store.get(id))
      expect(final.state).toBe("Succeeded")
      const elapsedMs = Date.now() - startedAt
      // …and the final one is stored: the sequence number of the Finished event.
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(map.events(id)))
      const finished = events.find((event) => event._tag === "Finished")
      expect(final.progress.seq).toBe(finished?.seq)
      expect(final.progress.seq).toBeGreaterThan(firstSeen)
      // Throttled: at most one snapshot per interval (plus the final one), far fewer than updates.
      expect(updates).toBeGreaterThan(500)
      expect(progressWrites.count).toBeLessThanOrEqual(Math.ceil(elapsedMs / 25) + 2)
      expect(progressWrites.count).toBeLessThan(updates / 5)
      // Progress snapshots are not state transitions.
      expect((yield* map.transitions(id)).length).toBe(transitionsBefore + 1)
    }).pipe(
      Effect.provide(
        CmdExecutionMap.layer({ progressInterval: "25 millis" }).pipe(
          Layer.provide(countingProgressWrites(SqliteExecutionStore.layer({ filename: tempDb("progress") })))
        )
      )
    ), 60_000)
})
