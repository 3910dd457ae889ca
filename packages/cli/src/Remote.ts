/**
 * The `truce` command: drive a remote Truce HTTP server from a terminal — start an
 * execution, read its status, watch it with the same live bars as a local run, wait for
 * one or many outcomes, cancel, list.
 *
 * ```sh
 * truce start backup-database --input '{"database":"orders"}' --watch
 * truce status 6f1c…
 * truce watch 6f1c…          # Ctrl-C: graceful interrupt, again: force, a third time: exit
 * truce wait 6f1c… 8a2d… --timeout 10m
 * truce cancel 6f1c… --reason "wrong database"
 * truce list --state Running --where 'labels.env = prod' --all
 * ```
 *
 * - {@link command} is the `@effect/cli` command tree, {@link main} runs it as the
 *   process's main program (the bin `truce` does just that).
 * - {@link watch} and {@link wait} are the Effects behind `truce watch` and `truce wait`,
 *   for a program of your own that talks to a server through `@truce/http`'s client.
 * - {@link ExitCodes}: what the exit code says.
 *
 * Global options (before or after the subcommand): `--server <url>` (env
 * `TRUCE_SERVER`, default `http://localhost:8080`), `--api-key` (env `TRUCE_API_KEY`) or
 * `--token` (a bearer token, env `TRUCE_TOKEN`), `--output human|plain|json` (default
 * `human`, which is `plain` when stdout is not a terminal).
 *
 * @since 0.1.0
 */
import type * as CmdOutcome from "@truce/core/CmdOutcome"
import type * as ExecutionRecord from "@truce/core/ExecutionRecord"
import type * as Client from "@truce/http/Client"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as CommandLine from "./internal/remote/commandLine.js"
import * as RemoteConnection from "./internal/remote/connection.js"
import { codes } from "./internal/remote/failure.js"
import * as Follow from "./internal/remote/follow.js"
import type * as Runner from "./Runner.js"
import type * as TerminalOutput from "./TerminalOutput.js"

/**
 * The exit codes of the `truce` command.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | done: the execution(s) completed; `start`, `status`, `list` answered; `cancel` accepted (or nothing left to interrupt) |
 * | 1 | an execution failed; no such execution or command; `cancel` refused (not cancellable); an idempotency conflict |
 * | 2 | a malformed command line: a flag or argument (bad JSON input, duration, `--where`), or a request the server rejected as invalid (400) |
 * | 69 | the server cannot be reached or answered something unexpected (connection refused, 5xx) |
 * | 77 | the server refused the credentials (401) or the action (403) |
 * | 124 | `wait` (or `start --wait`) ran out of time before the execution(s) ended |
 * | 130 | an execution was interrupted; or Ctrl-C stopped `watch` / `wait` |
 * | 143 | SIGTERM stopped `watch` (the execution goes on) |
 *
 * @example
 * import { Remote } from "@truce/cli"
 *
 * const outOfTime = (code: number) => code === Remote.ExitCodes.timeout // 124
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCodes: {
  readonly complete: 0
  readonly failed: 1
  readonly usage: 2
  readonly unavailable: 69
  readonly denied: 77
  readonly timeout: 124
  readonly interrupted: 130
  readonly terminated: 143
} = codes

/**
 * The server `truce` talks to when neither `--server` nor `TRUCE_SERVER` says otherwise.
 *
 * @example
 * import { Remote } from "@truce/cli"
 *
 * const layer = Remote.clientLayer({ server: process.env.TRUCE_SERVER ?? Remote.defaultServer })
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultServer: string = RemoteConnection.defaultServer

/**
 * Where the server is and how to authenticate.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  /** The server's base URL (`http://` or `https://`). */
  readonly server: string
  /** Sent as `X-API-Key`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Sent as `Authorization: Bearer …`. */
  readonly token?: Redacted.Redacted<string> | undefined
}

/**
 * The `@truce/http` client for a connection, over the platform's `fetch`.
 *
 * @example
 * import { Effect } from "effect"
 * import { Remote } from "@truce/cli"
 * import { Client } from "@truce/http"
 *
 * const program = Effect.flatMap(Client.TruceClient, (client) => client.list({ state: "Running" })).pipe(
 *   Effect.provide(Remote.clientLayer({ server: "http://localhost:8080" }))
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const clientLayer: (connection: Connection) => Layer.Layer<Client.TruceClient> = RemoteConnection.clientLayer

/**
 * The errors of {@link watch} and {@link wait}: those of the client.
 *
 * @since 0.1.0
 * @category errors
 */
export type RemoteClientError = Client.ClientError | Client.MalformedEvent | Client.AwaitIncomplete

/**
 * Where and how {@link watch} and {@link wait} print.
 *
 * @since 0.1.0
 * @category models
 */
export interface PrintOptions {
  /** Default `human` (live bars on a terminal, plain lines otherwise). */
  readonly output?: Runner.OutputMode | undefined
  /** Default `process.stdout`. */
  readonly stdout?: (TerminalOutput.TerminalStream & { readonly isTTY?: boolean | undefined }) | undefined
  /** Notes for people in JSON mode, and messages (default `process.stderr`). */
  readonly stderr?: NodeJS.WritableStream | undefined
  /** Colour (default: from `NO_COLOR` / `FORCE_COLOR` and the stream). */
  readonly color?: boolean | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Named in messages (default "the server"). */
  readonly server?: string | undefined
}

