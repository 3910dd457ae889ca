/**
 * The `truce` command tree (`@effect/cli`) and its main program (documented in `Remote`).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type { InterruptMode } from "@truce/core/Interrupt"
import * as Api from "@truce/http/Api"
import * as Client from "@truce/http/Client"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Format from "../../Format.js"
import * as OutcomeSummary from "../../OutcomeSummary.js"
import type { Connection } from "../../Remote.js"
import * as Runner from "../../Runner.js"
import { normalizeWaitFlag, parseDuration, parseInput, parseLabels, parseWhere } from "./args.js"
import { clientLayer, defaultServer } from "./connection.js"
import type { RemoteError } from "./failure.js"
import { codes, describe, Stop, usage } from "./failure.js"
import { outcomeOf, styleFor, wait, watch } from "./follow.js"
import { listLines, statusLines } from "./render.js"

/** An optional `--name <pseudo>` option taking text. */
const optionalText = (name: string, pseudoName: string, description: string): Options.Options<Option.Option<string>> =>
  Options.text(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.optional)

/** A `--name <pseudo>` option taking text, given any number of times. */
const repeatedText = (name: string, pseudoName: string, description: string): Options.Options<Array<string>> =>
  Options.text(name).pipe(Options.withPseudoName(pseudoName), Options.withDescription(description), Options.repeated)

const globalFlags = {
  server: optionalText("server", "url", `The Truce server's URL (env TRUCE_SERVER; default ${defaultServer}).`),
  apiKey: Options.redacted("api-key").pipe(
    Options.withPseudoName("key"),
    Options.withDescription("An API key, sent as X-API-Key (env TRUCE_API_KEY)."),
    Options.optional
  ),
  token: Options.redacted("token").pipe(
    Options.withPseudoName("token"),
    Options.withDescription("A bearer token, sent as Authorization: Bearer (env TRUCE_TOKEN)."),
    Options.optional
  ),
  output: Options.choice("output", Runner.outputModes).pipe(
    Options.withDescription(
      "human: live bars and colours on a terminal (the default; plain when stdout is not a terminal); " +
        "plain: appended lines; json: JSON lines."
    ),
    Options.optional
  )
}

interface GlobalFlags {
  readonly server: Option.Option<string>
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly token: Option.Option<Redacted.Redacted>
  readonly output: Option.Option<Runner.OutputMode>
}

interface Settings extends Connection {
  readonly output: Runner.OutputMode
}

const root = Command.make("truce", globalFlags, () =>
  Effect.zipRight(
    Effect.sync(() =>
      process.stderr.write(
        "truce: name a subcommand: start, status, watch, wait, cancel or list (truce --help says more)\n"
      )
    ),
    Effect.fail(new Runner.CliExit({ code: codes.usage }))
  )).pipe(
    Command.withDescription(
      "Drive a Truce server: start executions, watch them with live progress, wait for outcomes, cancel, list."
    )
  )

const envText = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((value) => value.length > 0)),
    Effect.orElseSucceed(() => Option.none())
  )

/** The flags given after the subcommand win over those before it, which win over the environment. */
const settingsOf = (parent: GlobalFlags, own: GlobalFlags): Effect.Effect<Settings, Stop> =>
  Effect.gen(function*() {
    const pick = <A>(a: Option.Option<A>, b: Option.Option<A>) => Option.orElse(a, () => b)
    const server = Option.getOrElse(pick(pick(own.server, parent.server), yield* envText("TRUCE_SERVER")), () =>
      defaultServer)
    let url: URL | undefined = undefined
    try {
      url = new URL(server)
    } catch {
      url = undefined
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return yield* Effect.fail(usage(`--server "${server}" is not an http:// or https:// URL`))
    }
    let apiKey = pick(own.apiKey, parent.apiKey)
    let token = pick(own.token, parent.token)
    if (Option.isNone(apiKey) && Option.isNone(token)) {
      apiKey = Option.map(yield* envText("TRUCE_API_KEY"), Redacted.make)
      token = Option.map(yield* envText("TRUCE_TOKEN"), Redacted.make)
    }
    if (Option.isSome(apiKey) && Option.isSome(token)) {
      return yield* Effect.fail(
        usage("give an API key (--api-key, TRUCE_API_KEY) or a token (--token, TRUCE_TOKEN), not both")
      )
    }
    return {
      server: server.replace(/\/+$/, ""),
      output: Option.getOrElse(pick(own.output, parent.output), () =>
        "human" as const),
      ...(Option.isSome(apiKey) ? { apiKey: apiKey.value as Redacted.Redacted<string> } : {}),
      ...(Option.isSome(token) ? { token: token.value as Redacted.Redacted<string> } : {})
    }
  })

