/**
 * Authentication and permissions, end to end: two users with different permissions (one
 * cannot see, cancel, watch or list the other's executions; a member of the granted
 * group can), bearer JWTs, anonymous access only where configured.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Jwt, TruceHttp } from "../src/index.js"
import { echo, newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, finished, jwtSecret, keys, postJson, start, startServer } from "./support/server.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server.close()
})

type Json = { readonly [key: string]: unknown }
const json = async (response: Response): Promise<Json> => await response.json() as Json
const ids = async (response: Response) =>
  ((await json(response)) as { records: ReadonlyArray<{ id: string }> }).records.map((record) => record.id)

/** Reads an event stream until its first event arrives, then cancels it. */
const firstEvent = async (response: Response): Promise<string> => {
  const reader = response.body?.getReader()
  if (reader === undefined) throw new Error("no body")
  const decoder = new TextDecoder()
  let text = ""
  while (!text.includes("\nid: ")) {
    const { done, value } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  await reader.cancel()
  return text
}

describe("two users with different permissions", () => {
  it("bob cannot see, watch, cancel or list alice's execution; carol (same group) can", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const url = `${server.url}/executions/${started.id}`
    const unknownUrl = `${server.url}/executions/7a0c9f59-4b7e-4d8c-9a53-0d6c3b1f1d7e`

    // bob: every route answers as if the execution did not exist
    const bob = as(keys.bob)
    const bobGet = await bob(url)
    const unknownGet = await bob(unknownUrl)
    expect(bobGet.status).toBe(404)
    expect(unknownGet.status).toBe(404)
    const bobBody = await json(bobGet)
    const unknownBody = await json(unknownGet)
    expect(Object.keys(bobBody).sort()).toEqual(Object.keys(unknownBody).sort())
    expect(bobBody.message).toBe(`no execution ${started.id}`)
    expect((await bob(`${url}/events`)).status).toBe(404)
    expect((await bob(`${url}?wait=1s`)).status).toBe(404)
    expect((await postJson(keys.bob, `${url}/interrupt`, { mode: "force" })).status).toBe(404)
    expect((await bob(url, { method: "DELETE" })).status).toBe(404)
    expect(await ids(await bob(`${server.url}/executions?command=gated`))).not.toContain(started.id)
    expect(
      await ids(
        await postJson(keys.bob, `${server.url}/executions/query`, { where: { id: { op: "eq", value: started.id } } })
      )
    )
      .toEqual([])

    // carol is in the "ops" group, which the command grants read and write
    const carol = as(keys.carol)
    expect((await carol(url)).status).toBe(200)
    const events = await carol(`${url}/events`)
    expect(events.status).toBe(200)
    expect(await firstEvent(events)).toMatch(/event: StateChanged/)
    expect(await ids(await carol(`${server.url}/executions?command=gated`))).toContain(started.id)
    const cancel = await carol(`${url}?reason=carol+cancels`, { method: "DELETE" })
    expect(cancel.status).toBe(202)
    openGate(gate)
    const record = await finished(server, keys.alice, started.id)
    expect(record.interrupts).toEqual([expect.objectContaining({ requestedBy: "carol", reason: "carol cancels" })])
  })

  it("read access without write access: 200 on reads, 403 on interrupt", async () => {
    // echo grants read to "ops" but no write
    const started = await start(server, keys.alice, "echo", { message: "x" })
    const carol = as(keys.carol)
    expect((await carol(`${server.url}/executions/${started.id}`)).status).toBe(200)
    const refused = await postJson(keys.carol, `${server.url}/executions/${started.id}/interrupt`, {})
    expect(refused.status).toBe(403)
    expect((await json(refused))._tag).toBe("Forbidden")
  })

  it("a start request can grant more (the owner keeps full access)", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate }, { permissions: { read: { users: ["bob"] } } })
    const url = `${server.url}/executions/${started.id}`
    expect((await as(keys.bob)(url)).status).toBe(200)
    expect((await postJson(keys.bob, `${url}/interrupt`, {})).status).toBe(403)
    expect((await postJson(keys.alice, `${url}/interrupt`, {})).status).toBe(202)
    openGate(gate)
  })

  it("admins (by role) read and interrupt everything", async () => {
    const gate = newGate()
    const started = await start(server, keys.bob, "gated", { gate })
    const admin = as(keys.admin)
    expect((await admin(`${server.url}/executions/${started.id}`)).status).toBe(200)
    expect(await ids(await admin(`${server.url}/executions?owner=bob`))).toContain(started.id)
    expect((await admin(`${server.url}/executions/${started.id}`, { method: "DELETE" })).status).toBe(202)
    openGate(gate)
  })
})

