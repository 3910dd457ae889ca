/**
 * Every route's success and error answers, with plain `fetch` against the real server on
 * a loopback port.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { ExecutionRecord } from "@truce/core"
import { Effect, Option } from "effect"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import * as http from "node:http"
import * as YAML from "yaml"
import { newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, eventually, finished, keys, postJson, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer({ maxBodySize: 64 * 1024 })
})

afterAll(async () => {
  await server.close()
})

const alice = as(keys.alice)
type Json = { readonly [key: string]: unknown }
const json = async (response: Response): Promise<Json> => await response.json() as Json

describe("POST /commands/{name}/executions", () => {
  it("answers 202 Accepted with Location, Operation-Location, Retry-After and the record", async () => {
    const gate = newGate()
    const response = await postJson(keys.alice, `${server.url}/commands/gated/executions`, {
      input: { gate, value: 7 },
      labels: { ticket: "OPS-1" }
    })
    expect(response.status).toBe(202)
    const record = await json(response)
    expect(record.command).toBe("gated")
    expect(record.owner).toBe("alice")
    expect(["Queued", "Running"]).toContain(record.state)
    expect(record.input).toEqual({ gate, value: 7 })
    expect(record.labels).toEqual({ ticket: "OPS-1" })
    expect(record.permissions).toMatchObject({ read: { groups: ["ops"] }, write: { groups: ["ops"] } })
    expect(record.timeoutMs).toBe(8 * 3600 * 1000)
    expect(response.headers.get("location")).toBe(`/executions/${record.id}`)
    expect(response.headers.get("operation-location")).toBe(`${server.url}/executions/${record.id}`)
    expect(response.headers.get("retry-after")).toBe("1")
    openGate(gate)
    const done = await finished(server, keys.alice, String(record.id))
    expect(done.state).toBe("Succeeded")
  })

  it("answers 200 with the finished record when it finishes within Prefer: wait", async () => {
    const response = await postJson(
      keys.alice,
      `${server.url}/commands/echo/executions`,
      { input: { message: "hi" } },
      {
        prefer: "wait=10"
      }
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("preference-applied")).toBe("wait=10")
    const record = await json(response)
    expect(record.state).toBe("Succeeded")
    expect(record.outcome).toMatchObject({ _tag: "Complete", value: "hi" })
  })

  it("caps Prefer: wait at maxWait and says so in Preference-Applied", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/echo/executions`, { input: { message: "x" } }, {
      prefer: "wait=86400"
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("preference-applied")).toBe("wait=60")
    expect(response.headers.get("retry-after")).toBeNull()
    expect(response.headers.get("operation-location")).toBeNull()
  })

  it("answers 202 after the Prefer wait when the execution is still running", async () => {
    const gate = newGate()
    const response = await postJson(keys.alice, `${server.url}/commands/gated/executions`, { input: { gate } }, {
      prefer: "respond-async, wait=1"
    })
    expect(response.status).toBe(202)
    expect(response.headers.get("preference-applied")).toBe("wait=1, respond-async")
    const record = await json(response)
    expect(["Queued", "Running"]).toContain(record.state)
    openGate(gate)
  })

  it("refuses malformed JSON, malformed YAML and an empty body with 400", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["application/json", "{\"input\": {\"message\": ", /malformed JSON/],
      ["application/yaml", "input: [unclosed", /malformed YAML/],
      ["application/json", "", /input/]
    ]
    for (const [contentType, text, message] of cases) {
      const response = await alice(`${server.url}/commands/echo/executions`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: text
      })
      const body = await json(response)
      expect([text, response.status, body._tag]).toEqual([text, 400, "InvalidRequest"])
      expect([text, String(body.message)]).toEqual([text, expect.stringMatching(message)])
    }
  })

  it("refuses input of the wrong type with 400 and the Schema issues", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/slow/executions`, {
      input: { items: "many", delayMs: 1.5 }
    })
    expect(response.status).toBe(400)
    const body = await json(response)
    expect(body._tag).toBe("InvalidRequest")
    const issues = body.issues as ReadonlyArray<{ readonly path: ReadonlyArray<string>; readonly message: string }>
    expect(issues.map((issue) => issue.path)).toEqual([["input", "items"], ["input", "delayMs"]])
    expect(issues[0]?.message).toMatch(/number/)
  })

  it("refuses a missing input, unknown fields and a body that is not an object", async () => {
    for (const body of [{}, { input: { message: "x" }, callbackURL: "http://x" }, [1, 2], "text"]) {
      const response = await postJson(keys.alice, `${server.url}/commands/echo/executions`, body)
      expect(response.status).toBe(400)
      expect((await json(response))._tag).toBe("InvalidRequest")
    }
  })

  it("accepts YAML bodies", async () => {
    const response = await alice(`${server.url}/commands/echo/executions`, {
      method: "POST",
      headers: { "content-type": "application/yaml", prefer: "wait=10" },
      body: "input:\n  message: from yaml\n"
    })
    expect(response.status).toBe(200)
    expect((await json(response)).outcome).toMatchObject({ value: "from yaml" })
  })

  it("refuses other media types with 415", async () => {
    const response = await alice(`${server.url}/commands/echo/executions`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "message=hi"
    })
    expect(response.status).toBe(415)
    expect((await json(response))._tag).toBe("UnsupportedMediaType")
  })

  it("refuses a body over the size limit with 413 (declared length)", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/echo/executions`, {
      input: { message: "x".repeat(200 * 1024) }
    })
    expect(response.status).toBe(413)
    const body = await json(response)
    expect(body).toMatchObject({ _tag: "PayloadTooLarge", limit: 64 * 1024 })
  })

  it("refuses a chunked body over the size limit with 413", async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(`${server.url}/commands/echo/executions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": keys.alice, "transfer-encoding": "chunked" }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (text += chunk))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
      })
      request.on("error", reject)
      request.write("{\"input\": {\"message\": \"")
      const chunk = "y".repeat(16 * 1024)
      let sent = 0
      const pump = () => {
        while (sent < 40) {
          sent++
          if (!request.write(chunk)) {
            request.once("drain", pump)
            return
          }
        }
        request.end("\"}}")
      }
      pump()
    })
    expect(status).toBe(413)
    expect(JSON.parse(body)._tag).toBe("PayloadTooLarge")
  })

  it("answers 404 for an unknown command", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/no-such-command/executions`, { input: {} })
    expect(response.status).toBe(404)
    expect(await json(response)).toMatchObject({ _tag: "CommandNotFound", command: "no-such-command" })
  })

  it("answers 403 when the caller may not start the command", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/restricted/executions`, {
      input: { message: "hi" }
    })
    expect(response.status).toBe(403)
    expect((await json(response))._tag).toBe("Forbidden")
  })

  it("answers 401 with WWW-Authenticate without credentials or with bad ones", async () => {
    for (
      const headers of [{}, { "x-api-key": "wrong" }, { authorization: "Bearer not.a.token" }] as Array<
        Record<string, string>
      >
    ) {
      const response = await fetch(`${server.url}/commands/echo/executions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ input: { message: "hi" } })
      })
      expect(response.status).toBe(401)
      expect(response.headers.get("www-authenticate")).toBe(`ApiKey header="X-API-Key", Bearer realm="truce"`)
      expect((await json(response))._tag).toBe("Unauthenticated")
    }
  })

  it("refuses a callbackUrl when the server sends no callbacks", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/echo/executions`, {
      input: { message: "hi" },
      callbackUrl: "https://example.com/hook"
    })
    expect(response.status).toBe(400)
    expect(String((await json(response)).message)).toMatch(/does not send callbacks/)
  })

  it("refuses malformed labels and Idempotency-Key values", async () => {
    const labels = await postJson(keys.alice, `${server.url}/commands/echo/executions`, {
      input: { message: "hi" },
      labels: { "bad label": "x" }
    })
    expect(labels.status).toBe(400)
    const key = await postJson(keys.alice, `${server.url}/commands/echo/executions`, { input: { message: "hi" } }, {
      "idempotency-key": "x".repeat(300)
    })
    expect(key.status).toBe(400)
  })
})

describe("Idempotency-Key", () => {
  it("returns the same execution for the same key and body, 409 for another body", async () => {
    const key = `key-${globalThis.crypto.randomUUID()}`
    const gate = newGate()
    const first = await postJson(keys.alice, `${server.url}/commands/gated/executions`, { input: { gate } }, {
      "idempotency-key": key
    })
    const second = await postJson(keys.alice, `${server.url}/commands/gated/executions`, { input: { gate } }, {
      "idempotency-key": key
    })
    expect(first.status).toBe(202)
    expect(second.status).toBe(202)
    const a = await json(first)
    const b = await json(second)
    expect(b.id).toBe(a.id)
    expect(second.headers.get("location")).toBe(first.headers.get("location"))
    // The fingerprint (a hash of the input) stays on the server; the key is the caller's own.
    expect(a).not.toHaveProperty("idempotencyFingerprint")
    const read = await json(await alice(`${server.url}/executions/${a.id}`))
    expect(read).not.toHaveProperty("idempotencyFingerprint")
    expect(read.idempotencyKey).toBeDefined()
    const other = await postJson(keys.alice, `${server.url}/commands/gated/executions`, {
      input: { gate, value: 1 }
    }, { "idempotency-key": key })
    expect(other.status).toBe(409)
    expect((await json(other))._tag).toBe("IdempotencyConflict")
    // Keys are scoped to the caller: another user's key never reaches alice's execution.
    const carol = await postJson(keys.carol, `${server.url}/commands/gated/executions`, { input: { gate } }, {
      "idempotency-key": key
    })
    expect(carol.status).toBe(202)
    expect((await json(carol)).id).not.toBe(a.id)
    openGate(gate)
    // After it finished, a retry with the same key still answers that execution (now finished), not a new one.
    await finished(server, keys.alice, String(a.id))
    const late = await postJson(keys.alice, `${server.url}/commands/gated/executions`, { input: { gate } }, {
      "idempotency-key": key
    })
    expect(late.status).toBe(200)
    expect(await json(late)).toMatchObject({ id: a.id, state: "Succeeded" })
  })
})

describe("GET /executions/{id}", () => {
  it("answers the record, and 404 for an unknown id", async () => {
    const started = await start(server, keys.alice, "echo", { message: "read me" })
    const response = await alice(`${server.url}/executions/${started.id}`)
    expect(response.status).toBe(200)
    expect((await json(response)).id).toBe(started.id)
    const unknown = await alice(`${server.url}/executions/00000000-0000-4000-8000-000000000000`)
    expect(unknown.status).toBe(404)
    expect(await json(unknown)).toMatchObject({ _tag: "ExecutionNotFound" })
  })

  it("long-polls: returns as soon as the execution finishes", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const before = Date.now()
    const polled = alice(`${server.url}/executions/${started.id}?wait=30s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    openGate(gate)
    const response = await polled
    const elapsed = Date.now() - before
    const record = await json(response)
    // It returned because the execution finished: the state is terminal, and far sooner than the 30 s bound.
    expect(record.state).toBe("Succeeded")
    expect(elapsed).toBeLessThan(15_000)
  })

  it("long-poll ends at its bound with the current record and Retry-After", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const response = await alice(`${server.url}/executions/${started.id}?wait=150ms`)
    expect(response.status).toBe(200)
    expect(["Queued", "Running"]).toContain((await json(response)).state)
    expect(response.headers.get("retry-after")).toBe("1")
    openGate(gate)
  })

  it("refuses a malformed wait with 400", async () => {
    const started = await start(server, keys.alice, "echo", { message: "x" })
    const response = await alice(`${server.url}/executions/${started.id}?wait=soon`)
    expect(response.status).toBe(400)
    expect((await json(response))._tag).toBe("InvalidRequest")
  })
})

describe("content negotiation", () => {
  it("answers JSON, YAML or XML by Accept, JSON for anything else", async () => {
    const started = await start(server, keys.alice, "echo", { message: "a <b> & \"c\"" })
    await finished(server, keys.alice, started.id)
    const url = `${server.url}/executions/${started.id}`
    const asJson = await json(await alice(url))

    const yaml = await alice(url, { headers: { accept: "application/yaml" } })
    expect(yaml.headers.get("content-type")).toBe("application/yaml; charset=utf-8")
    expect(YAML.parse(await yaml.text())).toEqual(asJson)

    const textYaml = await alice(url, { headers: { accept: "text/yaml" } })
    expect(textYaml.headers.get("content-type")).toBe("text/yaml; charset=utf-8")

    const xml = await alice(url, { headers: { accept: "application/xml" } })
    expect(xml.headers.get("content-type")).toBe("application/xml; charset=utf-8")
    const xmlText = await xml.text()
    expect(XMLValidator.validate(xmlText)).toBe(true)
    const parsed = new XMLParser().parse(xmlText) as { execution: Record<string, unknown> }
    expect(parsed.execution.id).toBe(started.id)
    expect((parsed.execution.input as Record<string, unknown>).message).toBe("a <b> & \"c\"")

    const weighted = await alice(url, { headers: { accept: "application/xml;q=0.5, application/yaml;q=0.9" } })
    expect(weighted.headers.get("content-type")).toBe("application/yaml; charset=utf-8")
    const excluded = await alice(url, { headers: { accept: "application/yaml;q=0, */*" } })
    expect(excluded.headers.get("content-type")).toBe("application/json")
    for (const accept of ["image/png", "*/*", "text/html, application/*"]) {
      const other = await alice(url, { headers: { accept } })
      expect(other.headers.get("content-type")).toBe("application/json")
      expect(await json(other)).toEqual(asJson)
    }
  })

  it("negotiates lists and query results too (XML, YAML)", async () => {
    const started = await start(server, keys.alice, "echo", { message: "listed" }, { labels: { list: "negotiated" } })
    await finished(server, keys.alice, started.id)
    const url = `${server.url}/executions?labels.list=negotiated&limit=2`
    const asJson = await json(await alice(url))
    expect((asJson.records as ReadonlyArray<{ id: string }>).map((record) => record.id)).toContain(started.id)

    const xml = await alice(url, { headers: { accept: "application/xml" } })
    expect(xml.headers.get("content-type")).toBe("application/xml; charset=utf-8")
    const text = await xml.text()
    expect(XMLValidator.validate(text)).toBe(true)
    expect(text).toContain("<executions><records><item>")
    const parsed = new XMLParser().parse(text) as { executions: { records: { item: { id: string } } } }
    expect(parsed.executions.records.item.id).toBe(started.id)

    const yaml = await alice(url, { headers: { accept: "application/yaml" } })
    expect(yaml.headers.get("content-type")).toBe("application/yaml; charset=utf-8")
    expect(YAML.parse(await yaml.text())).toEqual(asJson)

    const query = await postJson(keys.alice, `${server.url}/executions/query`, {
      where: { "labels.list": { op: "eq", value: "negotiated" } }
    }, { accept: "text/yaml" })
    expect(query.headers.get("content-type")).toBe("text/yaml; charset=utf-8")
    expect(YAML.parse(await query.text())).toEqual(asJson)
  })
})

