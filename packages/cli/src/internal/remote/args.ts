/**
 * Parsing the values of the `truce` command's flags: durations, `--where` conditions,
 * `--label` pairs, JSON input, and `--wait` given without a duration.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** The value `--wait` takes when given alone: wait without a limit. @internal */
export const forever = "forever"

const unitMillis: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000
}

const compact = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/
const compactPart = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g
const spelled = /^(\d+(?:\.\d+)?)\s*(millis|milliseconds?|seconds?|secs?|minutes?|mins?|hours?|days?)$/
const spelledUnit: Readonly<Record<string, number>> = {
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  second: 1000,
  seconds: 1000,
  sec: 1000,
  secs: 1000,
  minute: 60_000,
  minutes: 60_000,
  min: 60_000,
  mins: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000
}

/**
 * A duration as people type it: `30s`, `500ms`, `2m`, `1h30m`, `1.5s`, `90` (seconds),
 * `30 seconds`, `5 minutes`; `forever` (or `none`) means no limit. Left: what is wrong.
 *
 * @internal
 */
export const parseDuration = (text: string): Either.Either<Option.Option<Duration.Duration>, string> => {
  const value = text.trim().toLowerCase()
  if (value === forever || value === "none") return Either.right(Option.none())
  let millis: number | undefined = undefined
  if (/^\d+(?:\.\d+)?$/.test(value)) {
    millis = Number(value) * 1000
  } else if (compact.test(value)) {
    millis = 0
    for (const match of value.matchAll(compactPart)) {
      millis += Number(match[1]) * (unitMillis[match[2] as string] as number)
    }
  } else {
    const match = spelled.exec(value)
    if (match !== null) millis = Number(match[1]) * (spelledUnit[match[2] as string] as number)
  }
  if (millis === undefined || !Number.isFinite(millis)) {
    return Either.left(
      `"${text}" is not a duration; use e.g. 30s, 500ms, 2m, 1h30m, "5 minutes" or ${forever}`
    )
  }
  return Either.right(Option.some(Duration.millis(Math.round(millis))))
}

/** Whether a token reads as a duration (for `--wait` given alone). */
const isDuration = (token: string): boolean => Either.isRight(parseDuration(token))

/**
 * `--wait` takes an optional duration. `@effect/cli` options always take a value, so a
 * `--wait` not followed by a duration (at the end, before another flag, or before a
 * positional argument that is not a duration) becomes `--wait=forever`. Values of the
 * flags in `valueFlags` are skipped, so `--input --wait` keeps its meaning.
 *
 * @internal
 */
export const normalizeWaitFlag = (
  argv: ReadonlyArray<string>,
  valueFlags: ReadonlyArray<string>
): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string
    if (token === "--") {
      out.push(...argv.slice(i))
      break
    }
    if (valueFlags.includes(token)) {
      out.push(token)
      if (i + 1 < argv.length) out.push(argv[++i] as string)
      continue
    }
    if (token === "--wait") {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("-") || !isDuration(next)) {
        out.push(`--wait=${forever}`)
        continue
      }
    }
    out.push(token)
  }
  return out
}

const symbolicOperators: Readonly<Record<string, string>> = {
  "=": "eq",
  "==": "eq",
  "!=": "ne",
  ">": "gt",
  ">=": "ge",
  "<": "lt",
  "<=": "le"
}

const unquote = (text: string): string => {
  const trimmed = text.trim()
  if (trimmed.length >= 2) {
    const first = trimmed[0]
    if ((first === "'" || first === "\"") && trimmed[trimmed.length - 1] === first) return trimmed.slice(1, -1)
  }
  return trimmed
}

/**
 * A `--where` condition, `field op value` (`state in Running,Queued`, `labels.env eq
 * prod`, `createdAt gt 2026-11-01T00:00:00Z`; `=`, `!=`, `>`, `>=`, `<`, `<=` also work,
 * with or without spaces), as a query parameter `field[op]=value`. The operator and the
 * field are checked by the server, which says what is wrong. Left: what is wrong here.
 *
 * @internal
 */
export const parseWhere = (text: string): Either.Either<readonly [string, string], string> => {
  const trimmed = text.trim()
  let field: string
  let op: string
  let raw: string
  const symbolic = /^([^\s=!<>[\]]+)\s*(==|=|!=|>=|<=|>|<)\s*(.*)$/s.exec(trimmed)
  const worded = /^([^\s[\]]+)\s+([A-Za-z]+)(?:\s+(.*))?$/s.exec(trimmed)
  if (symbolic !== null) {
    field = symbolic[1] as string
    op = symbolicOperators[symbolic[2] as string] as string
    raw = symbolic[3] as string
  } else if (worded !== null && worded[3] !== undefined) {
    field = worded[1] as string
    op = (worded[2] as string).toLowerCase()
    raw = worded[3]
  } else {
    return Either.left(
      `--where "${text}": expected "field operator value", e.g. "state eq Running" or "labels.env = prod"`
    )
  }
  let value = unquote(raw)
  if (op === "in") value = value.split(",").map((part) => unquote(part)).join(",")
  return Either.right([`${field}[${op}]`, value] as const)
}

/**
 * `--label key=value` pairs (split at the first `=`; the key may not be empty). Left:
 * what is wrong.
 *
 * @internal
 */
export const parseLabels = (pairs: ReadonlyArray<string>): Either.Either<Record<string, string>, string> => {
  const labels: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf("=")
    if (at <= 0) return Either.left(`--label "${pair}": expected key=value`)
    labels[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return Either.right(labels)
}

/**
 * JSON text given as a command's input. Left: what is wrong, naming where it came from.
 *
 * @internal
 */
export const parseInput = (text: string, from: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return Either.left(`${from} is not valid JSON: ${reason}`)
  }
}
