/**
 * Small formatting helpers shared by the terminal outputs: humanised bytes and durations,
 * ETA, progress bars, truncation to a column width, colours that respect `NO_COLOR` and
 * `FORCE_COLOR`, and the spinner frames.
 *
 * Colours are plain SGR escape sequences rather than `@effect/printer-ansi` documents: the
 * live renderer builds a few dozen short lines up to 20 times a second, and a document
 * layout pass per frame would cost more than the strings themselves.
 *
 * @since 0.1.0
 */

const KiB = 1024
const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `12 MiB`, `3.2 GiB` (binary units; one
 * decimal below 10, none above).
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.bytes(1536) // "1.5 KiB"
 *
 * @since 0.1.0
 * @category formatting
 */
export const bytes = (n: number): string => {
  if (!Number.isFinite(n)) return "? B"
  const sign = n < 0 ? "-" : ""
  let value = Math.abs(n)
  if (value < KiB) return `${sign}${Math.round(value)} B`
  let unit = 0
  while (value >= KiB && unit < units.length - 1) {
    value /= KiB
    unit++
  }
  // 1023.96 KiB would print as "1024 KiB": move to the next unit instead.
  if (value >= 1023.95 && unit < units.length - 1) {
    value /= KiB
    unit++
  }
  return `${sign}${value < 10 ? value.toFixed(1) : Math.round(value).toString()} ${units[unit]}`
}

/**
 * A duration for people: `0.4s`, `12.3s`, `1m05s`, `2h03m`, `3d04h`. Negative or
 * non-finite input prints as `0.0s`.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.duration(65_000) // "1m05s"
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "0.0s"
  if (ms < 60_000) {
    const tenths = Math.floor(ms / 100)
    // 59.96 s rounds to "60.0s": show it as a minute instead.
    if (tenths >= 600) return "1m00s"
    return `${Math.floor(tenths / 10)}.${tenths % 10}s`
  }
  const seconds = Math.floor(ms / 1000)
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`
  const hours = Math.floor(minutes / 60)
  return `${Math.floor(hours / 24)}d${pad2(hours % 24)}h`
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

/**
 * An estimated remaining time, rounded up to whole seconds (a countdown that reaches `0s`
 * only when the work is done): `ETA 3s`, `ETA 1m05s`; empty when unknown.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.eta(2_100) // "ETA 3s"
 * Format.eta(undefined) // ""
 *
 * @since 0.1.0
 * @category formatting
 */
export const eta = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return ""
  const seconds = Math.max(0, Math.ceil(ms / 1000))
  if (seconds < 60) return `ETA ${seconds}s`
  return `ETA ${duration(seconds * 1000)}`
}

/**
 * A fraction in `[0, 1]` as a right-aligned percentage of 4 characters (`  7%`, `100%`).
 * It shows `100%` only when the fraction is exactly 1.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.percent(0.5) // " 50%"
 *
 * @since 0.1.0
 * @category formatting
 */
export const percent = (fraction: number): string => {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0))
  const value = clamped >= 1 ? 100 : Math.min(99, Math.floor(clamped * 100))
  return `${value}%`.padStart(4, " ")
}

const eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"] as const

/**
 * A progress bar of exactly `width` characters. With `unicode` it uses full blocks and
 * eighth blocks for a smooth edge (`█████▍░░░░`); otherwise `=====>----`.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.bar(0.5, 10, { unicode: false }) // "=====>----"
 *
 * @since 0.1.0
 * @category formatting
 */
export const bar = (fraction: number, width: number, options?: { readonly unicode?: boolean | undefined }): string => {
  const cells = Math.max(0, Math.floor(width))
  if (cells === 0) return ""
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0))
  if (options?.unicode === false) {
    const full = Math.floor(clamped * cells)
    if (full >= cells) return "=".repeat(cells)
    return "=".repeat(full) + ">" + "-".repeat(cells - full - 1)
  }
  const exact = clamped * cells * 8
  const full = Math.floor(exact / 8)
  if (full >= cells) return "█".repeat(cells)
  const partial = eighths[Math.floor(exact % 8)] as string
  const rest = cells - full - (partial.length > 0 ? 1 : 0)
  return "█".repeat(full) + partial + "░".repeat(rest)
}

/**
 * The frames of the spinner shown for work of unknown size.
 *
 * @since 0.1.0
 * @category constants
 */
export const spinnerFrames: ReadonlyArray<string> = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/**
 * The ASCII spinner (terminals without Unicode).
 *
 * @since 0.1.0
 * @category constants
 */
export const asciiSpinnerFrames: ReadonlyArray<string> = ["|", "/", "-", "\\"]

/**
 * The spinner frame for a frame counter.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.spinner(3, { unicode: true }) // "⠸"
 *
 * @since 0.1.0
 * @category formatting
 */
export const spinner = (frame: number, options?: { readonly unicode?: boolean | undefined }): string => {
  const frames = options?.unicode === false ? asciiSpinnerFrames : spinnerFrames
  const index = ((Math.floor(frame) % frames.length) + frames.length) % frames.length
  return frames[index] as string
}