const say = (stream: NodeJS.WritableStream, lines: string | ReadonlyArray<string>) =>
  Effect.sync(() => {
    const text = typeof lines === "string" ? lines : lines.join("\n")
    if (text.length > 0) stream.write(`${text}\n`)
  })

const complain = (message: string) => Effect.as(say(process.stderr, `truce: ${message}`), undefined)

/**
 * Runs a subcommand: resolves the connection, provides the client, turns every error into
 * one line on stderr and an exit code, and ends with that code.
 */
const handle = <R>(
  own: GlobalFlags,
  body: (settings: Settings) => Effect.Effect<number, RemoteError, Client.TruceClient | R>
) =>
  Effect.gen(function*() {
    const parent = yield* root
    const settings = yield* settingsOf(parent, own)
    return yield* body(settings).pipe(
      Effect.provide(clientLayer(settings)),
      Effect.catchAll((error) => {
        const failure = describe(error, settings.server)
        return Effect.as(complain(failure.message), failure.code)
      })
    )
  }).pipe(
    Effect.catchTag("Stop", (error) => Effect.as(complain(error.message), error.code)),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        complain(`unexpected error: ${defect instanceof Error ? defect.message : String(defect)}`),
        codes.failed
      )
    ),
    Effect.flatMap((exitCode) => Runner.exitWith({ exitCode }))
  )

const styleOf = (settings: Settings): Format.Style => styleFor(settings.output, process.stdout, process.env, undefined)

const fromEither = <A>(either: Either.Either<A, string>): Effect.Effect<A, Stop> =>
  Either.match(either, { onLeft: (message) => Effect.fail(usage(message)), onRight: Effect.succeed })

const durationFlag = (value: Option.Option<string>): Effect.Effect<Option.Option<Duration.Duration>, Stop> =>
  Option.match(value, {
    onNone: () => Effect.succeed(Option.none()),
    onSome: (text) => fromEither(parseDuration(text))
  })

const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("The execution's id."))

const onInterruptFlag = Options.boolean("detach-on-interrupt").pipe(
  Options.withDescription(
    "Ctrl-C only stops watching (exit code 130); the execution goes on. " +
      "Without it, the first Ctrl-C interrupts the execution gracefully, the second forces, the third exits at once."
  )
)

/** `truce watch`, also for `start --watch`: the exit code of the outcome, or 130 / 143 when it stopped watching. */
const watchFor = (id: string, detach: boolean, settings: Settings) =>
  Effect.map(
    watch(id, { output: settings.output, onInterrupt: detach ? "detach" : "interrupt", server: settings.server }),
    (result) => result.exitCode
  )

/** `truce wait`, also for `start --wait`. */
const waitFor = (ids: ReadonlyArray<string>, timeout: Option.Option<Duration.Duration>, settings: Settings) =>
  Effect.map(
    wait(ids, {
      output: settings.output,
      server: settings.server,
      ...(Option.isSome(timeout) ? { timeout: timeout.value } : {})
    }),
    (result) => result.exitCode
  )

const recordLine = (record: ExecutionRecord.ExecutionRecord): string => JSON.stringify(ExecutionRecord.encode(record))

