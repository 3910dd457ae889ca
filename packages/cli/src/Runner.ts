/**
 * Runs an execution as a command-line program: live progress (or plain lines, or JSON
 * lines), Ctrl-C that stops cleanly, a summary of what was done, and the exit code.
 *
 * - {@link run} starts an execution on the `CmdExecutionMap` in context with the outputs
 *   of the chosen mode, the signal endpoint (`Signals`) and, with `resume: "auto"`, resumes
 *   the latest interrupted or failed execution of the same command and input instead of
 *   starting afresh. It returns the outcome, the final record and the exit code.
 * - {@link runMain} runs a whole program: its own signal handling (never Node's default
 *   kill), error reporting, and the exit code of the program (0 complete, 1 failed, 2 bad
 *   command line, 130 interrupted).
 * - {@link runCli} does the same for an `@effect/cli` command.
 *
 * Signals, in short: the first Ctrl-C interrupts gracefully (items in flight finish), the
 * second forces the stop (items in flight are interrupted, their finalizers run), the
 * third exits at once with code 130. SIGTERM is a graceful interrupt with source
 * `shutdown`; a second signal forces.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type { Teardown } from "@effect/platform/Runtime"
import { makeRunMain } from "@effect/platform/Runtime"
import type * as CmdExecution from "@truce/core/CmdExecution"
import * as CmdExecutionMap from "@truce/core/CmdExecutionMap"
import type { CmdDefect, CmdOutcome } from "@truce/core/CmdOutcome"
import type { OutcomeOutput, ProgressOutput } from "@truce/core/Endpoint"
import type { ExecutionId, ExecutionRecord } from "@truce/core/ExecutionRecord"
import { isTerminal } from "@truce/core/ExecutionRecord"
import type { StoreError } from "@truce/core/ExecutionStore"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { isDeepStrictEqual } from "node:util"
import * as Presentation from "./internal/presentation.js"
import { pushHandler } from "./internal/signalRouter.js"
import * as OutcomeSummary from "./OutcomeSummary.js"
import * as Signals from "./Signals.js"
import type * as TerminalOutput from "./TerminalOutput.js"

/**
 * How progress is shown.
 *
 * - `human`: live bars on a terminal; plain lines when stdout is not a terminal.
 * - `plain`: plain appended lines (see `PlainOutput`), always.
 * - `json`: JSON lines on stdout (see `JsonLines`); notices for people on stderr.
 *
 * @since 0.1.0
 * @category models
 */
export type OutputMode = "human" | "plain" | "json"

/**
 * The output modes, for command-line choices.
 *
 * @since 0.1.0
 * @category constants
 */
export const outputModes: ReadonlyArray<OutputMode> = ["human", "plain", "json"]

/**
 * Options of {@link run}: those of a start (outputs, inputs and outcome outputs given here
 * are attached next to the runner's own), plus how to present the run.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends CmdExecutionMap.StartOptions {
  /** Default `human`. */
  readonly output?: OutputMode | undefined
  /** Where progress and the summary go (default `process.stdout`). */
  readonly stdout?: (TerminalOutput.TerminalStream & { readonly isTTY?: boolean | undefined }) | undefined
  /** Where notices go in JSON mode and logs in JSON mode (default `process.stderr`). */
  readonly stderr?: NodeJS.WritableStream | undefined
  /** Handle SIGINT / SIGTERM (default true). */
  readonly signals?: boolean | undefined
  /**
   * `"auto"`: resume the latest interrupted or failed execution of this command with the
   * same input, if the latest one with this input did not succeed; an id: resume that
   * execution. Needs a store that outlives the process to be useful (e.g. SQLite).
   */
  readonly resume?: "auto" | string | undefined
  /** Print the summary at the end (default true; JSON mode always writes the outcome line). */
  readonly summary?: boolean | undefined
  /** Colour (default: from the environment and the stream). */
  readonly color?: boolean | undefined
  /** Frames per second of the live output (default 15). */
  readonly fps?: number | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * What a run produced.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunResult<A, E> {
  readonly id: ExecutionId
  readonly outcome: CmdOutcome<A, E>
  readonly record: ExecutionRecord
  readonly exitCode: 0 | 1 | 130
  /** The execution this run resumed, and how many of its items were already done. */
  readonly resumed: Option.Option<{ readonly from: ExecutionId; readonly itemsDone: number }>
}

