/**
 * Live progress on a terminal: a {@link Endpoint.ProgressOutput} that redraws a bounded
 * region of lines in place (cursor up, rewrite, clear the rest) at a capped frame rate.
 *
 * - Events only update a model ({@link ProgressView}); drawing happens on a timer (15 fps
 *   by default) and only when the picture changed, so the cost of rendering does not
 *   depend on how many events arrive. Between batches the output waits one frame, so the
 *   engine hands it events in bulk rather than one at a time.
 * - The region adapts to the terminal's width and height (and to resize); it never
 *   grows taller than the terminal, so nothing scrolls away.
 * - Other writes to the same terminal (`console.log`, `Effect.log`, a child process)
 *   would garble the region: {@link TerminalOutput.log} prints above it, and with
 *   `captureOutput` (the default on `process.stdout`) every other write to stdout or stderr
 *   clears the region first and the region is drawn again below it.
 * - Frames are wrapped in synchronized-output markers (ignored by terminals that do not
 *   know them), the cursor is hidden while drawing and restored at the end — also when
 *   the process exits early.
 *
 * @since 0.1.0
 */
import type { ProgressOutput } from "@truce/core/Endpoint"
import { progressOutput } from "@truce/core/Endpoint"
import type { ExecutionEvent } from "@truce/core/ExecutionEvent"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Format from "./Format.js"
import * as ProgressView from "./ProgressView.js"

/**
 * The part of a terminal stream the output needs (`process.stdout` fits; so does a test
 * double).
 *
 * @since 0.1.0
 * @category models
 */
export interface TerminalStream {
  readonly write: (chunk: string) => unknown
  readonly columns?: number | undefined
  readonly rows?: number | undefined
  readonly isTTY?: boolean | undefined
  readonly on?: ((event: "resize", listener: () => void) => unknown) | undefined
  readonly off?: ((event: "resize", listener: () => void) => unknown) | undefined
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where to draw (default `process.stdout`). */
  readonly stream?: TerminalStream | undefined
  /** The command name and its block names, drawn before the first event arrives. */
  readonly command?: string | undefined
  readonly blocks?: ReadonlyArray<string> | undefined
  /** Most frames per second (default 15, at most 60). */
  readonly fps?: number | undefined
  /** Colour (default: from `NO_COLOR` / `FORCE_COLOR` and the stream). */
  readonly color?: boolean | undefined
  /** Unicode bars and glyphs (default: unless `TERM` is `linux` or `dumb`). */
  readonly unicode?: boolean | undefined
  /** Most lines drawn (default: the terminal height minus one, at most 40). */
  readonly maxLines?: number | undefined
  /** Wait between two batches of events, in ms (default one frame; 0 = none). */
  readonly batchInterval?: number | undefined
  /**
   * Route other writes to `process.stdout` / `process.stderr` around the region (default
   * true when drawing on `process.stdout`).
   */
  readonly captureOutput?: boolean | undefined
  /** `"ctrl-c"` tells the user that another Ctrl-C forces the stop (set by `Runner`). */
  readonly hint?: "ctrl-c" | "none" | undefined
  /** The clock (default `Date.now`). */
  readonly now?: (() => number) | undefined
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * A live terminal output.
 *
 * @since 0.1.0
 * @category models
 */
export interface TerminalOutput {
  /** Attach this to an execution (`StartOptions.outputs`). */
  readonly output: ProgressOutput
  /** The model being drawn. */
  readonly view: ProgressView.ProgressView
  /** Prints lines above the live region. */
  readonly log: (text: string) => void
  /** Draws now if the picture changed (the timer calls this). */
  readonly redraw: () => void
  /** Draws the final frame, shows the cursor and stops drawing. Idempotent. */
  readonly close: () => void
  /** Leaves the region as it is, prints a note below it and stops (for an immediate exit). */
  readonly abort: (note: string) => void
  /**
   * Frames and bytes written so far, and the time spent applying events and drawing
   * (`busyMs`, measured with `performance.now()`): what the output costs the process.
   */
  readonly stats: () => { readonly frames: number; readonly bytes: number; readonly busyMs: number }
}

const CSI = "\u001b["
const hideCursor = `${CSI}?25l`
const showCursor = `${CSI}?25h`
const syncStart = `${CSI}?2026h`
const syncEnd = `${CSI}?2026l`
const eraseLineEnd = `${CSI}K`
const eraseDown = `${CSI}J`

type WriteFn = (chunk: unknown, ...rest: Array<unknown>) => boolean

interface Patched {
  readonly target: { write: WriteFn }
  readonly original: WriteFn
}

/**
 * Makes a live output. Nothing is drawn before the first event; `close` (or the
 * `Finished` event) draws the final frame and restores the cursor.
 *
 * @example
 * import type { CmdExecution as Cmd } from "@truce/core"
 * import { CmdExecution } from "@truce/core"
 * import { TerminalOutput } from "@truce/cli"
 *
 * declare const deploy: Cmd.CmdExecution<string, void>
 * const terminal = TerminalOutput.make({ command: deploy.name, blocks: deploy.blocks.map((block) => block.name) })
 * const program = CmdExecution.run(deploy, "v2", { outputs: [terminal.output] })
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): TerminalOutput => {
  const stream: TerminalStream = options.stream ?? process.stdout
  const env = options.env ?? process.env
  const now = options.now ?? Date.now
  const fps = Math.max(1, Math.min(60, options.fps ?? 15))
  const frameMs = Math.round(1000 / fps)
  const batchInterval = options.batchInterval ?? frameMs
  const style = Format.style(options.color ?? Format.colorEnabled({ isTTY: stream.isTTY === true, env }))
  const unicode = options.unicode ?? Format.unicodeEnabled(env)
  const hint = options.hint ?? "none"
  const view = ProgressView.make({ command: options.command, blocks: options.blocks })
  const capture = options.captureOutput ?? (stream === process.stdout)

  let started = false
  let closed = false
  let dirty = true
  let timer: ReturnType<typeof setInterval> | undefined = undefined
  /** Visible widths of the lines currently on screen (the region). */
  let drawnWidths: Array<number> = []
  let lastFrame = ""
  /** Someone else wrote a partial line below the region since the last frame. */
  let partialLine = false
  let frames = 0
  let busyMs = 0
  let lastDrawAt = 0
  let bytes = 0
  let writing = false
  const patched: Array<Patched> = []

