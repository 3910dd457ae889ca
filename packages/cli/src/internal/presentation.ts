/**
 * The outputs of one output mode, shared by `Runner` (a local execution) and `Remote` (an
 * execution watched over HTTP): live bars on a terminal, plain lines otherwise, JSON lines
 * with notices on stderr; the summary at the end; where to print a note and how to stop
 * drawing at once.
 *
 * @internal
 */
import type { OutcomeOutput, ProgressOutput } from "@truce/core/Endpoint"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Format from "../Format.js"
import * as JsonLines from "../JsonLines.js"
import * as OutcomeSummary from "../OutcomeSummary.js"
import * as PlainOutput from "../PlainOutput.js"
import type { OutputMode } from "../Runner.js"
import * as Signals from "../Signals.js"
import * as TerminalOutput from "../TerminalOutput.js"
import { consoleOn } from "./console.js"

/** @internal */
export interface PresentationOptions {
  readonly output: OutputMode
  readonly stdout: TerminalOutput.TerminalStream & { readonly isTTY?: boolean | undefined }
  readonly stderr: NodeJS.WritableStream
  /** `"ctrl-c"`: interrupt notices say that another Ctrl-C forces the stop. */
  readonly hint: "ctrl-c" | "none"
  /** The command and its blocks, drawn by the live output before the first event. */
  readonly command: string
  readonly blocks: ReadonlyArray<string>
  /** Print the summary at the end (the JSON outcome line is always written). */
  readonly summary: boolean
  /** Turn off the terminal's `^C` echo while the live output draws. */
  readonly quietControlEcho: boolean
  readonly color: boolean | undefined
  readonly fps: number | undefined
  readonly env: Readonly<Record<string, string | undefined>>
}

/** @internal */
export interface Presentation {
  readonly outputs: ReadonlyArray<ProgressOutput>
  readonly outcomeOutputs: ReadonlyArray<OutcomeOutput>
  /** Prints a line for people (above the live region, after plain lines, or on stderr in JSON mode). */
  readonly log: (text: string) => void
  /** Stops drawing and prints a last line (for an immediate exit). */
  readonly abort: (note: string) => void
  /** Runs an effect with its logs sent where they do not mix with JSON lines. */
  readonly consoleFor: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * The outputs for a mode. `human` on a stream that is not a terminal is `plain`.
 *
 * @internal
 */
export const make = (options: PresentationOptions): Effect.Effect<Presentation, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { env, hint, stderr, stdout } = options
    if (options.output === "json") {
      const json = JsonLines.make({ stream: stdout })
      const notices = PlainOutput.make({ stream: stderr, noticesOnly: true, hint })
      const log = (text: string) => void stderr.write(`${text}\n`)
      // Logs must not mix with the JSON lines.
      const console = consoleOn(stderr)
      return {
        outputs: [json.output, notices.output],
        outcomeOutputs: [json.outcome],
        log,
        abort: log,
        consoleFor: (effect) => Effect.withConsole(effect, console)
      }
    }
    if (options.output === "human" && stdout.isTTY === true) {
      const colorOn = options.color ?? Format.colorEnabled({ isTTY: true, env })
      const terminal = yield* TerminalOutput.scoped({
        stream: stdout,
        command: options.command,
        blocks: options.blocks,
        hint,
        color: colorOn,
        fps: options.fps,
        env
      })
      if (options.quietControlEcho) yield* Signals.disableControlEcho
      return {
        outputs: [terminal.output],
        outcomeOutputs: options.summary ? [OutcomeSummary.textOutput({ stream: stdout, color: colorOn })] : [],
        log: terminal.log,
        abort: terminal.abort,
        consoleFor: (effect) => effect
      }
    }
    const colorOn = options.color ?? Format.colorEnabled({ isTTY: false, env })
    const plain = PlainOutput.make({ stream: stdout, hint, color: colorOn, env })
    return {
      outputs: [plain.output],
      outcomeOutputs: options.summary ? [OutcomeSummary.textOutput({ stream: stdout, color: colorOn })] : [],
      log: plain.log,
      abort: (note) => void stdout.write(`${note}\n`),
      consoleFor: (effect) => effect
    }
  })