describe("GET /executions and POST /executions/query", () => {
  const label = `batch-${globalThis.crypto.randomUUID()}`
  const ids: Array<string> = []

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      const started = await start(server, keys.alice, "echo", { message: `m${i}` }, { labels: { batch: label } })
      ids.push(started.id)
    }
    for (const id of ids) await finished(server, keys.alice, id)
  })

  it("filters, sorts and pages with a cursor (and a Link header)", async () => {
    const seen: Array<string> = []
    let next: string | undefined = `/executions?labels.batch=${label}&sort=createdAt&limit=2`
    let pages = 0
    while (next !== undefined) {
      const response = await alice(`${server.url}${next}`)
      expect(response.status).toBe(200)
      const page = await json(response) as { records: ReadonlyArray<{ id: string }>; nextCursor?: string }
      seen.push(...page.records.map((record) => record.id))
      const link = response.headers.get("link")
      next = page.nextCursor === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link ?? "")?.[1]
      if (page.nextCursor !== undefined) expect(next).toBeDefined()
      pages++
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(ids)
  })

  it("supports operators in query parameters", async () => {
    const response = await alice(
      `${server.url}/executions?labels.batch=${label}&state[in]=Succeeded,Failed&command[like]=ec%25`
    )
    const page = await json(response) as { records: ReadonlyArray<unknown> }
    expect(page.records).toHaveLength(5)
  })

  it("queries with a JSON body, and with Pode's shape", async () => {
    const standard = await postJson(keys.alice, `${server.url}/executions/query`, {
      where: { "labels.batch": { op: "eq", value: label }, state: { op: "eq", value: "Succeeded" } },
      sort: "-createdAt",
      limit: 3
    })
    expect(standard.status).toBe(200)
    const page = await json(standard) as { records: ReadonlyArray<{ id: string }>; nextCursor?: string }
    expect(page.records.map((record) => record.id)).toEqual([...ids].reverse().slice(0, 3))
    expect(page.nextCursor).toBeDefined()

    const pode = await postJson(keys.alice, `${server.url}/executions/query`, {
      "labels.batch": { op: "EQ", value: label },
      State: { op: "EQ", value: "Succeeded" },
      Name: { op: "LIKE", value: "ech%" }
    })
    expect(pode.status).toBe(200)
    expect((await json(pode) as { records: ReadonlyArray<unknown> }).records).toHaveLength(5)
  })

  it("answers 400, never 500, for unknown fields, operators and bad values", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ where: { colour: { op: "eq", value: "red" } } }, /unknown field "colour"/],
      [{ where: { state: { op: "between", value: "x" } } }, /unknown operator "between"/],
      [{ where: { cancellable: { op: "like", value: "t%" } } }, /not allowed on boolean field/],
      [{ where: { createdAt: { op: "gt", value: "yesterday" } } }, /expected a date/],
      [{ where: { state: { op: "eq", value: "Done" } } }, /unknown state "Done"/],
      [{ where: { state: "Running" } }, /expected \{ op, value \}/],
      [{ where: [], sort: "colour" }, /cannot sort by "colour"/],
      [{ where: [], limit: 0 }, /limit/],
      [{ where: [], cursor: "garbage!" }, /cursor/],
      [{ where: [], extra: 1 }, /unknown key "extra"/],
      [[1, 2], /must be an object/]
    ]
    for (const [body, message] of cases) {
      const response = await postJson(keys.alice, `${server.url}/executions/query`, body)
      expect(response.status).toBe(400)
      const error = await json(response)
      expect(error._tag).toBe("InvalidQuery")
      expect(String(error.message)).toMatch(message)
    }
    const params = await alice(`${server.url}/executions?state[between]=a`)
    expect(params.status).toBe(400)
    const bracket = await alice(`${server.url}/executions?a]b=1`)
    expect(bracket.status).toBe(400)
    const malformed = await alice(`${server.url}/executions/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json"
    })
    expect(malformed.status).toBe(400)
  })

  it("pages 100 records by default and serves a limit above 1000 as 1000", async () => {
    // 1,001 finished records of alice's, written straight to the store (starting as many would be slow).
    const template = await finished(server, keys.alice, ids[0] as string)
    const stored = await Effect.runPromise(server.map.store.get(String(template.id) as ExecutionRecord.ExecutionId))
    if (Option.isNone(stored)) throw new Error("not stored")
    const many = `many-${globalThis.crypto.randomUUID()}`
    const created = stored.value.createdAt.getTime()
    await Effect.runPromise(Effect.forEach(Array.from({ length: 1001 }, (_, i) => i), (i) =>
      server.map.store.insert({
        ...stored.value,
        id: `${many}-${String(i).padStart(4, "0")}` as ExecutionRecord.ExecutionId,
        createdAt: new Date(created + i),
        labels: { batch: many }
      })))
    type Page = { records: ReadonlyArray<{ id: string }>; nextCursor?: string }
    const byDefault = await json(await alice(`${server.url}/executions?labels.batch=${many}`)) as Page
    expect(byDefault.records).toHaveLength(100)
    expect(byDefault.nextCursor).toBeDefined()
    const listed = await alice(`${server.url}/executions?labels.batch=${many}&limit=5000&sort=createdAt`)
    expect(listed.status).toBe(200)
    const page = await json(listed) as Page
    expect(page.records).toHaveLength(1000)
    expect(listed.headers.get("link")).toMatch(/rel="next"/)
    const rest = await json(
      await alice(`${server.url}/executions?labels.batch=${many}&limit=5000&sort=createdAt&cursor=${page.nextCursor}`)
    ) as Page
    expect(rest.records.map((record) => record.id)).toEqual([`${many}-1000`])
    expect(rest.nextCursor).toBeUndefined()
    const queried = await postJson(keys.alice, `${server.url}/executions/query`, {
      where: { "labels.batch": { op: "eq", value: many } },
      limit: 5000
    })
    expect(queried.status).toBe(200)
    expect((await json(queried) as Page).records).toHaveLength(1000)
  })
})

describe("interrupt: POST /executions/{id}/interrupt and DELETE /executions/{id}", () => {
  it("accepts with 202 and records source, requester and reason", async () => {
    const started = await start(server, keys.alice, "slow", { items: 200, delayMs: 20 })
    await eventually(async () => {
      const record = await json(await alice(`${server.url}/executions/${started.id}`))
      return record.state === "Running" ? record : undefined
    }, "running")
    const response = await postJson(keys.alice, `${server.url}/executions/${started.id}/interrupt`, {
      mode: "graceful",
      reason: "maintenance window"
    })
    expect(response.status).toBe(202)
    expect(response.headers.get("location")).toBe(`/executions/${started.id}`)
    const accepted = await json(response)
    expect(accepted).toMatchObject({ id: started.id, status: "accepted", escalated: false })
    expect(accepted.interrupt).toMatchObject({ source: "http", mode: "graceful", requestedBy: "alice" })
    const record = await finished(server, keys.alice, started.id)
    expect(record.state).toBe("Interrupted")
    expect(record.interrupt).toMatchObject({ source: "http", reason: "maintenance window", requestedBy: "alice" })
    expect(record.outcome).toMatchObject({ _tag: "BlockInterrupted" })

    const again = await postJson(keys.alice, `${server.url}/executions/${started.id}/interrupt`, {})
    expect(again.status).toBe(410)
    const gone = await json(again)
    expect(gone).toMatchObject({ _tag: "AlreadyFinished", state: "Interrupted" })
    expect(String(gone.message)).toMatch(/nothing to interrupt/)
  })

  it("DELETE interrupts too, with mode and reason as query parameters", async () => {
    const started = await start(server, keys.alice, "slow", { items: 200, delayMs: 20 })
    const response = await alice(`${server.url}/executions/${started.id}?mode=force&reason=abort`, { method: "DELETE" })
    expect(response.status).toBe(202)
    expect((await json(response)).interrupt).toMatchObject({ mode: "force", reason: "abort" })
    const record = await finished(server, keys.alice, started.id)
    expect(record.state).toBe("Interrupted")
  })

  it("answers 409 for a command that is not cancellable", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "pinned", { gate })
    const response = await postJson(keys.alice, `${server.url}/executions/${started.id}/interrupt`, { mode: "force" })
    expect(response.status).toBe(409)
    expect((await json(response))._tag).toBe("NotCancellable")
    openGate(gate)
    expect((await finished(server, keys.alice, started.id)).state).toBe("Succeeded")
  })

  it("DELETE answers 410 for a finished execution and takes a JSON body too", async () => {
    const done = await start(server, keys.alice, "echo", { message: "over" })
    await finished(server, keys.alice, done.id)
    const gone = await alice(`${server.url}/executions/${done.id}`, { method: "DELETE" })
    expect(gone.status).toBe(410)
    expect(await json(gone)).toMatchObject({ _tag: "AlreadyFinished", id: done.id, state: "Succeeded" })
    const started = await start(server, keys.alice, "slow", { items: 200, delayMs: 20 })
    const withBody = await alice(`${server.url}/executions/${started.id}`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mode: "force", reason: "from a body" })
    })
    expect(withBody.status).toBe(202)
    expect((await json(withBody)).interrupt).toMatchObject({ mode: "force", reason: "from a body", source: "http" })
    expect((await finished(server, keys.alice, started.id)).interrupt).toMatchObject({ reason: "from a body" })
  })

  it("refuses malformed interrupt bodies: bad JSON, unknown keys, wrong types, too large, other media types", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const url = `${server.url}/executions/${started.id}/interrupt`
    const send = (body: string, contentType = "application/json") =>
      alice(url, { method: "POST", headers: { "content-type": contentType }, body })
    const cases: Array<[string, string, number, string]> = [
      ["{\"mode\":", "application/json", 400, "InvalidRequest"],
      [JSON.stringify({ mode: "force", urgency: "high" }), "application/json", 400, "InvalidRequest"],
      [JSON.stringify({ reason: 42 }), "application/json", 400, "InvalidRequest"],
      [JSON.stringify({ reason: "r".repeat(1001) }), "application/json", 400, "InvalidRequest"],
      [JSON.stringify({ reason: "r".repeat(100 * 1024) }), "application/json", 413, "PayloadTooLarge"],
      ["mode=force", "application/x-www-form-urlencoded", 415, "UnsupportedMediaType"]
    ]
    for (const [body, contentType, status, tag] of cases) {
      const response = await send(body, contentType)
      expect([body.slice(0, 40), response.status, (await json(response))._tag]).toEqual([
        body.slice(0, 40),
        status,
        tag
      ])
    }
    // Nothing was interrupted by the refused requests.
    expect((await json(await alice(`${server.url}/executions/${started.id}`))).interrupts).toEqual([])
    openGate(gate)
  })

  it("answers 404 for an unknown id and 400 for a bad body", async () => {
    const unknown = await postJson(keys.alice, `${server.url}/executions/nope/interrupt`, {})
    expect(unknown.status).toBe(404)
    const unknownDelete = await alice(`${server.url}/executions/nope`, { method: "DELETE" })
    expect(unknownDelete.status).toBe(404)
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const bad = await postJson(keys.alice, `${server.url}/executions/${started.id}/interrupt`, { mode: "gently" })
    expect(bad.status).toBe(400)
    expect((await json(bad))._tag).toBe("InvalidRequest")
    const badDelete = await alice(`${server.url}/executions/${started.id}?mode=now`, { method: "DELETE" })
    expect(badDelete.status).toBe(400)
    openGate(gate)
  })
})

describe("an execution run by another process (a shared store)", () => {
  it("is readable, but its events answer 503 and an interrupt 409, saying where it runs", async () => {
    const done = await finished(server, keys.alice, (await start(server, keys.alice, "echo", { message: "x" })).id)
    const stored = await Effect.runPromise(server.map.store.get(String(done.id) as ExecutionRecord.ExecutionId))
    if (Option.isNone(stored)) throw new Error("not stored")
    const { finishedAt: _finished, outcome: _outcome, ...running } = stored.value
    const id = `${stored.value.id}-elsewhere` as ExecutionRecord.ExecutionId
    await Effect.runPromise(server.map.store.insert({ ...running, id, state: "Running", runner: "4242:other-host" }))
    const url = `${server.url}/executions/${id}`
    expect(await json(await alice(url))).toMatchObject({ id, state: "Running", runner: "4242:other-host" })
    const events = await alice(`${url}/events`)
    expect(events.status).toBe(503)
    expect(await json(events)).toMatchObject({
      _tag: "ServiceUnavailable",
      message: expect.stringMatching(/another process \(4242:other-host\)/)
    })
    const interrupt = await postJson(keys.alice, `${url}/interrupt`, {})
    expect(interrupt.status).toBe(409)
    expect(await json(interrupt)).toMatchObject({
      _tag: "NotCancellable",
      message: expect.stringMatching(/runs in another process \(4242:other-host\)/)
    })
  })
})

describe("GET /commands", () => {
  it("lists the commands the caller may start, with their input schemas", async () => {
    const response = await alice(`${server.url}/commands`)
    expect(response.status).toBe(200)
    const { commands } = await json(response) as {
      commands: ReadonlyArray<{ name: string; path: string; inputSchema?: unknown }>
    }
    const names = commands.map((command) => command.name)
    expect(names).toEqual(["gated", "slow", "echo", "broken", "pinned", "chatty"])
    expect(commands.find((command) => command.name === "echo")).toMatchObject({
      path: "/commands/echo/executions",
      inputSchema: { type: "object", required: ["message"] }
    })
  })
})

describe("failures", () => {
  it("records a failed execution with its error", async () => {
    const response = await postJson(keys.alice, `${server.url}/commands/broken/executions`, {
      input: { reason: "disk full" }
    }, { prefer: "wait=10" })
    expect(response.status).toBe(200)
    const record = await json(response)
    expect(record.state).toBe("Failed")
    expect(String((record.error as { message: string }).message)).toMatch(/disk full/)
  })
})
