/**
 * The sync command: copy a directory tree to a target, the way a backup or deploy tool
 * would, in four blocks whose outputs feed each other:
 *
 * 1. `discover` lists the source files;
 * 2. `hash` computes the SHA-256 of every source file;
 * 3. `copy` copies each file that is not already up to date, atomically: it writes a
 *    temporary file next to the target, fsyncs it, and renames it into place, so a file
 *    is either complete or absent — never half-copied under its real name. Between chunks
 *    it stops at `ctx.checkpoint`; when stopped (gracefully or by force) a finalizer
 *    removes the temporary file. Before it starts, it sweeps temporary files a killed run
 *    left in the target;
 * 4. `verify` hashes every target file and compares it with its source hash.
 *
 * Item results carry a Schema (`state`), so a resumed run (see `main.ts`) reuses the
 * hashes and copies of an interrupted one instead of doing them again.
 */
import { CmdBlock, CmdExecution, Progress } from "@truce/core"
import { Effect, Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import * as path from "node:path"

/** The input: where from, where to. */
export const SyncInput = Schema.Struct({
  source: Schema.String,
  target: Schema.String
})
export type SyncInput = typeof SyncInput.Type

/** A file found in the source (path relative to the source root). */
export const SourceFile = Schema.Struct({
  path: Schema.String,
  size: Schema.Number,
  mtimeMs: Schema.Number
})
export type SourceFile = typeof SourceFile.Type

/** A source file and its SHA-256. */
export const HashedFile = Schema.Struct({ ...SourceFile.fields, sha256: Schema.String })
export type HashedFile = typeof HashedFile.Type

/** A file in the target: copied now, or found up to date. */
export const CopiedFile = Schema.Struct({ ...HashedFile.fields, copied: Schema.Boolean })
export type CopiedFile = typeof CopiedFile.Type

/** The files a block passes to the next, with the roots they live under. */
export const Listing = <A, I>(file: Schema.Schema<A, I>) =>
  Schema.Struct({ source: Schema.String, target: Schema.String, files: Schema.Array(file) })
export interface Listing<F> {
  readonly source: string
  readonly target: string
  readonly files: ReadonlyArray<F>
}

/** One file to work on, with the roots and its position in the listing. */
interface Job<F> {
  readonly file: F
  readonly index: number
  readonly source: string
  readonly target: string
}

const jobs = <F>(listing: Listing<F>): ReadonlyArray<Job<F>> =>
  listing.files.map((file, index) => ({ file, index, source: listing.source, target: listing.target }))

const listing = <F, G>(input: Listing<F>, results: ReadonlyArray<{ readonly value: G }>): Listing<G> => ({
  source: input.source,
  target: input.target,
  files: results.map((result) => result.value)
})

/** What a complete sync did. */
export interface SyncReport {
  readonly files: number
  readonly bytes: number
  readonly copied: number
  readonly upToDate: number
}

/** A file operation failed. */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  path: Schema.String,
  operation: Schema.String,
  message: Schema.String
}) {}

/** A target file does not have its source's content. */
export class VerifyMismatch extends Schema.TaggedError<VerifyMismatch>()("VerifyMismatch", {
  path: Schema.String,
  expected: Schema.String,
  actual: Schema.String,
  message: Schema.String
}) {}

/** How the sync behaves (not part of the input, so a resumed run may go faster or slower). */
export interface SyncOptions {
  /** Copy speed per file in bytes per second (undefined: as fast as the disk goes). */
  readonly bytesPerSecond?: number | undefined
  /** A pause before each copy, in ms (lets a person watch small files go by). */
  readonly pauseMs?: number | undefined
  /** Files at once in each block (default 4). */
  readonly concurrency?: number | undefined
  /** Make the copy of the first N files (in path order) fail, to see how failures are reported. */
  readonly failCopies?: number | undefined
  /** Bytes per read and write (default 256 KiB). */
  readonly chunkSize?: number | undefined
}

/** The suffix of the temporary files `copy` writes; `discover` removes leftovers. */
export const tempSuffix = ".truce-tmp"

const attempt = <A>(file: string, operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new FileError({ path: file, operation, message: cause instanceof Error ? cause.message : String(cause) })
  })

