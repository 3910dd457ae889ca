/**
 * The generated OpenAPI 3.1 document lists every route, the callback and the security
 * schemes, and every reference resolves; the interactive documentation at /docs renders
 * the operations in headless Chromium with the network cut off.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { chromium } from "playwright-core"
import type { TestServer } from "./support/server.js"
import { callbackSecret, startServer } from "./support/server.js"

let server: TestServer
type Json = Record<string, unknown>
let spec: Json

beforeAll(async () => {
  server = await startServer({ callbacks: { secret: callbackSecret } })
  const response = await fetch(`${server.url}/openapi.json`)
  expect(response.status).toBe(200)
  spec = await response.json() as Json
})

afterAll(async () => {
  await server.close()
})

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

const operations = (document: Json) => {
  const out: Array<{ path: string; method: string; operation: Json }> = []
  for (const [path, item] of Object.entries(document.paths as Json)) {
    for (const method of methods) {
      const operation = (item as Json)[method]
      if (isObject(operation)) out.push({ path, method, operation })
    }
  }
  return out
}

const resolvePointer = (document: Json, ref: string): unknown => {
  if (!ref.startsWith("#/")) return undefined
  let node: unknown = document
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (!isObject(node) || !(key in node)) return undefined
    node = node[key]
  }
  return node
}

const collectRefs = (value: unknown, into: Array<string>): Array<string> => {
  if (Array.isArray(value)) value.forEach((child) => collectRefs(child, into))
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") into.push(child)
      else collectRefs(child, into)
    }
  }
  return into
}

describe("/openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route", () => {
    expect(spec.openapi).toBe("3.1.0")
    expect(spec.info).toMatchObject({ title: "Truce", version: "0.1.0" })
    const routes = operations(spec).map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()
    expect(routes).toEqual([
      "DELETE /executions/{id}",
      "GET /commands",
      "GET /executions",
      "GET /executions/{id}",
      "GET /executions/{id}/events",
      "POST /commands/broken/executions",
      "POST /commands/chatty/executions",
      "POST /commands/echo/executions",
      "POST /commands/gated/executions",
      "POST /commands/pinned/executions",
      "POST /commands/restricted/executions",
      "POST /commands/slow/executions",
      "POST /commands/{name}/executions",
      "POST /executions/query",
      "POST /executions/{id}/interrupt"
    ])
  })

  it("is well-formed: unique operation ids, responses, declared path parameters, resolvable references", () => {
    const ids = new Set<string>()
    for (const { operation, path } of operations(spec)) {
      expect(typeof operation.operationId).toBe("string")
      expect(ids.has(String(operation.operationId))).toBe(false)
      ids.add(String(operation.operationId))
      expect(Object.keys(operation.responses as Json).length).toBeGreaterThan(0)
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        expect(status).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/)
        expect(typeof (response as Json).description).toBe("string")
      }
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])
      const declared = ((operation.parameters ?? []) as Array<Json>)
        .filter((parameter) => parameter.in === "path")
        .map((parameter) => {
          expect(parameter.required).toBe(true)
          return parameter.name
        })
      expect(declared.sort()).toEqual(templated.sort())
    }
    const schemas = (spec.components as Json).schemas as Json
    for (const name of Object.keys(schemas)) expect(name).toMatch(/^[a-zA-Z0-9._-]+$/)
    const refs = collectRefs(spec, [])
    expect(refs.length).toBeGreaterThan(10)
    for (const ref of refs) expect([ref, resolvePointer(spec, ref) !== undefined]).toEqual([ref, true])
  })

  it("documents the callback of every start operation", () => {
    for (const { operation, path } of operations(spec)) {
      if (!/^\/commands\/[a-z]+\/executions$/.test(path)) continue
      const callbacks = operation.callbacks as Json
      const expression = (callbacks.executionFinished as Json)["{$request.body#/callbackUrl}"] as Json
      const post = expression.post as Json
      const parameters = (post.parameters as Array<Json>).map((parameter) => parameter.name)
      expect(parameters).toContain("X-Truce-Signature")
      expect(parameters).toContain("X-Truce-Timestamp")
      expect(collectRefs(post.requestBody, [])).toEqual(["#/components/schemas/ExecutionRecord"])
      const accepted = (operation.responses as Json)["202"] as Json
      expect(Object.keys(accepted.headers as Json)).toEqual([
        "Location",
        "Operation-Location",
        "Retry-After",
        "Preference-Applied"
      ])
      expect(Object.keys(accepted.content as Json)).toEqual([
        "application/json",
        "application/yaml",
        "text/yaml",
        "application/xml"
      ])
      expect(Object.keys((operation.responses as Json)["200"] as Json)).toContain("content")
    }
  })

  it("declares the security schemes of the authenticators and applies them to every operation", () => {
    const schemes = (spec.components as Json).securitySchemes as Json
    expect(schemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-API-Key" })
    expect(schemes.bearer).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" })
    expect(spec.security).toEqual([{ apiKey: [] }, { bearer: [] }])
    for (const { operation } of operations(spec)) expect(operation.security).toEqual(spec.security)
  })

  it("describes the query limit as served (default 100, larger values served as 1000)", () => {
    const schemas = (spec.components as Json).schemas as Json
    const limit = ((schemas.QueryBody as Json).properties as Json).limit as Json
    expect(limit).not.toHaveProperty("maximum")
    expect(String(limit.description)).toMatch(/default 100.*1000/)
  })

  it("describes the event stream and the error answers", () => {
    const events = ((spec.paths as Json)["/executions/{id}/events"] as Json).get as Json
    const responses = events.responses as Json
    const content = (responses["200"] as Json).content as Json
    expect(Object.keys(content)).toEqual(["text/event-stream", "application/vnd.amazon.eventstream"])
    for (const media of Object.values(content)) {
      expect((media as Json)["x-item-schema"]).toEqual({ $ref: "#/components/schemas/ExecutionEvent" })
    }
    expect(String(events.description)).toMatch(/:event-type/)
    expect(String(events.description)).toMatch(/StreamError/)
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(["200", "204", "400", "401", "404", "503"]))
    const interrupt = ((spec.paths as Json)["/executions/{id}/interrupt"] as Json).post as Json
    expect(Object.keys(interrupt.responses as Json)).toEqual(
      expect.arrayContaining(["202", "400", "401", "403", "404", "409", "410", "413", "415"])
    )
  })
})

describe("/docs", () => {
  it("renders every operation in headless Chromium without network access", async () => {
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    })
    try {
      const page = await browser.newPage()
      const external: Array<string> = []
      // The machine has no internet: refuse every request that is not to the server.
      await page.route("**/*", (route) => {
        const url = new URL(route.request().url())
        if (url.origin === server.url || url.protocol === "data:" || url.protocol === "blob:") return route.continue()
        external.push(route.request().url())
        return route.abort()
      })
      const errors: Array<string> = []
      page.on("pageerror", (error) => errors.push(error.message))
      await page.goto(`${server.url}/docs`)
      await page.waitForSelector(".opblock", { timeout: 30_000 })
      expect(await page.locator(".opblock").count()).toBe(operations(spec).length)
      expect(await page.locator(".opblock-summary-path").allInnerTexts()).toEqual(
        expect.arrayContaining(["/executions/{id}/events", "/commands/slow/executions"])
      )
      // Open a start operation: its callback is shown.
      await page.locator("#operations-commands-start_slow .opblock-summary").click()
      await page.getByText("Callbacks", { exact: true }).first().waitFor({ timeout: 10_000 })
      expect(external).toEqual([])
      expect(errors).toEqual([])
    } finally {
      await browser.close()
    }
  }, 60_000)
})