/**
 * Errors of {@link run}.
 *
 * @since 0.1.0
 * @category errors
 */
export type RunError =
  | StoreError
  | CmdExecutionMap.IdempotencyConflict
  | CmdExecutionMap.ExecutionNotFound
  | CmdExecutionMap.NotResumable

/**
 * A program asks to end with an exit code (see {@link exitWith}); {@link runMain} exits
 * with it without reporting an error.
 *
 * @since 0.1.0
 * @category errors
 */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {
  override get message(): string {
    return `exit code ${this.code}`
  }
}

/**
 * Succeeds for exit code 0, fails with {@link CliExit} otherwise (so an `@effect/cli`
 * handler, which returns nothing, can pass the run's exit code to {@link runMain}).
 *
 * @example
 * import { Effect } from "effect"
 * import type { CmdExecution as Cmd } from "@truce/core"
 * import { Runner } from "@truce/cli"
 *
 * declare const sync: Cmd.CmdExecution<string, number>
 * const handler = Runner.run(sync, "/data").pipe(Effect.flatMap(Runner.exitWith))
 *
 * @since 0.1.0
 * @category running
 */
export const exitWith = (result: { readonly exitCode: number }): Effect.Effect<void, CliExit> =>
  result.exitCode === 0 ? Effect.void : Effect.fail(new CliExit({ code: result.exitCode }))

/**
 * The execution `resume: "auto"` would resume: the latest execution of the same command
 * with the same (encoded) input, when it ended interrupted, failed or timed out.
 *
 * @since 0.1.0
 * @category resume
 */
export const findResumable = <In, Out, E, R>(
  execution: CmdExecution.CmdExecution<In, Out, E, R>,
  input: In
): Effect.Effect<Option.Option<ExecutionRecord>, StoreError, CmdExecutionMap.CmdExecutionMap> =>
  Effect.gen(function*() {
    const map = yield* CmdExecutionMap.CmdExecutionMap
    let encoded: unknown
    try {
      encoded = execution.encodeInput(input)
    } catch {
      return Option.none()
    }
    const page = yield* map.list({
      where: { command: { op: "eq", value: execution.name } },
      sort: "-createdAt",
      limit: 200
    }).pipe(Effect.catchTag("InvalidQuery", (error) => Effect.die(error)))
    const latest = page.records.find((record) => record.input !== undefined && isDeepStrictEqual(record.input, encoded))
    if (latest === undefined) return Option.none()
    if (latest.state !== "Interrupted" && latest.state !== "Failed" && latest.state !== "TimedOut") return Option.none()
    if (map.isLive(latest.id)) return Option.none()
    return Option.some(latest)
  })

/**
 * Runs an execution as a CLI program on the map in context and returns its outcome,
 * final record and exit code. Progress, notices and the summary are written as the
 * output mode says; the signal endpoint is attached unless `signals: false`.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { Runner } from "@truce/cli"
 *
 * const greet = CmdExecution.make<string>("greet").pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "say", run: (name: string) => Effect.log(`hello ${name}`) }))
 * )
 * const program = Runner.run(greet, "world", { output: "plain" }).pipe(
 *   Effect.flatMap(Runner.exitWith),
 *   Effect.provide(CmdExecutionMap.layerMemory())
 * )
 * // Runner.runMain(program)
 *
 * @since 0.1.0
 * @category running
 */
