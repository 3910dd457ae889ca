import { describe, expect, it } from "@effect/vitest"
import {
  Access,
  CmdBlock,
  CmdExecution,
  CmdOutcome,
  ExecutionEvent,
  ExecutionQuery,
  ExecutionRecord,
  Interrupt
} from "@truce/core"
import { Effect, Either, Option, Schema } from "effect"

/** Compiles only when `value` has type `T`. */
const typed = <T>(value: T): T => value

describe("typed blocks", () => {
  const count = CmdBlock.step({ name: "count", run: (text: string) => Effect.succeed(text.length) })
  const double = CmdBlock.step({ name: "double", run: (n: number) => Effect.succeed(n * 2) })
  const shout = CmdBlock.step({ name: "shout", run: (text: string) => Effect.succeed(text.toUpperCase()) })

  it("a block whose input does not match the previous output is a compile error", () => {
    const ok = CmdExecution.make<string>("ok").pipe(CmdExecution.andThen(count), CmdExecution.andThen(double))
    typed<CmdExecution.CmdExecution<string, number>>(ok)
    // @ts-expect-error: `double` returns a number, `shout` needs a string.
    ok.pipe(CmdExecution.andThen(shout))
    // @ts-expect-error: the same mismatch, data-first.
    CmdExecution.andThen(ok, shout)
    // @ts-expect-error: the execution's input is a number, `count` needs a string.
    CmdExecution.andThen(CmdExecution.make<number>("bad-input"), count)
    // @ts-expect-error: the outcome of `ok` holds a number, not a string.
    typed<CmdExecution.CmdExecution<string, string>>(ok)
    expect(ok.blocks.map((block) => block.name)).toEqual(["count", "double"])
  })

  it("item blocks infer their output; output builders may reshape it", () => {
    const sizes = CmdBlock.items({
      name: "sizes",
      items: (files: ReadonlyArray<string>) => files,
      id: (file) => file,
      apply: (file) => Effect.succeed(file.length)
    })
    const total = CmdBlock.items({
      name: "total",
      items: (files: ReadonlyArray<string>) => files,
      id: (file) => file,
      apply: (file) => Effect.succeed(file.length),
      output: (results) => results.reduce((sum, result) => sum + result.value, 0)
    })
    typed<CmdBlock.CmdBlock<ReadonlyArray<string>, ReadonlyArray<number>>>(sizes)
    typed<CmdBlock.CmdBlock<ReadonlyArray<string>, number>>(total)
    // @ts-expect-error: `total` produces a number.
    typed<CmdBlock.CmdBlock<ReadonlyArray<string>, ReadonlyArray<number>>>(total)
    expect(total.kind).toBe("items")
  })

  it("invalid definitions fail loudly at construction", () => {
    expect(() => Interrupt.PollNextN({ n: -1 })).toThrow(RangeError)
    expect(() => Interrupt.PollNextN({ n: 1.5 })).toThrow(RangeError)
    expect(() => CmdBlock.items({ name: "x", items: () => [], id: String, apply: Effect.succeed, concurrency: 0 }))
      .toThrow(RangeError)
    expect(() => CmdExecution.make("")).toThrow(RangeError)
    expect(() => CmdExecution.make("x", { concurrency: -2 })).toThrow(RangeError)
    const same = CmdBlock.step({ name: "same", run: (text: string) => Effect.succeed(text) })
    expect(() => CmdExecution.make<string>("dup").pipe(CmdExecution.andThen(same), CmdExecution.andThen(same)))
      .toThrow(/exists already/)
  })
})

