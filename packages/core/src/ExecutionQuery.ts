/**
 * Queries over execution records: conditions AND-ed together (`field: { op, value }`,
 * operators `eq ne gt ge lt le like notlike in`), a sort, a limit and a keyset cursor.
 *
 * Every store runs the same semantics. This module validates input (bad field, operator
 * or value → a typed {@link InvalidQuery}, never a crash) and also evaluates a query over
 * records in memory, which the in-memory store uses and SQL stores are tested against.
 *
 * Semantics that every store follows:
 * - A condition on a field the record does not have (e.g. `finishedAt` of a running
 *   execution, or a missing label) matches only for `ne` and `notlike`.
 * - `like` / `notlike`: `%` matches any run of characters, `_` one character, `\`
 *   escapes the next one; ASCII letters compare case-insensitively (as SQLite does).
 * - Dates are given as ISO-8601 strings or epoch milliseconds.
 * - Sorting puts a missing timestamp first (as 0); ties break by `id` in the same direction.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Principal } from "./Access.js"
import { canRead } from "./Access.js"
import type { ExecutionRecord } from "./ExecutionRecord.js"
import { ExecutionState } from "./ExecutionRecord.js"

const isExecutionState = Schema.is(ExecutionState)
const states = ExecutionState.literals.join(", ")

/**
 * @since 0.1.0
 * @category models
 */
