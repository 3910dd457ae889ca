import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"

const directory = mkdtempSync(join(tmpdir(), "truce-sql-"))
let counter = 0

afterAll(() => {
  rmSync(directory, { recursive: true, force: true })
})

/** A fresh database file path in this test file's temporary directory (removed after the file's tests). */
export const tempDb = (name = "store"): string => join(directory, `${name}-${process.pid}-${++counter}.db`)

/** The temporary directory of this test file. */
export const tempDir = (): string => directory