describe("CmdOutcome", () => {
  const interrupt = Interrupt.request({ source: "sigint", at: new Date(0), reason: "Ctrl-C" })
  const outcomes: Array<CmdOutcome.CmdOutcome<number, string>> = [
    CmdOutcome.complete(42, ["a", "b"]),
    {
      _tag: "BlockInterrupted",
      block: "b",
      items: { processed: ["x"], skipped: ["w"], inFlightStopped: ["y"], notStarted: ["z"] },
      partial: { output: Option.some([1, 2]), items: { x: 1 } },
      blocksProcessed: ["a"],
      blocksNotProcessed: ["c"],
      interrupt
    },
    CmdOutcome.executionInterrupted({ interrupt, blocksProcessed: ["a"], blocksNotProcessed: ["b"] }),
    {
      _tag: "ItemErrors",
      block: "b",
      errors: { x: "disk full" },
      items: { processed: ["x", "y"], skipped: [], inFlightStopped: [], notStarted: [] },
      partial: { output: Option.none(), items: { y: 2 } },
      blocksProcessed: [],
      blocksNotProcessed: [],
      interrupt: Option.none()
    },
    {
      _tag: "BlockFailed",
      block: "a",
      error: "no route",
      items: { processed: [], skipped: [], inFlightStopped: [], notStarted: [] },
      partial: { output: Option.none(), items: {} },
      blocksProcessed: [],
      blocksNotProcessed: ["b"]
    }
  ]

  it("every variant round-trips through its Schema and through JSON", () => {
    const schema = CmdOutcome.schema({ value: Schema.Number, error: Schema.String })
    for (const outcome of outcomes) {
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(schema)(outcome)))
      expect(Schema.decodeUnknownSync(schema)(json)).toEqual(outcome)
      // The schema-less form keeps values and describes errors as ErrorInfo.
      expect(CmdOutcome.decodeUnknown(JSON.parse(JSON.stringify(CmdOutcome.encodeUnknown(outcome)))))
        .toEqual(CmdOutcome.mapError(outcome, CmdOutcome.errorInfo))
    }
  })

  it("malformed encoded outcomes are rejected with a ParseError", () => {
    const schema = CmdOutcome.schema({ value: Schema.Number, error: Schema.String })
    for (
      const bad of [{}, { _tag: "Complete" }, { _tag: "Nope" }, { _tag: "Complete", value: "x", blocksProcessed: [] }]
    ) {
      expect(Either.isLeft(Schema.decodeUnknownEither(schema)(bad))).toBe(true)
    }
  })

  it("match, map, mapError and the guards", () => {
    const describe = CmdOutcome.match({
      Complete: (o: CmdOutcome.Complete<number>) => `done ${o.value}`,
      BlockInterrupted: (o) => `stopped in ${o.block}`,
      ExecutionInterrupted: () => "stopped between blocks",
      ItemErrors: (o: CmdOutcome.ItemErrors<string>) => `${Object.keys(o.errors).length} failed`,
      BlockFailed: (o: CmdOutcome.BlockFailed<string>) => `${o.block} failed: ${o.error}`
    })
    expect(outcomes.map(describe)).toEqual([
      "done 42",
      "stopped in b",
      "stopped between blocks",
      "1 failed",
      "a failed: no route"
    ])
    expect(CmdOutcome.map(outcomes[0] as CmdOutcome.CmdOutcome<number, string>, (n) => n + 1)).toMatchObject({
      value: 43
    })
    expect(CmdOutcome.map(outcomes[1] as CmdOutcome.CmdOutcome<number, string>, (n) => n + 1)).toBe(outcomes[1])
    expect(CmdOutcome.mapError(outcomes[3] as CmdOutcome.CmdOutcome<number, string>, (e) => e.length))
      .toMatchObject({ errors: { x: 9 } })
    expect(outcomes.map(CmdOutcome.isComplete)).toEqual([true, false, false, false, false])
    expect(outcomes.map(CmdOutcome.isInterrupted)).toEqual([false, true, true, false, false])
    expect(outcomes.map(CmdOutcome.isFailure)).toEqual([false, false, false, true, true])
    expect(outcomes.map((o) => Option.isSome(CmdOutcome.interruptOf(o)))).toEqual([false, true, true, false, false])
    expect(outcomes.map((o) => ExecutionRecord.stateOfOutcome(o))).toEqual([
      "Succeeded",
      "Interrupted",
      "Interrupted",
      "Failed",
      "Failed"
    ])
  })

  it("errorInfo describes any error as JSON-safe data", () => {
    class Tagged extends Error {
      readonly _tag = "Tagged"
      readonly code = 7n
      readonly when = new Date(0)
    }
    expect(CmdOutcome.errorInfo(new Tagged("bad"))).toMatchObject({
      _tag: "Tagged",
      message: "bad",
      code: "7",
      when: "1970-01-01T00:00:00.000Z"
    })
    expect(CmdOutcome.errorInfo("plain")).toEqual({ message: "plain" })
    expect(CmdOutcome.errorInfo({ _tag: "NoMessage" })).toEqual({ _tag: "NoMessage", message: "NoMessage" })
    // A Schema.TaggedError without a message field: its derived message only prints the fields.
    class Unreachable extends Schema.TaggedError<Unreachable>()("Unreachable", { host: Schema.String }) {}
    expect(CmdOutcome.errorInfo(new Unreachable({ host: "db-1" }))).toEqual({
      _tag: "Unreachable",
      host: "db-1",
      message: "Unreachable (host: \"db-1\")"
    })
    // With a message field, the message is the error's own.
    class Refused extends Schema.TaggedError<Refused>()("Refused", { message: Schema.String }) {}
    expect(CmdOutcome.errorInfo(new Refused({ message: "{ not json }" })).message).toBe("{ not json }")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(CmdOutcome.errorInfo({ nested: cyclic }).message).toBeTypeOf("string")
  })
})