/**
 * Options of {@link watch}.
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions extends PrintOptions {
  /**
   * What Ctrl-C does. `interrupt` (default): the first asks the server for a graceful
   * interrupt and the watch goes on until the outcome, the second asks for a forced one,
   * the third exits at once (130) and leaves the execution as it is. `detach`: Ctrl-C
   * only stops watching (130); the execution goes on.
   */
  readonly onInterrupt?: "interrupt" | "detach" | undefined
  /** Handle SIGINT and SIGTERM (default true). SIGTERM always only stops watching (143). */
  readonly signals?: boolean | undefined
  /** The reason recorded with the interrupt (default "Ctrl-C in truce watch"). */
  readonly reason?: string | undefined
  /** Frames per second of the live output (default 15). */
  readonly fps?: number | undefined
}

/**
 * How a watch ended: the execution `Finished` (its record, its outcome when the server
 * recorded one, and the exit code of the outcome), or the watcher `Detached` (Ctrl-C with
 * `onInterrupt: "detach"`, SIGTERM, or Ctrl-C after the server refused to interrupt).
 *
 * @since 0.1.0
 * @category models
 */
export type WatchResult =
  | {
    readonly _tag: "Finished"
    readonly record: ExecutionRecord.ExecutionRecord
    readonly outcome: Option.Option<CmdOutcome.CmdOutcome<unknown, unknown>>
    readonly exitCode: number
  }
  | { readonly _tag: "Detached"; readonly signal: "SIGINT" | "SIGTERM"; readonly exitCode: number }

/**
 * Watches an execution on the server: its event stream drawn by the same outputs as a
 * local run (live bars on a terminal, plain lines, JSON lines), then the outcome's summary
 * (the JSON outcome line). The stream resumes from the last event after a dropped
 * connection. Ctrl-C interrupts the execution on the server (see
 * {@link WatchOptions.onInterrupt}). Fails only with the client's errors (an unknown id,
 * refused credentials, a server that cannot be reached).
 *
 * @example
 * import { Effect } from "effect"
 * import { Remote } from "@truce/cli"
 *
 * const program = Remote.watch("6f1c…", { output: "plain" }).pipe(
 *   Effect.map((result) => result.exitCode),
 *   Effect.provide(Remote.clientLayer({ server: "http://localhost:8080" }))
 * )
 *
 * @since 0.1.0
 * @category watching
 */
export const watch: (
  id: string,
  options?: WatchOptions
) => Effect.Effect<WatchResult, RemoteClientError, Client.TruceClient> = Follow.watch

/**
 * Options of {@link wait}.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions extends PrintOptions {
  /** Give up after this long (exit code 124); default: wait until every execution ends. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * What {@link wait} found for one id: the finished record, or why there is none
 * (`ExecutionNotFound`, or `AwaitIncomplete` when the timeout came first).
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitEntry {
  readonly id: string
  readonly result: Either.Either<
    ExecutionRecord.ExecutionRecord,
    Client.AwaitIncomplete | Extract<Client.ClientError, { readonly _tag: "ExecutionNotFound" }>
  >
}

/**
 * Waits for one or many executions at once (long-polls, no fixed-interval polling) and
 * prints each outcome as it arrives: its summary, or in JSON mode its outcome line. The
 * exit code: 124 if any is still running at the timeout, else 1 if any failed or is
 * unknown, else 130 if any was interrupted, else 0. Errors that concern the server rather
 * than one execution (unreachable, refused credentials) fail the whole wait.
 *
 * @example
 * import { Effect } from "effect"
 * import { Remote } from "@truce/cli"
 *
 * const program = Remote.wait(["6f1c…", "8a2d…"], { timeout: "10 minutes", output: "json" }).pipe(
 *   Effect.map((result) => result.exitCode),
 *   Effect.provide(Remote.clientLayer({ server: "http://localhost:8080" }))
 * )
 *
 * @since 0.1.0
 * @category waiting
 */
export const wait: (
  ids: ReadonlyArray<string>,
  options?: WaitOptions
) => Effect.Effect<
  { readonly entries: ReadonlyArray<WaitEntry>; readonly exitCode: number },
  Exclude<RemoteClientError, Client.AwaitIncomplete | { readonly _tag: "ExecutionNotFound" }>,
  Client.TruceClient
> = Follow.wait

/**
 * The `truce` command tree (`@effect/cli`): `start`, `status`, `watch`, `wait`, `cancel`,
 * `list`, with the global options `--server`, `--api-key` / `--token`, `--output`.
 *
 * @example
 * import { Command } from "@effect/cli"
 * import { Remote } from "@truce/cli"
 *
 * const run = Command.run(Remote.command, { name: "truce", version: "0.1.0" })
 * // run(["node", "truce", "list", "--state", "Running"])
 *
 * @since 0.1.0
 * @category command line
 */
export const command: typeof CommandLine.command = CommandLine.command

/**
 * Runs the `truce` command as the process's main program (parses `process.argv` unless
 * given other arguments) and exits with its exit code ({@link ExitCodes}).
 *
 * @example
 * import { Remote } from "@truce/cli"
 *
 * // bin/truce: Remote.main()
 * // or with arguments of your own:
 * // Remote.main(["node", "truce", "status", "6f1c…"])
 *
 * @since 0.1.0
 * @category command line
 */
export const main: (argv?: ReadonlyArray<string>) => void = CommandLine.main
