/**
 * `ExecutionQuery` → parameterised SQL with exactly the semantics of `ExecutionQuery.run`.
 *
 * Values are always bound parameters; field names and operators only ever select SQL text
 * from the constant tables below. A query that `ExecutionQuery.make` could not have
 * produced (unknown field, operator not allowed for the field, value of the wrong type)
 * is refused with a typed `StoreError`, never run.
 *
 * @internal
 */
import type { Access, ExecutionQuery as Query } from "@truce/core"
import { kindOf, sortFields } from "@truce/core/ExecutionQuery"
import { StoreError } from "@truce/core/ExecutionStore"
import * as Either from "effect/Either"
import type { SqlValue } from "./codec.js"

/** A compiled query: SQL text and its parameters. */
export interface CompiledQuery {
  readonly sql: string
  readonly params: ReadonlyArray<SqlValue>
}

const columnOf: Record<Query.FieldName, string> = {
  id: "e.id",
  command: "e.command",
  state: "e.state",
  owner: "e.owner",
  createdAt: "e.created_at",
  updatedAt: "e.updated_at",
  startedAt: "e.started_at",
  finishedAt: "e.finished_at",
  expiresAt: "e.expires_at",
  cancellable: "e.cancellable",
  resumable: "e.resumable",
  resumedFrom: "e.resumed_from",
  idempotencyKey: "e.idempotency_key",
  runner: "e.runner"
}

/** Sort keys: a missing start/finish time sorts as 0 (the expressions match the indexes). */
const sortKeyOf: Record<Query.SortField, { readonly sql: string; readonly kind: "date" | "string" }> = {
  createdAt: { sql: "e.created_at", kind: "date" },
  updatedAt: { sql: "e.updated_at", kind: "date" },
  startedAt: { sql: "COALESCE(e.started_at, 0)", kind: "date" },
  finishedAt: { sql: "COALESCE(e.finished_at, 0)", kind: "date" },
  command: { sql: "e.command", kind: "string" },
  state: { sql: "e.state", kind: "string" },
  id: { sql: "e.id", kind: "string" }
}