export const Operator = Schema.Literal("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "in")

/**
 * @since 0.1.0
 * @category models
 */
export type Operator = typeof Operator.Type

/**
 * A query that cannot be run: unknown field, operator not allowed for the field,
 * a value of the wrong type, a malformed cursor.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidQuery extends Schema.TaggedError<InvalidQuery>("@truce/core/InvalidQuery")("InvalidQuery", {
  message: Schema.String,
  field: Schema.optional(Schema.String),
  op: Schema.optional(Schema.String)
}) {}

/**
 * The kinds of value a field holds.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldKind = "string" | "date" | "boolean"

/**
 * The fields a query may use, with their kinds. `labels.<name>` is also allowed (string).
 *
 * @since 0.1.0
 * @category fields
 */
export const fields = {
  id: "string",
  command: "string",
  state: "string",
  owner: "string",
  createdAt: "date",
  updatedAt: "date",
  startedAt: "date",
  finishedAt: "date",
  expiresAt: "date",
  cancellable: "boolean",
  resumable: "boolean",
  resumedFrom: "string",
  idempotencyKey: "string",
  runner: "string"
} as const satisfies Record<string, FieldKind>

/**
 * @since 0.1.0
 * @category fields
 */
export type FieldName = keyof typeof fields

/**
 * The fields a query may sort by.
 *
 * @since 0.1.0
 * @category fields
 */
export const sortFields = ["createdAt", "updatedAt", "startedAt", "finishedAt", "command", "state", "id"] as const

/**
 * @since 0.1.0
 * @category fields
 */
export type SortField = typeof sortFields[number]

const operatorsByKind: Record<FieldKind, ReadonlyArray<Operator>> = {
  string: ["eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "in"],
  date: ["eq", "ne", "gt", "ge", "lt", "le", "in"],
  boolean: ["eq", "ne"]
}

const labelName = /^[A-Za-z0-9_.:/-]{1,128}$/

/**
 * One validated condition. Date values are epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export type Condition =
  | {
    readonly field: string
    readonly kind: "string"
    readonly op: Operator
    readonly value: string | ReadonlyArray<string>
  }
  | {
    readonly field: string
    readonly kind: "date"
    readonly op: Operator
    readonly value: number | ReadonlyArray<number>
  }
  | { readonly field: string; readonly kind: "boolean"; readonly op: Operator; readonly value: boolean }

/**
 * @since 0.1.0
 * @category models
 */
export interface Sort {
  readonly field: SortField
  readonly direction: "asc" | "desc"
}

/**
 * A decoded cursor: the sort key and id of the last record of the previous page.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cursor {
  readonly field: SortField
  readonly direction: "asc" | "desc"
  readonly value: string | number
  readonly id: string
}

/**
 * A validated query. `readableBy`, when present, restricts results to records the
 * principal may read (`principal: undefined` = an anonymous caller).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecutionQuery {
  readonly where: ReadonlyArray<Condition>
  readonly sort: Sort
  readonly limit: number
  readonly cursor?: Cursor | undefined
  readonly readableBy?: { readonly principal: Principal | undefined } | undefined
}

/**
 * One page of results; `nextCursor` is present when more records may follow.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryPage {
  readonly records: ReadonlyArray<ExecutionRecord>
  readonly nextCursor?: string | undefined
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaultLimit = 100

/**
 * @since 0.1.0
 * @category constants
 */
export const maxLimit = 1000

/**
 * The longest `like` / `notlike` pattern, in characters (longer ones are an `InvalidQuery`).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPatternLength = 1000

/**
 * The untyped input of a query, as an HTTP body carries it:
 * `{ where: { state: { op: "eq", value: "Running" } }, sort: "-createdAt", limit: 50 }`.
 * `where` may also be an array of `{ field, op, value }`.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueryInput {
  readonly where?: unknown
  readonly sort?: unknown
  readonly limit?: unknown
  readonly cursor?: unknown
}

const invalid = (message: string, field?: string, op?: string) =>
  new InvalidQuery({
    message,
    ...(field !== undefined ? { field } : {}),
    ...(op !== undefined ? { op } : {})
  })

const isRecordObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The kind of a field name, or undefined when it is not queryable.
 *
 * @since 0.1.0
 * @category fields
 */
export const kindOf = (field: string): FieldKind | undefined => {
  if (Object.prototype.hasOwnProperty.call(fields, field)) return fields[field as FieldName]
  if (field.startsWith("labels.") && labelName.test(field.slice(7))) return "string"
  return undefined
}

const parseDate = (value: unknown, field: string, op: string): Either.Either<number, InvalidQuery> => {
  if (typeof value === "number" && Number.isFinite(value)) return Either.right(value)
  if (typeof value === "string" && value.length > 0) {
    const ms = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value)
    if (Number.isFinite(ms)) return Either.right(ms)
  }
  if (value instanceof Date && Number.isFinite(value.getTime())) return Either.right(value.getTime())
  return Either.left(invalid(`${field}: expected a date (ISO-8601 string or epoch milliseconds)`, field, op))
}

const parseCondition = (field: string, op: unknown, value: unknown): Either.Either<Condition, InvalidQuery> => {
  const kind = kindOf(field)
  if (kind === undefined) {
    return Either.left(
      invalid(`unknown field "${field}"; queryable fields: ${Object.keys(fields).join(", ")}, labels.<name>`, field)
    )
  }
  if (typeof op !== "string" || !(Operator.literals as ReadonlyArray<string>).includes(op.toLowerCase())) {
    return Either.left(
      invalid(`unknown operator ${JSON.stringify(op)} for "${field}"; operators: ${Operator.literals.join(" ")}`, field)
    )
  }
  const operator = op.toLowerCase() as Operator
  if (!operatorsByKind[kind].includes(operator)) {
    return Either.left(
      invalid(
        `operator "${operator}" is not allowed on ${kind} field "${field}"; allowed: ${
          operatorsByKind[kind].join(" ")
        }`,
        field,
        operator
      )
    )
  }
  if (operator === "in") {
    if (!Array.isArray(value) || value.length === 0 || value.length > 1000) {
      return Either.left(invalid(`${field}: "in" needs a non-empty array of at most 1000 values`, field, operator))
    }
    if (kind === "date") {
      const dates: Array<number> = []
      for (const v of value) {
        const parsed = parseDate(v, field, operator)
        if (Either.isLeft(parsed)) return Either.left(parsed.left)
        dates.push(parsed.right)
      }
      return Either.right({ field, kind, op: operator, value: dates })
    }
    if (!value.every((v): v is string => typeof v === "string")) {
      return Either.left(invalid(`${field}: "in" needs an array of strings`, field, operator))
    }
    const unknownState = field === "state" ? value.find((v) => !isExecutionState(v)) : undefined
    if (unknownState !== undefined) {
      return Either.left(
        invalid(`state: unknown state ${JSON.stringify(unknownState)}; states: ${states}`, field, operator)
      )
    }
    return Either.right({ field, kind: "string", op: operator, value })
  }
  switch (kind) {
    case "string":
      if (typeof value !== "string") {
        return Either.left(invalid(`${field}: expected a string value, got ${describe(value)}`, field, operator))
      }
      if (field === "state" && (operator === "eq" || operator === "ne") && !isExecutionState(value)) {
        return Either.left(invalid(`state: unknown state ${JSON.stringify(value)}; states: ${states}`, field, operator))
      }
      if ((operator === "like" || operator === "notlike") && value.length > maxPatternLength) {
        // Every store must answer the same: SQLite refuses patterns over 50,000 bytes.
        return Either.left(
          invalid(`${field}: a ${operator} pattern may have at most ${maxPatternLength} characters`, field, operator)
        )
      }
      return Either.right({ field, kind, op: operator, value })
    case "boolean":
      if (typeof value === "boolean") return Either.right({ field, kind, op: operator, value })
      if (value === "true" || value === "false") {
        return Either.right({ field, kind, op: operator, value: value === "true" })
      }
      return Either.left(invalid(`${field}: expected true or false, got ${describe(value)}`, field, operator))
    case "date": {
      const parsed = parseDate(value, field, operator)
      return Either.map(parsed, (ms) => ({ field, kind, op: operator, value: ms }))
    }
  }
}

const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  return typeof value
}