export const run = <In, Out, E, R>(
  execution: CmdExecution.CmdExecution<In, Out, E, R>,
  input: In,
  options: RunOptions = {}
): Effect.Effect<RunResult<Out, E | CmdDefect>, RunError, CmdExecutionMap.CmdExecutionMap | R> =>
  Effect.scoped(Effect.gen(function*() {
    const map = yield* CmdExecutionMap.CmdExecutionMap
    const {
      color,
      env = process.env,
      fps,
      output = "human",
      resume,
      signals = true,
      stderr = process.stderr,
      stdout = process.stdout,
      summary = true,
      ...startOptions
    } = options
    const hint = signals ? "ctrl-c" : "none"
    const presentation = yield* Presentation.make({
      output,
      stdout,
      stderr,
      hint,
      command: execution.name,
      blocks: execution.blocks.map((block) => block.name),
      summary,
      quietControlEcho: signals,
      color,
      fps,
      env
    })
    const { abort, consoleFor, log } = presentation
    const outputs: Array<ProgressOutput> = [...(startOptions.outputs ?? []), ...presentation.outputs]
    const outcomeOutputs: Array<OutcomeOutput> = [
      ...(startOptions.outcomeOutputs ?? []),
      ...presentation.outcomeOutputs
    ]

    const inputs = [...(startOptions.inputs ?? [])]
    if (signals) {
      inputs.push(
        yield* Signals.make({
          onExitNow: (signal) => {
            const what = signal === "SIGINT" ? "third Ctrl-C" : "third signal"
            abort(`exiting now (${what}): items in flight were cut off and are not recorded as done`)
            process.exit(OutcomeSummary.ExitCodes.interrupted)
          }
        })
      )
    }
    const start: CmdExecutionMap.StartOptions = { ...startOptions, outputs, outcomeOutputs, inputs }

    let resumeFrom: Option.Option<ExecutionRecord> = Option.none()
    if (resume === "auto") {
      resumeFrom = yield* findResumable(execution, input)
    } else if (resume !== undefined) {
      const found = yield* map.get(resume)
      if (Option.isNone(found)) return yield* Effect.fail(new CmdExecutionMap.ExecutionNotFound({ id: resume }))
      if (found.value.command !== execution.name) {
        return yield* Effect.fail(
          new CmdExecutionMap.NotResumable({
            id: resume,
            reason: `it ran ${found.value.command}, not ${execution.name}`
          })
        )
      }
      resumeFrom = found
    }

    let resumed: RunResult<Out, E | CmdDefect>["resumed"] = Option.none()
    let id: ExecutionId
    if (Option.isSome(resumeFrom)) {
      const from = resumeFrom.value
      if (!isTerminal(from.state)) {
        return yield* Effect.fail(
          new CmdExecutionMap.NotResumable({ id: from.id, reason: `it is still ${from.state}` })
        )
      }
      yield* map.register(execution as unknown as CmdExecution.AnyNoContext)
      const states = yield* map.itemStates(from.id)
      const itemsDone = states.filter((state) => state.status === "Success" || state.status === "Skipped").length
      log(`resuming ${from.id}: ${itemsDone} item${itemsDone === 1 ? "" : "s"} already done`)
      id = yield* consoleFor(map.resume(from.id, start))
      resumed = Option.some({ from: from.id, itemsDone })
    } else {
      id = yield* consoleFor(map.start(execution, input, start))
    }
    const outcome = yield* map.await(id).pipe(
      Effect.catchTag("AwaitTimeout", (error) => Effect.die(error))
    )
    const record = yield* map.awaitRecord(id).pipe(
      Effect.catchTag("AwaitTimeout", (error) => Effect.die(error))
    )
    return {
      id,
      outcome: outcome as CmdOutcome<Out, E | CmdDefect>,
      record,
      exitCode: OutcomeSummary.exitCode(outcome),
      resumed
    }
  }))

/**
 * The exit code of a finished program: a number it returned (or 0), the code of a
 * {@link CliExit}, 2 for a bad command line (`@effect/cli` printed why), 130 when it was
 * interrupted, 1 for any other failure.
 *
 * @since 0.1.0
 * @category running
 */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return typeof exit.value === "number" ? exit.value : 0
  if (Cause.isInterruptedOnly(exit.cause)) return OutcomeSummary.ExitCodes.interrupted
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    if (failure.value instanceof CliExit) return failure.value.code
    if (ValidationError.isValidationError(failure.value)) return 2
  }
  return 1
}