const allowedOperators: Record<Query.FieldKind, ReadonlySet<string>> = {
  string: new Set(["eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "in"]),
  date: new Set(["eq", "ne", "gt", "ge", "lt", "le", "in"]),
  boolean: new Set(["eq", "ne"])
}

const comparison: Record<string, string> = { eq: "=", gt: ">", ge: ">=", lt: "<", le: "<=" }

const malformed = (message: string) =>
  new StoreError({ reason: "Corrupt", message: `malformed query (not made by ExecutionQuery.make): ${message}` })

/**
 * A LIKE pattern as `ExecutionQuery` reads it, for SQLite's `LIKE ? ESCAPE '\'`: a lone
 * trailing backslash is a literal backslash there, while SQLite would match nothing.
 */
export const likeParameter = (pattern: string): string => {
  let i = 0
  while (i < pattern.length) {
    if (pattern[i] === "\\") {
      if (i + 1 === pattern.length) return pattern + "\\"
      i += 2
    } else {
      i++
    }
  }
  return pattern
}

const isFiniteNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

/** The bound value of a condition's scalar value, checked against the field's kind. */
const scalar = (kind: Query.FieldKind, value: unknown, field: string): Either.Either<SqlValue, StoreError> => {
  switch (kind) {
    case "string":
      return typeof value === "string"
        ? Either.right(value)
        : Either.left(malformed(`${field}: expected a string value`))
    case "date":
      return isFiniteNumber(value)
        ? Either.right(value)
        : Either.left(malformed(`${field}: expected epoch milliseconds`))
    case "boolean":
      return typeof value === "boolean"
        ? Either.right(value ? 1 : 0)
        : Either.left(malformed(`${field}: expected a boolean`))
  }
}

/** `expr <op> ?` for one operator; `ne` and `notlike` also match a missing (NULL) value. */
const predicate = (
  expr: string,
  op: string,
  kind: Query.FieldKind,
  value: unknown,
  field: string,
  params: Array<SqlValue>
): Either.Either<string, StoreError> =>
  Either.gen(function*() {
    if (op === "in") {
      if (!Array.isArray(value) || value.length === 0) {
        return yield* Either.left(malformed(`${field}: "in" needs a non-empty array`))
      }
      for (const element of value) params.push(yield* scalar(kind, element, field))
      return `${expr} IN (${value.map(() => "?").join(", ")})`
    }
    const bound = yield* scalar(kind, value, field)
    switch (op) {
      case "ne":
        params.push(bound)
        return `(${expr} IS NULL OR ${expr} <> ?)`
      case "like":
        params.push(likeParameter(bound as string))
        return `${expr} LIKE ? ESCAPE '\\'`
      case "notlike":
        params.push(likeParameter(bound as string))
        return `(${expr} IS NULL OR ${expr} NOT LIKE ? ESCAPE '\\')`
      default:
        params.push(bound)
        return `${expr} ${comparison[op]} ?`
    }
  })

const condition = (where: Query.Condition, params: Array<SqlValue>): Either.Either<string, StoreError> =>
  Either.gen(function*() {
    const field: unknown = where.field
    if (typeof field !== "string") return yield* Either.left(malformed("a condition has no field"))
    const kind = kindOf(field)
    if (kind === undefined) return yield* Either.left(malformed(`unknown field ${JSON.stringify(field)}`))
    if (kind !== where.kind) {
      return yield* Either.left(malformed(`${field} is a ${kind} field, not ${String(where.kind)}`))
    }
    const op: unknown = where.op
    if (typeof op !== "string" || !allowedOperators[kind].has(op)) {
      return yield* Either.left(malformed(`operator ${JSON.stringify(op)} is not allowed on ${field}`))
    }
    if (!field.startsWith("labels.")) {
      return yield* predicate(columnOf[field as Query.FieldName], op, kind, where.value, field, params)
    }
    // A label is present (one row in `labels`) or missing; missing matches only ne / notlike.
    params.push(field.slice(7))
    const lookup = "SELECT 1 FROM labels l WHERE l.execution_seq = e.seq AND l.name = ?"
    if (op === "ne" || op === "notlike") {
      const positive = yield* predicate("l.value", op === "ne" ? "eq" : "like", kind, where.value, field, params)
      return `NOT EXISTS (${lookup} AND ${positive})`
    }
    return `EXISTS (${lookup} AND ${yield* predicate("l.value", op, kind, where.value, field, params)})`
  })

const stringList = (u: unknown, what: string): Either.Either<string, StoreError> =>
  Array.isArray(u) && u.every((element) => typeof element === "string")
    ? Either.right(JSON.stringify(u))
    : Either.left(malformed(`readableBy: ${what} must be a list of strings`))

/** `Access.canRead` in SQL: the owner, or a read or write grant that covers the principal. */
const readable = (
  principal: Access.Principal | undefined,
  params: Array<SqlValue>
): Either.Either<string, StoreError> =>
  Either.gen(function*() {
    const everyone = "(g.kind = 'user' AND g.value = '*')"
    if (principal === undefined) {
      return `EXISTS (SELECT 1 FROM grants g WHERE g.execution_seq = e.seq AND ${everyone})`
    }
    if (typeof principal !== "object" || principal === null || typeof principal.id !== "string") {
      return yield* Either.left(malformed("readableBy: the principal has no id"))
    }
    const groups = yield* stringList(principal.groups, "groups")
    const roles = yield* stringList(principal.roles, "roles")
    const scopes = yield* stringList(principal.scopes, "scopes")
    params.push(principal.id, principal.id, groups, roles, scopes)
    return `(e.owner = ? OR EXISTS (SELECT 1 FROM grants g WHERE g.execution_seq = e.seq AND (` +
      `(g.kind = 'user' AND g.value IN ('*', ?))` +
      ` OR (g.kind = 'group' AND g.value IN (SELECT value FROM json_each(?)))` +
      ` OR (g.kind = 'role' AND g.value IN (SELECT value FROM json_each(?)))` +
      ` OR (g.kind = 'scope' AND g.value IN (SELECT value FROM json_each(?))))))`
  })

/**
 * The keyset condition "strictly after the cursor". A hand-made cursor whose value does not
 * have the sort key's type compares as `ExecutionQuery.run` does in JavaScript: a number
 * against a string key (or a non-numeric string against a time) is a tie, broken by id.
 */
const afterCursor = (
  cursor: Query.Cursor,
  sort: Query.Sort,
  params: Array<SqlValue>
): Either.Either<string, StoreError> => {
  if (cursor.field !== sort.field || cursor.direction !== sort.direction) {
    return Either.left(malformed("the cursor was made for another sort order"))
  }
  if (typeof cursor.id !== "string") return Either.left(malformed("the cursor has no id"))
  const key = sortKeyOf[sort.field]
  const op = sort.direction === "asc" ? ">" : "<"
  const raw: unknown = cursor.value
  let value: SqlValue | undefined
  if (key.kind === "date") {
    const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN
    value = Number.isNaN(n) ? undefined : n
  } else {
    value = typeof raw === "string" ? raw : undefined
  }
  if (value === undefined) {
    params.push(cursor.id)
    return Either.right(`e.id ${op} ?`)
  }
  params.push(value, cursor.id)
  return Either.right(`(${key.sql}, e.id) ${op} (?, ?)`)
}

/** Compiles a validated query (selecting `limit + 1` rows to tell whether more follow). */
export const compile = (query: Query.ExecutionQuery): Either.Either<CompiledQuery, StoreError> =>
  Either.gen(function*() {
    if (typeof query !== "object" || query === null || !Array.isArray(query.where)) {
      return yield* Either.left(malformed("where must be a list of conditions"))
    }
    const sort = query.sort
    if (
      typeof sort !== "object" || sort === null || !(sortFields as ReadonlyArray<unknown>).includes(sort.field) ||
      (sort.direction !== "asc" && sort.direction !== "desc")
    ) {
      return yield* Either.left(malformed("unknown sort"))
    }
    if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
      return yield* Either.left(malformed("limit must be a positive integer"))
    }
    const params: Array<SqlValue> = []
    const clauses: Array<string> = []
    for (const where of query.where) {
      if (typeof where !== "object" || where === null) {
        return yield* Either.left(malformed("a condition is not an object"))
      }
      clauses.push(yield* condition(where, params))
    }
    if (query.readableBy !== undefined) clauses.push(yield* readable(query.readableBy.principal, params))
    if (query.cursor !== undefined) clauses.push(yield* afterCursor(query.cursor, sort, params))
    const direction = sort.direction === "asc" ? "ASC" : "DESC"
    params.push(query.limit + 1)
    return {
      sql: `SELECT e.* FROM executions e WHERE ${clauses.length === 0 ? "1" : clauses.join(" AND ")} ` +
        `ORDER BY ${sortKeyOf[sort.field].sql} ${direction}, e.id ${direction} LIMIT ?`,
      params
    }
  })