/** Opens a file for the current scope. */
const openScoped = (file: string, flags: string) =>
  Effect.acquireRelease(
    attempt(file, "open", () => fs.open(file, flags)),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )

/** Reads a whole file in chunks, reporting bytes and stopping at checkpoints; returns its SHA-256. */
const hashFile = (file: string, size: number, ctx: CmdBlock.ItemContext, chunkSize: number) =>
  Effect.gen(function*() {
    yield* ctx.progress.setLimit(Progress.Bytes(size))
    const handle = yield* openScoped(file, "r")
    const hash = createHash("sha256")
    const buffer = Buffer.allocUnsafe(chunkSize)
    let position = 0
    while (true) {
      yield* ctx.checkpoint
      const { bytesRead } = yield* attempt(file, "read", () => handle.read(buffer, 0, chunkSize, position))
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      position += bytesRead
      yield* ctx.progress.inc(bytesRead)
    }
    return hash.digest("hex")
  }).pipe(Effect.scoped)

const walk = (root: string): Effect.Effect<ReadonlyArray<string>, FileError> =>
  attempt(root, "list", () => fs.readdir(root, { recursive: true, withFileTypes: true })).pipe(
    Effect.map((entries) =>
      entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
        .sort()
    )
  )

/** Removes the temporary files of copies that never finished (a run killed before its finalizers ran). */
const sweep = (target: string) =>
  Effect.gen(function*() {
    const files = yield* Effect.orElseSucceed(walk(target), (): ReadonlyArray<string> => [])
    for (const relative of files) {
      if (relative.endsWith(tempSuffix)) {
        yield* attempt(relative, "remove", () => fs.rm(path.join(target, relative), { force: true }))
      }
    }
  })

/** Throttles a copy to `bytesPerSecond`, given the bytes done since `startedAt`. */
const pace = (bytesPerSecond: number | undefined, done: number, startedAt: number) => {
  if (bytesPerSecond === undefined || bytesPerSecond <= 0) return Effect.void
  const due = startedAt + (done / bytesPerSecond) * 1000
  const wait = due - Date.now()
  return wait > 1 ? Effect.sleep(Math.round(wait)) : Effect.void
}

