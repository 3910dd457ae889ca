/**
 * Process signals as an interrupt source: an {@link Endpoint.InputEndpoint} that turns
 * Ctrl-C and SIGTERM into interrupt requests for one execution.
 *
 * - First signal: a graceful interrupt — source `sigint` for SIGINT (Ctrl-C), `shutdown`
 *   for SIGTERM. Items in flight finish (or stop at their next checkpoint), nothing new
 *   starts.
 * - Second signal (either kind): a forced interrupt (`mode: "force"`): items in flight are
 *   interrupted now; their finalizers still run.
 * - Third signal: `onExitNow` — by default the process exits at once with code 130.
 *
 * The endpoint installs its own listeners for as long as its scope is open (it does not
 * rely on `NodeRuntime.runMain`, whose SIGINT handling interrupts the whole program and
 * leaves a second Ctrl-C to Node's default, which kills the process without finalizers).
 *
 * {@link disableControlEcho} stops the terminal from echoing `^C` into the live region.
 *
 * @since 0.1.0
 */
import type { InputEndpoint } from "@truce/core/Endpoint"
import { inputEndpoint } from "@truce/core/Endpoint"
import type { InterruptRequestInput } from "@truce/core/Interrupt"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { spawnSync } from "node:child_process"
import { userInfo } from "node:os"
import type { SignalName } from "./internal/signalRouter.js"
import { pushHandler } from "./internal/signalRouter.js"

/**
 * The signals handled: `SIGINT` (Ctrl-C) and `SIGTERM`.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = SignalName

/**
 * Something that emits signals (the process by default; an `EventEmitter` in tests).
 *
 * @since 0.1.0
 * @category models
 */
export interface SignalEmitter {
  readonly on: (event: Signal, listener: (signal: Signal) => void) => unknown
  readonly removeListener: (event: Signal, listener: (signal: Signal) => void) => unknown
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Called on the third signal instead of exiting with code 130. */
  readonly onExitNow?: ((signal: Signal) => void) | undefined
  /** Called on every signal, with how many were received so far (1, 2, 3, …). */
  readonly onSignal?: ((signal: Signal, count: number) => void) | undefined
  /** Where signals come from (default: the process). */
  readonly emitter?: SignalEmitter | undefined
  /** Recorded as `requestedBy` (default: the operating-system user name). */
  readonly requestedBy?: string | undefined
}

const defaultRequester = (): string | undefined => {
  try {
    return userInfo().username
  } catch {
    return undefined
  }
}

/**
 * The interrupt request for the `count`-th signal (1 = graceful, 2 = forced), or
 * undefined from the third on.
 *
 * @example
 * import { Signals } from "@truce/cli"
 * Signals.requestFor("SIGTERM", 1) // { source: "shutdown", mode: "graceful", reason: "SIGTERM received", ... }
 *
 * @since 0.1.0
 * @category utils
 */
export const requestFor = (
  signal: Signal,
  count: number,
  requestedBy?: string
): InterruptRequestInput | undefined => {
  if (count >= 3 || count < 1) return undefined
  const forced = count === 2
  const reason = signal === "SIGINT"
    ? forced ? "second Ctrl-C (SIGINT)" : "Ctrl-C (SIGINT)"
    : forced
    ? "second SIGTERM received"
    : "SIGTERM received"
  return {
    source: signal === "SIGINT" ? "sigint" : "shutdown",
    mode: forced ? "force" : "graceful",
    reason,
    ...(requestedBy !== undefined ? { requestedBy } : {})
  }
}

/**
 * An input endpoint fed by SIGINT and SIGTERM while the scope is open. Use it for one
 * execution (`StartOptions.inputs`).
 *
 * @example
 * import { Effect } from "effect"
 * import type { CmdExecution as Cmd } from "@truce/core"
 * import { CmdExecution } from "@truce/core"
 * import { Signals } from "@truce/cli"
 *
 * declare const backup: Cmd.CmdExecution<string, void>
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const signals = yield* Signals.make()
 *   return yield* CmdExecution.run(backup, "/srv", { inputs: [signals] })
 * }))
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<InputEndpoint, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<InterruptRequestInput>()
    const requestedBy = options.requestedBy ?? defaultRequester()
    let count = 0
    const handler = (signal: Signal) => {
      count++
      options.onSignal?.(signal, count)
      const request = requestFor(signal, count, requestedBy)
      if (request !== undefined) {
        Queue.unsafeOffer(queue, request)
        return
      }
      if (options.onExitNow !== undefined) options.onExitNow(signal)
      else process.exit(130)
    }
    let remove: () => void
    const emitter = options.emitter
    if (emitter !== undefined) {
      emitter.on("SIGINT", handler)
      emitter.on("SIGTERM", handler)
      remove = () => {
        emitter.removeListener("SIGINT", handler)
        emitter.removeListener("SIGTERM", handler)
      }
    } else {
      remove = pushHandler(handler)
    }
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Effect.sync(remove),
        Queue.shutdown(queue)
      )
    )
    return inputEndpoint("signals", Stream.fromQueue(queue))
  })

/**
 * While the scope is open, the terminal on stdin does not echo control characters (the
 * `^C` a Ctrl-C would print into the live region). The previous terminal settings are
 * restored when the scope closes, and also if the process exits first. Does nothing
 * when stdin is not a terminal or `stty` is not available.
 *
 * @example
 * import { Effect } from "effect"
 * import { Signals } from "@truce/cli"
 *
 * const program = Effect.scoped(Effect.zipRight(Signals.disableControlEcho, Effect.log("no ^C here")))
 *
 * @since 0.1.0
 * @category terminal
 */
export const disableControlEcho: Effect.Effect<void, never, Scope.Scope> = Effect.asVoid(
  Effect.acquireRelease(
    Effect.sync(() => suppressControlEcho()),
    (restore) => Effect.sync(restore)
  )
)

const stty = (args: ReadonlyArray<string>): string | undefined => {
  // A process in the background would be stopped (SIGTTOU) by stty: never wait long.
  const result = spawnSync("stty", args, { stdio: ["inherit", "pipe", "ignore"], timeout: 1000 })
  if (result.error !== undefined || result.status !== 0) return undefined
  return result.stdout.toString().trim()
}

const suppressControlEcho = (): () => void => {
  if (process.stdin.isTTY !== true || process.platform === "win32") return () => {}
  const saved = stty(["-g"])
  if (saved === undefined || saved.length === 0) return () => {}
  if (stty(["-echoctl"]) === undefined) return () => {}
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    process.removeListener("exit", restore)
    stty([saved])
  }
  process.once("exit", restore)
  return restore
}
