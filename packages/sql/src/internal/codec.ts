/**
 * Rows ↔ records: how an `ExecutionRecord`, its item states, transitions and interrupts are
 * laid out in the SQLite tables, and back.
 *
 * @internal
 */
import type { Access, ExecutionRecord as Model, Interrupt } from "@truce/core"
import { ExecutionRecord, ExecutionState, ItemState, Transition } from "@truce/core/ExecutionRecord"
import { StoreError } from "@truce/core/ExecutionStore"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

type ColumnKind = "text" | "date" | "boolean" | "json"

/**
 * The record fields that have their own column in `executions`. Every other field of the
 * record (permissions, input, blocks, strategy, …, and fields added later) lives in the
 * JSON column `details`.
 */
const columnFields: ReadonlyArray<readonly [field: string, column: string, kind: ColumnKind]> = [
  ["id", "id", "text"],
  ["command", "command", "text"],
  ["state", "state", "text"],
  ["owner", "owner", "text"],
  ["createdAt", "created_at", "date"],
  ["updatedAt", "updated_at", "date"],
  ["startedAt", "started_at", "date"],
  ["finishedAt", "finished_at", "date"],
  ["expiresAt", "expires_at", "date"],
  ["cancellable", "cancellable", "boolean"],
  ["resumable", "resumable", "boolean"],
  ["resumedFrom", "resumed_from", "text"],
  ["idempotencyKey", "idempotency_key", "text"],
  ["runner", "runner", "text"],
  ["labels", "labels", "json"],
  ["progress", "progress", "json"],
  ["outcome", "outcome", "json"],
  ["error", "error", "json"],
  ["interrupt", "interrupt", "json"],
  ["interrupts", "interrupts", "json"],
  ["callback", "callback", "json"]
]

const columnOfField = new Map(columnFields.map(([field, column, kind]) => [field, { column, kind }]))

/** Fields the schema requires: a patch setting them to `undefined` is ignored. */
const requiredFields = new Set(
  Object.entries(ExecutionRecord.fields)
    .filter(([, field]) => !Schema.isPropertySignature(field))
    .map(([name]) => name)
)

/** The columns of `executions` in insert order. */
export const executionColumns: ReadonlyArray<string> = [...columnFields.map(([, column]) => column), "details"]

/** A value SQLite accepts as a bound parameter. */
export type SqlValue = string | number | null

export type GrantKind = "user" | "group" | "role" | "scope"

/** How one interrupt request is stored. */
export interface EncodedInterrupt {
  readonly at: number
  readonly source: string
  readonly mode: string
  readonly reason: string | null
  readonly requestedBy: string | null
}

type EncodedGrant = readonly [access: "read" | "write", kind: GrantKind, value: string]

/** Everything one record writes: its row, labels, grants and interrupts. */
export interface EncodedRecord {
  readonly row: ReadonlyArray<SqlValue>
  readonly labels: ReadonlyArray<readonly [name: string, value: string]>
  readonly grants: ReadonlyArray<EncodedGrant>
  readonly interrupts: ReadonlyArray<EncodedInterrupt>
}

const corrupt = (message: string, cause?: unknown) =>
  new StoreError({ reason: "Corrupt", message, ...(cause !== undefined ? { cause } : {}) })

const invalidData = (message: string, cause?: unknown) =>
  new StoreError({
    reason: "Corrupt",
    message: `cannot store this data: ${message}`,
    ...(cause !== undefined ? { cause } : {})
  })

/** JSON.stringify that reports values JSON cannot hold (bigint, cycles) as a typed error. */
export const toJson = (value: unknown, what: string): Either.Either<string, StoreError> => {
  try {
    const json = JSON.stringify(value)
    if (json === undefined) return Either.left(invalidData(`${what} is not JSON`))
    return Either.right(json)
  } catch (cause) {
    return Either.left(invalidData(`${what} is not JSON (${String(cause)})`, cause))
  }
}