const copyFile = (job: Job<HashedFile>, ctx: CmdBlock.ItemContext, options: SyncOptions) =>
  Effect.gen(function*() {
    const { file, index } = job
    const chunkSize = options.chunkSize ?? 256 * 1024
    const from = path.join(job.source, file.path)
    const to = path.join(job.target, file.path)
    yield* ctx.progress.setLimit(Progress.Bytes(file.size))
    const existing = yield* Effect.promise(() => fs.stat(to).catch(() => undefined))
    if (existing !== undefined && existing.size === file.size && Math.abs(existing.mtimeMs - file.mtimeMs) < 1) {
      yield* ctx.progress.update({ units: file.size, message: "up to date" })
      return { ...file, copied: false }
    }
    if (options.pauseMs !== undefined && options.pauseMs > 0) yield* Effect.sleep(options.pauseMs)
    if (index < (options.failCopies ?? 0)) {
      return yield* Effect.fail(
        new FileError({ path: file.path, operation: "write", message: "ENOSPC: no space left on device (simulated)" })
      )
    }
    yield* attempt(to, "mkdir", () => fs.mkdir(path.dirname(to), { recursive: true }))
    const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(4).toString("hex")}${tempSuffix}`)
    let committed = false
    // Added first, so it runs last: after both files are closed.
    yield* Effect.addFinalizer(() =>
      committed ? Effect.void : Effect.promise(() => fs.rm(temp, { force: true }).catch(() => undefined))
    )
    const source: FileHandle = yield* openScoped(from, "r")
    const target: FileHandle = yield* openScoped(temp, "wx")
    const buffer = Buffer.allocUnsafe(chunkSize)
    const startedAt = Date.now()
    let position = 0
    yield* ctx.progress.message("copying")
    while (true) {
      yield* ctx.checkpoint
      const { bytesRead } = yield* attempt(from, "read", () => source.read(buffer, 0, chunkSize, position))
      if (bytesRead === 0) break
      yield* attempt(temp, "write", () => target.write(buffer, 0, bytesRead, position))
      position += bytesRead
      yield* ctx.progress.inc(bytesRead)
      yield* pace(options.bytesPerSecond, position, startedAt)
    }
    // Commit: flush to disk, keep the source's time, then rename into place. Not
    // interruptible, so a stop leaves either the temporary file (removed above) or the
    // complete file — never a partial file under the real name.
    yield* Effect.uninterruptible(Effect.gen(function*() {
      yield* ctx.progress.message("syncing to disk")
      yield* attempt(temp, "fsync", () => target.sync())
      const mtime = new Date(file.mtimeMs)
      yield* attempt(temp, "utimes", () => fs.utimes(temp, mtime, mtime))
      yield* attempt(to, "rename", () => fs.rename(temp, to))
      committed = true
    }))
    yield* ctx.progress.message("copied")
    return { ...file, copied: true }
  }).pipe(Effect.scoped)

/**
 * The sync execution. `options` change how it runs, not what it does, so an interrupted
 * run can be resumed with other options.
 */
export const makeSync = (options: SyncOptions = {}) => {
  const concurrency = options.concurrency ?? 4
  const chunkSize = options.chunkSize ?? 256 * 1024
  return CmdExecution.make("sync-demo", { input: SyncInput }).pipe(
    CmdExecution.andThen(CmdBlock.step({
      name: "discover",
      state: Listing(SourceFile),
      run: (input: SyncInput, ctx): Effect.Effect<Listing<SourceFile>, FileError> =>
        Effect.gen(function*() {
          yield* ctx.progress.message(`scanning ${input.source}`)
          const found: Array<SourceFile> = []
          for (const relative of yield* walk(input.source)) {
            yield* ctx.checkpoint
            const stat = yield* attempt(relative, "stat", () => fs.stat(path.join(input.source, relative)))
            found.push({ path: relative, size: stat.size, mtimeMs: stat.mtimeMs })
            if (found.length % 50 === 0) {
              yield* ctx.progress.update({ units: found.length, message: `found ${found.length} files` })
            }
          }
          yield* ctx.progress.update({ units: found.length, message: `found ${found.length} files` })
          return { source: input.source, target: input.target, files: found }
        })
    })),
    CmdExecution.andThen(CmdBlock.items({
      name: "hash",
      items: (input: Listing<SourceFile>) => jobs(input),
      id: (job) => job.file.path,
      concurrency,
      state: HashedFile,
      apply: (job, ctx) =>
        Effect.map(
          hashFile(path.join(job.source, job.file.path), job.file.size, ctx, chunkSize),
          (sha256): HashedFile => ({ ...job.file, sha256 })
        ),
      output: (results, input) => listing(input, results)
    })),
    CmdExecution.andThen(CmdBlock.items({
      name: "copy",
      // Listing the items runs at every start of the block, resumed runs included: the
      // place to sweep temporary files a killed run left behind.
      items: (input: Listing<HashedFile>) => Effect.as(sweep(input.target), jobs(input)),
      id: (job) => job.file.path,
      concurrency,
      state: CopiedFile,
      apply: (job, ctx) => copyFile(job, ctx, options),
      output: (results, input) => listing(input, results)
    })),
    CmdExecution.andThen(CmdBlock.items({
      name: "verify",
      items: (input: Listing<CopiedFile>) => jobs(input),
      id: (job) => job.file.path,
      concurrency,
      state: CopiedFile,
      apply: (job, ctx) =>
        Effect.gen(function*() {
          const file = job.file
          const actual = yield* hashFile(path.join(job.target, file.path), file.size, ctx, chunkSize)
          if (actual !== file.sha256) {
            return yield* Effect.fail(
              new VerifyMismatch({
                path: file.path,
                expected: file.sha256,
                actual,
                message: `content differs from the source (sha256 ${actual.slice(0, 12)}… ≠ ${
                  file.sha256.slice(0, 12)
                }…)`
              })
            )
          }
          return file
        }),
      output: (results): SyncReport => ({
        files: results.length,
        bytes: results.reduce((sum, result) => sum + result.value.size, 0),
        copied: results.filter((result) => result.value.copied).length,
        upToDate: results.filter((result) => !result.value.copied).length
      })
    }))
  )
}