describe("ExecutionQuery input validation", () => {
  const rejects = (input: ExecutionQuery.QueryInput, fragment: string) => {
    const result = ExecutionQuery.make(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("InvalidQuery")
      expect(result.left.message).toContain(fragment)
    }
  }

  it("rejects unknown fields and operators, wrong value types, bad sorts, limits and cursors", () => {
    rejects({ where: { password: { op: "eq", value: "x" } } }, "unknown field")
    rejects({ where: { "labels.": { op: "eq", value: "x" } } }, "unknown field")
    rejects({ where: { "labels.a b": { op: "eq", value: "x" } } }, "unknown field")
    rejects({ where: JSON.parse("{\"__proto__\": { \"op\": \"eq\", \"value\": \"x\" } }") }, "unknown field")
    rejects({ where: { constructor: { op: "eq", value: "x" } } }, "unknown field")
    rejects({ where: { state: { op: "regex", value: "x" } } }, "unknown operator")
    rejects({ where: { state: { op: 1, value: "x" } } }, "unknown operator")
    rejects({ where: { state: { op: "eq", value: "Exploded" } } }, "unknown state")
    rejects({ where: { state: { op: "in", value: ["Running", "Exploded"] } } }, "unknown state")
    rejects({ where: { cancellable: { op: "like", value: "x" } } }, "not allowed")
    rejects({ where: { cancellable: { op: "eq", value: "yes" } } }, "true or false")
    rejects({ where: { createdAt: { op: "like", value: "2020%" } } }, "not allowed")
    rejects({ where: { createdAt: { op: "gt", value: "yesterday" } } }, "expected a date")
    rejects({ where: { command: { op: "eq", value: 5 } } }, "expected a string")
    rejects({ where: { command: { op: "in", value: [] } } }, "non-empty array")
    rejects({ where: { command: { op: "in", value: "deploy" } } }, "non-empty array")
    rejects({ where: { command: { op: "in", value: [1, 2] } } }, "array of strings")
    rejects({ where: { command: "deploy" } }, "expected { op, value }")
    rejects({ where: "state=Running" }, "where: expected")
    rejects({ where: [{ op: "eq" }] }, "{ field, op, value }")
    rejects({ sort: "password" }, "cannot sort")
    rejects({ sort: { field: "createdAt", direction: "up" } }, "direction")
    rejects({ sort: 5 }, "sort: expected")
    rejects({ limit: 0 }, "limit")
    rejects({ limit: -1 }, "limit")
    rejects({ limit: "ten" }, "limit")
    rejects({ limit: 1.5 }, "limit")
    rejects({ cursor: "%%%" }, "cursor")
    rejects({ cursor: Buffer.from("[1,2]").toString("base64url") }, "cursor")
    rejects(
      { cursor: Buffer.from(JSON.stringify({ f: "id", d: "asc", v: "a", i: "b" })).toString("base64url") },
      "another sort"
    )
  })

  it("refuses like patterns longer than maxPatternLength, for every store alike", () => {
    rejects({ where: { command: { op: "like", value: "a".repeat(ExecutionQuery.maxPatternLength + 1) } } }, "at most")
    rejects({ where: { owner: { op: "notlike", value: "%".repeat(60_000) } } }, "at most")
    const ok = ExecutionQuery.make({
      where: { command: { op: "like", value: "a".repeat(ExecutionQuery.maxPatternLength) } }
    })
    expect(Either.isRight(ok)).toBe(true)
  })

  it("accepts the documented forms, clamps the limit, and parses search parameters", () => {
    const query = ExecutionQuery.make({
      where: [
        { field: "state", op: "IN", value: ["Running", "Queued"] },
        { field: "createdAt", op: "ge", value: "2026-01-01T00:00:00Z" },
        { field: "cancellable", op: "eq", value: "true" },
        { field: "labels.env", op: "like", value: "pro%" }
      ],
      sort: "-updatedAt",
      limit: 5000
    })
    if (Either.isLeft(query)) return expect.fail(query.left.message)
    expect(query.right.limit).toBe(ExecutionQuery.maxLimit)
    expect(query.right.sort).toEqual({ field: "updatedAt", direction: "desc" })
    expect(query.right.where.map((c) => [c.field, c.op, c.value])).toEqual([
      ["state", "in", ["Running", "Queued"]],
      ["createdAt", "ge", Date.UTC(2026, 0, 1)],
      ["cancellable", "eq", true],
      ["labels.env", "like", "pro%"]
    ])
    const fromParams = ExecutionQuery.fromSearchParams(
      new URLSearchParams("state[in]=Running,Queued&command=deploy&finishedAt[lt]=1000&sort=command&limit=10")
    )
    if (Either.isLeft(fromParams)) return expect.fail(fromParams.left.message)
    expect(fromParams.right.where.map((c) => [c.field, c.op, c.value])).toEqual([
      ["state", "in", ["Running", "Queued"]],
      ["command", "eq", "deploy"],
      ["finishedAt", "lt", 1000]
    ])
    expect(fromParams.right.limit).toBe(10)
    expect(Either.isLeft(ExecutionQuery.fromSearchParams(new URLSearchParams("state[eq]]=x")))).toBe(true)
    expect(ExecutionQuery.make({}).pipe(Either.map((q) => [q.limit, q.sort]))).toEqual(
      Either.right([100, { field: "createdAt", direction: "desc" }])
    )
  })
})