const parseSort = (input: unknown): Either.Either<Sort, InvalidQuery> => {
  if (input === undefined || input === null || input === "") {
    return Either.right({ field: "createdAt", direction: "desc" })
  }
  let field: unknown
  let direction: unknown = "asc"
  if (typeof input === "string") {
    if (input.startsWith("-")) {
      field = input.slice(1)
      direction = "desc"
    } else {
      field = input.startsWith("+") ? input.slice(1) : input
    }
  } else if (isRecordObject(input)) {
    field = input.field
    direction = input.direction ?? "asc"
  } else {
    return Either.left(invalid("sort: expected \"field\", \"-field\" or { field, direction }"))
  }
  if (typeof field !== "string" || !(sortFields as ReadonlyArray<string>).includes(field)) {
    return Either.left(invalid(`sort: cannot sort by ${JSON.stringify(field)}; sortable: ${sortFields.join(", ")}`))
  }
  if (direction !== "asc" && direction !== "desc") {
    return Either.left(invalid(`sort: direction must be "asc" or "desc", got ${JSON.stringify(direction)}`))
  }
  return Either.right({ field: field as SortField, direction })
}

const parseLimit = (input: unknown): Either.Either<number, InvalidQuery> => {
  if (input === undefined || input === null || input === "") return Either.right(defaultLimit)
  const n = typeof input === "string" && /^\d+$/.test(input) ? Number(input) : input
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    return Either.left(
      invalid(`limit: expected a positive integer (at most ${maxLimit}), got ${JSON.stringify(input)}`)
    )
  }
  return Either.right(Math.min(n, maxLimit))
}

/**
 * Encodes a cursor pointing after `record` for the given sort.
 *
 * @since 0.1.0
 * @category cursors
 */
export const cursorAfter = (record: ExecutionRecord, sort: Sort): string =>
  Buffer.from(JSON.stringify({ f: sort.field, d: sort.direction, v: sortKey(record, sort.field), i: record.id }))
    .toString("base64url")

/**
 * Decodes a cursor made by {@link cursorAfter}; it must match the query's sort.
 *
 * @since 0.1.0
 * @category cursors
 */
export const decodeCursor = (input: unknown, sort: Sort): Either.Either<Cursor, InvalidQuery> => {
  if (typeof input !== "string" || input.length === 0 || input.length > 2048) {
    return Either.left(invalid("cursor: malformed"))
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(input, "base64url").toString("utf8"))
  } catch {
    return Either.left(invalid("cursor: malformed"))
  }
  if (
    !isRecordObject(parsed) || typeof parsed.i !== "string" ||
    (typeof parsed.v !== "string" && typeof parsed.v !== "number")
  ) {
    return Either.left(invalid("cursor: malformed"))
  }
  if (parsed.f !== sort.field || parsed.d !== sort.direction) {
    return Either.left(invalid("cursor: it was made for another sort order; repeat the query with the same sort"))
  }
  return Either.right({ field: sort.field, direction: sort.direction, value: parsed.v, id: parsed.i })
}

