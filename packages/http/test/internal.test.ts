/**
 * Pieces of the server on their own: content negotiation and XML rendering, Prefer and
 * wait parsing, query bodies in both shapes, JWTs, and the fast path of record reads
 * (which must answer exactly what the HttpApi handler answers).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { ExecutionEvent } from "@truce/core"
import { Effect, Either, Option } from "effect"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Auth, Jwt } from "../src/index.js"
import * as eventstream from "../src/internal/eventstream.js"
import * as fastpath from "../src/internal/fastpath.js"
import { negotiate, qualityOf, toXml } from "../src/internal/negotiate.js"
import * as push from "../src/internal/push.js"
import { parsePrefer, parseSeq, parseWait } from "../src/internal/request.js"
import { queryInputOf } from "../src/internal/server.js"
import { newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, authenticators, finished, keys, start, startServer } from "./support/server.js"

describe("negotiate", () => {
  it("picks by q-value and specificity, JSON by default", () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, "application/json"],
      ["", "application/json"],
      ["*/*", "application/json"],
      ["application/yaml", "application/yaml"],
      ["application/x-yaml", "application/yaml"],
      ["text/yaml", "text/yaml"],
      ["application/xml", "application/xml"],
      ["text/xml;q=0.4, application/json;q=0.3", "text/xml"],
      ["application/*;q=0.9, application/xml", "application/xml"],
      ["application/xml;q=0, application/yaml;q=0.1", "application/yaml"],
      ["image/png, text/html", "application/json"],
      ["application/xml;q=abc", "application/json"],
      ["APPLICATION/YAML", "application/yaml"]
    ]
    for (const [accept, expected] of cases) expect([accept, negotiate(accept).contentType]).toEqual([accept, expected])
  })

  it("renders any JSON data as well-formed XML (odd keys, nesting, escaping, null)", () => {
    const value = {
      id: "x",
      labels: {
        "app.kubernetes.io/name": "web",
        "1st": "a",
        "xml-ish": "b",
        ok: "c",
        "@_attr": "d",
        "#text": "e",
        "q\"<&>": "f"
      },
      nested: [[1, 2], { deep: [true, null] }],
      text: "<tag attr=\"v\"> & 'quote'",
      empty: {},
      entry: "a real key named entry"
    }
    const xml = toXml("execution", value)
    expect(XMLValidator.validate(xml)).toBe(true)
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_" }).parse(xml) as {
      execution: Record<string, unknown>
    }
    expect(parsed.execution.text).toBe("<tag attr=\"v\"> & 'quote'")
    const entries = parsed.execution.labels as { entry: Array<Record<string, unknown>>; ok: string }
    expect(entries.ok).toBe("c")
    expect(entries.entry.map((entry) => entry["@_key"])).toEqual([
      "app.kubernetes.io/name",
      "1st",
      "xml-ish",
      "@_attr",
      "#text",
      "q\"<&>"
    ])
    expect(
      ((parsed.execution.nested as { item: Array<unknown> }).item[1] as { deep: { item: Array<unknown> } }).deep.item
    )
      .toEqual([true, { "@_nil": "true" }])
  })
})

describe("the framing of event streams", () => {
  it("follows Accept: the binary event stream only when asked for and preferred", () => {
    const binary = "application/vnd.amazon.eventstream"
    const cases: Array<[string | undefined, "sse" | "eventstream"]> = [
      [undefined, "sse"],
      ["", "sse"],
      ["*/*", "sse"],
      ["text/event-stream", "sse"],
      ["application/*", "sse"],
      [binary, "eventstream"],
      [binary.toUpperCase(), "eventstream"],
      [`${binary};q=0.9, text/event-stream;q=0.8`, "eventstream"],
      [`text/event-stream, ${binary}`, "sse"],
      [`${binary};q=0.5, text/*`, "sse"],
      [`${binary}, text/*;q=0.2, */*;q=0.1`, "eventstream"],
      [`${binary};q=0`, "sse"],
      [`${binary};q=oops`, "sse"]
    ]
    for (const [accept, expected] of cases) expect([accept, push.choose(accept)]).toEqual([accept, expected])
  })

  it("reads the q-value of a media type, the most specific range deciding", () => {
    expect(qualityOf("text/*;q=0.3, text/event-stream;q=0.7, */*", "text/event-stream")).toBe(0.7)
    expect(qualityOf("text/*;q=0.3, */*", "text/event-stream")).toBe(0.3)
    expect(qualityOf("*/*;q=0.2", "text/event-stream")).toBe(0.2)
    expect(qualityOf("application/json", "text/event-stream")).toBe(0)
    expect(qualityOf("text/event-stream;q=2", "text/event-stream")).toBe(1)
  })

  it("frames an event too large for the binary framing as a ServiceUnavailable saying so", () => {
    const event: ExecutionEvent.ExecutionEvent = {
      _tag: "ItemProgressed",
      seq: 7,
      at: 0,
      progress: {
        block: "b",
        item: "x",
        status: "Running",
        limit: { _tag: "Unknown" },
        units: 1,
        message: "m".repeat(200),
        updatedAt: 0
      }
    }
    expect(Either.isRight(eventstream.encodeEvent(event))).toBe(true)
    const encoded = eventstream.encodeEvent(event, { maxPayloadBytes: 128 })
    expect(Either.isLeft(encoded)).toBe(true)
    if (Either.isLeft(encoded)) {
      expect(encoded.left._tag).toBe("ServiceUnavailable")
      expect(encoded.left.message).toMatch(/event 7 \(ItemProgressed\) cannot be sent.*text\/event-stream/)
    }
  })
})

