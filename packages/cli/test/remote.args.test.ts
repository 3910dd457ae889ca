/**
 * The values of the `truce` command's flags: durations, `--where`, `--label`, JSON input,
 * `--wait` without a duration — and what is printed about records from a server that may
 * send anything.
 */
import { describe, expect, it } from "@effect/vitest"
import { ExecutionRecord } from "@truce/core"
import { Duration, Either, Option } from "effect"
import { Format, Remote } from "../src/index.js"
import { normalizeWaitFlag, parseDuration, parseInput, parseLabels, parseWhere } from "../src/internal/remote/args.js"
import { describe as describeFailure } from "../src/internal/remote/failure.js"
import { listLines, statusLines } from "../src/internal/remote/render.js"

const millis = (text: string) =>
  Either.map(parseDuration(text), (duration) => Option.map(duration, Duration.toMillis).pipe(Option.getOrUndefined))

describe("durations", () => {
  it("reads what people type", () => {
    expect(millis("30s")).toEqual(Either.right(30_000))
    expect(millis("500ms")).toEqual(Either.right(500))
    expect(millis("2m")).toEqual(Either.right(120_000))
    expect(millis("1h30m")).toEqual(Either.right(5_400_000))
    expect(millis("1.5s")).toEqual(Either.right(1500))
    expect(millis("90")).toEqual(Either.right(90_000))
    expect(millis("5 minutes")).toEqual(Either.right(300_000))
    expect(millis("1 second")).toEqual(Either.right(1000))
    expect(millis("forever")).toEqual(Either.right(undefined))
    expect(millis("none")).toEqual(Either.right(undefined))
  })

  it("says what is wrong with anything else", () => {
    for (const bad of ["", "abc", "10x", "-5s", "1h 30", "s", "5 parsecs", "1e400"]) {
      const parsed = parseDuration(bad)
      expect(Either.isLeft(parsed), bad).toBe(true)
      if (Either.isLeft(parsed)) expect(parsed.left).toContain("is not a duration")
    }
  })
})

describe("--wait without a duration", () => {
  const flags = ["--input", "--label"]

  it("becomes --wait=forever at the end, before a flag, or before a positional argument", () => {
    expect(normalizeWaitFlag(["start", "echo", "--wait"], flags)).toEqual(["start", "echo", "--wait=forever"])
    expect(normalizeWaitFlag(["start", "--wait", "--label", "a=b", "echo"], flags)).toEqual(
      ["start", "--wait=forever", "--label", "a=b", "echo"]
    )
    expect(normalizeWaitFlag(["start", "--wait", "echo"], flags)).toEqual(["start", "--wait=forever", "echo"])
  })

  it("keeps a duration that follows it, and the values of other flags", () => {
    expect(normalizeWaitFlag(["start", "echo", "--wait", "30s"], flags)).toEqual(["start", "echo", "--wait", "30s"])
    expect(normalizeWaitFlag(["start", "echo", "--wait=2m"], flags)).toEqual(["start", "echo", "--wait=2m"])
    expect(normalizeWaitFlag(["start", "echo", "--input", "--wait"], flags)).toEqual(
      ["start", "echo", "--input", "--wait"]
    )
    expect(normalizeWaitFlag(["start", "--", "--wait"], flags)).toEqual(["start", "--", "--wait"])
  })
})

describe("--where", () => {
  it("turns 'field op value' into a query parameter", () => {
    expect(parseWhere("state eq Running")).toEqual(Either.right(["state[eq]", "Running"]))
    expect(parseWhere("labels.env = prod")).toEqual(Either.right(["labels.env[eq]", "prod"]))
    expect(parseWhere("labels.env!=prod")).toEqual(Either.right(["labels.env[ne]", "prod"]))
    expect(parseWhere("createdAt >= 2026-11-01T00:00:00Z")).toEqual(
      Either.right(["createdAt[ge]", "2026-11-01T00:00:00Z"])
    )
    expect(parseWhere("state in Running, Queued")).toEqual(Either.right(["state[in]", "Running,Queued"]))
    expect(parseWhere("command LIKE 'backup %'")).toEqual(Either.right(["command[like]", "backup %"]))
    expect(parseWhere("labels.note eq \"two words\"")).toEqual(Either.right(["labels.note[eq]", "two words"]))
  })

  it("leaves unknown operators and fields to the server, and refuses what is not a condition", () => {
    expect(parseWhere("state zz Running")).toEqual(Either.right(["state[zz]", "Running"]))
    for (const bad of ["state", "state eq", "", "   ", "= Running", "state[eq] Running x"]) {
      const parsed = parseWhere(bad)
      expect(Either.isLeft(parsed), bad).toBe(true)
      if (Either.isLeft(parsed)) expect(parsed.left).toContain("expected \"field operator value\"")
    }
  })
})