describe("no existence leak", () => {
  it("an unreadable id answers exactly like an unknown one on every route", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const unknown = "3f1c9f59-4b7e-4d8c-9a53-0d6c3b1f1d7e"
    const routes: Array<[string, (id: string) => Promise<Response>]> = [
      ["GET", (id) => as(keys.bob)(`${server.url}/executions/${id}`)],
      ["GET ?wait", (id) => as(keys.bob)(`${server.url}/executions/${id}?wait=100ms`)],
      ["GET events", (id) => as(keys.bob)(`${server.url}/executions/${id}/events`)],
      [
        "GET events (binary)",
        (id) =>
          as(keys.bob)(`${server.url}/executions/${id}/events?after=1`, {
            headers: { accept: "application/vnd.amazon.eventstream" }
          })
      ],
      ["POST interrupt", (id) => postJson(keys.bob, `${server.url}/executions/${id}/interrupt`, { mode: "force" })],
      ["POST interrupt (bad body)", (id) => postJson(keys.bob, `${server.url}/executions/${id}/interrupt`, { x: 1 })],
      ["DELETE", (id) => as(keys.bob)(`${server.url}/executions/${id}?mode=force`, { method: "DELETE" })]
    ]
    for (const [route, call] of routes) {
      const hidden = await call(started.id)
      const missing = await call(unknown)
      const hiddenBody = await json(hidden)
      const missingBody = await json(missing)
      expect([route, hidden.status]).toEqual([route, 404])
      expect([route, missing.status]).toEqual([route, 404])
      expect([route, hidden.headers.get("content-type")]).toEqual([route, missing.headers.get("content-type")])
      // The same answer, but for the id it names.
      expect([route, JSON.stringify(hiddenBody).replaceAll(started.id, "<id>")])
        .toEqual([route, JSON.stringify(missingBody).replaceAll(unknown, "<id>")])
    }
    // Nothing reached the execution.
    const record = await json(await as(keys.alice)(`${server.url}/executions/${started.id}`))
    expect(record.interrupts).toEqual([])
    openGate(gate)
  })
})

describe("bearer JWT (HS256)", () => {
  const now = () => Math.floor(Date.now() / 1000)
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  it("maps claims to the principal: sub, groups, roles, scope", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate })
    const dave = Jwt.sign({ sub: "dave", groups: ["ops"], scope: "read write", exp: now() + 60 }, jwtSecret)
    const response = await fetch(`${server.url}/executions/${started.id}`, { headers: bearer(dave) })
    expect(response.status).toBe(200)
    const deployer = Jwt.sign({ sub: "erin", roles: ["deployer"] }, jwtSecret)
    const restricted = await fetch(`${server.url}/commands/restricted/executions`, {
      method: "POST",
      headers: { ...bearer(deployer), "content-type": "application/json", prefer: "wait=10" },
      body: JSON.stringify({ input: { message: "by erin" } })
    })
    expect(restricted.status).toBe(200)
    expect((await json(restricted)).owner).toBe("erin")
    openGate(gate)
  })

  it("grants by scope: a token with the scope reads the execution, one without it does not", async () => {
    const gate = newGate()
    const started = await start(server, keys.alice, "gated", { gate }, {
      permissions: { read: { scopes: ["executions:audit"] }, write: { roles: ["oncall"] } }
    })
    const url = `${server.url}/executions/${started.id}`
    const auditor = Jwt.sign({ sub: "frank", scope: "profile executions:audit" }, jwtSecret)
    const other = Jwt.sign({ sub: "grace", scope: "profile" }, jwtSecret)
    const oncall = Jwt.sign({ sub: "heidi", roles: ["oncall"] }, jwtSecret)
    expect((await fetch(url, { headers: bearer(auditor) })).status).toBe(200)
    expect((await fetch(url, { headers: bearer(other) })).status).toBe(404)
    const listed = await fetch(`${server.url}/executions?id=${started.id}`, { headers: bearer(auditor) })
    expect(await ids(listed)).toEqual([started.id])
    expect(await ids(await fetch(`${server.url}/executions?id=${started.id}`, { headers: bearer(other) }))).toEqual([])
    // The auditor may read but not interrupt; the role holder (write implies read) may.
    const refused = await fetch(`${url}/interrupt`, {
      method: "POST",
      headers: { ...bearer(auditor), "content-type": "application/json" },
      body: "{}"
    })
    expect(refused.status).toBe(403)
    const cancelled = await fetch(url, { method: "DELETE", headers: bearer(oncall) })
    expect(cancelled.status).toBe(202)
    openGate(gate)
    expect((await finished(server, keys.alice, started.id)).interrupt).toMatchObject({ requestedBy: "heidi" })
  })

  it("refuses expired, not-yet-valid, forged and unsigned tokens with 401", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")
    const payload = Buffer.from(JSON.stringify({ sub: "mallory" })).toString("base64url")
    const tokens = [
      Jwt.sign({ sub: "dave", exp: now() - 3600 }, jwtSecret),
      Jwt.sign({ sub: "dave", nbf: now() + 3600 }, jwtSecret),
      Jwt.sign({ sub: "dave" }, "another-secret"),
      `${header}.${payload}.`,
      `${header}.${payload}`,
      Jwt.sign({ groups: ["ops"] }, jwtSecret)
    ]
    for (const token of tokens) {
      const response = await fetch(`${server.url}/executions`, { headers: bearer(token) })
      expect(response.status).toBe(401)
      expect((await json(response))._tag).toBe("Unauthenticated")
    }
  })
})

describe("anonymous access", () => {
  it("is refused unless configured", async () => {
    expect((await fetch(`${server.url}/executions`)).status).toBe(401)
    expect((await fetch(`${server.url}/commands`)).status).toBe(401)
  })

  it("where configured, anonymous callers reach only what grants users \"*\"", async () => {
    const open = await startServer({
      commands: [TruceHttp.command(echo, { start: { users: ["*"] }, permissions: { read: { users: ["*"] } } })],
      auth: { authenticators: [], allowAnonymous: true }
    })
    try {
      const response = await postJson(
        undefined,
        `${open.url}/commands/echo/executions`,
        { input: { message: "anon" } },
        {
          prefer: "wait=10"
        }
      )
      expect(response.status).toBe(200)
      const record = await json(response)
      expect(record.owner).toBeUndefined()
      expect((await fetch(`${open.url}/executions/${record.id}`)).status).toBe(200)
      expect((await postJson(undefined, `${open.url}/executions/${record.id}/interrupt`, {})).status).toBe(403)
    } finally {
      await open.close()
    }
  })
})
