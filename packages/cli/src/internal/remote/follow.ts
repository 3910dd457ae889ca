/**
 * The Effects behind `truce watch` and `truce wait` (documented in `Remote`).
 *
 * @internal
 */
import * as CmdOutcome from "@truce/core/CmdOutcome"
import type { ExecutionEvent } from "@truce/core/ExecutionEvent"
import * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type { InterruptMode } from "@truce/core/Interrupt"
import * as Client from "@truce/http/Client"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Format from "../../Format.js"
import * as JsonLines from "../../JsonLines.js"
import * as OutcomeSummary from "../../OutcomeSummary.js"
import type { RemoteClientError, WaitEntry, WaitOptions, WatchOptions, WatchResult } from "../../Remote.js"
import type * as Runner from "../../Runner.js"
import * as Presentation from "../presentation.js"
import { pushHandler } from "../signalRouter.js"
import { codes, describe } from "./failure.js"
import { clean } from "./render.js"

const decodeOutcome = Schema.decodeUnknownOption(CmdOutcome.Any)

/** The outcome recorded on a finished record, if the server recorded one. @internal */
export const outcomeOf = (
  record: ExecutionRecord.ExecutionRecord
): Option.Option<CmdOutcome.CmdOutcome<unknown, unknown>> =>
  record.outcome === undefined ? Option.none() : decodeOutcome(record.outcome)

/** The exit code of a finished record: from its outcome, else from its state. @internal */
export const exitCodeOf = (record: ExecutionRecord.ExecutionRecord): number =>
  Option.match(outcomeOf(record), {
    onSome: OutcomeSummary.exitCode,
    onNone: () =>
      record.state === "Succeeded" ? codes.complete : record.state === "Failed" ? codes.failed : codes.interrupted
  })

const defaultReason = "Ctrl-C in truce watch"

/** `truce watch`. @internal */
export const watch = (
  id: string,
  options: WatchOptions = {}
): Effect.Effect<WatchResult, RemoteClientError, Client.TruceClient> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Client.TruceClient
    const {
      color,
      env = process.env,
      fps,
      onInterrupt = "interrupt",
      output = "human",
      reason = defaultReason,
      server = "the server",
      signals = true,
      stderr = process.stderr,
      stdout = process.stdout
    } = options
    const detach = onInterrupt === "detach"
    const first = yield* client.get(id)
    const presentation = yield* Presentation.make({
      output,
      stdout,
      stderr,
      hint: signals && !detach ? "ctrl-c" : "none",
      command: first.command,
      blocks: first.blocks,
      summary: true,
      quietControlEcho: signals,
      color,
      fps,
      env
    })
    const stopped = yield* Deferred.make<"SIGINT" | "SIGTERM">()

    if (signals) {
      const requests = yield* Queue.unbounded<InterruptMode>()
      let presses = 0
      let refused = false
      const stop = (signal: "SIGINT" | "SIGTERM") => Deferred.unsafeDone(stopped, Effect.succeed(signal))
      const remove = pushHandler((signal) => {
        if (signal === "SIGTERM" || detach || refused) {
          stop(signal)
          return
        }
        presses++
        if (presses === 1) Queue.unsafeOffer(requests, "graceful")
        else if (presses === 2) Queue.unsafeOffer(requests, "force")
        else {
          presentation.abort(`exiting now (third Ctrl-C): ${id} is left as it is on the server`)
          process.exit(codes.interrupted)
        }
      })
      yield* Effect.addFinalizer(() => Effect.sync(remove))
      const send = (mode: InterruptMode) =>
        client.interrupt(id, { mode, reason }).pipe(
          Effect.catchAll((error) =>
            Effect.sync(() => {
              if (error._tag === "NotCancellable") {
                refused = true
                presentation.log(
                  `${id} cannot be interrupted (not cancellable) — press Ctrl-C again to stop watching; it goes on`
                )
              } else if (error._tag === "AlreadyFinished") {
                presentation.log(`nothing to interrupt: ${id} has already finished`)
              } else {
                presentation.log(`could not ask for the interrupt: ${describe(error, server).message}`)
              }
            })
          )
        )
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(requests), send)))
    }

    // While the outputs draw a batch (and pace themselves), the next events gather into one batch.
    const follow = client.watch(id).pipe(
      Stream.aggregate(Sink.collectAll<ExecutionEvent>()),
      Stream.runForEach((batch) => {
        const events = Chunk.toReadonlyArray(batch)
        return Effect.forEach(presentation.outputs, (out) => out.write(events), {
          concurrency: "unbounded",
          discard: true
        })
      })
    )
    const ended = yield* Effect.raceFirst(
      Effect.as(follow, Option.none<"SIGINT" | "SIGTERM">()),
      Effect.map(Deferred.await(stopped), Option.some)
    )
    if (Option.isSome(ended)) {
      presentation.abort(`stopped watching: ${id} goes on on the server (truce watch ${id} to watch it again)`)
      const signal = ended.value
      return {
        _tag: "Detached",
        signal,
        exitCode: signal === "SIGINT" ? codes.interrupted : codes.terminated
      } as const
    }
    const record = yield* client.await(id)
    const outcome = outcomeOf(record)
    if (Option.isSome(outcome)) {
      yield* Effect.forEach(presentation.outcomeOutputs, (out) => out.present(outcome.value, record), {
        discard: true
      })
    } else {
      presentation.log(`${id}: ${record.state}${record.error === undefined ? "" : ` (${clean(record.error.message)})`}`)
    }
    return { _tag: "Finished", record, outcome, exitCode: exitCodeOf(record) } as const
  }))