  const columns = () => Math.max(20, stream.columns ?? 80)
  const height = () => {
    const rows = stream.rows ?? 24
    const fit = Math.max(1, rows - 1)
    return Math.max(1, Math.min(options.maxLines ?? 40, fit))
  }

  const rawWrite = (text: string) => {
    if (text.length === 0) return
    writing = true
    try {
      stream.write(text)
    } finally {
      writing = false
    }
    bytes += text.length
  }

  /** Moves the cursor to the first line of the region (the region's rows at the current width). */
  const regionUp = (): string => {
    const width = columns()
    let rows = 0
    for (const w of drawnWidths) rows += Math.max(1, Math.ceil(w / width))
    return rows === 0 ? "\r" : `\r${CSI}${rows}A`
  }

  const eraseRegion = (): string => {
    if (drawnWidths.length === 0) return ""
    const out = regionUp() + eraseDown
    drawnWidths = []
    lastFrame = ""
    return out
  }

  const draw = (final: boolean) => {
    const lines = view.render({
      width: columns(),
      height: final ? Math.max(height(), 1) : height(),
      style,
      unicode,
      now: now(),
      hint,
      final
    })
    const frame = lines.join("\n")
    if (frame === lastFrame && !partialLine) return
    let out = syncStart + (started && !final ? hideCursor : "")
    if (partialLine) {
      out += "\n"
      partialLine = false
    }
    out += drawnWidths.length > 0 ? regionUp() : "\r"
    for (const line of lines) out += line + eraseLineEnd + "\n"
    out += eraseDown + syncEnd
    rawWrite(out)
    frames++
    lastDrawAt = now()
    lastFrame = frame
    drawnWidths = lines.map((line) => Format.width(style.enabled ? Format.stripAnsi(line) : line))
    dirty = false
  }

