/**
 * Every route's success and error answers, with plain `fetch` against the real server on
 * a loopback port.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
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

  it("refuses malformed JSON with 400", async () => {
    const response = await alice(`${server.url}/commands/echo/executions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{\"input\": {\"message\": "
    })
    expect(response.status).toBe(400)
    const body = await json(response)
    expect(body._tag).toBe("InvalidRequest")
    expect(String(body.message)).toMatch(/malformed JSON/)
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

  it("negotiates lists too", async () => {
    const response = await alice(`${server.url}/executions?command=echo&limit=2`, {
      headers: { accept: "application/xml" }
    })
    const text = await response.text()
    expect(XMLValidator.validate(text)).toBe(true)
    expect(text).toContain("<executions><records><item>")
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

  it("caps the limit at 1000", async () => {
    const response = await postJson(keys.alice, `${server.url}/executions/query`, { where: [], limit: 5000 })
    expect(response.status).toBe(200)
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

describe("GET /commands", () => {
  it("lists the commands the caller may start, with their input schemas", async () => {
    const response = await alice(`${server.url}/commands`)
    expect(response.status).toBe(200)
    const { commands } = await json(response) as {
      commands: ReadonlyArray<{ name: string; path: string; inputSchema?: unknown }>
    }
    const names = commands.map((command) => command.name)
    expect(names).toEqual(["gated", "slow", "echo", "broken", "pinned"])
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