/**
 * Code points drawn two columns wide (CJK, Hangul, full-width forms, most emoji).
 */
const isWide = (code: number): boolean =>
  code >= 0x1100 && (
    code <= 0x115f ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  )

const isZeroWidth = (code: number): boolean =>
  code < 0x20 || (code >= 0x7f && code < 0xa0) || (code >= 0x300 && code <= 0x36f) || code === 0x200b ||
  (code >= 0xfe00 && code <= 0xfe0f)

/**
 * The number of terminal columns a string without escape sequences takes.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.width("日本") // 4
 *
 * @since 0.1.0
 * @category formatting
 */
export const width = (text: string): number => {
  let columns = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x7f) {
      if (code >= 0x20) columns++
      continue
    }
    const point = text.codePointAt(i) as number
    if (point > 0xffff) i++
    if (isZeroWidth(point)) continue
    columns += isWide(point) ? 2 : 1
  }
  return columns
}

/**
 * Cuts a string without escape sequences to at most `columns` columns, ending with `…`
 * when something was cut. Control characters are dropped (they would move the cursor).
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.truncate("configuration.yaml", 10) // "configura…"
 *
 * @since 0.1.0
 * @category formatting
 */
export const truncate = (text: string, columns: number): string => {
  if (columns <= 0) return ""
  if (isPrintableAscii(text)) return text.length <= columns ? text : text.slice(0, columns - 1) + "…"
  // eslint-disable-next-line no-control-regex -- control characters are what this matches
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, " ")
  if (width(clean) <= columns) return clean
  let out = ""
  let used = 0
  for (const point of clean) {
    const w = width(point)
    if (used + w > columns - 1) break
    out += point
    used += w
  }
  return out + "…"
}

const isPrintableAscii = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code > 0x7e) return false
  }
  return true
}

/**
 * Pads (or truncates) to exactly `columns` columns.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.fit("abc", 5) // "abc  "
 *
 * @since 0.1.0
 * @category formatting
 */
export const fit = (text: string, columns: number): string => {
  const cut = truncate(text, columns)
  const w = width(cut)
  return w < columns ? cut + " ".repeat(columns - w) : cut
}

/**
 * The colours and styles the outputs use. Every function returns its input unchanged
 * when colour is off.
 *
 * @since 0.1.0
 * @category models
 */
export interface Style {
  readonly enabled: boolean
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly red: (text: string) => string
  readonly green: (text: string) => string
  readonly yellow: (text: string) => string
  readonly blue: (text: string) => string
  readonly magenta: (text: string) => string
  readonly cyan: (text: string) => string
  readonly gray: (text: string) => string
}

const sgr = (open: number, close: number) => (text: string): string =>
  text.length === 0 ? text : `\u001b[${open}m${text}\u001b[${close}m`

const identity = (text: string): string => text

/**
 * A {@link Style} with colour on or off.
 *
 * @example
 * import { Format } from "@truce/cli"
 * const style = Format.style(false)
 * style.red("failed") // "failed"
 *
 * @since 0.1.0
 * @category constructors
 */
export const style = (enabled: boolean): Style =>
  enabled
    ? {
      enabled,
      bold: sgr(1, 22),
      dim: sgr(2, 22),
      red: sgr(31, 39),
      green: sgr(32, 39),
      yellow: sgr(33, 39),
      blue: sgr(34, 39),
      magenta: sgr(35, 39),
      cyan: sgr(36, 39),
      gray: sgr(90, 39)
    }
    : {
      enabled,
      bold: identity,
      dim: identity,
      red: identity,
      green: identity,
      yellow: identity,
      blue: identity,
      magenta: identity,
      cyan: identity,
      gray: identity
    }

/**
 * Whether to use colour: `NO_COLOR` (any non-empty value) turns it off; `FORCE_COLOR`
 * turns it on (`0` or `false` turn it off); otherwise colour is used on a TTY whose
 * `TERM` is not `dumb`.
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.colorEnabled({ isTTY: true, env: { NO_COLOR: "1" } }) // false
 *
 * @since 0.1.0
 * @category utils
 */
export const colorEnabled = (options: {
  readonly isTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
}): boolean => {
  const noColor = options.env.NO_COLOR
  if (noColor !== undefined && noColor !== "") return false
  const force = options.env.FORCE_COLOR
  if (force !== undefined) return !(force === "0" || force.toLowerCase() === "false")
  return options.isTTY && options.env.TERM !== "dumb"
}

/**
 * Whether the terminal can be expected to draw Unicode block and braille characters
 * (not the Linux console, not a `dumb` terminal).
 *
 * @since 0.1.0
 * @category utils
 */
export const unicodeEnabled = (env: Readonly<Record<string, string | undefined>>): boolean =>
  env.TERM !== "linux" && env.TERM !== "dumb"

/**
 * Removes SGR and other CSI escape sequences (to measure or compare rendered lines).
 *
 * @example
 * import { Format } from "@truce/cli"
 * Format.stripAnsi("\u001b[31mred\u001b[39m") // "red"
 *
 * @since 0.1.0
 * @category formatting
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
export const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
