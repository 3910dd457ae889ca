/**
 * The Truce demo: sync a directory tree to a target — discover, hash, copy (with byte
 * progress), verify — with live progress, Ctrl-C that stops cleanly, a summary, and
 * resume: run it again after an interrupt and it skips what was done.
 *
 *   pnpm demo                      # generate .truce/demo/source (once) and sync it
 *   pnpm demo --slow               # slow enough to watch, and to press Ctrl-C
 *   pnpm demo --output json        # JSON lines for machines
 *   pnpm demo --fresh              # start over (empty target, forget earlier runs)
 *
 * Ctrl-C once: items in flight stop at their next chunk, their temporary files are
 * removed, nothing new starts. Twice: stop now. Three times: exit at once.
 */
import { Cli, Format, Runner } from "@truce/cli"
import { CmdOutcome } from "@truce/core"
import { Effect, Option } from "effect"
import { rmSync } from "node:fs"
import { join, resolve } from "node:path"
import { mapLayer, parseStore } from "./store.js"
import { makeSync } from "./sync.js"
import { ensureTree } from "./tree.js"

const sizeUnits: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3
}

/** Reads a size such as `512KiB`, `16MiB`, `2MB` or `1048576`. */
const parseSize = (text: string) => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match?.[2]?.toLowerCase() ?? ""
  const factor = unit === "" ? 1 : sizeUnits[unit]
  const bytes = match === null || factor === undefined ? Number.NaN : Math.round(Number(match[1]) * factor)
  if (!Number.isFinite(bytes) || bytes < 1 || bytes > 4 * 1024 ** 3) {
    return Effect.fail(
      Cli.ValidationError.invalidValue(
        Cli.HelpDoc.p(
          `--size / --chunk-size: expected a size from 1 B to 4 GiB such as 512KiB, 16MiB or 2MB, got "${text}"`
        )
      )
    )
  }
  return Effect.succeed(bytes)
}

const atLeastOne = (name: string, max: number) => (n: number) =>
  n >= 1 && n <= max
    ? Effect.succeed(n)
    : Effect.fail(Cli.ValidationError.invalidValue(Cli.HelpDoc.p(`--${name}: expected 1 to ${max}, got ${n}`)))

const flags = {
  output: Cli.Options.choice("output", Runner.outputModes).pipe(
    Cli.Options.withDefault("human" as const),
    Cli.Options.withDescription("human: live bars on a terminal (plain lines otherwise); plain; json: JSON lines")
  ),
  files: Cli.Options.integer("files").pipe(
    Cli.Options.withDefault(240),
    Cli.Options.mapEffect(atLeastOne("files", 20_000)),
    Cli.Options.withDescription("How many files the generated source tree has")
  ),
  size: Cli.Options.text("size").pipe(
    Cli.Options.withDefault("16MiB"),
    Cli.Options.mapEffect(parseSize),
    Cli.Options.withDescription("Size of the largest files (e.g. 512KiB, 16MiB)")
  ),
  slow: Cli.Options.boolean("slow").pipe(
    Cli.Options.withDescription("Copy slowly (1 MiB/s per file) so you can watch, and press Ctrl-C")
  ),
  fresh: Cli.Options.boolean("fresh").pipe(
    Cli.Options.withDescription("Start over: empty the target and forget earlier runs")
  ),
  store: Cli.Options.text("store").pipe(
    Cli.Options.optional,
    Cli.Options.withDescription("Where runs are recorded: a SQLite file (default <dir>.db), or memory")
  ),
  dir: Cli.Options.text("dir").pipe(
    Cli.Options.withDefault(".truce/demo"),
    Cli.Options.withDescription("Working directory of the demo (source/ and target/ go there)")
  ),
  concurrency: Cli.Options.integer("concurrency").pipe(
    Cli.Options.withDefault(4),
    Cli.Options.mapEffect(atLeastOne("concurrency", 64)),
    Cli.Options.withDescription("Files at once in each block")
  ),
  chunkSize: Cli.Options.text("chunk-size").pipe(
    Cli.Options.withDefault("256KiB"),
    Cli.Options.mapEffect(parseSize),
    Cli.Options.withDescription("Bytes per read and write; a graceful stop waits for the chunk in flight")
  ),
  failCopies: Cli.Options.integer("fail-copies").pipe(
    Cli.Options.withDefault(0),
    Cli.Options.withDescription("Make the copy of the first N files fail (to see how failures are reported)")
  )
}

type Flags = Cli.Command.Command.ParseConfig<typeof flags>

const storeOf = (options: Flags) => parseStore(Option.getOrElse(options.store, () => `${resolve(options.dir)}.db`))

const program = (options: Flags) =>
  Effect.gen(function*() {
    const root = resolve(options.dir)
    const source = join(root, "source")
    const target = join(root, "target")
    const store = storeOf(options)
    const json = options.output === "json"
    const say = (text: string) => (json ? process.stderr : process.stdout).write(`${text}\n`)

    const tree = ensureTree(source, { files: options.files, largest: options.size })
    if (tree.generated) {
      say(`generated ${tree.files.length} files (${Format.bytes(tree.bytes)}) in ${source}`)
    }

    const sync = makeSync({
      concurrency: options.concurrency,
      failCopies: options.failCopies,
      chunkSize: options.chunkSize,
      // The default pace shows the bars for a few seconds; --slow is slow enough to watch.
      bytesPerSecond: (options.slow ? 1 : 6) * 1024 ** 2,
      pauseMs: options.slow ? 150 : 30
    })
    const result = yield* Runner.run(sync, { source, target }, { output: options.output, resume: "auto" })

    if (!json) {
      if (CmdOutcome.isComplete(result.outcome)) {
        const report = result.outcome.value
        say(
          `synced ${report.files} files (${Format.bytes(report.bytes)}) into ${target}: ` +
            `${report.copied} copied, ${report.upToDate} already up to date`
        )
      } else if (CmdOutcome.isInterrupted(result.outcome)) {
        say(
          store.kind === "sqlite"
            ? `run the same command again to resume (runs are recorded in ${store.filename})`
            : "run the same command again: files copied so far are found up to date"
        )
      }
    }
    yield* Runner.exitWith(result)
  })

/** `--fresh`: empty the target and forget earlier runs — before the store is opened. */
const startOver = (options: Flags) =>
  Effect.sync(() => {
    if (!options.fresh) return
    rmSync(join(resolve(options.dir), "target"), { recursive: true, force: true })
    const store = storeOf(options)
    if (store.kind === "sqlite") {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${store.filename}${suffix}`, { force: true })
    }
  })

const command = Cli.Command.make(
  "sync-demo",
  flags,
  (options) => Effect.zipRight(startOver(options), program(options).pipe(Effect.provide(mapLayer(storeOf(options)))))
).pipe(Cli.Command.withDescription("Sync a generated directory tree: discover, hash, copy, verify"))

// `pnpm demo -- --slow` passes a leading `--` through: drop it, so both spellings work.
const [node = "node", script = "main.ts", ...args] = process.argv
Runner.runCli(command, { name: "sync-demo", version: "0.1.0" }, {
  argv: [node, script, ...(args[0] === "--" ? args.slice(1) : args)]
})