// --- truce start

const readStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
    return Buffer.concat(chunks).toString("utf8")
  },
  catch: (error) => usage(`cannot read the input from stdin: ${error instanceof Error ? error.message : String(error)}`)
})

const readInput = (
  input: Option.Option<string>,
  inputFile: Option.Option<string>
): Effect.Effect<Option.Option<unknown>, Stop, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (Option.isSome(input) && Option.isSome(inputFile)) {
      return yield* Effect.fail(usage("give the input with --input or with --input-file, not both"))
    }
    if (Option.isSome(input)) return Option.some(yield* fromEither(parseInput(input.value, "--input")))
    if (Option.isNone(inputFile)) return Option.none()
    const path = inputFile.value
    let text: string
    if (path === "-") {
      text = yield* readStdin
    } else {
      const fs = yield* FileSystem.FileSystem
      text = yield* fs.readFileString(path).pipe(
        Effect.mapError((error) =>
          usage(
            `cannot read --input-file ${path}: ${
              error._tag === "SystemError" && error.reason === "NotFound" ? "no such file" : error.message
            }`
          )
        )
      )
    }
    return Option.some(yield* fromEither(parseInput(text, `--input-file ${path}`)))
  })

const start = Command.make("start", {
  ...globalFlags,
  command: Args.text({ name: "command" }).pipe(
    Args.withDescription("The command to start (truce list shows ids; the server's /commands its commands).")
  ),
  input: optionalText("input", "json", "The command's input as JSON, e.g. '{\"database\":\"orders\"}'."),
  inputFile: optionalText("input-file", "path", "Read the input (JSON) from this file; - reads stdin."),
  idempotencyKey: optionalText(
    "idempotency-key",
    "key",
    "Start at most once: the same key and input return the same execution."
  ),
  labels: repeatedText("label", "key=value", "A label key=value recorded on the execution (repeat for more)."),
  watch: Options.boolean("watch").pipe(Options.withDescription("Then watch it, as truce watch does.")),
  wait: optionalText(
    "wait",
    "duration",
    "Then wait for the outcome, as truce wait does, at most this long (e.g. 30s, 10m; alone: no limit)."
  ),
  detach: onInterruptFlag
}, (flags) =>
  handle(flags, (settings) =>
    Effect.gen(function*() {
      const client = yield* Client.TruceClient
      if (flags.watch && Option.isSome(flags.wait)) {
        return yield* Effect.fail(usage("--watch and --wait: choose one"))
      }
      const waitLimit = yield* durationFlag(flags.wait)
      const input = yield* readInput(flags.input, flags.inputFile)
      const labels = yield* fromEither(parseLabels(flags.labels))
      const record = yield* client.start(flags.command, Option.getOrUndefined(input), {
        ...(Option.isSome(flags.idempotencyKey) ? { idempotencyKey: flags.idempotencyKey.value } : {}),
        ...(flags.labels.length > 0 ? { labels } : {})
      }).pipe(
        Effect.catchTag("CommandNotFound", (error) =>
          Effect.flatMap(
            Effect.either(client.commands),
            (known) => {
              const names = Either.isRight(known) ? known.right.map((command) => command.name) : []
              const hint = names.length > 0 ? `; commands you may start: ${names.join(", ")}` : ""
              return Effect.fail(
                new Stop({ message: `no command "${error.command}" on ${settings.server}${hint}`, code: codes.failed })
              )
            }
          ))
      )
      if (!flags.watch && Option.isNone(flags.wait)) {
        yield* say(process.stdout, settings.output === "json" ? recordLine(record) : record.id)
        return codes.complete
      }
      yield* say(
        settings.output === "json" ? process.stderr : process.stdout,
        `started ${record.command}: ${record.id}`
      )
      return yield* flags.watch
        ? watchFor(record.id, flags.detach, settings)
        : waitFor([record.id], waitLimit, settings)
    }))).pipe(
    Command.withDescription(
      "Start an execution of a command. Prints its id (JSON: its record); with --watch or --wait, follows it."
    )
  )