const optionalJson = (value: unknown, what: string): Either.Either<SqlValue, StoreError> =>
  value === undefined ? Either.right(null) : toJson(value, what)

const dateMs = (date: Date | undefined): number | null => date === undefined ? null : date.getTime()

/** A text, date or boolean column from the record's value (no schema needed). */
const scalarColumn = (kind: ColumnKind, field: string, value: unknown): Either.Either<SqlValue, StoreError> => {
  if (value === undefined) return Either.right(null)
  switch (kind) {
    case "text":
      if (typeof value !== "string") return Either.left(invalidData(`${field} is not a string`))
      if (field === "state" && !isExecutionState(value)) return Either.left(invalidData(`unknown state ${value}`))
      return Either.right(value)
    case "date":
      return value instanceof Date && Number.isFinite(value.getTime())
        ? Either.right(value.getTime())
        : Either.left(invalidData(`${field} is not a valid date`))
    case "boolean":
      return typeof value === "boolean"
        ? Either.right(value ? 1 : 0)
        : Either.left(invalidData(`${field} is not a boolean`))
    case "json":
      return toJson(value, field)
  }
}

const isExecutionState = Schema.is(ExecutionState)

const grantKinds: ReadonlyArray<readonly [keyof Access.Grant, GrantKind]> = [
  ["users", "user"],
  ["groups", "group"],
  ["roles", "role"],
  ["scopes", "scope"]
]

/** The rows of `grants` for a record's permissions (read and write grants, deduplicated). */
export const encodeGrants = (permissions: Access.Permissions): ReadonlyArray<EncodedGrant> => {
  const grants: Array<EncodedGrant> = []
  for (const access of ["read", "write"] as const) {
    const grant = permissions[access]
    for (const [field, kind] of grantKinds) {
      for (const value of new Set(grant[field])) grants.push([access, kind, value])
    }
  }
  return grants
}

const encodeInterrupt = (request: Interrupt.InterruptRequest): EncodedInterrupt => ({
  at: request.at.getTime(),
  source: request.source,
  mode: request.mode,
  reason: request.reason ?? null,
  requestedBy: request.requestedBy ?? null
})

