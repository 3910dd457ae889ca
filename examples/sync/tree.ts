/**
 * Generates the demo's source tree: a few hundred files in nested folders (documents,
 * photos, source code, and a few large videos and archives so byte progress shows),
 * with deterministic names, sizes, contents and modification times. The same options
 * always give the same bytes, so a run is reproducible and a test can check every copy
 * against its source.
 */
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

/** What to generate. `largest` is the size of the largest files in bytes. */
export interface TreeSpec {
  readonly files: number
  readonly largest: number
}

/** One generated file. */
export interface PlannedFile {
  readonly path: string
  readonly size: number
  readonly seed: number
}

/** A small, fast, seeded generator (xorshift32). */
const random = (seed: number) => {
  let state = seed >>> 0 || 0x9e3779b9
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state
  }
}

const pick = <A>(next: () => number, items: ReadonlyArray<A>): A => items[next() % items.length] as A

const KiB = 1024
const MiB = 1024 * KiB

/** The files of a tree: mostly small, some medium, and about one in sixty large. */
export const plan = (spec: TreeSpec): ReadonlyArray<PlannedFile> => {
  const next = random(0x5eed + spec.files)
  const files: Array<PlannedFile> = []
  const used = new Set<string>()
  const large = Math.max(1, Math.round(spec.files / 60))
  const medium = Math.max(1, Math.round(spec.files / 12))
  for (let i = 0; i < spec.files; i++) {
    let path: string
    let size: number
    if (i < large) {
      const kind = pick(next, ["videos/holiday", "videos/talk", "archives/backup", "archives/photos"])
      path = `${kind}-${i + 1}.${kind.startsWith("videos") ? "mp4" : "tar"}`
      size = Math.round(spec.largest * (0.5 + (next() % 500) / 1000))
    } else if (i < large + medium) {
      path = `photos/${2019 + (next() % 6)}/IMG_${String(1000 + (next() % 9000)).padStart(4, "0")}.jpg`
      size = Math.min(spec.largest, 256 * KiB + (next() % (2 * MiB)))
    } else {
      const area = pick(next, ["docs", "docs/notes", "src/app", "src/lib", "src/lib/util", "config", "data"])
      const ext = area.startsWith("src") ? "ts" : area === "config" ? "yaml" : area === "data" ? "csv" : "md"
      const stem = pick(next, ["index", "readme", "report", "module", "settings", "summary", "draft", "export"])
      path = `${area}/${stem}-${String(next() % 1000).padStart(3, "0")}.${ext}`
      size = 200 + (next() % (96 * KiB))
    }
    if (used.has(path)) {
      path = path.replace(/(\.[a-z0-9]+)$/, `-${i}$1`)
    }
    used.add(path)
    files.push({ path, size: Math.max(1, Math.min(size, spec.largest)), seed: next() })
  }
  return files
}

/** Fixed modification times, so that "already up to date" checks are reproducible. */
const mtimeOf = (index: number) => new Date(Date.UTC(2024, 0, 1) + index * 60_000)

const fill = (seed: number, size: number): Buffer => {
  const words = new Uint32Array(Math.ceil(size / 4))
  const next = random(seed)
  for (let i = 0; i < words.length; i++) words[i] = next()
  return Buffer.from(words.buffer, 0, size)
}

const manifestOf = (spec: TreeSpec) => JSON.stringify({ version: 1, files: spec.files, largest: spec.largest })

/**
 * Makes sure `root` holds the tree for `spec`: generates it when it is missing or was made
 * for other options. Returns the files and whether they were generated now.
 */
export const ensureTree = (
  root: string,
  spec: TreeSpec
): { readonly files: ReadonlyArray<PlannedFile>; readonly generated: boolean; readonly bytes: number } => {
  const files = plan(spec)
  const bytes = files.reduce((sum, file) => sum + file.size, 0)
  const manifestPath = `${root}.json`
  let current: string | undefined
  try {
    current = readFileSync(manifestPath, "utf8")
  } catch {
    current = undefined
  }
  if (current === manifestOf(spec)) return { files, generated: false, bytes }
  rmSync(root, { recursive: true, force: true })
  files.forEach((file, index) => {
    const path = join(root, file.path)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, fill(file.seed, file.size))
    const mtime = mtimeOf(index)
    utimesSync(path, mtime, mtime)
  })
  writeFileSync(manifestPath, manifestOf(spec))
  return { files, generated: true, bytes }
}