  const redraw = () => {
    if (closed || !started) return
    const begin = performance.now()
    draw(false)
    busyMs += performance.now() - begin
  }

  /** Draws the region again once the writes of this turn of the event loop are done. */
  let redrawScheduled = false
  const scheduleRedraw = () => {
    if (redrawScheduled) return
    redrawScheduled = true
    setImmediate(() => {
      redrawScheduled = false
      redraw()
    })
  }

  const onResize = () => {
    dirty = true
    redraw()
  }

  const onExit = () => {
    if (!closed) rawWrite(showCursor)
  }

  const patch = (target: { write: WriteFn }) => {
    const original = target.write
    const replacement: WriteFn = function(this: unknown, chunk: unknown, ...rest: Array<unknown>) {
      if (!writing && !closed && started) {
        if (drawnWidths.length > 0) {
          rawWrite(eraseRegion())
        }
        partialLine = !endsWithNewline(chunk)
        dirty = true
        scheduleRedraw()
      }
      return original.call(target, chunk, ...rest)
    }
    target.write = replacement
    patched.push({ target, original })
  }

  const start = () => {
    if (started || closed) return
    started = true
    rawWrite(hideCursor)
    process.once("exit", onExit)
    stream.on?.("resize", onResize)
    if (capture) {
      patch(process.stdout as unknown as { write: WriteFn })
      if (process.stderr.isTTY) patch(process.stderr as unknown as { write: WriteFn })
    }
    timer = setInterval(() => {
      // Spinners and elapsed times move even without events.
      if (dirty || view.state !== undefined) redraw()
    }, frameMs)
    timer.unref?.()
  }

  const stop = () => {
    closed = true
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    stream.off?.("resize", onResize)
    process.removeListener("exit", onExit)
    for (const { original, target } of patched.splice(0)) target.write = original
  }

  const close = () => {
    if (closed) return
    if (started) {
      draw(true)
      rawWrite(showCursor)
    }
    stop()
  }

  const abort = (note: string) => {
    if (closed) return
    let out = ""
    if (partialLine) out += "\n"
    out += `${note}\n${showCursor}`
    rawWrite(out)
    stop()
  }

  const log = (text: string) => {
    if (closed || !started) {
      rawWrite(text.endsWith("\n") ? text : `${text}\n`)
      return
    }
    let out = syncStart + eraseRegion()
    if (partialLine) {
      out += "\n"
      partialLine = false
    }
    out += (text.endsWith("\n") ? text : `${text}\n`) + syncEnd
    rawWrite(out)
    draw(false)
  }

  const write = (events: ReadonlyArray<ExecutionEvent>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (closed) return Effect.void
      const begin = performance.now()
      view.apply(events)
      busyMs += performance.now() - begin
      start()
      dirty = true
      let urgent = false
      for (let i = events.length - 1; i >= 0; i--) {
        const tag = (events[i] as ExecutionEvent)._tag
        if (tag === "Finished") {
          close()
          return Effect.void
        }
        if (tag === "InterruptRequested" || tag === "BlockStarted" || tag === "BlockFinished") urgent = true
      }
      // A frame is due (or the change cannot wait): draw now rather than on the timer, which
      // a busy event loop may run late.
      if (urgent || now() - lastDrawAt >= frameMs) redraw()
      return batchInterval > 0 ? Effect.sleep(batchInterval) : Effect.void
    })

  return {
    output: progressOutput("terminal", write),
    view,
    log,
    redraw,
    close,
    abort,
    stats: () => ({ frames, bytes, busyMs })
  }
}

const endsWithNewline = (chunk: unknown): boolean => {
  if (typeof chunk === "string") return chunk.length === 0 || chunk.endsWith("\n")
  if (chunk instanceof Uint8Array) return chunk.length === 0 || chunk[chunk.length - 1] === 0x0a
  return true
}

/**
 * A live output closed with the scope (the cursor is restored even if the execution
 * never finished).
 *
 * @since 0.1.0
 * @category constructors
 */
export const scoped = (options?: Options): Effect.Effect<TerminalOutput, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => make(options)), (terminal) => Effect.sync(() => terminal.close()))