const formatError = (error: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(error)

/**
 * Fields whose encoded form is exactly what `JSON.stringify` makes of their value (dates
 * become ISO strings, `InterruptRequest` instances plain objects, the outcome is already
 * encoded): they skip the schema on the write path. Any other field (one added to the
 * record later, say) is encoded by the record's schema. Every read checks what it gets.
 */
const jsonNatural = new Set([
  "labels",
  "progress",
  "outcome",
  "error",
  "interrupt",
  "interrupts",
  "callback",
  "permissions",
  "blocks",
  "strategy",
  "input",
  "timeoutMs",
  "idempotencyFingerprint"
])

const encodePartial = Schema.encodeUnknownEither(Schema.partial(ExecutionRecord))

/** The value of a JSON column. */
const jsonColumn = (field: string, value: unknown): Either.Either<SqlValue, StoreError> => {
  if (value === undefined) return Either.right(null)
  if (field === "labels" && !(isObject(value) && Object.values(value).every((v) => typeof v === "string"))) {
    return Either.left(invalidData("labels must map names to strings"))
  }
  return toJson(value, field)
}

/** Encodes the fields the schema must encode (see `jsonNatural`). */
const encodeViaSchema = (fields: Record<string, unknown>): Either.Either<Record<string, unknown>, StoreError> =>
  Either.mapLeft(
    encodePartial(fields) as Either.Either<Record<string, unknown>, ParseResult.ParseError>,
    (error) => invalidData(`the record does not encode: ${formatError(error)}`, error)
  )

/** Encodes a record for insert. */
export const encodeForInsert = (record: Model.ExecutionRecord): Either.Either<EncodedRecord, StoreError> => {
  const typed: Record<string, unknown> = record
  const row: Array<SqlValue> = []
  for (const [field, , kind] of columnFields) {
    const value = typed[field]
    if (value === undefined && requiredFields.has(field)) {
      return Either.left(invalidData(`the record has no ${field}`))
    }
    const encoded = kind === "json" ? jsonColumn(field, value) : scalarColumn(kind, field, value)
    if (Either.isLeft(encoded)) return Either.left(encoded.left)
    row.push(encoded.right)
  }
  const details: Record<string, unknown> = {}
  let viaSchema: Record<string, unknown> | undefined
  for (const key of Object.keys(record)) {
    const value = typed[key]
    if (value === undefined || columnOfField.has(key)) continue
    if (!Object.prototype.hasOwnProperty.call(ExecutionRecord.fields, key)) continue
    if (jsonNatural.has(key)) details[key] = value
    else (viaSchema ??= {})[key] = value
  }
  if (viaSchema !== undefined) {
    const encoded = encodeViaSchema(viaSchema)
    if (Either.isLeft(encoded)) return Either.left(encoded.left)
    Object.assign(details, encoded.right)
  }
  const json = toJson(details, "input")
  if (Either.isLeft(json)) return Either.left(json.left)
  row.push(json.right)
  return Either.right({
    row,
    labels: Object.entries(record.labels),
    grants: encodeGrants(record.permissions),
    interrupts: record.interrupts.map(encodeInterrupt)
  })
}

/** A patch as SQL: `SET` assignments (text with `?`) and their values, plus the side tables to rewrite. */
export interface EncodedPatch {
  readonly assignments: ReadonlyArray<string>
  readonly values: ReadonlyArray<SqlValue>
  readonly labels: ReadonlyArray<readonly [string, string]> | undefined
  readonly interrupts: ReadonlyArray<EncodedInterrupt> | undefined
  readonly grants: ReadonlyArray<EncodedGrant> | undefined
}

const safeKey = /^[A-Za-z][A-Za-z0-9_]*$/

/**
 * Encodes a patch. A key that is present sets its column (or its entry in `details`); a
 * present key whose value is `undefined` clears an optional field, as spreading the patch
 * over the record does.
 */
export const encodePatch = (patch: Model.RecordPatch): Either.Either<EncodedPatch, StoreError> => {
  const typed: Record<string, unknown> = patch
  const assignments: Array<string> = []
  const values: Array<SqlValue> = []
  // Scalar columns are encoded directly, the others as JSON (see `jsonNatural`).
  let viaSchema: Record<string, unknown> | undefined
  for (const key of Object.keys(patch)) {
    if (key === "id" || !Object.prototype.hasOwnProperty.call(ExecutionRecord.fields, key) || !safeKey.test(key)) {
      continue
    }
    const value = typed[key]
    if (value === undefined && requiredFields.has(key)) continue
    const column = columnOfField.get(key)
    if (column === undefined || column.kind === "json") {
      viaSchema ??= {}
      viaSchema[key] = value
      continue
    }
    const encoded = scalarColumn(column.kind, key, value)
    if (Either.isLeft(encoded)) return Either.left(encoded.left)
    assignments.push(`${column.column} = ?`)
    values.push(encoded.right)
  }
  if (viaSchema !== undefined) {
    let schemaFields: Record<string, unknown> | undefined
    for (const key of Object.keys(viaSchema)) {
      if (!jsonNatural.has(key) && viaSchema[key] !== undefined) (schemaFields ??= {})[key] = viaSchema[key]
    }
    const encoded: Record<string, unknown> = { ...viaSchema }
    if (schemaFields !== undefined) {
      const fromSchema = encodeViaSchema(schemaFields)
      if (Either.isLeft(fromSchema)) return Either.left(fromSchema.left)
      Object.assign(encoded, fromSchema.right)
    }
    const detailSets: Array<string> = []
    const detailValues: Array<SqlValue> = []
    const detailRemovals: Array<string> = []
    for (const key of Object.keys(viaSchema)) {
      const value = encoded[key]
      if (columnOfField.has(key) || value !== undefined) {
        const json = jsonColumn(key, value)
        if (Either.isLeft(json)) return Either.left(json.left)
        if (columnOfField.has(key)) {
          assignments.push(`${key} = ?`)
          values.push(json.right)
        } else {
          detailSets.push(`'$.${key}', json(?)`)
          detailValues.push(json.right)
        }
      } else {
        detailRemovals.push(`'$.${key}'`)
      }
    }
    if (detailSets.length > 0 || detailRemovals.length > 0) {
      let expression = "details"
      if (detailSets.length > 0) expression = `json_set(${expression}, ${detailSets.join(", ")})`
      if (detailRemovals.length > 0) expression = `json_remove(${expression}, ${detailRemovals.join(", ")})`
      assignments.push(`details = ${expression}`)
      values.push(...detailValues)
    }
  }
  return Either.right({
    assignments,
    values,
    labels: patch.labels === undefined ? undefined : Object.entries(patch.labels),
    interrupts: patch.interrupts === undefined ? undefined : patch.interrupts.map(encodeInterrupt),
    grants: "permissions" in typed && typed.permissions !== undefined
      ? encodeGrants(typed.permissions as Access.Permissions)
      : undefined
  })
}

const parseJson = (text: string, column: string, id: string): Either.Either<unknown, StoreError> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (cause) {
    return Either.left(corrupt(`execution ${id}: column ${column} is not valid JSON`, cause))
  }
}

