/**
 * The SQL translation of queries gives exactly what `ExecutionQuery.run` gives, page by
 * page, on randomly generated records and queries (seeded, so every run checks the same
 * cases): every field and operator, labels, missing values, LIKE escapes and case, sorts
 * with ties, cursors (also hand-made ones), limits and access filters.
 */
import { describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord as Model } from "@truce/core"
import { Access, ExecutionQuery, ExecutionStore } from "@truce/core"
import { makeRecord } from "@truce/core/testing/ExecutionStoreConformance"
import { SqliteExecutionStore } from "@truce/sql"
import { Effect, Either } from "effect"
import { tempDb } from "./support/tempDb.js"

/** mulberry32: a small seeded PRNG. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const base = Date.UTC(2026, 2, 1)

const commands = [
  "deploy",
  "Deploy-Web",
  "deploy_api",
  "backup%daily",
  "ÉTÉ",
  "été",
  "a\\b",
  "x'y",
  "zeta",
  "Ωmega",
  "_under"
]
const states = ["Queued", "Running", "Interrupting", "Succeeded", "Failed", "Interrupted", "TimedOut"] as const
const owners = [undefined, "alice", "bob", "Alice"]
const labelValues: Record<string, ReadonlyArray<string>> = {
  env: ["prod", "dev", "Prod", "pro%"],
  team: ["a", "b", "a_b"],
  "x.y": ["1", "10", "9"]
}
const patterns = [
  "deploy%",
  "%\\%%",
  "_eploy%",
  "%",
  "d%y",
  "DEPLOY%",
  "a\\",
  "a\\\\b",
  "\\_%",
  "%é%",
  "x'%",
  "%_",
  "p%"
]

const makeGenerators = (random: () => number) => {
  const pick = <A>(values: ReadonlyArray<A>): A => values[Math.floor(random() * values.length)] as A
  const maybe = <A>(value: () => A, p = 0.5): A | undefined => random() < p ? value() : undefined
  const time = () => base + Math.floor(random() * 40) * 1000
  const grant = () => ({
    users: random() < 0.15 ? ["*"] : random() < 0.3 ? [pick(["alice", "bob", "carol"])] : [],
    groups: random() < 0.3 ? [pick(["ops", "dev"])] : [],
    roles: random() < 0.2 ? ["admin"] : [],
    scopes: random() < 0.2 ? ["deploy:write"] : []
  })
  return { pick, maybe, time, grant }
}

const generateRecords = (random: () => number, count: number): Array<Model.ExecutionRecord> => {
  const { grant, maybe, pick, time } = makeGenerators(random)
  const records: Array<Model.ExecutionRecord> = []
  for (let i = 0; i < count; i++) {
    const labels: Record<string, string> = {}
    for (const [name, values] of Object.entries(labelValues)) if (random() < 0.5) labels[name] = pick(values)
    const createdAt = new Date(time())
    const optional = {
      owner: pick(owners),
      startedAt: maybe(() => new Date(time()), 0.6),
      finishedAt: maybe(() => new Date(time()), 0.4),
      expiresAt: maybe(() => new Date(time()), 0.3),
      resumedFrom: maybe(() => pick(records)?.id, 0.2),
      idempotencyKey: maybe(() => pick(["k1", "k2", "K1"]), 0.2),
      runner: maybe(() => pick(["1:a", "2:b"]), 0.5)
    }
    const record: Record<string, unknown> = {
      ...makeRecord({
        command: pick(commands),
        state: pick(states),
        createdAt,
        updatedAt: new Date(time()),
        cancellable: random() < 0.5,
        resumable: random() < 0.5,
        labels,
        permissions: Access.permissions({ read: grant(), write: grant() })
      })
    }
    delete record.startedAt
    for (const [key, value] of Object.entries(optional)) if (value !== undefined) record[key] = value
    records.push(record as Model.ExecutionRecord)
  }
  return records
}

const fieldNames = [...Object.keys(ExecutionQuery.fields), "labels.env", "labels.team", "labels.x.y", "labels.none"]

const operatorsOf: Record<ExecutionQuery.FieldKind, ReadonlyArray<ExecutionQuery.Operator>> = {
  string: ["eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "in"],
  date: ["eq", "ne", "gt", "ge", "lt", "le", "in"],
  boolean: ["eq", "ne"]
}

const generateQueryInput = (
  random: () => number,
  records: ReadonlyArray<Model.ExecutionRecord>
): ExecutionQuery.QueryInput => {
  const { pick, time } = makeGenerators(random)
  const stringValue = (field: string, op: string): string => {
    if (op === "like" || op === "notlike") return pick(patterns)
    if (field === "state") return pick(states)
    const known = records.map((record) => ExecutionQuery.fieldValue(record, field)).filter((v) => typeof v === "string")
    return random() < 0.8 && known.length > 0 ? pick(known) as string : pick(["m", "deploy", "zz", "Deploy"])
  }
  const where: Array<{ field: string; op: string; value: unknown }> = []
  const conditions = Math.floor(random() * 4)
  for (let c = 0; c < conditions; c++) {
    const field = pick(fieldNames)
    const kind = ExecutionQuery.kindOf(field) as ExecutionQuery.FieldKind
    const op = pick(operatorsOf[kind])
    const one = (): unknown => kind === "date" ? time() : kind === "boolean" ? random() < 0.5 : stringValue(field, op)
    where.push({ field, op, value: op === "in" ? Array.from({ length: 1 + Math.floor(random() * 3) }, one) : one() })
  }
  const sortField = pick(ExecutionQuery.sortFields)
  return {
    where,
    sort: random() < 0.5 ? sortField : `-${sortField}`,
    limit: 1 + Math.floor(random() * 25)
  }
}

const principals = [
  undefined,
  Access.principal({ id: "alice" }),
  Access.principal({ id: "bob", groups: ["ops"] }),
  Access.principal({ id: "dave", roles: ["admin"], scopes: ["deploy:write"] }),
  Access.principal({ id: "*" })
]

const make = (
  input: ExecutionQuery.QueryInput,
  readableBy: { readonly principal: Access.Principal | undefined } | undefined
) => {
  const parsed = ExecutionQuery.make(input, readableBy !== undefined ? { readableBy } : undefined)
  if (Either.isLeft(parsed)) throw new Error(`${parsed.left.message} in ${JSON.stringify(input)}`)
  return parsed.right
}

const ids = (page: ExecutionQuery.QueryPage) => page.records.map((record) => record.id)

describe("query pushdown matches ExecutionQuery.run", () => {
  it.effect("on 600 random queries, every page and cursor is the same", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const random = prng(20260301)
      const records = generateRecords(random, 150)
      yield* Effect.forEach(records, store.insert, { discard: true })
      let pages = 0
      let nonEmpty = 0
      for (let q = 0; q < 600; q++) {
        const input = generateQueryInput(random, records)
        const readableBy = random() < 0.3
          ? { principal: principals[Math.floor(random() * principals.length)] }
          : undefined
        let cursor: string | undefined = undefined
        do {
          const query = make({ ...input, cursor }, readableBy)
          const expected = ExecutionQuery.run(records, query)
          const got: ExecutionQuery.QueryPage = yield* store.query(query)
          expect({ input, readableBy, cursor, page: ids(got) }).toEqual({
            input,
            readableBy,
            cursor,
            page: ids(expected)
          })
          expect(got.nextCursor).toEqual(expected.nextCursor)
          if (got.records.length > 0) nonEmpty++
          cursor = got.nextCursor
          pages++
        } while (cursor !== undefined)
      }
      // The generator exercises real result sets, not only empty pages.
      expect(nonEmpty).toBeGreaterThan(300)
      expect(pages).toBeGreaterThan(1000)
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("parity") }))), 120_000)

  it.effect("hand-made cursors compare as in JavaScript (numbers vs strings, numeric strings)", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const records = generateRecords(prng(7), 60)
      yield* Effect.forEach(records, store.insert, { discard: true })
      const values: ReadonlyArray<string | number> = [
        "abc",
        String(base + 20_000),
        " ",
        "1e15",
        base + 5_000,
        0,
        "Running",
        "m",
        42
      ]
      for (const field of ExecutionQuery.sortFields) {
        for (const direction of ["asc", "desc"] as const) {
          for (const value of values) {
            const cursor = Buffer.from(JSON.stringify({ f: field, d: direction, v: value, i: records[3]?.id }))
              .toString("base64url")
            const query = make({ sort: { field, direction }, cursor, limit: 200 }, undefined)
            const got = yield* store.query(query)
            expect({ field, direction, value, page: ids(got) }).toEqual({
              field,
              direction,
              value,
              page: ids(ExecutionQuery.run(records, query))
            })
          }
        }
      }
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("cursors") }))))

  it.effect("a lone trailing backslash in a LIKE pattern is a literal backslash, as in memory", () =>
    Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      const records = [
        makeRecord({ command: "path\\" }),
        makeRecord({ command: "path" }),
        makeRecord({ command: "pa\\th" })
      ]
      yield* Effect.forEach(records, store.insert, { discard: true })
      for (const pattern of ["path\\", "%\\", "pa\\\\th", "pa\\th", "%\\\\"]) {
        const query = make({ where: { command: { op: "like", value: pattern } }, sort: "createdAt" }, undefined)
        expect({ pattern, page: ids(yield* store.query(query)) }).toEqual({
          pattern,
          page: ids(ExecutionQuery.run(records, query))
        })
      }
    }).pipe(Effect.provide(SqliteExecutionStore.layer({ filename: tempDb("like") }))))
})