// --- truce status

const status = Command.make(
  "status",
  { ...globalFlags, id: idArg },
  (flags) =>
    handle(flags, (settings) =>
      Effect.gen(function*() {
        const client = yield* Client.TruceClient
        const record = yield* client.get(flags.id)
        if (settings.output === "json") {
          yield* say(process.stdout, recordLine(record))
          return codes.complete
        }
        const style = styleOf(settings)
        const lines = statusLines(record, { style, now: Date.now() })
        const outcome = outcomeOf(record)
        if (Option.isSome(outcome)) {
          const summary = OutcomeSummary.lines(OutcomeSummary.summarize(outcome.value, record), {
            style,
            width: process.stdout.columns ?? 100
          })
          lines.push("", ...summary)
        }
        yield* say(process.stdout, lines)
        return codes.complete
      }))
).pipe(
  Command.withDescription(
    "Show an execution: state, command, owner, times, progress, interrupts; the outcome's summary when it has finished."
  )
)

// --- truce watch

const watchCommand = Command.make(
  "watch",
  { ...globalFlags, id: idArg, detach: onInterruptFlag },
  (flags) => handle(flags, (settings) => watchFor(flags.id, flags.detach, settings))
).pipe(
  Command.withDescription(
    "Watch an execution with live progress from the server's event stream, then its outcome. " +
      "Ctrl-C: graceful interrupt; again: force; a third time: exit at once (the execution is left as it is)."
  )
)

// --- truce wait

const waitCommand = Command.make(
  "wait",
  {
    ...globalFlags,
    ids: Args.text({ name: "id" }).pipe(Args.withDescription("The executions' ids."), Args.atLeast(1)),
    timeout: optionalText("timeout", "duration", "Give up after this long (e.g. 30s, 10m, 1h30m): exit code 124.")
  },
  (flags) =>
    handle(
      flags,
      (settings) => Effect.flatMap(durationFlag(flags.timeout), (timeout) => waitFor(flags.ids, timeout, settings))
    )
).pipe(
  Command.withDescription(
    "Wait for one or many executions and print each outcome. " +
      "Exit code: 0 all complete, 1 any failed or unknown, 130 any interrupted, 124 out of time."
  )
)

// --- truce cancel

const cancel = Command.make("cancel", {
  ...globalFlags,
  id: idArg,
  force: Options.boolean("force").pipe(
    Options.withDescription("Stop items in flight now (their clean-up still runs) instead of letting them finish.")
  ),
  reason: optionalText("reason", "text", "Why (recorded with the interrupt; default \"truce cancel\").")
}, (flags) =>
  handle(flags, (settings) =>
    Effect.gen(function*() {
      const client = yield* Client.TruceClient
      const mode: InterruptMode = flags.force ? "force" : "graceful"
      const answer = yield* client.interrupt(flags.id, {
        mode,
        reason: Option.getOrElse(flags.reason, () => "truce cancel")
      }).pipe(
        Effect.map(Either.right),
        Effect.catchTag("AlreadyFinished", (error) => Effect.succeed(Either.left(error)))
      )
      const json = settings.output === "json"
      if (Either.isLeft(answer)) {
        const finished = answer.left
        yield* say(
          process.stdout,
          json
            ? JSON.stringify({ id: flags.id, status: "already-finished", state: finished.state })
            : `nothing to interrupt: ${flags.id} has already finished (${finished.state})`
        )
        return codes.complete
      }
      const accepted = answer.right
      const how = accepted.escalated
        ? "forced (a graceful stop was under way)"
        : mode === "force"
        ? "forced: items in flight stop now"
        : "graceful: items in flight finish, nothing new starts"
      yield* say(
        process.stdout,
        json
          ? JSON.stringify(Schema.encodeSync(Api.InterruptAccepted)(accepted))
          : `interrupt accepted: ${accepted.id} (${how}); now ${accepted.state}`
      )
      return codes.complete
    }))).pipe(
    Command.withDescription(
      "Interrupt an execution. Exit code 0: accepted, or already finished (nothing to interrupt); " +
        "1: not cancellable, or no such execution."
    )
  )