/**
 * Validates untyped query input.
 *
 * @example
 * import { Either } from "effect"
 * import { ExecutionQuery } from "@truce/core"
 *
 * const query = ExecutionQuery.make({
 *   where: { state: { op: "in", value: ["Running", "Queued"] }, "labels.env": { op: "eq", value: "prod" } },
 *   sort: "-createdAt",
 *   limit: 20
 * })
 * if (Either.isLeft(query)) console.error(query.left.message)
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  input: QueryInput,
  options?: { readonly readableBy?: { readonly principal: Principal | undefined } | undefined }
): Either.Either<ExecutionQuery, InvalidQuery> =>
  Either.gen(function*() {
    const where: Array<Condition> = []
    if (Array.isArray(input.where)) {
      for (const entry of input.where) {
        if (!isRecordObject(entry) || typeof entry.field !== "string") {
          return yield* Either.left(invalid("where: each condition must be { field, op, value }"))
        }
        where.push(yield* parseCondition(entry.field, entry.op, entry.value))
      }
    } else if (isRecordObject(input.where)) {
      for (const field of Object.keys(input.where)) {
        const condition = input.where[field]
        if (!isRecordObject(condition)) {
          return yield* Either.left(invalid(`where.${field}: expected { op, value }`, field))
        }
        where.push(yield* parseCondition(field, condition.op, condition.value))
      }
    } else if (input.where !== undefined && input.where !== null) {
      return yield* Either.left(invalid("where: expected an object { field: { op, value } } or an array"))
    }
    const sort = yield* parseSort(input.sort)
    const limit = yield* parseLimit(input.limit)
    const cursor = input.cursor === undefined || input.cursor === null || input.cursor === ""
      ? undefined
      : yield* decodeCursor(input.cursor, sort)
    return {
      where,
      sort,
      limit,
      ...(cursor !== undefined ? { cursor } : {}),
      ...(options?.readableBy !== undefined ? { readableBy: options.readableBy } : {})
    }
  })

const reservedParams = new Set(["sort", "limit", "cursor"])

/**
 * Reads a query from URL search parameters: `field=value` (eq), `field[op]=value`, `in`
 * values comma-separated, plus `sort` (`-createdAt`), `limit` and `cursor`.
 *
 * @example
 * import { ExecutionQuery } from "@truce/core"
 * const query = ExecutionQuery.fromSearchParams(new URLSearchParams("state[in]=Running,Queued&limit=10"))
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSearchParams = (
  params: URLSearchParams,
  options?: { readonly readableBy?: { readonly principal: Principal | undefined } | undefined }
): Either.Either<ExecutionQuery, InvalidQuery> => {
  const where: Array<{ field: string; op: string; value: unknown }> = []
  for (const [key, raw] of params) {
    if (reservedParams.has(key)) continue
    const match = /^([^[\]]+)(?:\[([A-Za-z]+)\])?$/.exec(key)
    if (match === null) {
      return Either.left(invalid(`malformed query parameter "${key}"; use field=value or field[op]=value`))
    }
    const field = match[1] as string
    const op = (match[2] ?? "eq").toLowerCase()
    where.push({ field, op, value: op === "in" ? raw.split(",") : raw })
  }
  return make({
    where,
    sort: params.get("sort") ?? undefined,
    limit: params.get("limit") ?? undefined,
    cursor: params.get("cursor") ?? undefined
  }, options)
}

/**
 * The value a record holds for a field (dates as epoch ms), or undefined if absent.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const fieldValue = (record: ExecutionRecord, field: string): string | number | boolean | undefined => {
  if (field.startsWith("labels.")) return record.labels[field.slice(7)]
  switch (field as FieldName) {
    case "createdAt":
    case "updatedAt":
    case "startedAt":
    case "finishedAt":
    case "expiresAt": {
      const date = record[field as "createdAt"] as Date | undefined
      return date === undefined ? undefined : date.getTime()
    }
    default: {
      const value = record[field as "id"] as unknown
      return typeof value === "string" || typeof value === "boolean" ? value : undefined
    }
  }
}

/**
 * The sort key of a record for a sort field (a missing date is 0).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const sortKey = (record: ExecutionRecord, field: SortField): string | number => {
  const value = fieldValue(record, field)
  if (value === undefined) return fields[field] === "date" ? 0 : ""
  return typeof value === "boolean" ? String(value) : value
}

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))

const likeCache = new Map<string, RegExp>()

/**
 * Compiles a LIKE pattern (`%`, `_`, `\` escape; ASCII case-insensitive) to a RegExp.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const likePattern = (pattern: string): RegExp => {
  const cached = likeCache.get(pattern)
  if (cached !== undefined) return cached
  let source = "^"
  const lowered = asciiLower(pattern)
  for (let i = 0; i < lowered.length; i++) {
    const c = lowered[i] as string
    if (c === "\\" && i + 1 < lowered.length) {
      source += escapeRegExp(lowered[++i] as string)
    } else if (c === "%") {
      source += "[\\s\\S]*"
    } else if (c === "_") {
      source += "[\\s\\S]"
    } else {
      source += escapeRegExp(c)
    }
  }
  const regex = new RegExp(source + "$", "u")
  if (likeCache.size > 1000) likeCache.clear()
  likeCache.set(pattern, regex)
  return regex
}

const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

const compareValues = (a: string | number | boolean, b: string | number | boolean): number => a < b ? -1 : a > b ? 1 : 0

/**
 * Whether a record satisfies one condition.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const matchesCondition = (record: ExecutionRecord, condition: Condition): boolean => {
  const actual = fieldValue(record, condition.field)
  if (actual === undefined) return condition.op === "ne" || condition.op === "notlike"
  const value = condition.value
  switch (condition.op) {
    case "eq":
      return actual === value
    case "ne":
      return actual !== value
    case "gt":
      return compareValues(actual, value as string | number) > 0
    case "ge":
      return compareValues(actual, value as string | number) >= 0
    case "lt":
      return compareValues(actual, value as string | number) < 0
    case "le":
      return compareValues(actual, value as string | number) <= 0
    case "in":
      return (value as ReadonlyArray<string | number>).includes(actual as string | number)
    case "like":
      return likePattern(value as string).test(asciiLower(String(actual)))
    case "notlike":
      return !likePattern(value as string).test(asciiLower(String(actual)))
  }
}

/**
 * Whether a record satisfies every condition and the access restriction of a query
 * (the cursor is not considered).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const matches = (record: ExecutionRecord, query: ExecutionQuery): boolean => {
  if (query.readableBy !== undefined && !canRead(record, query.readableBy.principal)) return false
  for (const condition of query.where) {
    if (!matchesCondition(record, condition)) return false
  }
  return true
}

/**
 * Orders two records by the query's sort (ties by id, same direction).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const compare = (sort: Sort) => (a: ExecutionRecord, b: ExecutionRecord): number => {
  const byKey = compareValues(sortKey(a, sort.field), sortKey(b, sort.field))
  const result = byKey !== 0 ? byKey : compareValues(a.id, b.id)
  return sort.direction === "asc" ? result : -result
}

/**
 * Whether a record comes strictly after the cursor in the query's order.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const isAfterCursor = (record: ExecutionRecord, cursor: Cursor): boolean => {
  const byKey = compareValues(sortKey(record, cursor.field), cursor.value)
  const result = byKey !== 0 ? byKey : compareValues(record.id, cursor.id)
  return cursor.direction === "asc" ? result > 0 : result < 0
}

/**
 * Runs a query over records held in memory.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const run = (records: Iterable<ExecutionRecord>, query: ExecutionQuery): QueryPage => {
  const selected: Array<ExecutionRecord> = []
  for (const record of records) {
    if (query.cursor !== undefined && !isAfterCursor(record, query.cursor)) continue
    if (matches(record, query)) selected.push(record)
  }
  selected.sort(compare(query.sort))
  if (selected.length <= query.limit) return { records: selected }
  const page = selected.slice(0, query.limit)
  return { records: page, nextCursor: cursorAfter(page[page.length - 1] as ExecutionRecord, query.sort) }
}