describe("Access", () => {
  const target = (owner: string | undefined, permissions: Access.Permissions) => ({ owner, permissions })
  const alice = Access.principal({ id: "alice", groups: ["ops"], roles: ["dev"], scopes: ["deploy:read"] })

  it("the owner may read and write; grants by user, group, role and scope; write implies read", () => {
    expect(Access.canWrite(target("alice", Access.ownerOnly), alice)).toBe(true)
    expect(Access.canRead(target("bob", Access.ownerOnly), alice)).toBe(false)
    expect(Access.canRead(target("bob", Access.permissions({ read: { groups: ["ops"] } })), alice)).toBe(true)
    expect(Access.canWrite(target("bob", Access.permissions({ read: { groups: ["ops"] } })), alice)).toBe(false)
    expect(Access.canRead(target("bob", Access.permissions({ write: { roles: ["dev"] } })), alice)).toBe(true)
    expect(Access.canWrite(target("bob", Access.permissions({ write: { scopes: ["deploy:read"] } })), alice)).toBe(true)
    expect(Access.canRead(target("bob", Access.permissions({ read: { users: ["alice"] } })), alice)).toBe(true)
    expect(Access.canRead(target("bob", Access.permissions({ read: { users: ["*"] } })), undefined)).toBe(true)
    expect(Access.canRead(target("bob", Access.permissions({ read: { groups: ["ops"] } })), undefined)).toBe(false)
    expect(Access.canRead(target(undefined, Access.ownerOnly), undefined)).toBe(false)
    const merged = Access.union(
      Access.permissions({ read: { users: ["a"] } }),
      Access.permissions({ read: { users: ["a", "b"] } })
    )
    expect(merged.read.users).toEqual(["a", "b"])
  })
})

describe("ExecutionEvent frames", () => {
  it("malformed frames fail to decode with a ParseError, never a crash", () =>
    Effect.gen(function*() {
      for (
        const bad of [
          null,
          "text",
          {},
          { _tag: "ItemProgressed", seq: "1", at: 0, progress: {} },
          { _tag: "Finished", seq: 1, at: 0, state: "Done", outcome: {} },
          { _tag: "Unknown", seq: 1, at: 0 }
        ]
      ) {
        const result = yield* Effect.either(ExecutionEvent.decodeUnknown(bad))
        expect(result._tag).toBe("Left")
        if (result._tag === "Left") expect(result.left._tag).toBe("ParseError")
      }
    }).pipe(Effect.runPromise))
})