const exitWhenFlushed = (code: number) => {
  process.exitCode = code
  const streams = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0)
  if (streams.length === 0) {
    process.exit(code)
    return
  }
  let pending = streams.length
  for (const stream of streams) {
    stream.once("drain", () => {
      if (--pending === 0) process.exit(code)
    })
  }
  // Never hang on a stream that does not drain.
  setTimeout(() => process.exit(code), 2000).unref()
}

const teardown: Teardown = (exit, onExit) => onExit(exitCodeOf(exit))

/** The reader of stdout went away (`| head`): end as a program killed by SIGPIPE would. */
const onBrokenPipe = (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(128 + 13)
}

const runMainWithSignals = makeRunMain(({ fiber, teardown }) => {
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  process.stdout.on("error", onBrokenPipe)
  process.stderr.on("error", onBrokenPipe)
  let signalled = false
  // The bottom handler: outside a running execution, a signal interrupts the program
  // (finalizers run); a second one exits at once.
  const remove = pushHandler(() => {
    if (signalled) process.exit(OutcomeSummary.ExitCodes.interrupted)
    signalled = true
    fiber.unsafeInterruptAsFork(fiber.id())
  })
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    remove()
    teardown(exit, exitWhenFlushed)
  })
})

/**
 * Runs a program as the main program of a Node process and exits with its exit code
 * ({@link exitCodeOf}). Unlike `NodeRuntime.runMain`, it does not interrupt the program on
 * the first Ctrl-C while an execution runs under {@link run}: the execution's signal
 * endpoint gets the signal (graceful, then forced, then exit). Outside a run, a signal
 * interrupts the program and a second one exits at once. Failures other than
 * {@link CliExit} and command-line errors are logged. When the reader of stdout goes away
 * (`| head`), the program ends with 141, as one killed by SIGPIPE would.
 *
 * @example
 * import { Effect } from "effect"
 * import { CmdBlock, CmdExecution, CmdExecutionMap } from "@truce/core"
 * import { Runner } from "@truce/cli"
 *
 * const hello = CmdExecution.make("hello").pipe(
 *   CmdExecution.andThen(CmdBlock.step({ name: "greet", run: () => Effect.log("hello") }))
 * )
 * // Runner.runMain(Runner.run(hello, undefined).pipe(Effect.map((result) => result.exitCode), Effect.provide(CmdExecutionMap.layerMemory())))
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <A, E>(effect: Effect.Effect<A, E>): void => {
  const program = effect.pipe(
    Effect.catchIf(
      (error): error is E & (CliExit | ValidationError.ValidationError) =>
        error instanceof CliExit || ValidationError.isValidationError(error),
      (error) => Effect.succeed(error instanceof CliExit ? error.code : 2)
    ),
    Effect.map((value): number => (typeof value === "number" ? value : 0))
  )
  runMainWithSignals(program, { teardown })
}

/**
 * Runs an `@effect/cli` command as the main program: parses `process.argv`, provides the
 * Node context, and exits as {@link runMain} does (2 for a malformed command line).
 *
 * @example
 * import { Command } from "@effect/cli"
 * import { Effect } from "effect"
 * import { Runner } from "@truce/cli"
 *
 * const hello = Command.make("hello", {}, () => Effect.log("hello"))
 * // Runner.runCli(hello, { name: "hello", version: "1.0.0" })
 *
 * @since 0.1.0
 * @category running
 */
export const runCli = <Name extends string, E, A>(
  command: Command.Command<Name, NodeContext.NodeContext, E, A>,
  config: Omit<CliApp.CliApp.ConstructorArgs<never>, "command">,
  options?: { readonly argv?: ReadonlyArray<string> | undefined }
): void =>
  runMain(
    Command.run(command, config)(options?.argv ?? process.argv).pipe(
      Effect.tapError((error) =>
        ValidationError.isValidationError(error)
          ? Effect.sync(() => process.stderr.write(`${config.name}: invalid command line; see ${config.name} --help\n`))
          : Effect.void
      ),
      Effect.provide(NodeContext.layer)
    )
  )