describe("--label and --input", () => {
  it("splits labels at the first =", () => {
    expect(parseLabels(["env=prod", "query=a=b", "empty="])).toEqual(
      Either.right({ env: "prod", query: "a=b", empty: "" })
    )
    expect(parseLabels(["novalue"])).toEqual(Either.left("--label \"novalue\": expected key=value"))
    expect(parseLabels(["=x"])).toEqual(Either.left("--label \"=x\": expected key=value"))
  })

  it("parses JSON input and names the source of bad JSON", () => {
    expect(parseInput("{\"a\":[1,2]}", "--input")).toEqual(Either.right({ a: [1, 2] }))
    expect(parseInput("\"text\"", "--input")).toEqual(Either.right("text"))
    const bad = parseInput("{bad", "--input-file in.json")
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) expect(bad.left).toMatch(/^--input-file in\.json is not valid JSON: /)
  })
})

const hostile = "\u001b[2J\u001b[31mred\u0007"

const record = ExecutionRecord.ExecutionRecord.make({
  id: ExecutionRecord.makeId(),
  command: `deploy${hostile}`,
  state: "Interrupted",
  createdAt: new Date(Date.now() - 65_000),
  updatedAt: new Date(),
  startedAt: new Date(Date.now() - 64_000),
  finishedAt: new Date(Date.now() - 1000),
  owner: "alice",
  permissions: {
    read: { users: [], groups: [], roles: [], scopes: [] },
    write: { users: [], groups: [], roles: [], scopes: [] }
  },
  blocks: ["plan", "apply"],
  progress: {
    seq: 9,
    updatedAt: Date.now(),
    block: "apply",
    blockIndex: 1,
    blocksTotal: 2,
    blocksDone: 1,
    items: { total: 8, pending: 3, running: 0, stalled: 0, succeeded: 4, failed: 0, interrupted: 1, skipped: 0 }
  },
  interrupts: [],
  strategy: { _tag: "FinishCurrent" },
  cancellable: true,
  labels: { env: `prod${hostile}` },
  resumable: false
})

describe("what is printed about a record", () => {
  it("summarises it without obeying control characters from the server", () => {
    const lines = statusLines(record, { style: Format.style(false), now: Date.now() })
    const text = lines.join("\n")
    // eslint-disable-next-line no-control-regex -- control characters are what this looks for
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
    expect(text).toContain("command   deploy?[2J?[31mred?")
    expect(text).toContain("state     Interrupted")
    expect(text).toContain("owner     alice")
    expect(text).toMatch(/created {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(1m05s ago\)/)
    expect(text).toMatch(/finished {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(ran 1m03s\)/)
    expect(text).toContain("progress  1/2 blocks · apply: 5/8 items · 1 stopped")
    expect(text).toContain("labels    env=prod?[2J?[31mred?")
  })

  it("lists records in aligned columns, ids whole", () => {
    const other = {
      ...record,
      id: ExecutionRecord.makeId(),
      command: "backup",
      owner: undefined,
      state: "Running" as const
    }
    const lines = listLines([record, other], { style: Format.style(false) })
    expect(lines[0]).toMatch(/^ID {36}COMMAND +STATE +OWNER +CREATED +PROGRESS$/)
    expect(lines[1]?.startsWith(`${record.id}  deploy?[2J?[31mred?  Interrupted  alice`)).toBe(true)
    expect(lines[2]?.startsWith(`${other.id}  backup`)).toBe(true)
    expect(lines[2]).toContain("Running      -")
    expect(lines.join("\n")).not.toContain("\u001b")
    // The state column starts at the same place on every line.
    const column = (lines[0] as string).indexOf("STATE")
    expect((lines[1] as string).slice(column)).toMatch(/^Interrupted/)
    expect((lines[2] as string).slice(column)).toMatch(/^Running/)
  })
})

describe("errors for people", () => {
  it("names the cause of a failed connection and gives the exit code", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
    const failure = describeFailure(
      {
        _tag: "TransportError",
        message: "Transport error",
        cause: new TypeError("fetch failed", { cause: refused })
      } as never,
      "http://127.0.0.1:1"
    )
    expect(failure).toEqual({
      message: "cannot reach the Truce server at http://127.0.0.1:1: connection refused (ECONNREFUSED)",
      code: Remote.ExitCodes.unavailable
    })
  })
})