describe("request parsing", () => {
  it("parses Prefer (RFC 7240), ignoring what it does not understand", () => {
    expect(parsePrefer(undefined)).toEqual({ respondAsync: false })
    expect(parsePrefer("respond-async, wait=10")).toEqual({ respondAsync: true, wait: 10 })
    expect(parsePrefer("wait=\"5\"; foo=bar")).toEqual({ respondAsync: false, wait: 5 })
    expect(parsePrefer("wait=-1, wait=soon, return=minimal")).toEqual({ respondAsync: false })
  })

  it("parses wait durations and sequence numbers, refusing malformed ones", () => {
    const wait = (value: string | undefined) => Effect.runSync(Effect.either(parseWait(value)))
    expect(wait(undefined)).toEqual(Either.right(undefined))
    expect(wait("30")).toEqual(Either.right(30_000))
    expect(wait("30s")).toEqual(Either.right(30_000))
    expect(wait("1500ms")).toEqual(Either.right(1500))
    expect(wait("2m")).toEqual(Either.right(120_000))
    for (const bad of ["soon", "-1s", "1h", "1.5s", "10 s"]) expect(Either.isLeft(wait(bad))).toBe(true)
    const seq = (value: string | undefined) => Effect.runSync(Effect.either(parseSeq(value, "after")))
    expect(seq("42")).toEqual(Either.right(42))
    expect(seq(undefined)).toEqual(Either.right(undefined))
    for (const bad of ["-1", "1e3", "x"]) expect(Either.isLeft(seq(bad))).toBe(true)
  })

  it("reads query bodies in both shapes", () => {
    expect(queryInputOf(undefined)).toEqual(Either.right({}))
    expect(queryInputOf({ where: { State: { op: "eq", value: "Running" } }, limit: 5 })).toEqual(Either.right({
      where: { state: { op: "eq", value: "Running" } },
      sort: undefined,
      limit: 5,
      cursor: undefined
    }))
    expect(queryInputOf({ Name: { op: "LIKE", value: "dep%" }, CreationTime: { op: "GT", value: 0 }, sort: "-id" }))
      .toEqual(Either.right({
        where: { command: { op: "LIKE", value: "dep%" }, createdAt: { op: "GT", value: 0 } },
        sort: "-id",
        limit: undefined,
        cursor: undefined
      }))
    expect(Either.isLeft(queryInputOf("state=Running"))).toBe(true)
    expect(Either.isLeft(queryInputOf({ where: {}, page: 2 }))).toBe(true)
  })
})

