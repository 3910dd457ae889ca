/**
 * SQL failures as the store's typed `StoreError`.
 *
 * @internal
 */
import { StoreError } from "@truce/core/ExecutionStore"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

export const notFound = (id: string): StoreError =>
  new StoreError({ reason: "NotFound", message: `no execution ${id}` })

export const conflict = (id: string): StoreError =>
  new StoreError({ reason: "Conflict", message: `execution ${id} exists` })

export const unavailable = (message: string, cause?: unknown): StoreError =>
  new StoreError({ reason: "Unavailable", message, ...(cause !== undefined ? { cause } : {}) })

/** The SQLite result code of an error (better-sqlite3 sets `code`, e.g. `SQLITE_BUSY`). */
const sqliteCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const messageOf = (error: unknown): string => {
  let current: unknown = error
  const parts: Array<string> = []
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const message = (current as { readonly message?: unknown }).message
    if (typeof message === "string" && message.length > 0 && !parts.includes(message)) parts.push(message)
    current = (current as { readonly cause?: unknown }).cause
  }
  if (parts.length === 0) return String(error)
  return parts.join(": ")
}

/**
 * Maps an SQL failure: a damaged database file (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) is
 * `Corrupt`; everything else (busy, full disk, I/O, closed) is `Unavailable`.
 */
export const fromError = (error: unknown, context: string): StoreError => {
  if (typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "StoreError") {
    return error as StoreError
  }
  const code = sqliteCode(error)
  const reason = code !== undefined && (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
    ? "Corrupt"
    : "Unavailable"
  return new StoreError({
    reason,
    message: `${context}: ${messageOf(error)}${code !== undefined ? ` (${code})` : ""}`,
    cause: error
  })
}

/** Maps any failure or defect of a cause. */
export const fromCause = (cause: Cause.Cause<unknown>, context: string): StoreError => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return fromError(failure.value, context)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) return fromError(defect.value, context)
  return unavailable(`${context}: interrupted`)
}