/** ISO form of a stored time; an out-of-range value yields a string the schema rejects (→ Corrupt). */
const iso = (ms: number): string => {
  const date = new Date(ms)
  return Number.isFinite(date.getTime()) ? date.toISOString() : `invalid time ${String(ms)}`
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isStringArray = (u: unknown): u is ReadonlyArray<string> =>
  Array.isArray(u) && u.every((element) => typeof element === "string")

/**
 * Reading a field: the value, or why it is not one. Hot fields are checked by hand (a full
 * schema decode of every record would dominate the cost of a query); the others go
 * through the record's schema.
 */
type Reader = (raw: unknown) => Either.Either<unknown, string>

const readText: Reader = (raw) => typeof raw === "string" ? Either.right(raw) : Either.left("not text")

const readDate: Reader = (raw) => {
  if (typeof raw !== "number") return Either.left("not a time")
  const date = new Date(raw)
  return Number.isFinite(date.getTime()) ? Either.right(date) : Either.left("not a valid time")
}

const readBoolean: Reader = (raw) => raw === 1 || raw === 0 ? Either.right(raw === 1) : Either.left("not 0 or 1")

const readGrant = (raw: unknown): Access.Grant | undefined => {
  if (!isObject(raw)) return undefined
  const grant: Record<string, ReadonlyArray<string>> = {}
  for (const [field] of grantKinds) {
    const list = raw[field] ?? []
    if (!isStringArray(list)) return undefined
    grant[field] = list
  }
  return grant as unknown as Access.Grant
}

const simpleStrategies = new Set(["FinishCurrent", "IgnoreInterruptions", "Immediate"])

const viaSchema = <A, I>(schema: Schema.Schema<A, I>): Reader => {
  const decode = Schema.decodeUnknownEither(schema)
  return (raw) => Either.mapLeft(decode(raw), formatError)
}

const readProgress = viaSchema(ExecutionRecord.fields.progress)
const readInterrupts = viaSchema(ExecutionRecord.fields.interrupts)

const readers: Record<string, Reader> = {
  id: readText,
  command: readText,
  state: (raw) => isExecutionState(raw) ? Either.right(raw) : Either.left("not a state"),
  owner: readText,
  createdAt: readDate,
  updatedAt: readDate,
  startedAt: readDate,
  finishedAt: readDate,
  expiresAt: readDate,
  cancellable: readBoolean,
  resumable: readBoolean,
  resumedFrom: readText,
  idempotencyKey: readText,
  runner: readText,
  idempotencyFingerprint: readText,
  timeoutMs: (raw) => typeof raw === "number" ? Either.right(raw) : Either.left("not a number"),
  input: Either.right,
  blocks: (raw) => isStringArray(raw) ? Either.right(raw) : Either.left("not a list of names"),
  labels: (raw) =>
    isObject(raw) && Object.values(raw).every((value) => typeof value === "string")
      ? Either.right(raw)
      : Either.left("not a map of strings"),
  permissions: (raw) => {
    const read = isObject(raw) ? readGrant(raw.read) : undefined
    const write = isObject(raw) ? readGrant(raw.write) : undefined
    return read !== undefined && write !== undefined ? Either.right({ read, write }) : Either.left("not permissions")
  },
  strategy: (raw) => {
    if (!isObject(raw) || typeof raw._tag !== "string") return Either.left("not a strategy")
    if (simpleStrategies.has(raw._tag)) return Either.right({ _tag: raw._tag })
    return raw._tag === "PollNextN" && Number.isInteger(raw.n) && (raw.n as number) >= 0
      ? Either.right({ _tag: "PollNextN", n: raw.n })
      : Either.left("not a strategy")
  },
  progress: readProgress,
  // Validated in full when written; a read checks its shape.
  outcome: (raw) => isObject(raw) && typeof raw._tag === "string" ? Either.right(raw) : Either.left("not an outcome"),
  interrupts: (raw) => Array.isArray(raw) && raw.length === 0 ? Either.right([]) : readInterrupts(raw)
}

/** The record's other fields (error, interrupt, callback, fields added later), decoded by the schema. */
const restDecoders = new Map<string, (encoded: unknown) => Either.Either<Record<string, unknown>, string>>()

const decodeRest = (encoded: Record<string, unknown>): Either.Either<Record<string, unknown>, string> => {
  const keys = Object.keys(encoded).sort()
  const cacheKey = keys.join(",")
  let decode = restDecoders.get(cacheKey)
  if (decode === undefined) {
    const decoder = Schema.decodeUnknownEither(Schema.partial(ExecutionRecord.pick(...(keys as Array<FieldName>))))
    decode = (input) => Either.mapLeft(decoder(input), formatError) as Either.Either<Record<string, unknown>, string>
    if (restDecoders.size > 100) restDecoders.clear()
    restDecoders.set(cacheKey, decode)
  }
  return decode(encoded)
}

type FieldName = keyof typeof ExecutionRecord.fields

/** Fields every record has. */
const requiredKeys = [...requiredFields]

/** A row of `executions`, as SQLite returns it. */
export type ExecutionRow = Readonly<Record<string, unknown>>

/** Reads one field into `record` (or `rest`, for the schema); returns what is wrong with it, if anything. */
const readField = (
  record: Record<string, unknown>,
  rest: Record<string, unknown>,
  field: string,
  raw: unknown
): string | undefined => {
  const reader = readers[field]
  if (reader === undefined) {
    rest[field] = raw
    return undefined
  }
  const value = reader(raw)
  if (Either.isLeft(value)) return `${field} is ${value.left}`
  record[field] = value.right
  return undefined
}

const hasKeys = (object: object): boolean => {
  for (const _ in object) return true
  return false
}

/** Decodes a row of `executions` back into the record. */
export const decodeExecution = (row: ExecutionRow): Either.Either<Model.ExecutionRecord, StoreError> => {
  const id = String(row.id)
  const record: Record<string, unknown> = {}
  const rest: Record<string, unknown> = {}
  let details: unknown
  try {
    details = typeof row.details === "string" ? JSON.parse(row.details) : undefined
  } catch (cause) {
    return Either.left(corrupt(`execution ${id}: column details is not valid JSON`, cause))
  }
  if (!isObject(details)) return Either.left(corrupt(`execution ${id}: column details is not an object`))
  for (const key of Object.keys(details)) {
    if (!Object.prototype.hasOwnProperty.call(ExecutionRecord.fields, key)) continue
    const problem = readField(record, rest, key, details[key])
    if (problem !== undefined) return Either.left(corrupt(`execution ${id}: ${problem}`))
  }
  for (const [field, column, kind] of columnFields) {
    let value = row[column]
    if (value === null || value === undefined) continue
    if (kind === "json" && typeof value === "string") {
      try {
        value = JSON.parse(value)
      } catch (cause) {
        return Either.left(corrupt(`execution ${id}: column ${column} is not valid JSON`, cause))
      }
    }
    const problem = readField(record, rest, field, value)
    if (problem !== undefined) return Either.left(corrupt(`execution ${id}: ${problem}`))
  }
  if (hasKeys(rest)) {
    const decoded = decodeRest(rest)
    if (Either.isLeft(decoded)) return Either.left(corrupt(`execution ${id} does not decode: ${decoded.left}`))
    Object.assign(record, decoded.right)
  }
  for (const key of requiredKeys) {
    if (record[key] === undefined) return Either.left(corrupt(`execution ${id}: ${key} is missing`))
  }
  return Either.right(record as Model.ExecutionRecord)
}

/** A row of `item_states`. */
export interface ItemStateRow {
  readonly execution_id: string
  readonly block: string
  readonly item: string
  readonly status: string
  readonly value: string | null
  readonly error: string | null
  readonly started_at: number | null
  readonly finished_at: number
}

const encodeItemState = Schema.encodeEither(ItemState)
const decodeItemState = Schema.decodeUnknownEither(ItemState)

/** Encodes an item state as the parameters of its upsert (columns of `item_states` in order). */
export const encodeItemStateRow = (state: Model.ItemState): Either.Either<ReadonlyArray<SqlValue>, StoreError> =>
  Either.gen(function*() {
    const encoded = yield* Either.mapLeft(
      encodeItemState(state),
      (error) => invalidData(`an item state does not encode: ${formatError(error)}`, error)
    )
    return [
      state.executionId,
      state.block,
      state.item,
      state.status,
      "value" in encoded ? yield* optionalJson(encoded.value, "item value") : null,
      yield* optionalJson(encoded.error, "item error"),
      dateMs(state.startedAt),
      state.finishedAt.getTime()
    ]
  })

/** Decodes a row of `item_states`. */
export const decodeItemStateRow = (row: ItemStateRow): Either.Either<Model.ItemState, StoreError> =>
  Either.gen(function*() {
    const id = String(row.execution_id)
    const encoded: Record<string, unknown> = {
      executionId: id,
      block: row.block,
      item: row.item,
      status: row.status,
      finishedAt: iso(row.finished_at)
    }
    if (row.value !== null) encoded.value = yield* parseJson(row.value, "item_states.value", id)
    if (row.error !== null) encoded.error = yield* parseJson(row.error, "item_states.error", id)
    if (row.started_at !== null) encoded.startedAt = iso(row.started_at)
    return yield* Either.mapLeft(
      decodeItemState(encoded),
      (error) => corrupt(`an item state of ${id} does not decode: ${formatError(error)}`, error)
    )
  })

/** A row of `transitions`. */
export interface TransitionRow {
  readonly execution_id: string
  readonly at: number
  readonly from_state: string | null
  readonly to_state: string
  readonly actor: string | null
  readonly reason: string | null
}

const decodeTransition = Schema.decodeUnknownEither(Transition)

/** Decodes a row of `transitions`. */
export const decodeTransitionRow = (row: TransitionRow): Either.Either<Model.Transition, StoreError> => {
  const encoded: Record<string, unknown> = {
    executionId: row.execution_id,
    at: iso(row.at),
    to: row.to_state
  }
  if (row.from_state !== null) encoded.from = row.from_state
  if (row.actor !== null) encoded.actor = row.actor
  if (row.reason !== null) encoded.reason = row.reason
  return Either.mapLeft(
    decodeTransition(encoded),
    (error) =>
      corrupt(
        `a transition of ${row.execution_id} does not decode: ${formatError(error)}`,
        error
      )
  )
}