/** `truce wait`. @internal */
export const wait = (
  ids: ReadonlyArray<string>,
  options: WaitOptions = {}
): Effect.Effect<
  { readonly entries: ReadonlyArray<WaitEntry>; readonly exitCode: number },
  Exclude<RemoteClientError, Client.AwaitIncomplete | { readonly _tag: "ExecutionNotFound" }>,
  Client.TruceClient
> =>
  Effect.gen(function*() {
    const client = yield* Client.TruceClient
    const {
      env = process.env,
      output = "human",
      server = "the server",
      stderr = process.stderr,
      stdout = process.stdout
    } = options
    const style = styleFor(output, stdout, env, options.color)
    const width = stdout.columns ?? 100
    const startedAt = Date.now()
    const deadline = options.timeout === undefined ? undefined : startedAt + millisOf(options.timeout)

    const print = (entry: WaitEntry) =>
      Effect.sync(() => {
        if (Either.isLeft(entry.result)) {
          const error = entry.result.left
          const message = error._tag === "AwaitIncomplete"
            ? `${entry.id} is still ${error.state} after waiting ${Format.duration(Date.now() - startedAt)}`
            : describe(error, server).message
          stderr.write(`truce: ${message}\n`)
          return
        }
        const record = entry.result.right
        const outcome = outcomeOf(record)
        if (output === "json") {
          if (Option.isSome(outcome)) {
            stdout.write(`${JsonLines.outcomeLine(outcome.value, record)}\n`)
          } else {
            stdout.write(`${JSON.stringify(ExecutionRecord.encode(record))}\n`)
          }
          return
        }
        const lines = [`${style.dim("execution")} ${record.id}`]
        if (Option.isSome(outcome)) {
          lines.push(...OutcomeSummary.lines(OutcomeSummary.summarize(outcome.value, record), { style, width }))
        } else {
          lines.push(`  ${record.state}${record.error === undefined ? "" : `: ${clean(record.error.message)}`}`)
        }
        stdout.write(`${lines.join("\n")}\n`)
      })

    const one = (id: string) =>
      Effect.gen(function*() {
        // One plain read first: an unknown id or an unreachable server is reported at once
        // (the long polls retry transient failures), and a finished execution needs no wait.
        const now = yield* client.get(id)
        if (ExecutionRecord.isTerminal(now.state)) return now
        const left = deadline === undefined ? undefined : Math.max(0, deadline - Date.now())
        return yield* client.await(id, left === undefined ? {} : { timeout: `${left} millis` })
      }).pipe(
        Effect.map((record): WaitEntry["result"] => Either.right(record)),
        Effect.catchTags({
          ExecutionNotFound: (error) => Effect.succeed(Either.left(error)),
          AwaitIncomplete: (error) => Effect.succeed(Either.left(error))
        }),
        Effect.map((result): WaitEntry => ({ id, result })),
        Effect.tap(print)
      )

    const entries = yield* Effect.forEach(ids, one, { concurrency: "unbounded" })
    return { entries, exitCode: combinedExitCode(entries) }
  })

const combinedExitCode = (entries: ReadonlyArray<WaitEntry>): number => {
  const each = entries.map((entry) =>
    Either.match(entry.result, {
      onLeft: (error) => (error._tag === "AwaitIncomplete" ? codes.timeout : codes.failed),
      onRight: exitCodeOf
    })
  )
  for (const code of [codes.timeout, codes.failed, codes.interrupted]) {
    if (each.includes(code)) return code
  }
  return codes.complete
}

const millisOf = (input: Duration.DurationInput): number => Duration.toMillis(Duration.decode(input))

/** The style of an output mode on a stream. @internal */
export const styleFor = (
  output: Runner.OutputMode,
  stdout: { readonly isTTY?: boolean | undefined },
  env: Readonly<Record<string, string | undefined>>,
  color: boolean | undefined
): Format.Style =>
  Format.style(
    output === "json"
      ? false
      : color ?? Format.colorEnabled({ isTTY: output === "human" && stdout.isTTY === true, env })
  )