// --- truce list

const list = Command.make("list", {
  ...globalFlags,
  command: optionalText("command", "name", "Only this command."),
  state: optionalText("state", "state", "Only executions in this state (or states, comma-separated: Running,Queued)."),
  where: repeatedText(
    "where",
    "'field op value'",
    "A condition 'field op value' (ops: eq ne gt ge lt le like notlike in, or = != > >= < <=), " +
      "e.g. 'labels.env = prod'; repeat to AND them."
  ),
  sort: optionalText("sort", "field", "Sort by a field, - for descending (default -createdAt: newest first)."),
  limit: Options.integer("limit").pipe(
    Options.withPseudoName("n"),
    Options.withDescription("Rows per page (the server's default is 100, at most 1000)."),
    Options.optional
  ),
  all: Options.boolean("all").pipe(Options.withDescription("Follow the cursor: every page."))
}, (flags) =>
  handle(flags, (settings) =>
    Effect.gen(function*() {
      const client = yield* Client.TruceClient
      const params: Array<[string, string]> = []
      if (Option.isSome(flags.command)) params.push(["command", flags.command.value])
      if (Option.isSome(flags.state)) {
        const states = flags.state.value.split(",").map((state) => state.trim()).filter((state) => state.length > 0)
        params.push(states.length > 1 ? ["state[in]", states.join(",")] : ["state", states[0] ?? ""])
      }
      for (const condition of flags.where) params.push([...(yield* fromEither(parseWhere(condition)))])
      params.push(["sort", Option.getOrElse(flags.sort, () => "-createdAt")])
      if (Option.isSome(flags.limit)) params.push(["limit", String(flags.limit.value)])
      const json = settings.output === "json"
      const records: Array<ExecutionRecord.ExecutionRecord> = []
      let cursor: string | undefined = undefined
      let more = false
      do {
        const page: Api.ExecutionPage = yield* client.list(
          new URLSearchParams(cursor === undefined ? params : [...params, ["cursor", cursor]])
        )
        if (json) yield* say(process.stdout, page.records.map(recordLine))
        else records.push(...page.records)
        cursor = page.nextCursor
        more = cursor !== undefined && !flags.all
      } while (cursor !== undefined && flags.all)
      if (!json) {
        if (records.length === 0) yield* say(process.stderr, "no executions match")
        else yield* say(process.stdout, listLines(records, { style: styleOf(settings) }))
      }
      if (more) yield* say(process.stderr, "there are more: --all lists every page")
      return codes.complete
    }))).pipe(
    Command.withDescription(
      "List executions (newest first): id, command, state, owner, created, progress. JSON: one record per line."
    )
  )

/** The `truce` command tree. @internal */
export const command = root.pipe(
  Command.withSubcommands([start, status, watchCommand, waitCommand, cancel, list])
)

/** The flags that take a value (their values are never read as `--wait`'s duration). */
const valueFlags = [
  "--server",
  "--api-key",
  "--token",
  "--output",
  "--input",
  "--input-file",
  "--idempotency-key",
  "--label",
  "--timeout",
  "--reason",
  "--command",
  "--state",
  "--where",
  "--sort",
  "--limit"
]

/** Runs the `truce` command as the main program. @internal */
export const main = (argv: ReadonlyArray<string> = process.argv): void => {
  const [node = "node", script = "truce", ...rest] = argv
  Runner.runCli(command, { name: "truce", version: "0.1.0" }, {
    argv: [node, script, ...normalizeWaitFlag(rest, valueFlags)]
  })
}