describe("Jwt", () => {
  it("verifies signatures, expiry, not-before, issuer and audience", () => {
    const now = 1_700_000_000_000
    const seconds = now / 1000
    const token = Jwt.sign({ sub: "a", iss: "idp", aud: ["truce"], exp: seconds + 60, nbf: seconds - 60 }, "k")
    expect(Either.isRight(Jwt.verify(token, "k", { now, issuer: "idp", audience: "truce" }))).toBe(true)
    const reason = (result: Either.Either<Jwt.Claims, Jwt.JwtError>) =>
      Either.isLeft(result) ? result.left.reason : "ok"
    expect(reason(Jwt.verify(token, "other", { now }))).toBe("Signature")
    expect(reason(Jwt.verify(token, "k", { now: now + 3_600_000 }))).toBe("Expired")
    expect(reason(Jwt.verify(token, "k", { now: now - 3_600_000 }))).toBe("NotYetValid")
    expect(reason(Jwt.verify(token, "k", { now, issuer: "evil" }))).toBe("Issuer")
    expect(reason(Jwt.verify(token, "k", { now, audience: "other" }))).toBe("Audience")
    const [header, payload] = token.split(".")
    expect(reason(Jwt.verify(`${header}.${payload}.AAAA`, "k", { now }))).toBe("Signature")
    expect(reason(Jwt.verify("a.b", "k"))).toBe("Malformed")
    expect(reason(Jwt.verify("!!.@@.##", "k"))).toBe("Malformed")
    const hs512 = `${Buffer.from(JSON.stringify({ alg: "HS512" })).toString("base64url")}.${payload}.x`
    expect(reason(Jwt.verify(hs512, "k"))).toBe("Algorithm")
  })

  it("maps claims to principals, with configurable claim names", async () => {
    const bearer = Auth.bearerJwt({ secret: "k", claims: { groups: "teams", scopes: "permissions" } })
    const request = (token: string) => ({
      headers: { authorization: `Bearer ${token}` } as never,
      method: "GET",
      url: "/",
      remoteAddress: Option.none()
    })
    const principal = await Effect.runPromise(
      bearer.authenticate(request(Jwt.sign({ sub: "z", teams: ["a", "b"], permissions: "x y", roles: "r1,r2" }, "k")))
    )
    expect(principal).toEqual(Option.some({ id: "z", groups: ["a", "b"], roles: ["r1", "r2"], scopes: ["x", "y"] }))
  })
})

describe("the fast path of record reads", () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer()
  })

  afterAll(async () => {
    await server.close()
  })

  it("answers exactly what the HttpApi handler answers", async () => {
    const gate = newGate()
    const running = await start(server, keys.alice, "gated", { gate })
    const done = await start(server, keys.alice, "echo", { message: "fast <&> path" })
    await finished(server, keys.alice, done.id)
    for (const id of [running.id, done.id]) {
      for (const accept of [undefined, "application/yaml", "text/xml", "image/png"]) {
        const headers: Record<string, string> = accept === undefined ? {} : { accept }
        // `?wait=0ms` always goes through the HttpApi handler, the bare URL through the fast path.
        const fast = await as(keys.alice)(`${server.url}/executions/${id}`, { headers })
        const slow = await as(keys.alice)(`${server.url}/executions/${id}?wait=0ms`, { headers })
        expect(fast.status).toBe(200)
        expect(slow.status).toBe(200)
        for (const name of ["content-type", "vary", "retry-after", "content-length"]) {
          expect([name, fast.headers.get(name)]).toEqual([name, slow.headers.get(name)])
        }
        // A running record changes between two reads only in its update times; nothing else may differ.
        const liveTime = /(updatedAt\W{1,3})[0-9TZ:.-]{13,24}/g
        expect((await fast.text()).replace(liveTime, "$1<now>")).toBe((await slow.text()).replace(liveTime, "$1<now>"))
      }
    }
    openGate(gate)
  })

  it("leaves every other answer to the HttpApi handler", async () => {
    const started = await start(server, keys.alice, "echo", { message: "x" })
    expect((await as(keys.bob)(`${server.url}/executions/${started.id}`)).status).toBe(404)
    expect((await as(undefined)(`${server.url}/executions/${started.id}`)).status).toBe(401)
    expect((await as("bad")(`${server.url}/executions/${started.id}`)).status).toBe(401)
    expect((await as(keys.alice)(`${server.url}/executions/%E0%A4%A`)).status).toBe(404)
  })

  it("switches itself off when an authenticator answers asynchronously, and still answers", async () => {
    const slowKeys = Auth.apiKey({
      header: "X-Slow-Key",
      lookup: (key) =>
        Effect.sleep("1 millis").pipe(
          Effect.as(
            key.toString() === "" ? Option.none() : Option.some({ id: "alice", groups: [], roles: [], scopes: [] })
          )
        )
    })
    const async = await startServer({ auth: { authenticators: [slowKeys, ...authenticators] } })
    try {
      const started = await start(async, keys.alice, "echo", { message: "x" })
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${async.url}/executions/${started.id}`, { headers: { "x-slow-key": "anything" } })
        expect(response.status).toBe(200)
      }
    } finally {
      await async.close()
    }
  })

  it("lets a route take a request or pass it on", async () => {
    const server = http.createServer((_request, response) => response.end("app"))
    const paths = fastpath.install(server)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    try {
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        yield* paths.add((request, response) => {
          if (request.url !== "/fast") return false
          response.end("fast")
          return true
        })
        expect(yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/fast`).then((r) => r.text()))).toBe("fast")
        expect(yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/other`).then((r) => r.text()))).toBe("app")
      })))
      // Removed with its scope.
      expect(await fetch(`http://127.0.0.1:${port}/fast`).then((r) => r.text())).toBe("app")
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
